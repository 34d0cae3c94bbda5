"""Load and validate the task YAML files in this folder into frozen :class:`TaskSpec` objects.

A new task is one new ``<name>.yaml`` here. Keys are the fields of :class:`TaskSpec` (``hub`` and ``local`` are
mappings for :class:`HubSource` / :class:`LocalSource`), plus:

- ``label_names_from: {function: pkg.module.func, args: [...]}``: label names computed by a function (GONERD takes
  its list from ``gonerd.labels``), instead of a literal ``label_names`` list;
- ``subtasks``: a list of partial specs (a suite, e.g. GLUE); each inherits every key it does not set from its
  parent, with the ``hub`` and ``local`` mappings merged key by key; its files lie in the suite's folder
  (``DIR/<suite>/``) and its ids start with ``<subtask>-``. ``aggregate: NAME`` names how the sub-task scores
  combine (a registered aggregation, :data:`benchmark.core.plugins.AGGREGATIONS`: ``mean``), the suite's ``metrics:``
  what it reports (``mean``; GLUE's ``glue_score``);
- ``budget: {epochs, learning_rate, warmup_ratio, weight_decay, max_train_examples, batch_size,
  eval_batch_size}``: the task's default fine-tuning budget (:func:`benchmark.run.config.default_budget`); keys left
  out take the defaults of the task's context (:data:`CONTEXT_BUDGETS`);
- ``local.format: NAME``: a registered reader (:data:`benchmark.core.plugins.READERS`: conll, csv, glue_tsv,
  hotpotqa_json, hub_folder, jsonl, squad_json, triviaqa_rc); or ``reader: module.function``: reads the task's
  local files (see :mod:`benchmark.tasks.hooks`); ``local.format`` may then be left out. ``hub`` may be left out
  for a task that only has local files (``--data-dir``);
- ``metrics: [...]``: metric names registered for the task's type (:mod:`benchmark.task_types`; extractive QA per
  ``fields.layout``, a registered QA layout: squad / triviaqa / hotpotqa); scoring runs the registered scorers
  that report them;
- ``scorer: module.function``: the task's own scorer, called with the gold examples and the predictions, returning
  the metrics dict (e.g. an official script's port); it replaces the type's scorers, and ``metrics:`` then names
  what it returns (:func:`benchmark.tasks.hooks.call_scorer`). ``scorer: NAME`` names a registered scorer
  (:data:`benchmark.core.plugins.SCORERS`) instead;
- ``cleaning: module.function``: drops bad rows when a split is loaded, called with ``{split: rows}`` (train is
  always loaded too, for rules across splits) and returning ``({split: kept rows}, {split: {rule: removed}})``;
  the counts go into the result's stats (:func:`benchmark.tasks.hooks.call_cleaning`; arXiv's
  ``fields.cleaning: mteb`` names the built-in MTEB rules);
- ``fields.yes_no: true | false`` (extractive QA): answers may be "yes" / "no" (the context gets a ``"yes no "``
  prefix); the default is the layout's (hotpotqa: yes);
- ``build: {command, default_dir: module.function, how, estimate: module.function}``: a dataset built by a command
  of its own, read from that command's default folder when there is no ``--data-dir`` and the Hub copy does not
  load (:class:`LocalBuild`, :mod:`benchmark.data.builds`); needs ``local.format: hub_folder``;
- ``gold: {<eval split>: [{gold_sha256, regime: full | sample, name, what}]}``: the gold data the leaderboard
  accepts for each evaluation split (:class:`GoldPin`; :mod:`benchmark.leaderboard.rescore`), not hashed.

Hooks (``reader``, ``scorer``, ``cleaning``, ``label_names_from``) are looked up first in a module beside the
YAML; a module beside the YAML is hashed into the spec (editing it changes the spec hash). The three hooks are
hashed only when set, so specs without them keep their hash. ``--include-path DIR``
(:func:`set_include_paths`) adds the YAML files of a user's folder: :func:`get_task` and :func:`known_tasks` see
them; :func:`all_tasks` and :func:`task_names` stay the package's tasks (the benchmark, its average and the
leaderboard).

Any problem is a :class:`BenchmarkError` naming the file and the key (an unknown plug-in name lists the known ones).
Built-in tasks use nothing else: a new task of an existing type is one YAML file here, and :func:`all_tasks` (the
benchmark, its average, the leaderboard) follows.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from .. import task_types
from ..core import plugins
from ..core.budget import _check_keys
from ..core.record import Budget
from ..core.task_spec import TASKS_DIR, GoldPin, HubSource, LocalBuild, LocalSource, TaskSpec
from ..errors import BenchmarkError
from . import hooks
from .metric_names import registered_metrics, unregistered

COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
ROLES = ("train", "validation", "test")
_REQUIRED = (
    "name",
    "description",
    "version",
    "task_type",
    "context",
    "max_length",
    "local",
    "metrics",
)
# Default budget of a task whose YAML leaves keys of ``budget:`` out, by context: short tasks follow the BERT
# paper's recipe (benchmark.core.record.Budget's defaults); long ones train one epoch on at most 10,000 examples at
# batch 8, so one run stays affordable at 4,096 tokens.
CONTEXT_BUDGETS: dict[str, dict[str, Any]] = {
    "short": {},
    "long": {"epochs": 1, "learning_rate": 3e-5, "max_train_examples": 10_000, "batch_size": 8},
}
_INHERITED = (
    "description",
    "version",
    "context",
    "max_length",
    "license",
    "citation",
    "train_split",
    "eval_splits",
    "budget",
    "reader",
    "scorer",
    "cleaning",
)


def _fail(where: str, message: str) -> BenchmarkError:
    return BenchmarkError(f"task spec {where}: {message}")


def _resolve_label_names(raw: Mapping[str, Any], where: str, base_dir: Path | None) -> tuple[str, ...]:
    ref = raw.get("label_names_from")
    if ref is None:
        names = raw.get("label_names", ())
        if not isinstance(names, list | tuple):
            raise _fail(where, f"label_names must be a list, got {names!r}")
        return tuple(str(n) for n in names)
    if "label_names" in raw:
        raise _fail(where, "give either label_names or label_names_from, not both")
    if not isinstance(ref, Mapping) or set(ref) - {"function", "args"}:
        raise _fail(
            where, f"label_names_from must be {{function: module.function, args: [...]}}, got {ref!r}"
        )
    func = hooks.resolve(ref.get("function"), base_dir, where, "label_names_from.function")
    try:
        names = func(*ref.get("args", ()))
        return tuple(str(n) for n in names)
    except Exception as exc:  # a hook's failure is a problem of the task folder: one line, no traceback
        raise _fail(where, f"label_names_from.function {ref.get('function')!r} failed ({exc})") from None


_KINDS: dict[str, tuple[type, ...]] = {
    **{
        k: (str,)
        for k in (
            "name",
            "task_type",
            "context",
            "primary_metric",
            "reader",
            "scorer",
            "cleaning",
            "aggregate",
            "classifier_pooling",
        )
    },
    **{k: (str, int, float) for k in ("description", "version", "license", "citation", "notes")},
    **{k: (Mapping,) for k in ("hub", "local", "fields", "budget", "label_names_from", "build", "gold")},
    **{k: (list,) for k in ("metrics", "label_names", "eval_splits", "subtasks")},
    "train_split": (str,),
    "max_length": (int,),
}
_KIND_NAMES = {str: "text", int: "whole number", float: "number", Mapping: "mapping", list: "list"}


def _check_kinds(raw: Mapping[str, Any], where: str) -> None:
    """Each key's value has the right kind (null only where a key may be left out), before anything reads it."""
    for key, kinds in _KINDS.items():
        value = raw.get(key)
        if key not in raw or (
            value is None
            and key
            in (
                "train_split",
                "budget",
                "reader",
                "scorer",
                "cleaning",
                "aggregate",
                "build",
                "classifier_pooling",
                "gold",
            )
        ):
            continue
        if value is None and key in ("license", "citation", "notes"):
            continue
        if isinstance(value, bool) or not isinstance(value, kinds):
            wanted = " or ".join(dict.fromkeys(_KIND_NAMES[k] for k in kinds))
            raise _fail(where, f"{key} must be a {wanted}, got {value!r}")


def _mapping(raw: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = raw.get(key) or {}
    if not isinstance(value, Mapping):
        raise _fail(where, f"{key} must be a mapping, got {value!r}")
    return dict(value)


def _budget(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The task's complete default budget: :class:`Budget` defaults <- its context's <- the YAML's ``budget:``."""
    given = _mapping(raw, "budget", where)
    for key in ("learning_rate", "warmup_ratio", "weight_decay", "epochs"):
        if isinstance(given.get(key), str):  # YAML 1.1 reads 2e-5 (no dot) as a string
            with contextlib.suppress(ValueError):
                given[key] = float(given[key])
    given = _check_keys(given, f"task spec {where}, budget")
    return {**Budget().to_dict(), **CONTEXT_BUDGETS.get(raw["context"], {}), **given}


def _local_build(
    raw: Mapping[str, Any], local: LocalSource, where: str, base_dir: Path | None
) -> LocalBuild | None:
    """The YAML's ``build:`` mapping as a :class:`LocalBuild`; its hooks are resolved now (a missing one fails
    here, not mid-run)."""
    if raw.get("build") is None:
        return None
    given = _mapping(raw, "build", where)
    fields = LocalBuild.__dataclass_fields__
    unknown = sorted(str(k) for k in set(given) - set(fields))
    if unknown:
        raise _fail(where, f"unknown key(s) build.{', build.'.join(unknown)}")
    for key in fields:
        value = given.get(key)
        if key == "estimate" and value is None:  # optional
            continue
        if not (isinstance(value, str) and value.strip()):
            raise _fail(where, f"build.{key} must be a non-empty text, got {value!r}")
        if key in ("default_dir", "estimate"):
            hooks.resolve(value, base_dir, where, f"build.{key}")
    if local.format != "hub_folder":
        raise _fail(
            where,
            f"build needs local.format hub_folder (the build is read as a copy of the Hub repository), got {local.format!r}",
        )
    return LocalBuild(**given)


SHA256_RE = re.compile(r"[0-9a-f]{64}")


def _gold(raw: Mapping[str, Any], where: str) -> dict[str, tuple[GoldPin, ...]]:
    """The YAML's ``gold:`` mapping (role -> list of ``{gold_sha256, regime, name, what}``) as :class:`GoldPin`s."""
    out: dict[str, tuple[GoldPin, ...]] = {}
    for role, pins in _mapping(raw, "gold", where).items():
        if role not in raw.get("eval_splits", ("validation",)):
            raise _fail(where, f"gold.{role}: not an evaluation split of the task")
        if not isinstance(pins, list) or not pins:
            raise _fail(where, f"gold.{role} must be a non-empty list of pins, got {pins!r}")
        got = []
        for i, pin in enumerate(pins):
            at = f"gold.{role}[{i}]"
            if not isinstance(pin, Mapping) or set(pin) - set(GoldPin.__dataclass_fields__):
                raise _fail(where, f"{at} must be {{gold_sha256, regime, name, what}}, got {pin!r}")
            if not isinstance(pin.get("gold_sha256"), str) or not SHA256_RE.fullmatch(pin["gold_sha256"]):
                raise _fail(where, f"{at}.gold_sha256 must be 64 lowercase hex digits")
            if pin.get("regime") not in ("full", "sample"):
                raise _fail(where, f"{at}.regime must be full or sample, got {pin.get('regime')!r}")
            if not isinstance(pin.get("name"), str) or not pin["name"].strip():
                raise _fail(where, f"{at}.name must be a non-empty text")
            got.append(GoldPin(**{**pin, "what": " ".join(str(pin.get("what", "")).split())}))
        out[str(role)] = tuple(got)
    return out


def _check_named_scorer(name: str, raw: Mapping[str, Any], where: str) -> None:
    """``scorer: NAME`` names a registered scorer (:data:`benchmark.core.plugins.SCORERS`) of the task's type."""
    problem = plugins.SCORERS.problem(name)
    if problem is not None:
        raise _fail(where, problem)
    scorer = plugins.SCORERS.get(name)
    if scorer.task_types and raw.get("task_type") not in scorer.task_types:
        raise _fail(
            where,
            f"scorer {name!r} scores {', '.join(sorted(scorer.task_types))} tasks, not {raw.get('task_type')}",
        )


def _build(
    raw: Mapping[str, Any],
    where: str,
    subtasks: tuple[TaskSpec, ...] = (),
    base_dir: Path | None = None,
    suite: str | None = None,
) -> TaskSpec:
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise _fail(where, f"missing key(s) {', '.join(missing)}")
    known = set(TaskSpec.__dataclass_fields__) - {
        "source_dir",
        "reader_sha256",
        "scorer_sha256",
        "cleaning_sha256",
    } | {"label_names_from"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise _fail(where, f"unknown key(s) {', '.join(unknown)}")
    _check_kinds(raw, where)
    hub_raw = _mapping(raw, "hub", where) or {"path": "", "revision": ""}
    local_raw = _mapping(raw, "local", where)
    if raw.get("reader") is not None:
        local_raw.setdefault("format", "reader")
        hooks.resolve(raw["reader"], base_dir, where, "reader")  # a missing hook fails now, not mid-run
    elif (problem := plugins.READERS.problem(local_raw.get("format"))) is not None:
        raise _fail(where, problem)  # the registered readers (benchmark.core.plugins.READERS)
    for hook in ("scorer", "cleaning"):
        value = raw.get(hook)
        if hook == "scorer" and isinstance(value, str) and value and not hooks.is_hook(value):
            _check_named_scorer(value, raw, where)  # a scorer registered by name
        elif value is not None:
            hooks.resolve(value, base_dir, where, hook)  # a missing hook fails now, not mid-run
    try:
        pins = {
            k: str(hub_raw[k]) for k in ("path", "revision") if k in hub_raw
        }  # a YAML number is text here
        hub = HubSource(**{**hub_raw, **pins, "splits": dict(hub_raw.get("splits", {}))})
        local = LocalSource(
            **{
                **local_raw,
                "files": {str(k): str(v) for k, v in local_raw.get("files", {}).items()},
                "columns": {str(k): str(v) for k, v in local_raw.get("columns", {}).items()},
            }
        )
    except (TypeError, AttributeError, ValueError) as exc:
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
        label_names=_resolve_label_names(raw, where, base_dir),
        train_split=raw.get("train_split", "train"),
        eval_splits=tuple(raw.get("eval_splits", ("validation",))),
        subtasks=subtasks,
        aggregate=raw.get("aggregate"),
        license=raw.get("license"),
        citation=(raw.get("citation") or "").strip() or None,
        notes=(raw.get("notes") or "").strip() or None,
        budget=_budget(raw, where),
        reader=raw.get("reader"),
        reader_sha256=hooks.module_sha256(raw.get("reader"), base_dir),
        scorer=raw.get("scorer"),
        scorer_sha256=hooks.module_sha256(raw.get("scorer"), base_dir),
        cleaning=raw.get("cleaning"),
        cleaning_sha256=hooks.module_sha256(raw.get("cleaning"), base_dir),
        classifier_pooling=raw.get("classifier_pooling"),
        source_dir=None if base_dir is None else str(base_dir),
        suite=suite,
        build=_local_build(raw, local, where, base_dir),
        gold=_gold(raw, where),
    )
    validate(spec, where)
    return spec


def validate(spec: TaskSpec, where: str | None = None) -> None:
    """Check a spec's internal consistency; raise :class:`BenchmarkError` naming the first problem."""
    where = where or spec.name
    if spec.task_type not in task_types.names():
        raise _fail(where, f"task_type {spec.task_type!r} is not one of {', '.join(task_types.names())}")
    if spec.context not in ("short", "long"):
        raise _fail(where, f"context {spec.context!r} must be 'short' or 'long'")
    if not isinstance(spec.max_length, int) or spec.max_length <= 0:
        raise _fail(where, f"max_length must be a positive integer, got {spec.max_length!r}")
    if spec.classifier_pooling is not None:
        if spec.classifier_pooling not in ("cls", "mean"):
            raise _fail(where, f"classifier_pooling must be 'cls' or 'mean', got {spec.classifier_pooling!r}")
        if task_types.get(spec.task_type).head_suffix != "ForSequenceClassification":
            raise _fail(where, "classifier_pooling applies to classification and regression tasks only")
    if spec.primary_metric not in spec.metrics:
        raise _fail(where, f"primary_metric {spec.primary_metric!r} is not in metrics {list(spec.metrics)}")
    if spec.subtasks:
        if spec.aggregate is None:
            known = ", ".join(plugins.AGGREGATIONS.names())
            raise _fail(where, f"a task with subtasks needs aggregate: NAME (one of {known})")
        problem = plugins.AGGREGATIONS.problem(spec.aggregate)
        if problem is not None:
            raise _fail(where, problem)
    elif spec.aggregate is not None:
        raise _fail(where, "aggregate applies to a task with subtasks only")
    else:
        problem = task_types.get(spec.task_type).check_spec(spec)  # e.g. fields.layout, before the metrics
        if problem:
            raise _fail(where, problem)
    bad_metrics = unregistered(spec)
    if bad_metrics:
        known = ", ".join(sorted(registered_metrics(spec))) or "none: this task type has no scorer yet"
        raise _fail(where, f"metrics {bad_metrics} are not reported for this task (registered: {known})")
    rev = spec.hub.revision
    if spec.hub.path and not (
        COMMIT_RE.match(rev) or rev in ("main", "refs/convert/parquet") or re.match(r"^v\d", rev)
    ):
        raise _fail(where, f"hub.revision {rev!r} must be a 40-hex commit (or 'main' / a version tag)")
    for role in (*spec.eval_splits, *([spec.train_split] if spec.train_split else [])):
        if role not in ROLES:
            raise _fail(where, f"split role {role!r} is not one of {', '.join(ROLES)}")
    if spec.subtasks:
        return
    for role in (*spec.eval_splits, *([spec.train_split] if spec.train_split else [])):
        if spec.hub.path and role not in spec.hub.splits:
            raise _fail(where, f"split role {role!r} has no entry in hub.splits")
        if not spec.hub.path and role not in spec.local.files:
            raise _fail(where, f"split role {role!r} has no entry in local.files (and the task has no hub)")
    impl = task_types.get(spec.task_type)
    if impl.needs_label_names and not spec.label_names:
        raise _fail(where, f"a {spec.task_type} task needs label_names")
    if len(set(spec.label_names)) != len(spec.label_names):
        raise _fail(where, "label_names has duplicates")
    if "id_format" not in spec.fields:
        raise _fail(where, "fields.id_format is required (how an example id is made)")


def _merge_subtask(parent: Mapping[str, Any], child: Mapping[str, Any]) -> dict[str, Any]:
    merged = {k: parent[k] for k in _INHERITED if k in parent}
    merged.update(child)
    if "hub" in parent or "hub" in child:
        merged["hub"] = {
            **{k: v for k, v in (parent.get("hub") or {}).items() if k in ("path", "revision")},
            **(child.get("hub") or {}),
        }
    parent_format = (parent.get("local") or {}).get("format")
    merged["local"] = {**({"format": parent_format} if parent_format else {}), **(child.get("local") or {})}
    return merged


def load_spec_file(path: str | Path) -> TaskSpec:
    """Read one task YAML file into a validated :class:`TaskSpec`."""
    path = Path(path)
    from ..limits import load_yaml_file

    # a FIFO, duplicate keys, an alias bomb or deep nesting: one line, before anything is built
    raw = load_yaml_file(path, f"task spec {path}")
    if not isinstance(raw, dict):
        raise BenchmarkError(f"task spec {path}: expected a mapping at the top level")
    where = path.name if path.parent.resolve() == TASKS_DIR else str(path)
    base_dir = path.parent.resolve()
    subs = ()
    if raw.get("subtasks"):
        if not isinstance(raw["subtasks"], list) or not all(isinstance(c, dict) for c in raw["subtasks"]):
            raise _fail(where, "subtasks must be a list of mappings")
        subs = tuple(
            _build(
                _merge_subtask(raw, child),
                f"{where} subtask {child.get('name', i)}",
                base_dir=base_dir,
                suite=str(raw.get("name")),
            )
            for i, child in enumerate(raw["subtasks"])
        )
        names = [s.name for s in subs]
        if len(set(names)) != len(names):
            raise _fail(where, "subtask names are not unique")
        for sub in subs:  # scoring splits a suite's predictions by this prefix
            if not sub.fields["id_format"].startswith((f"{sub.name}-", "{task}-")):
                raise _fail(
                    f"{where} subtask {sub.name}",
                    f"fields.id_format must start with '{sub.name}-' or '{{task}}-' (a suite's ids say their "
                    f"sub-task), got {sub.fields['id_format']!r}",
                )
    body = {k: v for k, v in raw.items() if k != "subtasks"}
    spec = _build(body, where, subtasks=subs, base_dir=base_dir)
    if spec.name != path.stem:
        raise _fail(where, f"name {spec.name!r} must equal the file name {path.stem!r}")
    return spec


def _spec_files(tasks_dir: str | Path) -> list[Path]:
    return sorted(Path(tasks_dir).glob("*.yaml"))


@cache
def _registry(tasks_dir: str) -> dict[str, TaskSpec]:
    specs = [load_spec_file(p) for p in _spec_files(tasks_dir)]
    return {s.name: s for s in specs}


def task_count() -> int:
    """How many tasks the package defines, counted from their files without loading them (for ``--help``)."""
    return len(_spec_files(TASKS_DIR))


_INCLUDED: dict[str, TaskSpec] = {}  # user tasks of --include-path, by name


def set_include_paths(directories: Iterable[str | Path]) -> list[TaskSpec]:
    """Make the task YAML files of ``directories`` (``--include-path``) known besides the package's tasks,
    replacing those of an earlier call; returns their specs. A folder that is missing or holds no ``*.yaml``,
    a bad YAML, or a name the package or another included file already uses is a one-line error."""
    directories = list(directories)
    if not directories and not _INCLUDED:
        return []
    package = _registry(str(TASKS_DIR))
    found: dict[str, TaskSpec] = {}
    files: dict[str, Path] = {}
    for directory in directories:
        folder = Path(directory)
        if not folder.is_dir():
            raise BenchmarkError(f"--include-path {directory}: no such directory")
        paths = sorted(folder.glob("*.yaml"))
        if not paths:
            raise BenchmarkError(f"--include-path {directory}: no task files (*.yaml) in it")
        for path in paths:
            spec = load_spec_file(path)
            if spec.name in package:
                raise BenchmarkError(
                    f"task spec {path}: name {spec.name!r} is a benchmark task of the package; choose another"
                )
            if spec.name in found and files[spec.name].resolve() != path.resolve():
                raise BenchmarkError(
                    f"task spec {path}: task {spec.name!r} is also defined in {files[spec.name]}"
                )
            found[spec.name], files[spec.name] = spec, path
    _INCLUDED.clear()
    _INCLUDED.update(found)
    return list(found.values())


def all_tasks() -> list[TaskSpec]:
    """Every task defined in ``benchmark/tasks/*.yaml``, sorted by name: the benchmark (its average, the
    leaderboard). User tasks of ``--include-path`` are :func:`user_tasks`."""
    return list(_registry(str(TASKS_DIR)).values())


def task_names() -> list[str]:
    return list(_registry(str(TASKS_DIR)))


def user_tasks() -> list[TaskSpec]:
    """The tasks loaded with :func:`set_include_paths` (``--include-path``), sorted by name."""
    return [_INCLUDED[name] for name in sorted(_INCLUDED)]


def known_tasks() -> list[TaskSpec]:
    """The package's tasks, then the user tasks: every name :func:`get_task` accepts."""
    return all_tasks() + user_tasks()


def is_user_task(name: str) -> bool:
    """Whether ``name`` (or ``parent/subtask``) is a task of ``--include-path``, not of the package."""
    return name.partition("/")[0] in _INCLUDED


def get_task(name: str) -> TaskSpec:
    """The task called ``name``; ``parent/subtask`` (e.g. ``glue/rte``) gives one sub-task's spec."""
    registry = {**_registry(str(TASKS_DIR)), **_INCLUDED}
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
