"""GLUE per-subtask metrics and the aggregate GLUE score.

Metrics per subtask follow the GLUE paper (Wang et al., 2019, "GLUE: A Multi-Task Benchmark and Analysis
Platform for Natural Language Understanding", §3 / Table 1):

============================  ===================================  ============================
subtask                       metrics (keys of ``score_subtask``)  labels (``nyu-mll/glue``)
============================  ===================================  ============================
cola                          ``matthews_correlation``             unacceptable, acceptable
sst2                          ``accuracy``                         negative, positive
mrpc                          ``f1``, ``accuracy``                 not_equivalent, equivalent
qqp                           ``f1``, ``accuracy``                 not_duplicate, duplicate
stsb                          ``pearson``, ``spearmanr``           float similarity scores 0–5
mnli_matched/mnli_mismatched  ``accuracy``                         entailment, neutral, contradiction
qnli                          ``accuracy``                         entailment, not_entailment
rte                           ``accuracy``                         entailment, not_entailment
wnli                          ``accuracy``                         not_entailment, entailment
============================  ===================================  ============================

Label names and their order (index = integer label id) are the ``ClassLabel`` names of the Hugging Face
dataset ``nyu-mll/glue`` (its ``glue.py`` builder: ``label_classes=[...]`` per config). F1 for MRPC and QQP is
the F1 of the positive class, label id 1: ``equivalent`` / ``duplicate`` (as GLUE and the
``evaluate`` library's ``glue`` metric, ``f1_score(y_true, y_pred)`` with ``pos_label=1``).

Aggregation (``task_score``, ``glue_score``):

* A task's score is the unweighted mean of its metrics (GLUE paper: "For tasks with multiple metrics, we use an
  unweighted average of the metrics as the score for the task when computing the overall macro-average").
* MNLI is *one task* in the average: its score is the mean of the matched and mismatched accuracies. This is
  the GLUE leaderboard convention; e.g. BERT-Large's leaderboard row (CoLA 60.5, SST-2 94.9, MRPC 89.3/85.4,
  STS-B 87.6/86.5, QQP 72.1/89.3, MNLI 86.7/85.9, QNLI 92.7, RTE 70.1, WNLI 65.1) gives
  ``glue_score(..., include_wnli=True)`` = 80.5, its published GLUE score. Counting matched and mismatched as two
  entries would give 81.1 instead.
* WNLI is scored and reported by ``score_subtask`` but *excluded* from ``glue_score`` by default
  (``include_wnli=False``): the average is then over the 8 tasks CoLA, SST-2, MRPC, QQP, STS-B, MNLI, QNLI,
  RTE. BERT (Devlin et al., 2019, §4.1 and its footnote pointing to GLUE FAQ item 12) excluded "the problematic
  WNLI set": its train and dev sets are adversarial (the same sentences appear with flipped labels), so dev
  accuracy below the majority baseline is the norm and says nothing about the encoder. Pass
  ``include_wnli=True`` for the 9-task leaderboard-style average.
* The diagnostic set (AX) is never part of the score.

``glue_score`` is registered as the aggregation ``mean`` reporting ``glue_score``, for a suite whose sub-tasks are
all GLUE's (:func:`benchmark.core.plugins.register_aggregation`): glue.yaml's ``aggregate: mean`` with ``metrics:
[glue_score]`` names it. The sub-tasks themselves are scored by their task type's scorers (the metric functions
below give the same numbers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from benchmark.core.plugins import register_aggregation
from benchmark.metrics import classification

__all__ = ["LABELS", "POSITIVE_LABEL", "SUBTASKS", "TASK_GROUPS", "glue_score", "score_subtask", "task_score"]

SUBTASKS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "cola": ("matthews_correlation",),
        "sst2": ("accuracy",),
        "mrpc": ("f1", "accuracy"),
        "qqp": ("f1", "accuracy"),
        "stsb": ("pearson", "spearmanr"),
        "mnli_matched": ("accuracy",),
        "mnli_mismatched": ("accuracy",),
        "qnli": ("accuracy",),
        "rte": ("accuracy",),
        "wnli": ("accuracy",),
    }
)
"""Subtask name -> the metric names ``score_subtask`` reports for it, in GLUE's order."""

LABELS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "cola": ("unacceptable", "acceptable"),
        "sst2": ("negative", "positive"),
        "mrpc": ("not_equivalent", "equivalent"),
        "qqp": ("not_duplicate", "duplicate"),
        "mnli_matched": ("entailment", "neutral", "contradiction"),
        "mnli_mismatched": ("entailment", "neutral", "contradiction"),
        "qnli": ("entailment", "not_entailment"),
        "rte": ("entailment", "not_entailment"),
        "wnli": ("not_entailment", "entailment"),
    }
)
"""Classification subtask -> label names in ``nyu-mll/glue`` id order (STS-B is a regression task)."""

POSITIVE_LABEL: Mapping[str, str] = MappingProxyType({"mrpc": "equivalent", "qqp": "duplicate"})
"""Positive class (label id 1) for the F1 of MRPC and QQP."""

TASK_GROUPS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "cola": ("cola",),
        "sst2": ("sst2",),
        "mrpc": ("mrpc",),
        "qqp": ("qqp",),
        "stsb": ("stsb",),
        "mnli": ("mnli_matched", "mnli_mismatched"),
        "qnli": ("qnli",),
        "rte": ("rte",),
        "wnli": ("wnli",),
    }
)
"""GLUE task -> the subtasks whose task scores are averaged into it (only MNLI has two)."""


def _subtask(name: str) -> str:
    if name not in SUBTASKS:
        raise ValueError(f"unknown GLUE subtask {name!r}; expected one of {sorted(SUBTASKS)}")
    return name


def _label_names(name: str, values: Sequence, which: str) -> list[str]:
    """Map label names (or integer ids) to names, rejecting anything outside the subtask's label set."""
    names = LABELS[name]
    out: list[str] = []
    for i, value in enumerate(values):
        if isinstance(value, str):
            if value not in names:
                raise ValueError(f"{which}[{i}] = {value!r} is not a {name} label; expected one of {names}")
            out.append(value)
        elif isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
            out.append(names[value])
        else:
            raise ValueError(f"{which}[{i}] = {value!r} is not a {name} label name or id; labels: {names}")
    return out


def score_subtask(name: str, gold: Sequence, pred: Sequence) -> dict[str, float]:
    """The GLUE metrics of one subtask (keys as in ``SUBTASKS[name]``), each 0–100.

    Classification subtasks take label names as in ``LABELS[name]`` (integer ids 0..k-1 in that order are
    accepted too); STS-B takes float scores. Raises ``ValueError`` for an unknown subtask, unknown labels,
    length mismatch or empty input.
    """
    _subtask(name)
    if len(gold) != len(pred):
        raise ValueError(f"{name}: gold has {len(gold)} items but pred has {len(pred)}")
    if len(gold) == 0:
        raise ValueError(f"{name}: cannot score empty sequences")
    if name == "stsb":
        return {
            "pearson": classification.pearson(gold, pred),
            "spearmanr": classification.spearman(gold, pred),
        }
    gold_names = _label_names(name, gold, "gold")
    pred_names = _label_names(name, pred, "pred")
    if name == "cola":
        return {"matthews_correlation": classification.matthews_corrcoef(gold_names, pred_names)}
    if name in POSITIVE_LABEL:
        return {
            "f1": classification.binary_f1(gold_names, pred_names, POSITIVE_LABEL[name]),
            "accuracy": classification.accuracy(gold_names, pred_names),
        }
    return {"accuracy": classification.accuracy(gold_names, pred_names)}


def task_score(name: str, metrics: Mapping[str, float]) -> float:
    """Unweighted mean of the subtask's metrics (``SUBTASKS[name]``), as the GLUE paper scores a task.

    Extra keys in ``metrics`` are ignored; a missing one raises ``ValueError``.
    """
    _subtask(name)
    wanted = SUBTASKS[name]
    missing = [m for m in wanted if m not in metrics]
    if missing:
        raise ValueError(f"{name}: missing metric(s) {missing}; have {sorted(metrics)}")
    return sum(float(metrics[m]) for m in wanted) / len(wanted)


def glue_score(per_subtask: Mapping[str, Mapping[str, float]], include_wnli: bool = False) -> float:
    """Macro-average GLUE score (0–100) from ``{subtask: score_subtask(...)}``.

    Mean over the GLUE tasks (``TASK_GROUPS``; WNLI only when ``include_wnli``) of each task's score, where
    MNLI's score is the mean of ``task_score`` for ``mnli_matched`` and ``mnli_mismatched``. Raises
    ``ValueError`` naming every required subtask that is missing (WNLI is not required by default; if present
    it is ignored). Unknown extra keys also raise, to catch misspelt names.
    """
    unknown = sorted(set(per_subtask) - set(SUBTASKS))
    if unknown:
        raise ValueError(f"unknown GLUE subtask(s) {unknown}; expected names from {sorted(SUBTASKS)}")
    groups = {task: subs for task, subs in TASK_GROUPS.items() if include_wnli or task != "wnli"}
    required = [sub for subs in groups.values() for sub in subs]
    missing = [sub for sub in required if sub not in per_subtask]
    if missing:
        raise ValueError(f"cannot compute the GLUE score: missing subtask(s) {missing}")
    task_scores = [
        sum(task_score(sub, per_subtask[sub]) for sub in subs) / len(subs) for subs in groups.values()
    ]
    return sum(task_scores) / len(task_scores)


def _all_glue(spec: Any) -> bool:
    return bool(spec.subtasks) and all(sub.name in SUBTASKS for sub in spec.subtasks)


@register_aggregation("mean", reports={"glue_score"}, applies=_all_glue)
def _glue_aggregate(spec: Any, per_subtask: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """The suite's ``glue_score`` (``ValueError`` naming the sub-tasks missing)."""
    return {"glue_score": glue_score(per_subtask)}
