"""Registry of the bundled baselines: the paper's distilled efficient-attention students, their teachers and
full-attention references (group ``paper``), and today's long-context encoders (group ``modern``: ModernBERT, the
Ettin ladder, mmBERT, EuroBERT, GTE-en-MLM; role ``encoder``).

The data lives in ``registry.yaml`` next to this module (shipped as package data). :func:`load_registry` reads and
validates it into frozen :class:`BaselineEntry` objects; :func:`resolve` finds one entry from ``NAME`` or
``baseline:NAME``::

    >>> from baselines.registry import resolve
    >>> resolve("baseline:distil-longformer").teacher
    'longformer'
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from baselines.errors import BaselinesError

REGISTRY_PATH = Path(__file__).with_name("registry.yaml")
SPEC_PREFIX = "baseline:"
ROLES = ("student", "teacher", "reference", "encoder")
REGISTRY_GROUPS = ("paper", "modern")  # the ``group`` field: the paper's models, or today's encoders
_HEX40 = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class BaselineEntry:
    """One model of the registry.

    Attributes:
        name: Short name used on the command line (``distil-longformer``).
        hub_id: Hugging Face Hub repository (``giant-oak/distil-longformer-base-4096``).
        revision: Full 40-hex commit of the Hub repository, or ``None`` where it could not be verified.
        architecture: ``model_type`` of the checkpoint's config.json (``longformer``, ``big_bird``...).
        layers: Number of transformer layers.
        parameters: Parameters of the bare encoder (no task head), or ``None`` where it could not be verified.
        max_length: Longest input in tokens.
        role: ``student``, ``teacher``, ``reference`` or ``encoder`` (a pretrained encoder benchmarked as it is).
        group: ``paper`` (the 2023 paper's models) or ``modern`` (today's long-context encoders).
        teacher: Registry name of the model this one was distilled from, or ``None``.
        tokenizer_from: Hub repository whose tokenizer to load (some student repositories ship none).
        trust_remote_code: Whether loading needs ``trust_remote_code=True`` (LSG ships its own modelling code).
        license: SPDX-like license of the checkpoint, or ``None`` where it could not be verified.
    """

    name: str
    hub_id: str
    revision: str | None
    architecture: str
    layers: int
    parameters: int | None
    max_length: int
    role: str
    group: str
    teacher: str | None
    tokenizer_from: str
    trust_remote_code: bool
    license: str | None

    @property
    def spec(self) -> str:
        """The ``baseline:NAME`` form accepted by :func:`resolve` and the benchmark CLI."""
        return f"{SPEC_PREFIX}{self.name}"

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary of the fields (JSON-serialisable)."""
        return asdict(self)


_NULLABLE = {"revision", "parameters", "license", "teacher"}
_TYPES: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "hub_id": str,
    "revision": str,
    "architecture": str,
    "layers": int,
    "parameters": int,
    "max_length": int,
    "role": str,
    "group": str,
    "teacher": str,
    "tokenizer_from": str,
    "trust_remote_code": bool,
    "license": str,
}
FIELDS: tuple[str, ...] = tuple(f.name for f in fields(BaselineEntry))


def _entry_from_mapping(raw: Any, index: int, source: str) -> BaselineEntry:
    if not isinstance(raw, dict):
        raise BaselinesError(f"{source}: entry #{index + 1} is not a mapping of fields")
    label = raw.get("name") if isinstance(raw.get("name"), str) else f"#{index + 1}"
    for key in FIELDS:
        if key not in raw:
            raise BaselinesError(f"{source}: entry {label!r} is missing field {key!r}")
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise BaselinesError(f"{source}: entry {label!r} has unknown field {unknown[0]!r}")
    for key in FIELDS:
        value = raw[key]
        if value is None:
            if key not in _NULLABLE:
                raise BaselinesError(f"{source}: entry {label!r}: field {key!r} must not be null")
            continue
        expected = _TYPES[key]
        # bool is a subclass of int: refuse True/False where a number is expected.
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise BaselinesError(
                f"{source}: entry {label!r}: field {key!r} must be {getattr(expected, '__name__', expected)}, "
                f"got {value!r}"
            )
    if raw["revision"] is not None and not _HEX40.match(raw["revision"]):
        raise BaselinesError(
            f"{source}: entry {label!r}: revision must be a full 40-hex commit, got {raw['revision']!r}"
        )
    if raw["role"] not in ROLES:
        raise BaselinesError(f"{source}: entry {label!r}: role must be one of {', '.join(ROLES)}")
    for key in ("layers", "max_length", "parameters"):
        if raw[key] is not None and raw[key] < 1:
            raise BaselinesError(f"{source}: entry {label!r}: field {key!r} must be positive")
    if raw["group"] not in REGISTRY_GROUPS:
        raise BaselinesError(f"{source}: entry {label!r}: group must be one of {', '.join(REGISTRY_GROUPS)}")
    if raw["role"] == "student" and raw["teacher"] is None:
        raise BaselinesError(f"{source}: entry {label!r}: a student needs a teacher")
    return BaselineEntry(**{key: raw[key] for key in FIELDS})


def load_registry(path: str | os.PathLike[str] | None = None) -> tuple[BaselineEntry, ...]:
    """Read and validate a registry file (default: the bundled ``registry.yaml``).

    Raises:
        BaselinesError: the file is missing or malformed, an entry lacks a field or has a bad value, two entries
            share a name, or a ``teacher`` names no entry of the registry.
    """
    file = Path(path) if path is not None else REGISTRY_PATH
    if path is None:
        return _bundled()
    return _load(file)


@functools.cache
def _bundled() -> tuple[BaselineEntry, ...]:
    return _load(REGISTRY_PATH)


def _load(file: Path) -> tuple[BaselineEntry, ...]:
    from gonerd import untrusted

    if not Path(file).exists():
        raise BaselinesError(f"registry file not found: {file}")
    # a regular file; duplicate keys, alias bombs, deep nesting refused on the node graph
    data = untrusted.load_yaml(file, str(file), BaselinesError)
    if not isinstance(data, list) or not data:
        raise BaselinesError(f"{file}: expected a non-empty list of entries")
    entries = tuple(_entry_from_mapping(raw, i, str(file)) for i, raw in enumerate(data))
    names = [e.name for e in entries]
    for name in names:
        if names.count(name) > 1:
            raise BaselinesError(f"{file}: two entries are named {name!r}")
        if name in GROUPS:
            raise BaselinesError(f"{file}: {name!r} names a group of baselines and cannot name an entry")
    for entry in entries:
        if entry.teacher is not None and entry.teacher not in names:
            raise BaselinesError(
                f"{file}: entry {entry.name!r}: teacher {entry.teacher!r} is not in the registry"
            )
    return entries


# ``baseline:<group>`` on the command line -> (field, value) it selects (None: every entry). No entry may be named
# so. ``students``/``teachers``/``references`` are the paper's roles; ``paper``/``modern`` the registry groups.
GROUPS: dict[str, tuple[str, str] | None] = {
    "all": None,
    "students": ("role", "student"),
    "teachers": ("role", "teacher"),
    "references": ("role", "reference"),
    "paper": ("group", "paper"),
    "modern": ("group", "modern"),
}


def select(group: str, *, registry: tuple[BaselineEntry, ...] | None = None) -> list[BaselineEntry]:
    """The entries of a group of :data:`GROUPS`, in registry order."""
    if group not in GROUPS:
        raise BaselinesError(f"unknown baseline group {group!r}; known: {', '.join(GROUPS)}")
    entries = registry if registry is not None else load_registry()
    wanted = GROUPS[group]
    return [e for e in entries if wanted is None or getattr(e, wanted[0]) == wanted[1]]


def resolve(name_or_spec: str, *, registry: tuple[BaselineEntry, ...] | None = None) -> BaselineEntry:
    """Find an entry from ``NAME``, ``baseline:NAME`` or its Hub id.

    Raises:
        BaselinesError: no entry has that name, naming the known ones.
    """
    entries = registry if registry is not None else load_registry()
    key = name_or_spec.removeprefix(SPEC_PREFIX).strip()
    for entry in entries:
        if key in (entry.name, entry.hub_id):
            return entry
    known = ", ".join(e.name for e in entries)
    raise BaselinesError(f"unknown baseline {name_or_spec!r}; known: {known}")


def format_table(entries: tuple[BaselineEntry, ...] | list[BaselineEntry]) -> str:
    """Human-readable table for ``baselines list`` (``-`` marks an unverified value)."""
    header = (
        "name",
        "role",
        "architecture",
        "layers",
        "params",
        "max_len",
        "teacher",
        "group",
        "hub_id",
        "revision",
    )
    rows = [header]
    for e in entries:
        params = f"{e.parameters / 1e6:.1f}M" if e.parameters is not None else "-"
        rows.append(
            (
                e.name,
                e.role,
                e.architecture,
                str(e.layers),
                params,
                str(e.max_length),
                e.teacher or "-",
                e.group,
                e.hub_id + (" (remote code)" if e.trust_remote_code else ""),
                e.revision[:10] if e.revision else "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
