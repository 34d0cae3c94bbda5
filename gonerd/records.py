"""The records that flow through the pipeline, and their JSON Lines form.

selection (``SelectedArticle``) -> fetch (``Article``) -> annotate (``AnnotatedArticle``) -> split -> write.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from . import untrusted
from .errors import GonerdError, ManifestError

MAX_LINE_BYTES = 64 * 2**20  # one article per line: spaCy's 1,000,000 characters, up to 4 UTF-8 bytes each

WIKI_URL = "https://en.wikipedia.org/wiki/"


def page_url(title: str, lang: str = "en") -> str:
    base = WIKI_URL if lang == "en" else f"https://{lang}.wikipedia.org/wiki/"
    return base + title.replace(" ", "_")


@dataclass(frozen=True)
class SelectedArticle:
    """One line of a selection manifest (``gonerd select`` output, ``gonerd build`` input)."""

    title: str
    page_id: int | None = None
    revision_id: int | None = None
    category: str | None = None  # the seed category it was reached from
    words: int | None = None


@dataclass(frozen=True)
class Article:
    """A fetched article: the plain text of one revision."""

    title: str
    page_id: int | None
    revision_id: int | None
    text: str
    category: str | None = None
    url: str | None = None

    @property
    def id(self) -> str:
        """Stable identifier: the page id, or for articles without one a hash of title and text."""
        if self.page_id is not None:
            return str(self.page_id)
        digest = hashlib.sha256(f"{self.title}\n{self.text}".encode()).hexdigest()
        return "sha256-" + digest[:16]


@dataclass(frozen=True)
class AnnotatedArticle:
    """An article as word tokens with IOB2 tags (OntoNotes types) and the whitespace that follows each token.

    ``"".join(t + s for t, s in zip(tokens, space_after))`` rebuilds the (stripped) article text exactly.
    """

    id: str
    title: str
    url: str | None
    page_id: int | None
    revision_id: int | None
    category: str | None
    tokens: list[str]
    space_after: list[str]
    ner_tags: list[str]

    def text(self) -> str:
        return "".join(t + s for t, s in zip(self.tokens, self.space_after, strict=True))


def _from_dict(cls, obj: dict, where: str):
    names = {f.name for f in fields(cls)}
    missing = [n for n in names if n not in obj and n in _required(cls)]
    if missing:
        raise ManifestError(f"{where}: missing field(s) {', '.join(sorted(missing))}")
    return cls(**{k: v for k, v in obj.items() if k in names})


def _required(cls) -> set[str]:
    from dataclasses import MISSING

    return {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}


def iter_json_objects(path: str | os.PathLike, what: str = "file") -> Iterator[tuple[int, dict]]:
    """``(line number, object)`` for each non-blank line of a JSON Lines file; one-line errors name file:line."""
    path = Path(path)
    if not path.exists():
        raise ManifestError(f"{path}: no such {what}")
    fh = untrusted.open_regular(path, f"{path}: {what}", ManifestError)  # a FIFO is refused, never waited on
    with fh:
        for lineno in itertools.count(1):
            try:
                raw = fh.readline(MAX_LINE_BYTES + 1)
            except OSError as exc:
                raise ManifestError(f"{path}: cannot read {what} ({exc.strerror})") from None
            if not raw:
                break
            if len(raw) > MAX_LINE_BYTES:
                raise ManifestError(
                    f"{path}:{lineno}: line longer than {MAX_LINE_BYTES // 2**20} MiB (the limit); refused"
                )
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ManifestError(
                    f"{path}:{lineno}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); "
                    "save the file as UTF-8 JSON Lines"
                ) from None
            if not line.strip():
                continue
            # nesting, 5,000-digit numbers and lone surrogates (\ud800, not writable as UTF-8) are one line
            obj = untrusted.json_loads(line, f"{path}:{lineno}", ManifestError)
            if not isinstance(obj, dict):
                raise ManifestError(f"{path}:{lineno}: expected a JSON object")
            yield lineno, obj


def read_jsonl(path: str | os.PathLike, cls) -> Iterator:
    """Read records of dataclass ``cls`` from JSON Lines, with a one-line error naming file and line."""
    for lineno, obj in iter_json_objects(path):
        yield _from_dict(cls, obj, f"{path}:{lineno}")


def write_jsonl(path: str | os.PathLike, records: Iterable) -> None:
    """Write dataclass records as JSON Lines atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            for rec in records:
                fh.write(json.dumps(asdict(rec), ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise GonerdError(f"cannot write {path}: {exc.strerror}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
