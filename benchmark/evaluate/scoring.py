"""Score a predictions file against a task's gold examples with the metric code the harness uses.

Predictions file: JSON lines (optionally gzip-compressed, ``.gz``), one object per example::

    {"id": "mrpc-0", "prediction": "equivalent"}

``prediction`` is a label name (classification), a number (regression: STS-B), an answer string (extractive
QA) or a list of IOB2 tags, one per word (token classification). GLUE ids carry the sub-task prefix, so one
file covers every sub-task.
"""

from __future__ import annotations

import gzip
import itertools
import json
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import task_types
from ..core.examples import Example
from ..core.task_spec import TaskSpec
from ..errors import BenchmarkError

MAX_LISTED = 3


# --------------------------------------------------------------------------------------------- reading


def read_predictions(
    path: str | Path, *, max_count: int | None = None, allow_empty: bool = False
) -> dict[str, Any]:
    """``{id: prediction}`` from a JSONL(.gz) file; errors name ``file:line`` (invalid JSON, missing key,
    non-string id, duplicate id).

    Read as a stream within the limits of :mod:`benchmark.limits` (decompressed size, line length, JSON depth),
    so a gzip bomb or a deeply nested line is refused with one line; ``max_count`` refuses a file with more
    predictions than that (the number of gold examples) as soon as one more is read. A file with no prediction
    is refused unless ``allow_empty`` (``benchmark score --allow-missing``: every id then scores 0)."""
    from .. import limits

    path = Path(path)
    if not path.exists():
        raise BenchmarkError(f"predictions file {path} not found")
    preds: dict[str, Any] = {}
    total = 0
    try:
        raw_fh = limits.open_regular(path, f"predictions file {path}")  # a FIFO is refused, never waited on
        with raw_fh, gzip.GzipFile(fileobj=raw_fh, mode="rb") if path.suffix == ".gz" else raw_fh as fh:
            for lineno in itertools.count(1):
                raw = fh.readline(limits.MAX_PREDICTION_LINE_BYTES + 1)
                if not raw:
                    break
                if lineno > limits.MAX_PREDICTION_LINES:  # bounds the work of a file of empty lines too
                    raise BenchmarkError(
                        f"predictions file {path}: more than {limits.MAX_PREDICTION_LINES:,} lines (the limit); "
                        "refused"
                    )
                total += len(raw)
                if total > limits.MAX_PREDICTIONS_BYTES:
                    raise BenchmarkError(
                        f"predictions file {path}: more than {limits.MAX_PREDICTIONS_BYTES // 2**20} MiB "
                        "when decompressed (the limit); refused"
                    )
                where = f"{path}:{lineno}"
                if len(raw) > limits.MAX_PREDICTION_LINE_BYTES:
                    raise BenchmarkError(
                        f"{where}: line longer than {limits.MAX_PREDICTION_LINE_BYTES // 2**20} MiB (the limit)"
                    )
                if not raw.strip():
                    continue
                obj = limits.loads(raw, where)
                if not isinstance(obj, dict) or "id" not in obj or "prediction" not in obj:
                    raise BenchmarkError(f"{where}: expected an object with keys 'id' and 'prediction'")
                if not isinstance(obj["id"], str):
                    raise BenchmarkError(f"{where}: 'id' must be a string, got {obj['id']!r}")
                if obj["id"] in preds:
                    raise BenchmarkError(f"{where}: duplicate id {obj['id']!r}")
                if max_count is not None and len(preds) >= max_count:
                    raise BenchmarkError(
                        f"predictions file {path}: more predictions than the {max_count} examples of the split"
                    )
                preds[obj["id"]] = obj["prediction"]
    except (OSError, EOFError, zlib.error) as exc:
        raise BenchmarkError(
            f"predictions file {path}: cannot read ({exc.__class__.__name__}: {exc})"
        ) from None
    if not preds and not allow_empty:
        raise BenchmarkError(f"predictions file {path} has no predictions")
    return preds


def write_predictions(path: str | Path, predictions: Mapping[str, Any]) -> Path:
    """Write ``{id: prediction}`` in the format :func:`read_predictions` reads (gzip when ``.gz``)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as fh:
        for key, pred in predictions.items():
            fh.write(json.dumps({"id": key, "prediction": pred}, ensure_ascii=False) + "\n")
    return path


def gold_as_predictions(examples: Sequence[Example]) -> dict[str, Any]:
    """Predictions equal to the gold (first gold answer for QA): a perfect submission, for sanity checks."""
    return {ex.id: task_types.for_example(ex).gold_as_prediction(ex) for ex in examples}


# --------------------------------------------------------------------------------------------- validation


def _listed(ids: Sequence[str]) -> str:
    return ", ".join(ids[:MAX_LISTED]) + (", ..." if len(ids) > MAX_LISTED else "")


def _shape_problem(spec: TaskSpec, ex: Example, pred: Any) -> str | None:
    """Why ``pred`` is not a valid prediction for ``ex`` (None when it is), phrased to follow "N predictions"."""
    return task_types.get(spec.task_type).shape_problem(spec, ex, pred)


def _validate(
    spec: TaskSpec,
    examples: Sequence[Example],
    predictions: Mapping[str, Any],
    *,
    allow_missing: bool = False,
) -> list[str]:
    """Check ids and shapes; returns the gold ids without a prediction (an error unless ``allow_missing``)."""
    gold_ids = [ex.id for ex in examples]
    known = set(gold_ids)
    missing = [i for i in gold_ids if i not in predictions]
    if missing and not allow_missing:
        raise BenchmarkError(
            f"predictions lack {len(missing)} of {len(gold_ids)} {spec.name} ids (e.g. {_listed(missing)})"
        )
    extra = [i for i in predictions if i not in known]
    if extra:
        raise BenchmarkError(f"predictions have {len(extra)} ids not in {spec.name} (e.g. {_listed(extra)})")
    problems: dict[str, list[str]] = {}
    for ex in examples:
        if ex.id not in predictions:
            continue
        why = _shape_problem(_spec_for(spec, ex.id), ex, predictions[ex.id])
        if why:
            problems.setdefault(why, []).append(ex.id)
    if problems:
        why, ids = max(problems.items(), key=lambda kv: len(kv[1]))
        raise BenchmarkError(f"{len(ids)} {spec.name} predictions {why} (e.g. {_listed(ids)})")
    return missing


def _spec_for(spec: TaskSpec, example_id: str) -> TaskSpec:
    """The sub-task spec an id belongs to (ids are ``<subtask>-...``), or ``spec`` itself."""
    for sub in spec.subtasks:
        if example_id.startswith(sub.name + "-"):
            return sub
    return spec


# --------------------------------------------------------------------------------------------- scoring


def _score_single(spec: TaskSpec, examples: Sequence[Example], preds: Mapping[str, Any]) -> dict[str, Any]:
    """The metrics of one (sub-)task: its YAML ``scorer:`` (a ``module.function`` hook, or a scorer registered
    by that name) when it has one, else the scorers registered for its type
    (:meth:`benchmark.task_types.TaskType.scorers`) that report a metric its ``metrics:`` list names, each
    scorer's whole output, in registration order."""
    if spec.scorer:
        from ..tasks.hooks import call_scorer

        return call_scorer(spec, examples, preds)
    wanted = set(spec.metrics)
    chosen = [s for s in task_types.get(spec.task_type).scorers(spec) if s.reports & wanted]
    if not chosen:
        raise BenchmarkError(f"{spec.name}: no registered scorer reports {', '.join(spec.metrics)}")
    metrics: dict[str, Any] = {}
    for scorer in chosen:
        metrics.update(scorer.score(spec, examples, preds))
    return metrics


def _score_suite(spec: TaskSpec, examples: Sequence[Example], preds: Mapping[str, Any]) -> dict[str, Any]:
    """A suite (a task with sub-tasks, e.g. GLUE): each sub-task's metrics, then the suite's own from the
    aggregations its ``aggregate:`` names (:data:`benchmark.core.plugins.AGGREGATIONS`) that report a metric its
    ``metrics:`` list names, in the order listed. An aggregation missing a sub-task (not loaded) gives None and
    ``<metric>_missing``."""
    from ..core.plugins import aggregations

    per: dict[str, dict] = {}
    counts: dict[str, int] = {}
    for sub in spec.subtasks:
        sub_examples = [ex for ex in examples if ex.id.startswith(sub.name + "-")]
        if sub_examples:
            per[sub.name] = _score_single(sub, sub_examples, preds)
            counts[sub.name] = len(sub_examples)
    metrics: dict[str, Any] = {"subtasks": per, "subtask_examples": counts}
    order = {name: i for i, name in reversed(list(enumerate(spec.metrics)))}  # first listed first
    chosen = [a for a in aggregations(spec) if a.reports & set(order)]
    for aggregation in sorted(chosen, key=lambda a: min(order[m] for m in a.reports if m in order)):
        try:
            metrics.update(aggregation.combine(spec, per))
        except ValueError as exc:  # some sub-tasks not loaded: report them, leave the aggregate out
            for name in sorted(aggregation.reports):
                metrics[name] = None
                metrics[f"{name}_missing"] = str(exc)
    return metrics


def score_predictions(
    spec: TaskSpec,
    examples: Sequence[Example],
    predictions: Mapping[str, Any],
    *,
    allow_missing: bool = False,
) -> dict:
    """Validate ``predictions`` against ``examples`` (every id present, no extra ids, right shapes) and score
    them. Returns ``{"task", "num_examples", "metrics", "primary_metric", "score", "spec_hash"}``; metrics are
    0-100. Token classification adds ``per_type`` and ``strict_f1``; a suite gives per-sub-task metrics and
    its aggregate (GLUE: ``glue_score``).

    ``allow_missing``: gold ids without a prediction score 0 and stay in the denominator, as the official SQuAD,
    HotpotQA and TriviaQA scripts do (token classification: the example counts as predicting no entity, "O"
    for every word); the result then has ``"missing"``, their number. Classification refuses it."""
    if not examples:
        raise BenchmarkError(f"{spec.name}: no gold examples to score against")
    unlabeled = [ex.id for ex in examples if _gold_missing(ex)]
    if unlabeled:
        raise BenchmarkError(
            f"{spec.name}: {len(unlabeled)} gold examples have no labels (e.g. {_listed(unlabeled)}); "
            "score a split with public labels"
        )
    missing = _validate(spec, examples, predictions, allow_missing=allow_missing)
    if missing:
        impl = task_types.get(spec.task_type)
        if not impl.allows_missing:
            raise BenchmarkError(
                f"--allow-missing: {spec.name} is a {spec.task_type} task, which has no official score for a "
                f"missing prediction; predictions lack {len(missing)} ids (e.g. {_listed(missing)})"
            )
        by_id = {ex.id: ex for ex in examples}
        filled = {i: impl.missing_prediction(_spec_for(spec, i), by_id[i]) for i in missing}
        predictions = {**predictions, **{i: p for i, p in filled.items() if p is not None}}
    metrics = (
        _score_suite(spec, examples, predictions)
        if spec.subtasks
        else _score_single(spec, examples, predictions)
    )
    result = {
        "task": spec.name,
        "num_examples": len(examples),
        "metrics": metrics,
        "primary_metric": spec.primary_metric,
        "score": metrics.get(spec.primary_metric),
        "spec_hash": spec.spec_hash(),
    }
    if allow_missing:
        result["missing"] = len(missing)
    return result


def _gold_missing(ex: Example) -> bool:
    return task_types.for_example(ex).gold_missing(ex)


def score(
    task: str,
    predictions: str | Path,
    *,
    split: str = "validation",
    data_dir: str | Path | None = None,
    data_file: str | Path | None = None,
    limit: int | None = None,
    allow_missing: bool = False,
) -> dict:
    """``benchmark score``: load the gold split of ``task``, read and score ``predictions``. The result also
    records the split and the data ``source`` (Hub id + revision, or local files + sha256) and loading stats.
    ``allow_missing``: see :func:`score_predictions`."""
    from ..data.loader import load_examples
    from ..tasks.registry import get_task

    spec = get_task(task)
    try:
        preds = read_predictions(predictions, allow_empty=allow_missing)
    except BenchmarkError as exc:
        if str(exc).endswith("has no predictions") and task_types.get(spec.task_type).allows_missing:
            raise BenchmarkError(f"{exc}; --allow-missing scores every id 0 (official scripts)") from None
        raise
    loaded = load_examples(spec, split, data_dir=data_dir, limit=limit, data_file=data_file)
    try:
        result = score_predictions(spec, loaded.examples, preds, allow_missing=allow_missing)
    except BenchmarkError as exc:
        if str(exc).startswith("predictions lack") and task_types.get(spec.task_type).allows_missing:
            raise BenchmarkError(f"{exc}; --allow-missing scores them as 0 (official scripts)") from None
        raise
    result.update(
        {"split": split, "source": loaded.source, "stats": loaded.stats, "predictions": str(predictions)}
    )
    return result
