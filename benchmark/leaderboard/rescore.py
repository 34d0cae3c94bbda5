"""Recompute a result's metrics from its saved predictions against gold data identified by sha256.

Where the gold comes from is where the run read it (``dataset.sources`` of the result, per split and, for GLUE,
per sub-task ``"<sub>/<split>"``):

* ``kind: local`` (the official files under ``--data-dir``) and ``kind: hub_folder`` (a copy of the Hub
  repository under ``--data-dir``): read again from ``--data-dir``, the same files as recorded; the recorded paths
  must be relative and inside the data folder.
* ``kind: hub``: from ``--data-dir`` when it holds the task, else from the Hub at the spec's pinned revision
  through the ``datasets`` cache (offline once cached).

The gold is identified by the sha256 the run recorded: ``gold_sha256`` (ids and gold labels/answers/tags, see
:func:`benchmark.data.loader.gold_sha256`; every source records it) and, for files, each file's ``sha256``.
A difference is an error naming the file and both hashes. Gold that cannot be found, or a source recording no
sha256, raises :class:`GoldUnavailable`: the split cannot be verified (``benchmark submit`` refuses it unless
``--unverified``; ``benchmark leaderboard --check`` lists it).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..core.record import ResultRecord, Source
from ..errors import BenchmarkError

TOLERANCE = 1e-6  # recorded and recomputed metrics may differ by this much (float formatting)


class GoldUnavailable(BenchmarkError):
    """The gold data of a split is not at hand (or the run recorded nothing that identifies it)."""


def _files(source: Source | None) -> list[tuple[str, str]]:
    """(path, sha256) of every file a recorded source lists."""
    return [(f.path, f.sha256) for f in source.files or ()] if source is not None else []


def _outside(path: str) -> bool:
    parts = Path(path).parts
    return Path(path).is_absolute() or path.startswith(("/", "\\", "~")) or ".." in parts or ":" in path


def recorded_path_problems(record: ResultRecord) -> list[str]:
    """Recorded data files that are not inside the data folder (absolute, ``..``): a tampered result."""
    problems = []
    for key, source in sorted(record.dataset.sources.items()):
        for path, _ in _files(source):
            if _outside(path):
                problems.append(f"{key} data file {path!r} is outside the data folder (absolute or '..')")
    return problems


def identifies_gold(source: Source | None) -> bool:
    """Whether a recorded source names its gold by sha256 (``gold_sha256``, or files with their sha256)."""
    return source is not None and (source.gold_sha256 is not None or any(sha for _, sha in _files(source)))


def split_sources(spec: Any, record: ResultRecord, split: str) -> list[tuple[Any, str, Source | None]]:
    """(sub-task spec, source key, recorded source) of every part of ``split``."""
    out = []
    for sub in spec.subtasks or (spec,):
        key = f"{sub.name}/{split}" if spec.subtasks else split
        out.append((sub, key, record.dataset.sources.get(key)))
    return out


def verifiable(spec: Any, record: ResultRecord, split: str) -> bool:
    """Whether every part of ``split`` recorded what identifies its gold (no data needed to tell)."""
    return all(identifies_gold(source) for _, _, source in split_sources(spec, record, split))


def _load(sub: Any, split: str, source: Source, limit: Any, data_dir: str | Path | None) -> Any:
    """The split as the run loaded it, from where it read it; GoldUnavailable when it cannot be found."""
    from ..data.loader import load_examples

    kind = source.kind
    tried: list[str] = []
    if data_dir is not None:
        data_file = _files(source)[0][0] if kind == "local" and _files(source) else None
        try:
            return load_examples(sub, split, data_dir=data_dir, limit=limit, data_file=data_file)
        except BenchmarkError as exc:
            tried.append(str(exc))
        except (OSError, ValueError, KeyError, TypeError) as exc:  # unreadable files under --data-dir
            tried.append(f"{sub.name}: cannot read its gold data under {data_dir} ({exc.__class__.__name__})")
    if kind == "hub":
        try:
            return load_examples(sub, split, limit=limit)
        except BenchmarkError as exc:
            tried.append(str(exc))
        except Exception as exc:  # the datasets library's own errors (offline, not cached, ...)
            tried.append(f"{sub.name}: cannot load {sub.hub.path} from the Hub ({exc.__class__.__name__})")
    elif data_dir is None:
        tried.append("the run read local files and no --data-dir was given")
    raise GoldUnavailable("; ".join(tried) or "gold data not found")


def load_gold(spec: Any, record: ResultRecord, split: str, data_dir: str | Path | None) -> list[Any]:
    """Gold examples of ``split`` as the run loaded them. GoldUnavailable when they cannot be found, the run
    recorded no sha256 for them or the task pins no gold for the split; BenchmarkError when they are not gold the
    task's spec pins (:func:`check_pinned`) or differ from what the run read (names both hashes).

    The whole split is read and checked against the spec's pins; a run with ``--limit N`` is then scored on its
    first N examples (a sample, marked as such on the board)."""
    from ..data.loader import gold_sha256

    limit = record.config.limit
    examples: list[Any] = []
    for sub, key, source in split_sources(spec, record, split):
        part = f"{key}: " if spec.subtasks else ""
        if source is None:
            raise GoldUnavailable(f"{part}the result records no data source")
        if not identifies_gold(source):
            raise GoldUnavailable(f"{part}the run recorded no sha256 of its gold data")
        bad = [p for p, _ in _files(source) if _outside(p)]
        if bad:
            raise BenchmarkError(f"{key} data file {bad[0]!r} is outside the data folder (absolute or '..')")
        loaded = _load(sub, split, source, None, data_dir)
        read = Source.from_dict(loaded.source, f"{key} data source")  # as a result records it
        check_pinned(sub, key, split, read)
        _same_files(key, source, read, data_dir)
        gold = loaded.examples[:limit] if limit is not None else loaded.examples
        recorded, got = source.gold_sha256, gold_sha256(gold) if limit is not None else read.gold_sha256
        if recorded is not None and recorded != got:
            raise BenchmarkError(
                f"{key} gold data ({_where(read, sub)}) has sha256 {got}; the run recorded {recorded}"
            )
        examples += gold
    return examples


def check_pinned(sub: Any, key: str, split: str, read: Source) -> None:
    """Gold read from files (``--data-dir``, a local build) must be gold the task's spec pins for the split
    (``gold:`` of its YAML): the run's own record of its files proves nothing about which data they are. Gold read
    from the Hub is identified by the spec's pinned revision (it is always read at that revision)."""
    if read.kind == "hub":
        return
    pins = sub.gold.get(split, ())
    if not pins:
        raise GoldUnavailable(
            f"{key}: the task spec pins no gold for {split} (gold: in its YAML), so gold read from files "
            "cannot be identified"
        )
    if sub.gold_pin(split, read.gold_sha256) is None:
        names = ", ".join(p.name for p in pins)
        raise BenchmarkError(
            f"{key} gold data ({_where(read, sub)}) is not the task's {split} gold: its sha256 "
            f"{read.gold_sha256} is none the spec pins ({names}; benchmark/tasks/{sub.name}.yaml, gold.{split})"
        )


def _where(source: Source, sub: Any) -> str:
    if source.kind == "hub":
        return f"{source.path}@{source.revision}"
    if source.kind == "local" and _files(source):
        return ", ".join(path for path, _ in _files(source))
    return str(source.path or source.data_dir or sub.name)


def _same_files(key: str, recorded: Source, loaded: Source, data_dir: Any) -> None:
    """Every file the run recorded was read again with the same sha256 (and a folder copy has no other files)."""
    if recorded.kind not in ("local", "hub_folder") or not _files(recorded):
        return
    got = dict(_files(loaded))
    for path, sha in _files(recorded):
        if got.get(path) != sha:
            shown = f"{path} in --data-dir {data_dir}" if data_dir is not None else path
            raise BenchmarkError(
                f"{key} gold file {shown} has sha256 {got.get(path) or '(not read)'}; the run recorded {sha} "
                "(the data files differ from the ones the run read)"
            )
    if recorded.kind == "hub_folder" and sorted(got) != sorted(p for p, _ in _files(recorded)):
        raise BenchmarkError(f"{key}: data files in --data-dir differ from the ones the run read")


def verify(
    spec: Any, record: ResultRecord, split: str, predictions: dict[str, Any], data_dir: str | Path | None
) -> None:
    """Re-score one split. Returns when every recorded metric matches; GoldUnavailable when the gold is not at
    hand; BenchmarkError (one line) for different gold, predictions that do not fit it, or different metrics."""
    from ..evaluate.scoring import score_predictions

    gold = load_gold(spec, record, split, data_dir)
    expected = record.n_examples.get(split)
    if expected != len(gold):
        raise BenchmarkError(
            f"n_examples.{split} is {expected!r}, but the gold split has {len(gold)} examples"
        )
    try:
        fresh = json.loads(
            json.dumps(score_predictions(spec, gold, predictions))
        )  # as a result file holds it
    except BenchmarkError as exc:
        raise BenchmarkError(f"{split} predictions do not fit the gold data: {exc}") from None
    recorded = record.metrics[split]
    diffs = _differences(recorded.metrics, fresh["metrics"], ())
    if not _close(recorded.score, fresh["score"]):
        diffs.insert(0, f"score recorded {recorded.score!r}, recomputed {fresh['score']!r}")
    if diffs:
        shown = "; ".join(diffs[:3]) + (f"; and {len(diffs) - 3} more" if len(diffs) > 3 else "")
        raise BenchmarkError(f"{split} metrics do not match the saved predictions: {shown}")
    boot = (record.bootstrap or {}).get(split)
    if boot is not None:
        _verify_bootstrap(spec, split, boot, gold, predictions, fresh["score"])


def _verify_bootstrap(
    spec: Any, split: str, boot: Any, gold: list[Any], predictions: Any, score: Any
) -> None:
    """The recorded bootstrap replicates (:mod:`benchmark.evaluate.intervals`) recomputed from the predictions."""
    from ..evaluate.intervals import DECIMALS, bootstrap_split

    fresh = bootstrap_split(
        spec, gold, predictions, score=score, resamples=boot.resamples, seed=boot.rng_seed
    )
    recorded = boot.to_dict()
    same = all(recorded[k] == fresh[k] for k in fresh if k != "replicates") and all(
        math.isclose(a, b, abs_tol=2 * 10**-DECIMALS)
        for a, b in zip(recorded["replicates"], fresh["replicates"], strict=True)
    )
    if not same:
        raise BenchmarkError(f"{split} bootstrap replicates do not match the saved predictions")


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=0.0, abs_tol=TOLERANCE)
    return a == b


def _differences(recorded: Any, fresh: Any, path: tuple[str, ...]) -> list[str]:
    """Key paths where ``recorded`` differs from ``fresh`` (numbers within TOLERANCE are equal)."""
    if isinstance(fresh, dict):
        if not isinstance(recorded, dict):
            return [f"{'.'.join(path) or 'metrics'} missing"]
        out = []
        for key in sorted(set(fresh) | set(recorded), key=str):
            if key not in fresh or key not in recorded:
                out.append(
                    f"{'.'.join((*path, str(key)))} only in {'recorded' if key in recorded else 'recomputed'}"
                )
            else:
                out += _differences(recorded[key], fresh[key], (*path, str(key)))
        return out
    if _close(recorded, fresh):
        return []
    return [f"{'.'.join(path)} recorded {recorded!r}, recomputed {fresh!r}"]
