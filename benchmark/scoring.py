"""Score a predictions file against a task's gold examples with the metric code the harness uses.

Predictions file: JSON lines (optionally gzip-compressed, ``.gz``), one object per example::

    {"id": "mrpc-0", "prediction": "equivalent"}

``prediction`` is a label name (classification), a number (regression: STS-B), an answer string (extractive
QA) or a list of IOB2 tags, one per word (token classification). GLUE ids carry the sub-task prefix, so one
file covers every sub-task.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import BenchmarkError
from .examples import ClassificationExample, Example, QAExample, TokenExample
from .tasks.spec import TaskSpec

MAX_LISTED = 3


# --------------------------------------------------------------------------------------------- reading


def read_predictions(path: str | Path) -> dict[str, Any]:
    """``{id: prediction}`` from a JSONL(.gz) file; errors name ``file:line`` (invalid JSON, missing key,
    non-string id, duplicate id)."""
    path = Path(path)
    if not path.is_file():
        raise BenchmarkError(f"predictions file {path} not found")
    opener = gzip.open if path.suffix == ".gz" else open
    preds: dict[str, Any] = {}
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                where = f"{path}:{lineno}"
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise BenchmarkError(f"{where}: invalid JSON ({exc.msg})") from None
                if not isinstance(obj, dict) or "id" not in obj or "prediction" not in obj:
                    raise BenchmarkError(f"{where}: expected an object with keys 'id' and 'prediction'")
                if not isinstance(obj["id"], str):
                    raise BenchmarkError(f"{where}: 'id' must be a string, got {obj['id']!r}")
                if obj["id"] in preds:
                    raise BenchmarkError(f"{where}: duplicate id {obj['id']!r}")
                preds[obj["id"]] = obj["prediction"]
    except (OSError, EOFError, UnicodeDecodeError) as exc:
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
    """Why ``pred`` is not a valid prediction for ``ex`` (None when it is)."""
    if spec.task_type == "regression":
        ok = isinstance(pred, int | float) and not isinstance(pred, bool) and math.isfinite(pred)
        return None if ok else "not a finite number"
    if spec.task_type == "classification":
        return None if isinstance(pred, str) and pred in spec.label_names else "not a known label name"
    if spec.task_type == "extractive_qa":
        return None if isinstance(pred, str) else "not a string"
    assert isinstance(ex, TokenExample)
    if not isinstance(pred, list) or not all(isinstance(t, str) for t in pred):
        return "not a list of tag strings"
    if len(pred) != len(ex.tokens):
        return "a tag count different from the number of words"
    if any(t not in spec.label_names for t in pred):
        return "an unknown tag"
    return None


def _validate(spec: TaskSpec, examples: Sequence[Example], predictions: Mapping[str, Any]) -> None:
    gold_ids = [ex.id for ex in examples]
    known = set(gold_ids)
    missing = [i for i in gold_ids if i not in predictions]
    if missing:
        raise BenchmarkError(
            f"predictions lack {len(missing)} of {len(gold_ids)} {spec.name} ids (e.g. {_listed(missing)})"
        )
    extra = [i for i in predictions if i not in known]
    if extra:
        raise BenchmarkError(f"predictions have {len(extra)} ids not in {spec.name} (e.g. {_listed(extra)})")
    problems: dict[str, list[str]] = {}
    for ex in examples:
        why = _shape_problem(_spec_for(spec, ex.id), ex, predictions[ex.id])
        if why:
            problems.setdefault(why, []).append(ex.id)
    if problems:
        why, ids = max(problems.items(), key=lambda kv: len(kv[1]))
        raise BenchmarkError(f"{len(ids)} {spec.name} predictions are {why} (e.g. {_listed(ids)})")


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
        answers = {ex.id: preds[ex.id] for ex in examples}
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


def score_predictions(spec: TaskSpec, examples: Sequence[Example], predictions: Mapping[str, Any]) -> dict:
    """Validate ``predictions`` against ``examples`` (every id present, no extra ids, right shapes) and score
    them. Returns ``{"task", "num_examples", "metrics", "primary_metric", "score", "spec_hash"}``; metrics are
    0-100. Token classification adds ``per_type`` and ``strict_f1``; GLUE gives per-sub-task metrics and
    ``glue_score``."""
    if not examples:
        raise BenchmarkError(f"{spec.name}: no gold examples to score against")
    unlabeled = [ex.id for ex in examples if _gold_missing(ex)]
    if unlabeled:
        raise BenchmarkError(
            f"{spec.name}: {len(unlabeled)} gold examples have no labels (e.g. {_listed(unlabeled)}); "
            "score a split with public labels"
        )
    _validate(spec, examples, predictions)
    metrics = (
        _score_glue(spec, examples, predictions)
        if spec.subtasks
        else _score_single(spec, examples, predictions)
    )
    return {
        "task": spec.name,
        "num_examples": len(examples),
        "metrics": metrics,
        "primary_metric": spec.primary_metric,
        "score": metrics.get(spec.primary_metric),
        "spec_hash": spec.spec_hash(),
    }


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
) -> dict:
    """``benchmark score``: load the gold split of ``task``, read and score ``predictions``. The result also
    records the split and the data ``source`` (Hub id + revision, or local files + sha256) and loading stats."""
    from .data.loader import load_examples
    from .tasks.registry import get_task

    spec = get_task(task)
    preds = read_predictions(predictions)
    loaded = load_examples(spec, split, data_dir=data_dir, limit=limit, data_file=data_file)
    result = score_predictions(spec, loaded.examples, preds)
    result.update(
        {"split": split, "source": loaded.source, "stats": loaded.stats, "predictions": str(predictions)}
    )
    return result
