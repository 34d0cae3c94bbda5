"""Fine-tuning budgets: how much each task trains, with documented defaults, a config file and CLI overrides.

Defaults live in each task's YAML (``budget:`` in ``benchmark/tasks/<task>.yaml``; keys it leaves out take
the defaults of the task's context, ``benchmark.tasks.registry.CONTEXT_BUDGETS``); ``benchmark tasks`` lists
them (``--json``: every key).

Short tasks follow the BERT paper's fine-tuning recipe; long-context tasks train fewer epochs on a capped number
of examples so that one run stays affordable for every model. ``epochs: 0`` evaluates the freshly initialised head
without training (a floor to compare against).

Precedence, lowest first: defaults -> config file (``--config FILE``, YAML or JSON) -> CLI flags. A config file
holds budget keys at the top level (all tasks) and/or under ``tasks: {<name>: {...}}``, and run options under
``run:`` (``device``, ``dtype``, ``attn_implementation``, ``compile``, ``batching``, ``seed``, ``max_length``;
see :mod:`benchmark.run_config`)::

    epochs: 2
    tasks:
      gonerd: {epochs: 1, max_train_examples: 500}
    run: {dtype: bfloat16, batching: random}
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from .errors import BenchmarkError


@dataclass(frozen=True)
class Budget:
    """How one task fine-tunes (and the batch size its evaluation uses)."""

    epochs: float = 3
    learning_rate: float = 2e-5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_train_examples: int | None = None  # None: the whole training split
    batch_size: int = 32
    eval_batch_size: int | None = None  # None: same as batch_size

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


BUDGET_KEYS = {f.name for f in fields(Budget)}


def default_budget(task: str) -> Budget:
    """The default for ``task`` from its spec's ``budget:`` (GLUE sub-tasks inherit ``glue``'s; user tasks of
    ``--include-path`` have their own); an unknown name is an error naming the known tasks."""
    from .tasks.registry import get_task

    return Budget(**get_task(task).budget)


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


def read_config(path: str | Path | None) -> dict[str, Any]:
    """Parse a ``--config`` file (YAML or JSON) into ``{"defaults": {...}, "tasks": {name: {...}}, "run": {...}}``
    (``run``: the file's run options, keys checked here, values by :class:`benchmark.run_config.RunConfig`)."""
    if path is None:
        return {"defaults": {}, "tasks": {}, "run": {}}
    file = Path(path)
    if not file.is_file():
        raise BenchmarkError(f"--config {path}: no such file")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise BenchmarkError(
            f"--config {path}: not a text file (byte {exc.start} is not UTF-8); expected YAML or JSON"
        ) from None
    except OSError as exc:
        raise BenchmarkError(f"--config {path}: cannot read: {exc.strerror or exc}") from None
    try:
        if file.suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # yaml.YAMLError / JSONDecodeError: both a user's file
        raise BenchmarkError(f"--config {path}: cannot parse: {str(exc).splitlines()[0]}") from None
    data = data or {}
    if not isinstance(data, dict):
        raise BenchmarkError(f"--config {path}: expected a mapping at the top level")
    run = data.pop("run", {}) or {}
    if not isinstance(run, dict):
        raise BenchmarkError(f"--config {path}: 'run' must map run options to values")
    from .run_config import RUN_FILE_KEYS

    for key in run:
        if key not in RUN_FILE_KEYS:
            raise BenchmarkError(
                f"--config {path}: run.{key}: unknown run option; known: {', '.join(sorted(RUN_FILE_KEYS))}"
            )
    tasks = data.pop("tasks", {}) or {}
    if not isinstance(tasks, dict):
        raise BenchmarkError(f"--config {path}: 'tasks' must map task names to budget settings")
    from .tasks.registry import task_names

    known = task_names()
    for name, values in tasks.items():
        if name not in known:
            raise BenchmarkError(
                f"--config {path}: tasks.{name}: unknown task; known tasks: {', '.join(known)}"
            )
        if values is not None and not isinstance(values, dict):
            raise BenchmarkError(f"--config {path}: tasks.{name} must map budget keys to values")
    return {
        "defaults": _check_keys(data, f"--config {path}"),
        "tasks": {
            name: _check_keys(dict(v or {}), f"--config {path}, tasks.{name}") for name, v in tasks.items()
        },
        "run": run,
    }


def resolve_budget(
    task: str, *, config: dict[str, Any] | None = None, overrides: dict[str, Any] | None = None
) -> Budget:
    """Default for ``task`` <- config file (top level, then ``tasks.<task>``) <- non-None CLI ``overrides``."""
    budget = default_budget(task)
    config = config or {"defaults": {}, "tasks": {}}
    budget = replace(budget, **config.get("defaults", {}))
    budget = replace(budget, **config.get("tasks", {}).get(task, {}))
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    for key, value in flags.items():
        problem = budget_problem(key, value) if key in BUDGET_KEYS else "is not a budget setting"
        if problem:
            raise BenchmarkError(f"--{key.replace('_', '-')} {problem}")
    return replace(budget, **flags)
