"""One entry point from a task spec and a split role to typed examples: :func:`load_examples`.

Without ``data_dir`` the split is read from the Hub at the spec's pinned revision; with it, from the official
files under ``data_dir/<task>/`` (or, for tasks distributed only as a Hub repository, from a copy of that
repository there). A task this project builds itself (GONERD) falls back from the Hub to the local build
(:mod:`benchmark.data.builds`). Either way the rows pass through the same converter, so ids and examples are identical.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.examples import Example
from ..core.task_spec import TaskSpec
from ..errors import BenchmarkError
from . import arxiv_cleaning, builds, hub, local


@dataclass
class LoadedSplit:
    """Examples of one split, where they came from (``source``) and what loading did to them (``stats``)."""

    examples: list[Example]
    source: dict[str, Any]
    stats: dict[str, Any] = field(default_factory=dict)


def _check_limit(limit: int | None) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise BenchmarkError(f"--limit must be a whole number >= 1, got {limit!r}")


def _rows(
    spec: TaskSpec, role: str, data_dir: str | Path | None, data_file: str | Path | None, cache_dir: Any
) -> tuple[Any, dict]:
    _check_has_source(spec, data_dir)
    if spec.reader is not None:  # the task's own reader (a hook beside its YAML)
        from .local import read_with_reader

        return read_with_reader(spec, role, data_dir, data_file=data_file)  # type: ignore[arg-type]
    if data_dir is None or local.reads_folder(spec):
        if data_file is not None:
            raise BenchmarkError(f"{spec.name}: --data-file applies to official local files, not to Hub data")
        if data_dir is not None:  # a copy of the Hub repository (local.format hub_folder)
            return local.read_folder(spec, role, data_dir)
        if builds.has_local_build(spec):  # the Hub copy, else the local `gonerd build`
            return builds.load_split(spec, role, cache_dir=cache_dir)
        return hub.load_hub_split(spec, role, cache_dir=cache_dir)
    return local.read_local(spec, role, data_dir, data_file=data_file)


CLEANINGS = {"mteb": "benchmark.data.arxiv_cleaning.clean_splits"}  # fields.cleaning names (arXiv)


def _cleaning_of(spec: TaskSpec) -> str | None:
    """The spec's cleaning: its ``cleaning:`` hook, or the built-in one ``fields.cleaning`` names."""
    if spec.cleaning is not None:
        return spec.cleaning
    named = spec.fields.get("cleaning")
    if named is not None and named not in CLEANINGS:
        raise BenchmarkError(f"{spec.name}: fields.cleaning {named!r} is not one of {', '.join(CLEANINGS)}")
    return CLEANINGS.get(named) if named else None


def _load_clean(
    spec: TaskSpec, role: str, data_dir: str | Path | None, cache_dir: Any
) -> tuple[list[dict], dict, dict]:
    """Rows of ``role`` after the spec's cleaning, which also sees train (rules across splits: evaluation texts
    found in train), so train is read along with ``role``."""
    from ..tasks.hooks import call_cleaning

    train = spec.train_split
    roles = [role] if train is None or role == train else [train, role]
    loaded = {r: _rows(spec, r, data_dir, None, cache_dir) for r in roles}
    splits = {r: [dict(row) for row in rows] for r, (rows, _) in loaded.items()}
    if spec.cleaning is None:  # a built-in cleaning, named in fields
        kept, counts = arxiv_cleaning.clean_splits(splits)
        name = spec.fields["cleaning"]
    else:
        kept, counts = call_cleaning(spec, splits)
        name = spec.cleaning
    source = dict(loaded[role][1])
    if train in loaded and role != train:
        source["leak_reference"] = loaded[train][1]
    return kept[role], source, {"cleaning": name, "removed": counts}


def load_examples(
    spec: TaskSpec,
    split: str,
    *,
    data_dir: str | Path | None = None,
    limit: int | None = None,
    data_file: str | Path | None = None,
    cache_dir: str | Path | None = None,
) -> LoadedSplit:
    """Examples of ``split`` (a role: train / validation / test) of ``spec``.

    ``limit=N`` keeps the first N examples (for a task with sub-tasks, the first N of each). ``data_file``
    replaces the file the spec names for this split (e.g. ``dev-v1.1-sample.json``), relative to
    ``data_dir/<task>/`` or absolute. A task with sub-tasks (GLUE) returns all sub-tasks' examples, whose ids
    carry the sub-task prefix; ``stats["subtasks"]`` gives the count per sub-task.
    """
    _check_limit(limit)
    if spec.subtasks:
        if data_file is not None:
            raise BenchmarkError(f"{spec.name}: --data-file needs a single sub-task (e.g. {spec.name}/rte)")
        parts = [
            load_examples(sub, split, data_dir=data_dir, limit=limit, cache_dir=cache_dir)
            for sub in spec.subtasks
        ]
        return LoadedSplit(
            examples=[ex for part in parts for ex in part.examples],
            source={sub.name: part.source for sub, part in zip(spec.subtasks, parts, strict=True)},
            stats={
                "subtasks": {
                    sub.name: len(part.examples) for sub, part in zip(spec.subtasks, parts, strict=True)
                }
            },
        )
    stats: dict[str, Any] = {}
    if _cleaning_of(spec) is not None:
        if data_file is not None:
            raise BenchmarkError(f"{spec.name}: --data-file is not supported for a task with a cleaning")
        rows, source, stats = _load_clean(spec, split, data_dir, cache_dir)
    else:
        rows, source = _rows(spec, split, data_dir, data_file, cache_dir)
        if limit is not None and hasattr(rows, "select"):
            rows = rows.select(range(min(limit, len(rows))))
    examples = hub.rows_to_examples(spec, split, rows)
    if not examples:
        raise BenchmarkError(f"{spec.name} {split}: no examples in {_where(source)}")
    if limit is not None:
        examples = examples[:limit]
    seen: set[str] = set()
    for ex in examples:
        if ex.id in seen:
            raise BenchmarkError(f"{spec.name} {split}: example id {ex.id!r} occurs more than once")
        seen.add(ex.id)
    stats["examples"] = len(examples)
    source = {**source, "gold_sha256": gold_sha256(examples)}  # identifies the gold for re-scoring
    return LoadedSplit(examples=examples, source=source, stats=stats)


def gold_sha256(examples: list[Example]) -> str:
    """sha256 of what scoring reads from each example: its id and gold (label; answers; word count and tags),
    one JSON line each, sorted (scores do not depend on the order). The same for a split read from the Hub or
    from the official files, so a leaderboard can tell that the gold it re-scores against is the one the run
    scored against."""
    from .. import task_types

    lines = []
    for ex in examples:
        gold = task_types.for_example(ex).gold_fingerprint(ex)
        lines.append(json.dumps([ex.id, gold], ensure_ascii=False) + "\n")
    return hashlib.sha256("".join(sorted(lines)).encode("utf-8")).hexdigest()


def _check_has_source(spec: TaskSpec, data_dir: str | Path | None) -> None:
    if data_dir is None and not spec.hub.path:
        raise BenchmarkError(
            f"{spec.name}: the task has no Hub dataset; give --data-dir DIR with its files under DIR/{spec.name}/"
        )


def check_available(spec: TaskSpec, roles: list[str], data_dir: str | Path | None) -> None:
    """Cheap check, before any model is loaded, that ``--data-dir`` holds what ``roles`` of ``spec`` need (the
    official files, or a Hub-layout folder); one-line error if not. Hub data is only reachable by loading it."""
    _check_has_source(spec, data_dir)
    if data_dir is None:
        if builds.has_local_build(spec):
            builds.check(spec)
        return
    if local.reads_folder(spec):
        folder = Path(data_dir) / local.task_folder(spec)
        if not (folder / "README.md").is_file():
            raise BenchmarkError(
                f"{spec.name}: no dataset folder at {folder} (a copy of the Hub repository: README.md + data files)"
            )
        return
    for role in roles:
        path = local.locate_local(spec, role, data_dir)
        stat = path.stat()
        key = (spec.name, role, str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if key in _PREFLIGHTED:  # several models in one command check the same files once
            continue
        rows = local.preflight_local(spec, role, data_dir)
        if rows is not None:
            try:
                examples = hub.rows_to_examples(spec, role, rows)
            except BenchmarkError as exc:  # e.g. a tag the task does not know: name the file it came from
                raise BenchmarkError(f"{path}: {exc}") from None
            if not examples:
                raise BenchmarkError(f"{spec.name} {role}: no examples in {path}")
        _PREFLIGHTED.add(key)


_PREFLIGHTED: set[tuple] = set()


def _where(source: dict[str, Any]) -> str:
    """The file(s) or dataset a ``source`` record names, for messages."""
    files = [f.get("path") for f in source.get("files") or [] if isinstance(f, dict)]
    if files:
        return ", ".join(str(f) for f in files[:3])
    return str(source.get("path") or source.get("data_dir") or "the dataset")
