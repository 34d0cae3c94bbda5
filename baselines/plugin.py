"""The ``baseline:`` prefix of the harness's ``--model`` (and of its dry-run plan and leaderboard): registered with
:func:`benchmark.model.model_source.register_resolver` through the ``gonerd_bench.resolvers`` entry point, so
``baselines`` stacks on ``benchmark`` and never the other way round."""

from __future__ import annotations

from collections.abc import Sequence

from benchmark.errors import BenchmarkError
from benchmark.model.model_source import register_resolver

from . import registry
from .errors import BaselinesError

PREFIX = "baseline:"


class BaselineSource:
    """:class:`benchmark.model.model_source.ModelSource` over :mod:`baselines.registry` (read at each call)."""

    def resolve(self, name: str) -> registry.BaselineEntry:
        try:
            return registry.resolve(name)
        except BaselinesError as exc:
            raise BenchmarkError(str(exc)) from None

    def entries(self) -> Sequence[registry.BaselineEntry]:
        return registry.load_registry()

    def expand(self, name: str) -> list[str] | None:
        group = name.removeprefix(PREFIX)
        if group not in registry.GROUPS:
            return None
        return [f"{PREFIX}{e.name}" for e in registry.select(group)]


def register() -> None:
    """The entry point: ``baseline:NAME`` names resolve through the bundled registry."""
    register_resolver(PREFIX, BaselineSource())
