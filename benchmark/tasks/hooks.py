"""Task-specific code referenced from a task YAML by import path (``label_names_from``, ``reader``, ``scorer``).

A reference is ``module.function``. The module is looked up first *beside the YAML* (``<dir>/module.py``, loaded
under a private name so two folders may both have a ``utils.py``; while it is imported, ``<dir>`` is on
``sys.path`` so it may import its own siblings), then as an ordinary import (``gonerd.labels.label_names``).

``reader: module.function`` replaces the built-in file reader of ``local.format``: it is called as
``function(path, split)`` with the file ``local.files[split]`` under ``--data-dir DIR/<task>/`` (or the
``--data-file`` given) and the split role (train / validation / test), and returns or yields one mapping per
example in the task's *Hub schema* (the fields the YAML's ``fields:`` name, e.g. ``tokens`` and ``ner_tags`` for
token classification, tags as label names or ids). The rows then pass through the same converter as every
other task's, so ids, examples and scores follow the spec like for a built-in format.

``scorer: module.function`` replaces the scorers of the task's type (:mod:`benchmark.task_types`): it is called
as ``function(examples, predictions)`` with the gold examples (:mod:`benchmark.core.examples`) and ``{id:
prediction}`` (every id present, shapes checked; under ``--allow-missing`` a missing QA answer is absent and a
missing token-classification document is all "O"), and returns the metrics dict (0-100), which must hold every
name of the YAML's ``metrics:``. A scorer such as the official TriviaQA script's belongs here. ``scorer: NAME``
(no dot) names a scorer registered by that name instead (:data:`benchmark.core.plugins.SCORERS`), called the same way.

Readers, QA layouts, scorers and aggregations registered by name (:mod:`benchmark.core.plugins`) are the other half of
the same surface: the built-in formats and scorers are registered there, and a YAML names them by key.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..core.task_spec import TASKS_DIR
from ..errors import BenchmarkError

_PRIVATE_PACKAGE = "_gonerd_bench_user_tasks"
_LOADED: dict[tuple[str, str], Any] = {}  # (folder, module name) -> module loaded from beside a YAML


def _fail(where: str, key: str, ref: str, problem: str) -> BenchmarkError:
    return BenchmarkError(f"task spec {where}: {key} {ref!r} {problem}")


def _beside(base_dir: Path, module_name: str) -> Path | None:
    if "." in module_name:
        return None
    path = base_dir / f"{module_name}.py"
    return path if path.is_file() else None


def _load_beside(path: Path, module_name: str, where: str, key: str, ref: str) -> Any:
    cache_key = (str(path.parent), module_name)
    if cache_key in _LOADED:
        return _LOADED[cache_key]
    digest = hashlib.sha256(str(path.parent).encode()).hexdigest()[:12]
    name = f"{_PRIVATE_PACKAGE}.d{digest}.{module_name}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise _fail(where, key, ref, f"cannot be loaded from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's module: any error it raises is a bad task folder, not a crash
        sys.modules.pop(name, None)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise _fail(where, key, ref, f"failed to import {path} ({exc.__class__.__name__}: {first})") from None
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(path.parent))
    _LOADED[cache_key] = module
    return module


def module_file(ref: str, base_dir: str | Path | None) -> Path | None:
    """The file beside the YAML that ``ref`` resolves to (None for an ordinary import)."""
    module_name = ref.rpartition(".")[0]
    return _beside(Path(base_dir), module_name) if base_dir is not None and module_name else None


def module_sha256(ref: str | None, base_dir: str | Path | None) -> str | None:
    """sha256 of the module file beside the YAML that ``ref`` names (None for none or an ordinary import)."""
    path = module_file(ref, base_dir) if ref else None
    return None if path is None else _file_sha256(path)


def resolve(ref: Any, base_dir: str | Path | None, where: str, key: str) -> Callable[..., Any]:
    """The function ``ref`` (``module.function``) names; one-line :class:`BenchmarkError` naming ``where`` (the
    YAML file) and ``key`` when it is not a string of that form, cannot be imported or is not callable."""
    if not isinstance(ref, str) or "." not in ref.strip(".") or any(not p for p in ref.split(".")):
        raise BenchmarkError(f"task spec {where}: {key} must be 'module.function', got {ref!r}")
    module_name, _, func_name = ref.rpartition(".")
    path = module_file(ref, base_dir)
    if path is not None:
        module = _load_beside(path, module_name, where, key, ref)
    else:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            beside = f" (no {module_name}.py beside the YAML either)" if base_dir is not None else ""
            raise _fail(where, key, ref, f"cannot be imported: no module {module_name!r}{beside}") from None
        except Exception as exc:
            raise _fail(where, key, ref, f"failed to import ({exc.__class__.__name__}: {exc})") from None
    func = getattr(module, func_name, None)
    if func is None:
        raise _fail(where, key, ref, f"cannot be imported: module {module_name!r} has no {func_name!r}")
    if not callable(func):
        raise _fail(where, key, ref, f"is not a function ({type(func).__name__})")
    return func


# --------------------------------------------------------------------------------------------- reader


def spec_file(spec: Any) -> str:
    """The YAML file a spec was read from, as messages name it (the bare file name for a package task)."""
    name = f"{spec.name}.yaml"
    if spec.source_dir is None or Path(spec.source_dir).resolve() == TASKS_DIR:
        return name
    return str(Path(spec.source_dir) / name)


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------------- scorer


def is_hook(ref: Any) -> bool:
    """Whether a ``scorer:`` value is a ``module.function`` hook (else the name of a registered scorer,
    :data:`benchmark.core.plugins.SCORERS`)."""
    return isinstance(ref, str) and "." in ref


def call_scorer(spec: Any, examples: Any, predictions: Mapping[str, Any]) -> dict[str, Any]:
    """The metrics the spec's ``scorer`` (a hook, or a registered scorer's name) returns for ``examples`` and
    ``predictions``; one-line :class:`BenchmarkError` naming the YAML when it fails, returns no mapping or lacks
    a listed metric."""
    where = spec_file(spec)
    if is_hook(spec.scorer):
        hook = resolve(spec.scorer, spec.source_dir, where, "scorer")

        def func(examples: list[Any], predictions: dict[str, Any]) -> Any:
            return hook(examples, predictions)
    else:
        from ..core.plugins import SCORERS

        registered = SCORERS.get(spec.scorer, f"task spec {where}")

        def func(examples: list[Any], predictions: dict[str, Any]) -> Any:
            return registered.score(spec, examples, predictions)

    what = f"task spec {where}: scorer {spec.scorer}"
    try:
        metrics = func(list(examples), dict(predictions))
    except BenchmarkError:
        raise
    except Exception as exc:  # the user's scorer failed: one line naming it and its YAML
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise BenchmarkError(f"{what} failed ({exc.__class__.__name__}: {first})") from None
    if not isinstance(metrics, Mapping):
        raise BenchmarkError(f"{what} returned a {type(metrics).__name__}, not a mapping of metrics")
    lacking = [m for m in spec.metrics if m not in metrics]
    if lacking:
        raise BenchmarkError(f"{what} gave no {', '.join(lacking)} (listed in metrics:)")
    return dict(metrics)


def call_cleaning(
    spec: Any, splits: Mapping[str, list[Mapping[str, Any]]]
) -> tuple[dict[str, list[Mapping[str, Any]]], dict[str, Any]]:
    """``(kept rows per split, removed counts per split)`` from the spec's ``cleaning`` hook for ``splits``
    (``{role: rows}``); one-line :class:`BenchmarkError` naming the YAML when it fails or returns another
    shape."""
    where = spec_file(spec)
    func = resolve(spec.cleaning, spec.source_dir, where, "cleaning")
    what = f"task spec {where}: cleaning {spec.cleaning}"
    try:
        result = func({role: list(rows) for role, rows in splits.items()})
    except BenchmarkError:
        raise
    except Exception as exc:  # the user's cleaning failed: one line naming it and its YAML
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise BenchmarkError(f"{what} failed ({exc.__class__.__name__}: {first})") from None
    ok = isinstance(result, tuple) and len(result) == 2 and all(isinstance(r, Mapping) for r in result)
    if not ok or any(role not in result[0] for role in splits):
        raise BenchmarkError(
            f"{what} must return ({{split: kept rows}}, {{split: {{rule: removed}}}}) for the splits "
            f"{', '.join(splits)}; got {type(result).__name__}"
        )
    return {role: list(rows) for role, rows in result[0].items()}, dict(result[1])
