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
import math
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import BenchmarkError
from .examples import ClassificationExample, Example, QAExample, TokenExample
from .tasks.spec import TaskSpec

MAX_LISTED = 3
MISSING_AS_ZERO = ("extractive_qa", "token_classification")  # task types --allow-missing applies to


# --------------------------------------------------------------------------------------------- reading


def read_predictions(path: str | Path, *, max_count: int | None = None) -> dict[str, Any]:
    """``{id: prediction}`` from a JSONL(.gz) file; errors name ``file:line`` (invalid JSON, missing key,
    non-string id, duplicate id).

    Read as a stream within the limits of :mod:`benchmark.limits` (decompressed size, line length, JSON depth),
    so a gzip bomb or a deeply nested line is refused with one line; ``max_count`` refuses a file with more
    predictions than that (the number of gold examples) as soon as one more is read."""
    from . import limits

    path = Path(path)
    if not path.is_file():
        raise BenchmarkError(f"predictions file {path} not found")
    preds: dict[str, Any] = {}
    total = 0
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as fh:
            for lineno in itertools.count(1):
                raw = fh.readline(limits.MAX_PREDICTION_LINE_BYTES + 1)
                if not raw:
                    break
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
    if not preds:
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
    out: dict[str, Any] = {}
    for ex in examples:
        if isinstance(ex, ClassificationExample):
            out[ex.id] = ex.label
        elif isinstance(ex, QAExample):
            out[ex.id] = ex.answers[0] if ex.answers else ""
        elif isinstance(ex, TokenExample):
            out[ex.id] = list(ex.tags or ())
    return out


# --------------------------------------------------------------------------------------------- validation


def _listed(ids: Sequence[str]) -> str:
    return ", ".join(ids[:MAX_LISTED]) + (", ..." if len(ids) > MAX_LISTED else "")


def _shape_problem(spec: TaskSpec, ex: Example, pred: Any) -> str | None:
    """Why ``pred`` is not a valid prediction for ``ex`` (None when it is), phrased to follow "N predictions"."""
    if spec.task_type == "regression":
        ok = isinstance(pred, int | float) and not isinstance(pred, bool) and math.isfinite(pred)
        return None if ok else "are not a finite number"
    if spec.task_type == "classification":
        return None if isinstance(pred, str) and pred in spec.label_names else "are not a known label name"
    if spec.task_type == "extractive_qa":
        return None if isinstance(pred, str) else "are not a string"
    assert isinstance(ex, TokenExample)
    if not isinstance(pred, list) or not all(isinstance(t, str) for t in pred):
        return "are not a list of tag strings"
    if len(pred) != len(ex.tokens):
        return "have a tag count different from the number of words"
    unknown = next((t for t in pred if t not in spec.label_names), None)
    if unknown is not None:
        return f"contain a tag that is not one of the task's labels ({', '.join(spec.label_names)})"
    return None


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
    from .metrics import classification, hotpotqa, ner, squad, triviaqa

    if spec.task_type == "token_classification":
        gold = [list(ex.tags or ()) for ex in examples]
        pred = [list(preds[ex.id]) for ex in examples]
        metrics = dict(ner.conlleval(gold, pred))
        metrics["strict_f1"] = ner.strict_f1(gold, pred)["f1"]
        return metrics
    if spec.task_type == "extractive_qa":
        layout = spec.fields.get("layout")
        answers = {ex.id: preds[ex.id] for ex in examples if ex.id in preds}  # missing: 0, as officially
        if layout == "hotpotqa":
            return hotpotqa.evaluate({ex.id: ex.answers[0] for ex in examples}, answers)
        module = triviaqa if layout == "triviaqa" else squad
        return module.evaluate({ex.id: list(ex.answers) for ex in examples}, answers)
    gold = [ex.label for ex in examples]
    pred = [preds[ex.id] for ex in examples]
    if spec.name in _glue_subtasks():
        from .metrics import glue

        return glue.score_subtask(spec.name, gold, pred)
    return {"accuracy": classification.accuracy(gold, pred), "macro_f1": classification.macro_f1(gold, pred)}


def _glue_subtasks() -> set[str]:
    from .metrics import glue

    return set(glue.SUBTASKS)


def _score_glue(spec: TaskSpec, examples: Sequence[Example], preds: Mapping[str, Any]) -> dict[str, Any]:
    from .metrics import glue

    per: dict[str, dict] = {}
    counts: dict[str, int] = {}
    for sub in spec.subtasks:
        sub_examples = [ex for ex in examples if ex.id.startswith(sub.name + "-")]
        if sub_examples:
            per[sub.name] = _score_single(sub, sub_examples, preds)
            counts[sub.name] = len(sub_examples)
    metrics: dict[str, Any] = {"subtasks": per, "subtask_examples": counts}
    try:
        metrics["glue_score"] = glue.glue_score(per)
    except ValueError as exc:  # some sub-tasks not loaded: report them, leave the aggregate out
        metrics["glue_score"] = None
        metrics["glue_score_missing"] = str(exc)
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
    0-100. Token classification adds ``per_type`` and ``strict_f1``; GLUE gives per-sub-task metrics and
    ``glue_score``.

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
    if missing and spec.task_type == "token_classification":
        by_id = {ex.id: ex for ex in examples}
        predictions = {**predictions, **{i: ["O"] * len(by_id[i].tokens) for i in missing}}  # type: ignore[union-attr]
    elif missing and spec.task_type not in MISSING_AS_ZERO:
        raise BenchmarkError(
            f"--allow-missing: {spec.name} is a {spec.task_type} task, which has no official score for a missing "
            f"prediction; predictions lack {len(missing)} ids (e.g. {_listed(missing)})"
        )
    metrics = (
        _score_glue(spec, examples, predictions)
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
    if isinstance(ex, ClassificationExample):
        return ex.label is None
    if isinstance(ex, QAExample):
        return not ex.answers
    return ex.tags is None


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
    from .data.loader import load_examples
    from .tasks.registry import get_task

    spec = get_task(task)
    preds = read_predictions(predictions)
    loaded = load_examples(spec, split, data_dir=data_dir, limit=limit, data_file=data_file)
    try:
        result = score_predictions(spec, loaded.examples, preds, allow_missing=allow_missing)
    except BenchmarkError as exc:
        if str(exc).startswith("predictions lack") and spec.task_type in MISSING_AS_ZERO:
            raise BenchmarkError(f"{exc}; --allow-missing scores them as 0 (official scripts)") from None
        raise
    result.update(
        {"split": split, "source": loaded.source, "stats": loaded.stats, "predictions": str(predictions)}
    )
    return result
