"""The one plug-in surface of the task YAMLs: readers, QA layouts, scorers and aggregations, registered by name
and named in a task's YAML. Built-in tasks and user tasks go through it alike.

=================  =====================  ==========================================================================
registry           named by the YAML key  what is registered
=================  =====================  ==========================================================================
:data:`READERS`    ``local.format``       a :class:`Reader`: reads one split's local file into Hub-schema rows
                                          (built in: conll, csv, glue_tsv, hotpotqa_json, hub_folder, jsonl,
                                          squad_json, triviaqa_rc; :mod:`benchmark.data.local`)
:data:`QA_LAYOUTS` ``fields.layout``      an extractive QA layout: its rows converter and official scorer
                                          (squad, triviaqa, hotpotqa; :mod:`benchmark.task_types.qa`)
:data:`SCORERS`    ``scorer``             a :class:`benchmark.task_types.Scorer` (every scorer a task type reports
                                          its metrics with is registered here too); ``metrics:`` picks among the
                                          type's, ``scorer: NAME`` names one to use instead
:data:`AGGREGATIONS` ``aggregate``        how a suite's sub-task scores combine into its own metrics (built in:
                                          ``mean``; :mod:`benchmark.metrics.suites`, :mod:`benchmark.metrics.glue`)
=================  =====================  ==========================================================================

A registration is ``@register_reader("name")`` (and likewise the others) on a function in any module; the
built-in modules register themselves when a registry is first read (:attr:`Registry.modules`), so nothing here
imports them. A user's own code referenced as ``module.function`` from a YAML (``reader:``, ``scorer:``,
``cleaning:``; :mod:`benchmark.tasks.hooks`) keeps working beside this.

An unknown name is one line naming the YAML file, the key and the known names (:meth:`Registry.get`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from ..errors import BenchmarkError

T = TypeVar("T")


class Registry(Generic[T]):
    """Plug-ins of one kind by name; ``modules`` (the built-in ones) are imported on first read."""

    def __init__(self, kind: str, key: str, modules: tuple[str, ...], *, hint: str = "") -> None:
        self.kind = kind  # what one is ("reader")
        self.key = key  # the YAML key that names one ("local.format")
        self.modules = modules
        self.hint = hint  # appended to the unknown-name message, e.g. "(or give reader: module.function)"
        self._items: dict[str, T] = {}
        self._loaded = False

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            for module in self.modules:
                importlib.import_module(module)

    def add(self, name: str, item: T) -> T:
        """Register ``item`` as ``name`` (replacing an earlier one of that name)."""
        if not isinstance(name, str) or not name or "." in name:
            raise ValueError(f"a {self.kind} name must be a non-empty text without dots, got {name!r}")
        self._items[name] = item
        return item

    def remove(self, name: str) -> None:
        """Forget ``name`` (tests that register one of their own)."""
        self._items.pop(name, None)

    def names(self) -> tuple[str, ...]:
        self._load()
        return tuple(sorted(self._items))

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._items

    def problem(self, name: Any) -> str | None:
        """Why ``name`` names no registered plug-in (``"<key> 'x' is not one of a, b"``), or None."""
        if isinstance(name, str) and name in self:
            return None
        return f"{self.key} {name!r} is not one of {', '.join(self.names())}{self.hint}"

    def get(self, name: Any, where: str | None = None) -> T:
        """The plug-in ``name``; a one-line :class:`BenchmarkError` naming ``where`` (the YAML file, as
        ``task spec <file>``, or a task's name) and the key when there is none."""
        problem = self.problem(name)
        if problem is not None:
            raise BenchmarkError(f"{where}: {problem}" if where else problem)
        return self._items[name]


# ------------------------------------------------------------------------------------------------ readers
Row = Mapping[str, Any]


@dataclass(frozen=True)
class ReadResult:
    """What a reader returns: the rows (Hub schema), keys added to the split's ``source`` record (e.g. the tag
    scheme a CoNLL file had) and further files read besides the split's own (hashed into ``source`` too)."""

    rows: Any
    source: dict[str, Any] = field(default_factory=dict)
    also_read: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class Reader:
    """A reader of ``local.format``: ``read(spec, path, role, task_dir)`` returns a :class:`ReadResult` (or just
    the rows) for the file ``path`` of split ``role``, found under ``task_dir`` (``--data-dir DIR/<task>/``).

    ``preflight``: its files are small enough to read whole before any model loads (a bad file then fails in
    seconds); ``folder``: it reads the task's whole folder as a copy of its Hub repository instead of
    ``local.files`` (``hub_folder``; :mod:`benchmark.data.hub`)."""

    name: str
    read: Callable[..., Any]
    preflight: bool = False
    folder: bool = False
    expected: str = ""  # what a file of this format is, for messages ("a JSON Lines file")


READERS: Registry[Reader] = Registry(
    "reader", "local.format", ("benchmark.data.local",), hint=" (or give reader: module.function)"
)


def register_reader(
    name: str, *, preflight: bool = False, folder: bool = False, expected: str = ""
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: ``read(spec, path, role, task_dir)`` is the reader of ``local.format: name``."""

    def decorate(read: Callable[..., Any]) -> Callable[..., Any]:
        READERS.add(name, Reader(name, read, preflight=preflight, folder=folder, expected=expected))
        return read

    return decorate


# ------------------------------------------------------------------------------------------------ QA layouts
@dataclass(frozen=True)
class QALayout:
    """An extractive QA file layout (``fields.layout``): ``rows(spec, role, rows) -> examples`` converts its Hub
    rows, ``scorers`` are its official scorer(s) and ``yes_no`` says whether its answers may be "yes" / "no"."""

    name: str
    rows: Callable[..., list[Any]]
    scorers: tuple[Any, ...] = ()
    yes_no: bool = False


QA_LAYOUTS: Registry[QALayout] = Registry("QA layout", "fields.layout", ("benchmark.task_types.qa",))


def register_qa_layout(
    name: str, *, scorers: Iterable[Any] = (), yes_no: bool = False
) -> Callable[[Callable[..., list[Any]]], Callable[..., list[Any]]]:
    """Decorator: ``rows(spec, role, rows)`` converts the rows of ``fields.layout: name``; ``scorers`` are
    :class:`benchmark.task_types.Scorer` objects (registered in :data:`SCORERS` too)."""

    def decorate(rows: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
        scorer_tuple = tuple(scorers)
        for scorer in scorer_tuple:
            SCORERS.add(scorer.name, scorer)
        QA_LAYOUTS.add(name, QALayout(name, rows, scorer_tuple, yes_no))
        return rows

    return decorate


# ------------------------------------------------------------------------------------------------ scorers
SCORERS: Registry[Any] = Registry(
    "scorer",
    "scorer",
    ("benchmark.task_types.builtins",),  # every built-in task type, each registering its scorers
    hint=" (or give scorer: module.function)",
)


def register_scorer(scorer: T) -> T:
    """Register a :class:`benchmark.task_types.Scorer` under its ``name`` (returns it)."""
    return SCORERS.add(scorer.name, scorer)


# ------------------------------------------------------------------------------------------------ aggregations
@dataclass(frozen=True)
class Aggregation:
    """One way a suite's sub-task metrics combine: ``combine(spec, {subtask: metrics}) -> {metric: value}``
    reporting the names in ``reports``; ``ValueError`` when a sub-task it needs is missing (the suite's result
    then has None and ``<metric>_missing``). ``applies(spec)``: whether it can combine this suite's sub-tasks
    (GLUE's only GLUE's)."""

    name: str
    reports: frozenset[str]
    combine: Callable[[Any, Mapping[str, Mapping[str, Any]]], dict[str, Any]]
    applies: Callable[[Any], bool] = lambda spec: True


# An ``aggregate:`` name may have several aggregations, each reporting its own metrics; the suite's ``metrics:``
# picks among them, as a task type's metrics pick among its scorers (``mean``: the plain mean, and GLUE's score).
AGGREGATIONS: Registry[tuple[Aggregation, ...]] = Registry(
    "aggregation", "aggregate", ("benchmark.metrics.suites", "benchmark.metrics.glue")
)


def register_aggregation(
    name: str, *, reports: Iterable[str], applies: Callable[[Any], bool] | None = None
) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """Decorator: ``combine(spec, per_subtask)`` is an aggregation of ``aggregate: name`` reporting ``reports``."""

    def decorate(combine: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        agg = Aggregation(name, frozenset(reports), combine, applies or (lambda spec: True))
        kept = tuple(a for a in AGGREGATIONS._items.get(name, ()) if a.reports != agg.reports)
        AGGREGATIONS.add(name, (*kept, agg))
        return combine

    return decorate


def aggregations(spec: Any) -> tuple[Aggregation, ...]:
    """The aggregations of ``spec.aggregate`` that apply to ``spec`` (a suite), in registration order."""
    return tuple(a for a in AGGREGATIONS.get(spec.aggregate, spec.name) if a.applies(spec))
