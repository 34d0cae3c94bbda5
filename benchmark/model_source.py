"""What ``--model`` names: a local directory, a Hub id, ``baseline:NAME`` or a group ``baseline:students``, and the
Hub revisions that pin it (:mod:`baselines.registry` supplies the baselines' ids, tokenizers and pins)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from .errors import BenchmarkError


class ResolvedModel(NamedTuple):
    """What to load for ``--model``: path or Hub id, tokenizer source, and the Hub revisions that pin them."""

    path: str
    tokenizer_from: str | None
    revision: str | None = None
    tokenizer_revision: str | None = None


def resolve_baseline(
    model: str, *, tokenizer_from: str | None, trust_remote_code: bool, revision: str | None = None
) -> ResolvedModel:
    """``baseline:NAME`` -> Hub id, tokenizer source and pinned revisions from :mod:`baselines.registry`;
    anything else as given.

    A baseline whose repository ships no tokenizer gets its registered ``tokenizer_from`` (at the revision the
    registry pins for that repository, if it is an entry too); one that needs remote code (LSG) is refused unless
    ``trust_remote_code`` was asked for. An explicit ``revision`` wins over the registry's.
    """
    if not model.startswith("baseline:"):
        return ResolvedModel(model, tokenizer_from, revision)
    try:
        from baselines.errors import BaselinesError
        from baselines.registry import resolve
    except ImportError:
        raise BenchmarkError(
            f"{model}: baseline models need the baselines package, which is not installed"
        ) from None
    try:
        entry = resolve(model)
    except BaselinesError as exc:
        raise BenchmarkError(str(exc)) from None
    if entry.trust_remote_code and not trust_remote_code:
        raise BenchmarkError(
            f"{model} ({entry.hub_id}) runs remote code from its repository: pass --trust-remote-code"
        )
    pinned = revision or entry.revision
    if tokenizer_from:
        return ResolvedModel(entry.hub_id, tokenizer_from, pinned)
    if entry.tokenizer_from == entry.hub_id:
        return ResolvedModel(entry.hub_id, None, pinned)
    from baselines.registry import load_registry

    owner = next((e for e in load_registry() if e.hub_id == entry.tokenizer_from), None)
    return ResolvedModel(entry.hub_id, entry.tokenizer_from, pinned, owner.revision if owner else None)


def expand_models(models: Sequence[str]) -> list[str]:
    """``baseline:all`` / ``baseline:students`` / ``baseline:teachers`` / ``baseline:references`` (a role) and
    ``baseline:paper`` / ``baseline:modern`` (a registry group) -> one ``baseline:NAME`` per registry entry of it
    (registry order); other names as given, duplicates once."""
    out: list[str] = []
    for model in models:
        if model.startswith("baseline:"):
            from baselines.registry import GROUPS, select

            group = model.removeprefix("baseline:")
            if group in GROUPS:
                out += [f"baseline:{e.name}" for e in select(group)]
                continue
        out.append(model)
    return list(dict.fromkeys(out))
