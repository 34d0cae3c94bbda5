"""Fine-tuning budgets: what a valid budget value is (the budget itself: :class:`benchmark.core.record.Budget`).

Defaults live in each task's YAML (``budget:`` in ``benchmark/tasks/<task>.yaml``; keys it leaves out take
the defaults of the task's context, ``benchmark.tasks.registry.CONTEXT_BUDGETS``); ``benchmark tasks`` lists
them (``--json``: every key). A ``--config`` file and the command line override them
(:func:`benchmark.run.config.resolve_budget`).

Short tasks follow the BERT paper's fine-tuning recipe; long-context tasks train fewer epochs on a capped number
of examples so that one run stays affordable for every model. ``epochs: 0`` evaluates the freshly initialised head
without training (a floor to compare against).
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import BenchmarkError
from .record import Budget

BUDGET_KEYS = {name for name, *_ in Budget._fields()}


def budget_problem(key: str, value: Any) -> str | None:
    """What is wrong with ``value`` for budget ``key`` (None: fine). Numbers must be finite: a NaN or infinite
    learning rate would train nothing useful and cannot be written to a JSON result."""
    if key in ("epochs", "learning_rate", "warmup_ratio", "weight_decay"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"must be a number >= 0, got {value!r}"
        if not math.isfinite(value) or value < 0:
            return f"must be a finite number >= 0, got {value!r}"
    integer = key in ("batch_size", "eval_batch_size", "max_train_examples") and value is not None
    if integer and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        return f"must be a positive integer, got {value!r}"
    return None


def _check_keys(values: dict[str, Any], where: str) -> dict[str, Any]:
    unknown = sorted(set(values) - BUDGET_KEYS)
    if unknown:
        raise BenchmarkError(f"{where}: unknown budget key(s) {unknown}; known: {sorted(BUDGET_KEYS)}")
    for key, value in values.items():
        problem = budget_problem(key, value)
        if problem:
            raise BenchmarkError(f"{where}: {key} {problem}")
    return values
