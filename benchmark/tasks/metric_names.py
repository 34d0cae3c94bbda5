"""The metric names a task's ``metrics:`` list may use: what the scorers registered for its type report
(:meth:`benchmark.task_types.TaskType.scorers`, the same table :mod:`benchmark.evaluate.scoring` runs), what the scorer its
``scorer: NAME`` names reports, or, for a suite, what the aggregations its ``aggregate:`` names report
(:data:`benchmark.core.plugins.AGGREGATIONS`).

A YAML naming a metric no registered scorer reports would leave that metric (or the headline score) empty in
every result; the registry refuses it when the spec is loaded. A task with its own ``scorer: module.function`` hook
names what that hook returns (checked when it scores). ``tests/benchmark/tasks/test_every_task.py`` scores gold
predictions for every registered task and checks each listed metric is really in the scorer's output.
"""

from __future__ import annotations

from typing import Any


def registered_metrics(spec: Any) -> frozenset[str]:
    """Metric names the scorer reports for ``spec`` (a :class:`~benchmark.core.task_spec.TaskSpec`)."""
    from .. import task_types
    from ..core import plugins

    if spec.subtasks:
        if spec.aggregate not in plugins.AGGREGATIONS:
            return frozenset()
        return frozenset().union(*(a.reports for a in plugins.aggregations(spec)))
    if spec.scorer and "." not in spec.scorer:  # a registered scorer named by the YAML
        if spec.scorer not in plugins.SCORERS:
            return frozenset()
        return frozenset(plugins.SCORERS.get(spec.scorer).reports)
    scorers = task_types.get(spec.task_type).scorers(spec)
    return frozenset().union(*(s.reports for s in scorers))


def unregistered(spec: Any) -> list[str]:
    """The names in ``spec.metrics`` no registered scorer reports (empty when all are, or when the spec has its
    own ``scorer`` hook)."""
    if getattr(spec, "scorer", None) and "." in spec.scorer:
        return []
    known = registered_metrics(spec)
    return [m for m in spec.metrics if m not in known]
