"""``gonerd validate``: check a dataset folder against its manifest, its schema and its card.

Every problem is reported (not just the first), each as one line that names the file and what is wrong.
:func:`write_card` (``gonerd card``, and the card step of ``gonerd build`` and ``gonerd quality``) lives here too:
it writes the card only for data that validates, so it sits above the renderer (:mod:`gonerd.card`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .card import CARD_NAME, render_card
from .errors import GonerdError, ValidationError
from .labels import CONFIGS, label_names
from .manifest import read_manifest, sha256_file
from .quality_section import card_section
from .split import split_of
from .write import DATA_DIR, features


@dataclass
class ValidationReport:
    dataset_dir: Path
    checked_files: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _iob2_problem(tags: list[str]) -> str | None:
    prev = "O"
    for i, tag in enumerate(tags):
        if tag.startswith("I-") and prev[2:] != tag[2:]:
            return f"tag {i} is {tag} after {prev} (not valid IOB2)"
        prev = tag
    return None


def _check_parquet(path: Path, rel: str, config: str, split: str, problems: list[str]) -> int | None:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for damaged files
        problems.append(f"{rel}: not a readable Parquet file ({type(exc).__name__})")
        return None
    expected = features(config).arrow_schema
    if table.schema.remove_metadata() != expected.remove_metadata():
        problems.append(f"{rel}: schema differs from the {config!r} features")
        return table.num_rows
    if table.schema.metadata != expected.metadata:
        problems.append(f"{rel}: feature metadata (ClassLabel names) differs from the {config!r} config")
    names = label_names(config)
    ids = table.column("id").to_pylist()
    tokens = table.column("tokens").to_pylist()
    spaces = table.column("space_after").to_pylist()
    tags = table.column("ner_tags").to_pylist()
    for doc_id, tok, sp, tg in zip(ids, tokens, spaces, tags, strict=True):
        if not (len(tok) == len(sp) == len(tg)):
            problems.append(f"{rel}: article {doc_id}: tokens, space_after and ner_tags differ in length")
            continue
        if any(t < 0 or t >= len(names) for t in tg):
            problems.append(f"{rel}: article {doc_id}: tag id out of range")
            continue
        bad = _iob2_problem([names[t] for t in tg])
        if bad:
            problems.append(f"{rel}: article {doc_id}: {bad}")
        if split_of(doc_id) != split:
            problems.append(f"{rel}: article {doc_id} belongs to split {split_of(doc_id)!r}, not {split!r}")
    if len(set(ids)) != len(ids):
        problems.append(f"{rel}: duplicate article ids")
    return table.num_rows


def validate(dataset_dir: str | Path, *, check_card: bool = True) -> ValidationReport:
    root = Path(dataset_dir)
    report = ValidationReport(root)
    if not root.is_dir():
        raise GonerdError(f"{root}: no such dataset folder")
    try:
        manifest = read_manifest(root)
    except GonerdError as exc:
        report.problems.append(str(exc))
        return report
    listed = manifest["files"]
    # hidden files are not data (publish never uploads them)
    on_disk = {p.relative_to(root).as_posix() for p in (root / DATA_DIR).glob("*/[!.]*.parquet")}
    for rel in sorted(on_disk - set(listed)):
        report.problems.append(f"{rel}: data file not listed in manifest.json")
    for rel, meta in sorted(listed.items()):
        path = root / rel
        if not path.is_file():
            report.problems.append(f"{rel}: listed in manifest.json but missing")
            continue
        report.checked_files += 1
        digest = sha256_file(path)
        if digest != meta["sha256"]:
            report.problems.append(
                f"{rel}: sha256 {digest[:12]}… does not match manifest {meta['sha256'][:12]}…"
            )
        parts = Path(rel).parts
        config, split = parts[1], parts[2].split("-", 1)[0]
        if config not in CONFIGS:
            report.problems.append(f"{rel}: unknown config {config!r}")
            continue
        rows = _check_parquet(path, rel, config, split, report.problems)
        if rows is not None and "rows" in meta and rows != meta["rows"]:
            report.problems.append(f"{rel}: {rows} rows, manifest says {meta['rows']}")
    if check_card and not report.problems:
        card = root / CARD_NAME
        if not card.is_file():
            report.problems.append(f"{CARD_NAME}: missing (run `gonerd card`)")
        else:
            text, expected = card.read_text(encoding="utf-8"), render_card(root)
            if card_section(text) != card_section(expected):
                report.problems.append(
                    f"{CARD_NAME}: the Label quality section does not match manifest.json's quality figures "
                    "(run `gonerd card` to regenerate it)"
                )
            elif text != expected:
                report.problems.append(
                    f"{CARD_NAME}: out of date with the data (run `gonerd card` to regenerate it)"
                )
    return report


def write_card(dataset_dir: str | Path) -> Path:
    """Render and write the card, only for data that passes ``gonerd validate`` (a card never counts a deleted
    or damaged shard)."""
    path = Path(dataset_dir) / CARD_NAME
    problems = validate(dataset_dir, check_card=False).problems
    if problems:
        more = f" (and {len(problems) - 1} more; see `gonerd validate`)" if len(problems) > 1 else ""
        raise ValidationError(f"not writing {path}: {problems[0]}{more}")
    text = render_card(dataset_dir)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise GonerdError(f"cannot write {path}: {exc.strerror}") from None
    os.replace(tmp, path)
    return path
