"""Recompute a result's metrics from its saved predictions against gold data, so a hand-edited score is caught.

The gold split is loaded the way the run loaded it: the same ``--limit`` (from the recorded config) and, for
local files, the same file the run read (recorded in ``dataset.sources``), whose sha256 must match. When the
gold data is not available or differs, the split is not re-scored and a warning says why.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..errors import BenchmarkError
from .validate import TOLERANCE


def _local_file(source: Any) -> tuple[str | None, str | None]:
    """(file the run read, its sha256) from a recorded local source; (None, None) for a Hub source."""
    if isinstance(source, dict) and source.get("kind") == "local" and source.get("files"):
        first = source["files"][0]
        return str(first.get("path")), first.get("sha256")
    return None, None


def _folder_shas(source: Any) -> list[tuple[str, str]] | None:
    """(path, sha256) of the files a run read from a local Hub-layout folder; None when not recorded."""
    if isinstance(source, dict) and source.get("kind") == "hub_folder" and source.get("files"):
        return sorted((str(f.get("path")), str(f.get("sha256"))) for f in source["files"])
    return None


def load_gold(spec: Any, record: dict[str, Any], split: str, data_dir: str | Path) -> list[Any]:
    """Gold examples of ``split`` as the run loaded them; BenchmarkError when unavailable or different."""
    from ..data.loader import load_examples

    limit = record.get("config", {}).get("limit")
    sources = record.get("dataset", {}).get("sources") or {}
    examples: list[Any] = []
    for sub in spec.subtasks or (spec,):
        key = f"{sub.name}/{split}" if spec.subtasks else split
        data_file, sha = _local_file(sources.get(key))
        if data_file is not None and (Path(data_file).is_absolute() or ".." in Path(data_file).parts):
            raise BenchmarkError(f"recorded data file {data_file!r} is not inside the data folder")
        loaded = load_examples(sub, split, data_dir=data_dir, limit=limit, data_file=data_file)
        _, got = _local_file(loaded.source)
        if sha is not None and got != sha:
            raise BenchmarkError(
                f"{sub.name} {split} gold file in --data-dir differs from the one the run read"
            )
        recorded_folder, got_folder = _folder_shas(sources.get(key)), _folder_shas(loaded.source)
        if recorded_folder is not None and recorded_folder != got_folder:
            raise BenchmarkError(
                f"{sub.name} {split} data files in --data-dir differ from the ones the run read"
            )
        examples += loaded.examples
    return examples


def rescore(
    spec: Any, record: dict[str, Any], split: str, predictions: dict[str, Any], data_dir: str | Path
) -> tuple[str | None, str | None]:
    """(problem, warning) for one split: a problem when a recorded metric differs from the recomputed one."""
    from ..scoring import score_predictions

    try:
        gold = load_gold(spec, record, split, data_dir)
        fresh = json.loads(
            json.dumps(score_predictions(spec, gold, predictions))
        )  # as a result file holds it
    except BenchmarkError as exc:
        return None, f"{split} not re-scored ({exc})"
    recorded = record["metrics"][split]
    diffs = _differences(recorded.get("metrics"), fresh["metrics"], ())
    if not _close(recorded.get("score"), fresh["score"]):
        diffs.insert(0, f"score recorded {recorded.get('score')!r}, recomputed {fresh['score']!r}")
    if diffs:
        shown = "; ".join(diffs[:3]) + (f"; and {len(diffs) - 3} more" if len(diffs) > 3 else "")
        return f"{split} metrics do not match the saved predictions: {shown}", None
    return None, None


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
