"""The metric names a task's ``metrics:`` list may use: what :mod:`benchmark.scoring` reports for its type.

A YAML naming a metric its task type does not produce would leave that metric (or the headline score) empty in
every result; the registry refuses it when the spec is loaded. ``tests/tasks/test_every_task.py`` scores gold
predictions for every registered task and checks each listed metric is really in the scorer's output.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

_NER = frozenset({"f1", "strict_f1", "precision", "recall", "accuracy", "per_type"})
_QA = MappingProxyType(
    {
        "squad": frozenset({"exact_match", "f1"}),
        "triviaqa": frozenset({"exact_match", "f1"}),
        "hotpotqa": frozenset({"exact_match", "f1", "precision", "recall"}),
    }
)
_CLASSIFICATION = frozenset({"accuracy", "macro_f1"})
_GLUE_AGGREGATE = frozenset({"glue_score"})


def registered_metrics(spec: Any) -> frozenset[str]:
    """Metric names the scorer reports for ``spec`` (a :class:`~benchmark.tasks.spec.TaskSpec`)."""
    from ..metrics import glue

    if spec.subtasks:
        return _GLUE_AGGREGATE if all(s.name in glue.SUBTASKS for s in spec.subtasks) else frozenset()
    if spec.name in glue.SUBTASKS:
        return frozenset(glue.SUBTASKS[spec.name])
    if spec.task_type == "token_classification":
        return _NER
    if spec.task_type == "extractive_qa":
        return _QA.get(spec.fields.get("layout", ""), frozenset())
    if spec.task_type == "classification":
        return _CLASSIFICATION
    return frozenset()  # regression outside GLUE (STS-B) has no scorer yet


def unregistered(spec: Any) -> list[str]:
    """The names in ``spec.metrics`` its type does not report (empty when all are registered)."""
    known = registered_metrics(spec)
    return [m for m in spec.metrics if m not in known]
