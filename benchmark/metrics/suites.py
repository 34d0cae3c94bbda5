"""Aggregations of a suite's sub-task scores, registered by name (:func:`benchmark.core.plugins.register_aggregation`)
and named by the suite's ``aggregate:`` key; the suite's ``metrics:`` pick among those of that name.

* ``mean`` reporting ``mean``: the unweighted mean of the sub-tasks' primary metrics (every sub-task counts once).
  GLUE's score is a ``mean`` too, reporting ``glue_score`` (:mod:`benchmark.metrics.glue`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from benchmark.core.plugins import register_aggregation


@register_aggregation("mean", reports={"mean"})
def mean_of_primary(spec: Any, per_subtask: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """``{"mean": ...}``: the mean over ``spec.subtasks`` of each one's ``primary_metric`` in ``per_subtask``;
    ``ValueError`` naming the sub-tasks missing (not loaded) or without a number."""
    missing = [sub.name for sub in spec.subtasks if sub.name not in per_subtask]
    if missing:
        raise ValueError(f"cannot compute the mean: missing subtask(s) {missing}")
    values = []
    for sub in spec.subtasks:
        value = per_subtask[sub.name].get(sub.primary_metric)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"cannot compute the mean: {sub.name} has no number {sub.primary_metric}")
        values.append(float(value))
    return {"mean": sum(values) / len(values)}
