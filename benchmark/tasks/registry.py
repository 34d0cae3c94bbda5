"""Load and validate the task YAML files in this folder into frozen :class:`TaskSpec` objects.

A new task is one new ``<name>.yaml`` here. Keys are the fields of :class:`TaskSpec` (``hub`` and ``local`` are
mappings for :class:`HubSource` / :class:`LocalSource`), plus:

- ``label_names_from: {function: pkg.module.func, args: [...]}``: label names computed by a function (GONERD takes
  its list from ``gonerd.labels``), instead of a literal ``label_names`` list;
- ``subtasks``: a list of partial specs (GLUE); each inherits every key it does not set from its parent, with the
  ``hub`` and ``local`` mappings merged key by key.

Any problem is a :class:`BenchmarkError` naming the file and the key.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from ..errors import BenchmarkError
from .spec import TASK_TYPES, HubSource, LocalSource, TaskSpec

TASKS_DIR = Path(__file__).resolve().parent
COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
ROLES = ("train", "validation", "test")
_REQUIRED = (
    "name",
    "description",
    "version",
    "task_type",
    "context",
    "max_length",
    "hub",
    "local",
    "metrics",
)
_INHERITED = (
    "description",
    "version",
    "context",
    "max_length",
    "license",
    "citation",
    "train_split",
    "eval_splits",
)


def _fail(where: str, message: str) -> BenchmarkError:
    return BenchmarkError(f"task spec {where}: {message}")


def _resolve_label_names(raw: Mapping[str, Any], where: str) -> tuple[str, ...]:
    ref = raw.get("label_names_from")
    if ref is None:
        return tuple(str(n) for n in raw.get("label_names", ()))
    if "label_names" in raw:
        raise _fail(where, "give either label_names or label_names_from, not both")
    func_path = str(ref.get("function", ""))
    module_name, _, func_name = func_path.rpartition(".")
    try:
        func = getattr(importlib.import_module(module_name), func_name)
    except (ImportError, AttributeError, ValueError):
        raise _fail(where, f"label_names_from.function {func_path!r} cannot be imported") from None
    return tuple(str(n) for n in func(*ref.get("args", ())))


def _build(raw: Mapping[str, Any], where: str, subtasks: tuple[TaskSpec, ...] = ()) -> TaskSpec:
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise _fail(where, f"missing key(s) {', '.join(missing)}")
    known = set(TaskSpec.__dataclass_fields__) | {"label_names_from"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise _fail(where, f"unknown key(s) {', '.join(unknown)}")
    hub_raw, local_raw = dict(raw["hub"]), dict(raw["local"])
    try:
        hub = HubSource(**{**hub_raw, "splits": dict(hub_raw.get("splits", {}))})
        local = LocalSource(
            **{
                **local_raw,
                "files": {str(k): str(v) for k, v in local_raw.get("files", {}).items()},
                "columns": {str(k): str(v) for k, v in local_raw.get("columns", {}).items()},
            }
        )
    except TypeError as exc:
        raise _fail(where, f"bad hub/local mapping ({exc})") from None
    spec = TaskSpec(
        name=str(raw["name"]),
        description=str(raw["description"]).strip(),
        task_type=raw["task_type"],
        context=raw["context"],
        hub=hub,
        local=local,
        metrics=tuple(str(m) for m in raw["metrics"]),
        primary_metric=str(raw.get("primary_metric", "")),
        max_length=raw["max_length"],
        version=str(raw["version"]),
        fields={str(k): str(v) for k, v in raw.get("fields", {}).items()},
        label_names=_resolve_label_names(raw, where),
        train_split=raw.get("train_split", "train"),
        eval_splits=tuple(raw.get("eval_splits", ("validation",))),
        subtasks=subtasks,
        aggregate=raw.get("aggregate"),
        license=raw.get("license"),
        citation=(raw.get("citation") or "").strip() or None,
        notes=(raw.get("notes") or "").strip() or None,
    )
    validate(spec, where)
    return spec


def validate(spec: TaskSpec, where: str | None = None) -> None:
    """Check a spec's internal consistency; raise :class:`BenchmarkError` naming the first problem."""
    where = where or spec.name
    if spec.task_type not in TASK_TYPES:
        raise _fail(where, f"task_type {spec.task_type!r} is not one of {', '.join(TASK_TYPES)}")
    if spec.context not in ("short", "long"):
        raise _fail(where, f"context {spec.context!r} must be 'short' or 'long'")
    if not isinstance(spec.max_length, int) or spec.max_length <= 0:
        raise _fail(where, f"max_length must be a positive integer, got {spec.max_length!r}")
    if spec.primary_metric not in spec.metrics:
        raise _fail(where, f"primary_metric {spec.primary_metric!r} is not in metrics {list(spec.metrics)}")
    rev = spec.hub.revision
    if not (COMMIT_RE.match(rev) or rev in ("main", "refs/convert/parquet") or re.match(r"^v\d", rev)):
        raise _fail(where, f"hub.revision {rev!r} must be a 40-hex commit (or 'main' / a version tag)")
    for role in (*spec.eval_splits, *([spec.train_split] if spec.train_split else [])):
        if role not in ROLES:
            raise _fail(where, f"split role {role!r} is not one of {', '.join(ROLES)}")
    if spec.subtasks:
        return
    for role in (*spec.eval_splits, *([spec.train_split] if spec.train_split else [])):
        if role not in spec.hub.splits:
            raise _fail(where, f"split role {role!r} has no entry in hub.splits")
    if spec.task_type in ("classification", "token_classification") and not spec.label_names:
        raise _fail(where, f"a {spec.task_type} task needs label_names")
    if len(set(spec.label_names)) != len(spec.label_names):
        raise _fail(where, "label_names has duplicates")
    if "id_format" not in spec.fields:
        raise _fail(where, "fields.id_format is required (how an example id is made)")


def _merge_subtask(parent: Mapping[str, Any], child: Mapping[str, Any]) -> dict[str, Any]:
    merged = {k: parent[k] for k in _INHERITED if k in parent}
    merged.update(child)
    merged["hub"] = {
        **{k: v for k, v in parent["hub"].items() if k in ("path", "revision")},
        **child.get("hub", {}),
    }
    merged["local"] = {"format": parent["local"]["format"], **child.get("local", {})}
    return merged


def load_spec_file(path: str | Path) -> TaskSpec:
    """Read one task YAML file into a validated :class:`TaskSpec`."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise BenchmarkError(f"task spec {path}: cannot read ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(raw, dict):
        raise BenchmarkError(f"task spec {path}: expected a mapping at the top level")
    where = path.name
    subs = ()
    if raw.get("subtasks"):
        subs = tuple(
            _build(_merge_subtask(raw, child), f"{where} subtask {child.get('name', i)}")
            for i, child in enumerate(raw["subtasks"])
        )
        names = [s.name for s in subs]
        if len(set(names)) != len(names):
            raise _fail(where, "subtask names are not unique")
    body = {k: v for k, v in raw.items() if k != "subtasks"}
    spec = _build(body, where, subtasks=subs)
    if spec.name != path.stem:
        raise _fail(where, f"name {spec.name!r} must equal the file name {path.stem!r}")
    return spec


@cache
def _registry(tasks_dir: str) -> dict[str, TaskSpec]:
    specs = [load_spec_file(p) for p in sorted(Path(tasks_dir).glob("*.yaml"))]
    return {s.name: s for s in specs}


def all_tasks() -> list[TaskSpec]:
    """Every task defined in ``benchmark/tasks/*.yaml``, sorted by name."""
    return list(_registry(str(TASKS_DIR)).values())


def task_names() -> list[str]:
    return list(_registry(str(TASKS_DIR)))


def get_task(name: str) -> TaskSpec:
    """The task called ``name``; ``parent/subtask`` (e.g. ``glue/rte``) gives one sub-task's spec."""
    registry = _registry(str(TASKS_DIR))
    parent, _, sub = name.partition("/")
    spec = registry.get(parent)
    if spec is None:
        raise BenchmarkError(f"unknown task {name!r}; known tasks: {', '.join(registry)}")
    if not sub:
        return spec
    for child in spec.subtasks:
        if child.name == sub:
            return child
    known = ", ".join(c.name for c in spec.subtasks) or "none"
    raise BenchmarkError(f"task {parent!r} has no subtask {sub!r}; its subtasks: {known}")
