"""Fetch the plain text of the selected articles, with an on-disk cache that makes reruns cheap.

:func:`fetch_articles` turns a selection manifest (:class:`~gonerd.records.SelectedArticle`) into
:class:`~gonerd.records.Article` records:

* **Cache.** One JSON file per article in ``cache_dir``, named ``<page id>@<revision id>.json`` (articles without
  a page id use ``t-<sha256 of the title>``), written atomically (temporary file, then ``os.replace``), so an
  interrupted run never leaves a half-written entry. A rerun reads what is cached and fetches only the rest.
* **Concurrency.** At most ``concurrency`` requests are in flight (a thread pool sharing one HTTP client).
* **Failures.** Articles that still fail after the client's retries, or that no longer exist, are listed in
  :attr:`FetchReport.failed` with a one-line reason; nothing is dropped silently.
* **Revision drift.** TextExtracts only serves the latest revision. When it differs from the manifest's
  ``revision_id``, the fetched text is kept, ``Article.revision_id`` is the revision actually fetched (so the
  record stays truthful about its text), and the change is listed in :attr:`FetchReport.revision_changes`.
  The cache remembers the revision that was asked for, so a rerun with the same manifest is still a cache hit.
* **Records.** ``title`` and ``category`` come from the manifest (the dataset's identity even if the page was
  renamed since), ``url`` from :func:`~gonerd.records.page_url`, and the text has leading and trailing
  whitespace stripped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tqdm.auto import tqdm

from . import untrusted
from .errors import FetchError, GonerdError
from .records import Article, SelectedArticle, page_url
from .wiki import PageText

__all__ = ["ArticleCache", "FailedFetch", "FetchReport", "RevisionChange", "fetch_articles"]

log = logging.getLogger(__name__)

CACHE_FORMAT = 1
MAX_CACHE_ENTRY_BYTES = 64 * 2**20  # one article's text


class TextSource(Protocol):
    """What fetching needs from a client (:class:`gonerd.wiki.WikiClient` provides it)."""

    def extract(self, title: str | None = None, *, page_id: int | None = None) -> PageText: ...


@dataclass(frozen=True)
class FailedFetch:
    """An article that could not be fetched, and why (one line)."""

    title: str
    page_id: int | None
    error: str


@dataclass(frozen=True)
class RevisionChange:
    """The wiki served a different revision than the manifest names; the fetched revision was kept."""

    title: str
    page_id: int | None
    expected: int
    fetched: int | None


@dataclass
class FetchReport:
    """The outcome of :func:`fetch_articles`.

    ``articles`` are in input order (failures left out); ``failed`` lists every article that is not in
    ``articles``; ``from_cache``/``fetched`` count where the articles came from.
    """

    articles: list[Article] = field(default_factory=list)
    failed: list[FailedFetch] = field(default_factory=list)
    revision_changes: list[RevisionChange] = field(default_factory=list)
    from_cache: int = 0
    fetched: int = 0

    @property
    def ok(self) -> bool:
        """True when every article was fetched."""
        return not self.failed


def _key(sel: SelectedArticle) -> str:
    if sel.page_id is not None:
        return str(sel.page_id)
    return "t-" + hashlib.sha256(sel.title.encode("utf-8")).hexdigest()[:16]


class ArticleCache:
    """The on-disk article cache of :func:`fetch_articles` (see the module docstring). Thread-safe."""

    def __init__(self, cache_dir: str | os.PathLike) -> None:
        self.dir = Path(cache_dir)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GonerdError(f"cannot create the cache directory {self.dir}: {exc.strerror}") from None
        self._lock = threading.Lock()
        self._index: dict[str, list[Path]] = {}
        for path in self.dir.glob("*@*.json"):
            self._index.setdefault(path.name.split("@", 1)[0], []).append(path)

    def _load(self, path: Path) -> dict[str, Any] | None:
        try:  # within gonerd.untrusted's limits: a FIFO or a hostile entry is skipped, never waited on
            entry = untrusted.load_json(path, str(path), limit=MAX_CACHE_ENTRY_BYTES)
        except untrusted.Refused as exc:
            log.warning("ignoring unreadable cache entry %s: %s", path, exc)
            return None
        if (
            not isinstance(entry, dict)
            or entry.get("format") != CACHE_FORMAT
            or not isinstance(entry.get("text"), str)
        ):
            log.warning("ignoring cache entry %s: not a GONERD cache file", path)
            return None
        return entry

    def get(self, sel: SelectedArticle) -> dict[str, Any] | None:
        """The cached entry for this manifest line, or ``None``.

        With a manifest revision: the entry of exactly that revision, else an entry fetched for it (drift).
        Without one: the newest cached revision.
        """
        key = _key(sel)
        with self._lock:
            paths = list(self._index.get(key, ()))
        if sel.revision_id is not None:
            exact = self.dir / f"{key}@{sel.revision_id}.json"
            entry = self._load(exact) if exact in paths else None
            if entry is not None:
                return entry
            for path in paths:
                entry = self._load(path)
                if entry is not None and entry.get("requested_revision_id") == sel.revision_id:
                    return entry
            return None
        entries = [e for e in map(self._load, paths) if e is not None]
        return max(entries, key=lambda e: e.get("revision_id") or -1, default=None)

    def put(self, sel: SelectedArticle, page: PageText, text: str) -> None:
        """Store a fetched article atomically (temporary file in the same directory, then rename)."""
        key = _key(sel)
        path = self.dir / f"{key}@{page.revision_id if page.revision_id is not None else 'none'}.json"
        entry = {
            "format": CACHE_FORMAT,
            "title": page.title,
            "page_id": page.page_id,
            "revision_id": page.revision_id,
            "requested_title": sel.title,
            "requested_revision_id": sel.revision_id,
            "text": text,
        }
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(entry, fh, ensure_ascii=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        with self._lock:
            paths = self._index.setdefault(key, [])
            if path not in paths:
                paths.append(path)


def _article(sel: SelectedArticle, entry: dict[str, Any]) -> Article:
    return Article(
        title=sel.title,
        page_id=entry.get("page_id", sel.page_id),
        revision_id=entry.get("revision_id"),
        text=entry["text"],
        category=sel.category,
        url=page_url(sel.title),
    )


def _fetch_one(client: TextSource, cache: ArticleCache, sel: SelectedArticle) -> dict[str, Any]:
    page = client.extract(sel.title, page_id=sel.page_id)
    text = page.text.strip()
    if not text:
        raise FetchError(f"{sel.title!r}: the wiki returned an empty extract")
    if page.disambiguation:
        raise FetchError(f"{sel.title!r}: is now a disambiguation page")
    cache.put(sel, page, text)
    return {"page_id": page.page_id, "revision_id": page.revision_id, "text": text}


def fetch_articles(
    selected: Sequence[SelectedArticle],
    client: TextSource,
    cache_dir: str | os.PathLike,
    concurrency: int = 4,
    progress: bool = True,
) -> FetchReport:
    """Fetch the plain text of every selected article, reusing ``cache_dir``; see the module docstring.

    Args:
        selected: the selection manifest (:func:`gonerd.selection.read_selection`).
        client: a :class:`gonerd.wiki.WikiClient` (retries live there).
        cache_dir: directory of cached articles (created if missing).
        concurrency: maximum parallel requests.
        progress: show a tqdm progress bar.

    Returns:
        A :class:`FetchReport`; check :attr:`FetchReport.failed` (the CLI should exit non-zero when it is not
        empty, after writing what it has).
    """
    if concurrency < 1:
        raise GonerdError(f"concurrency must be at least 1, got {concurrency}")
    selected = list(selected)
    cache = ArticleCache(cache_dir)
    report = FetchReport()
    entries: list[dict[str, Any] | None] = [None] * len(selected)
    errors: dict[int, str] = {}
    todo: list[int] = []
    for i, sel in enumerate(selected):
        entries[i] = cache.get(sel)
        if entries[i] is None:
            todo.append(i)
    report.from_cache = len(selected) - len(todo)
    if report.from_cache:
        log.info("%d of %d articles found in the cache %s", report.from_cache, len(selected), cache.dir)

    if todo:
        pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="gonerd-fetch")
        try:
            futures: dict[Future, int] = {
                pool.submit(_fetch_one, client, cache, selected[i]): i for i in todo
            }
            with tqdm(total=len(todo), desc="fetching", unit="article", disable=not progress) as bar:
                for fut in as_completed(futures):
                    i = futures[fut]
                    try:
                        entries[i] = fut.result()
                        report.fetched += 1
                    except FetchError as exc:
                        errors[i] = str(exc)
                    bar.update(1)
                    bar.set_postfix(failed=len(errors), refresh=False)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # on Ctrl-C: drop queued work, let in-flight finish

    for i, sel in enumerate(selected):
        entry = entries[i]
        if entry is None:
            report.failed.append(FailedFetch(sel.title, sel.page_id, errors.get(i, "not fetched")))
            continue
        article = _article(sel, entry)
        report.articles.append(article)
        if sel.revision_id is not None and article.revision_id != sel.revision_id:
            report.revision_changes.append(
                RevisionChange(sel.title, sel.page_id, sel.revision_id, article.revision_id)
            )
    if report.revision_changes:
        log.warning(
            "%d article(s) have a newer revision than the manifest; the fetched revision was kept",
            len(report.revision_changes),
        )
    if report.failed:
        log.warning("%d article(s) could not be fetched", len(report.failed))
    return report
