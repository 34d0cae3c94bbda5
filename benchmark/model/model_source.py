"""What ``--model`` names: a local directory, a Hub id, ``baseline:NAME`` or a group ``baseline:students``, and the
Hub revisions that pin it.

Names with a prefix (``baseline:``) are resolved by a plug-in: a package above the harness registers a
:class:`ModelSource` for its prefix with :func:`register_resolver`, so the harness never imports it. Plug-ins are
found the first time a prefixed name is resolved (:func:`load_plugins`): every ``gonerd_bench.resolvers`` entry
point of the installed distributions, and :data:`BUNDLED` (the same modules, named once here, for a checkout whose
installed metadata predates an entry point; a module that is not importable is skipped). :mod:`baselines.plugin`
registers ``baseline:`` (the registry's ids, tokenizers and pins).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

from ..errors import BenchmarkError

ENTRY_POINT_GROUP = "gonerd_bench.resolvers"
# module:function of each bundled plug-in, as pyproject.toml's [project.entry-points."gonerd_bench.resolvers"]
# declares them (tests/benchmark/model/test_model_source_plugins.py keeps the two equal)
BUNDLED = {"baselines": "baselines.plugin:register"}


class ResolvedModel(NamedTuple):
    """What to load for ``--model``: path or Hub id, tokenizer source, and the Hub revisions that pin them."""

    path: str
    tokenizer_from: str | None
    revision: str | None = None
    tokenizer_revision: str | None = None


class ModelSource(Protocol):
    """A registry of named models behind one prefix (``baseline:``). Entries are read by attribute (``hub_id``,
    ``revision``, ``tokenizer_from``, ``trust_remote_code``, ``architecture``, ``layers``, ``parameters``,
    ``max_length``, ``license``, ...) and ``to_dict()``."""

    def resolve(self, name: str) -> Any:
        """The entry of ``NAME``, ``PREFIX:NAME`` or its Hub id; :class:`BenchmarkError` naming it when unknown."""

    def entries(self) -> Sequence[Any]:
        """Every entry, in registry order."""

    def expand(self, name: str) -> list[str] | None:
        """``PREFIX:GROUP`` -> one ``PREFIX:NAME`` per member; None when ``name`` is not a group."""


_SOURCES: dict[str, ModelSource] = {}
_loaded = False


def register_resolver(prefix: str, source: ModelSource) -> None:
    """Resolve names starting ``prefix`` (``"baseline:"``) with ``source``; a later registration replaces it."""
    _SOURCES[prefix] = source


def load_plugins() -> None:
    """Register every plug-in once: the ``gonerd_bench.resolvers`` entry points, then :data:`BUNDLED` ones not
    among them. Each names a function called with no argument that calls :func:`register_resolver`."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    from importlib.metadata import entry_points

    targets = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    for name, target in BUNDLED.items():
        targets.setdefault(name, target)
    for target in targets.values():
        module, _, function = target.partition(":")
        try:
            loaded = importlib.import_module(module.strip())
        except ImportError:  # the package is not installed: its prefix stays unknown
            continue
        getattr(loaded, function.strip() or "register")()


def source_for(model: str) -> tuple[str, ModelSource] | None:
    """The registered (prefix, source) whose prefix ``model`` starts with, if any."""
    load_plugins()
    return next(((p, s) for p, s in _SOURCES.items() if model.startswith(p)), None)


def lookup(prefix: str, name: str) -> Any:
    """The entry of ``name`` in the source registered for ``prefix``; :class:`BenchmarkError` when none is."""
    load_plugins()
    source = _SOURCES.get(prefix)
    if source is None:
        raise BenchmarkError(
            f"{name}: {prefix}NAME models need a plug-in that registers {prefix!r}, none is installed"
        )
    return source.resolve(name)


def resolve_baseline(
    model: str, *, tokenizer_from: str | None, trust_remote_code: bool, revision: str | None = None
) -> ResolvedModel:
    """``baseline:NAME`` -> Hub id, tokenizer source and pinned revisions from the ``baseline:`` plug-in;
    anything else as given.

    A baseline whose repository ships no tokenizer gets its registered ``tokenizer_from`` (at the revision the
    registry pins for that repository, if it is an entry too); one that needs remote code (LSG) is refused unless
    ``trust_remote_code`` was asked for. An explicit ``revision`` wins over the registry's.
    """
    if not model.startswith("baseline:"):
        return ResolvedModel(model, tokenizer_from, revision)
    found = source_for("baseline:")
    if found is None:
        raise BenchmarkError(f"{model}: baseline models need the baselines package, which is not installed")
    source = found[1]
    entry = source.resolve(model)
    if entry.trust_remote_code and not trust_remote_code:
        raise BenchmarkError(
            f"{model} ({entry.hub_id}) runs remote code from its repository: pass --trust-remote-code"
        )
    pinned = revision or entry.revision
    if tokenizer_from:
        return ResolvedModel(entry.hub_id, tokenizer_from, pinned)
    if entry.tokenizer_from == entry.hub_id:
        return ResolvedModel(entry.hub_id, None, pinned)
    owner = next((e for e in source.entries() if e.hub_id == entry.tokenizer_from), None)
    return ResolvedModel(entry.hub_id, entry.tokenizer_from, pinned, owner.revision if owner else None)


def expand_models(models: Sequence[str]) -> list[str]:
    """``baseline:all`` / ``baseline:students`` / ``baseline:teachers`` / ``baseline:references`` (a role) and
    ``baseline:paper`` / ``baseline:modern`` (a registry group) -> one ``baseline:NAME`` per registry entry of it
    (registry order); other names as given, duplicates once."""
    out: list[str] = []
    for model in models:
        found = source_for(model)
        members = found[1].expand(model) if found else None
        out += members if members is not None else [model]
    return list(dict.fromkeys(out))
