"""The typed records of the files the harness writes and reads: a result (``gonerd-bench/result/v1``), the owner
file ``model.json`` beside it, ``speed.json`` (``gonerd-bench/speed/v1``) and a leaderboard entry's
``submission.json`` (``gonerd-bench/submission/v1``).

Every record is a tree of :class:`Section` dataclasses read by one generic loader (:meth:`Section.parse`: it walks
the dataclass fields, ``Optional``, literals, nested sections and lists / dicts of them), which checks every key
and type and says what is wrong in one line naming the file and the key path (``conll2003.json: execution.dtype
must be one of 'float32', 'bfloat16', 'float16', got 'int8'``). A key no section declares is an error too
(``unknown key 'config.dtpye' (did you mean 'dtype'?)``): a misspelt key is never silently kept. Only values that
are data rather than shape stay open (``dict[str, Any]``: a split's metrics, window and load statistics, a model's
``recipe`` copied from its ``recipe.json``, the timing protocol). :meth:`Section.to_dict` gives back the same JSON,
key order included, and keys a file lacks stay absent, so every file written so far round-trips byte for byte.

:meth:`ResultRecord.from_dict` is how a result is read (:mod:`benchmark.results.files` checks a record through it when
it writes and reads one; the leaderboard's views work on the typed record), and
:mod:`benchmark.leaderboard.validate` adds only what is not about shape (spec hashes, score ranges, re-scoring).

Files written before a section existed load as they are; what they imply is derived on read, not written back:
:meth:`ResultRecord.execution_or_legacy` (no ``execution`` section: float32, default attention, not compiled),
:meth:`ResultRecord.batching` (no ``execution.batching``: what the training sections say). A ``speed.json`` without ``model.revision`` and a
``submission.json`` without ``unverified`` (written before those keys existed) load too. No file written so far
has a key the sections do not declare, so no legacy key needs migrating.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
import unicodedata
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from ..errors import BenchmarkError

SCHEMA = "gonerd-bench/result/v1"
SPEED_SCHEMA = "gonerd-bench/speed/v1"
SUBMISSION_SCHEMA = "gonerd-bench/submission/v1"
SPLIT_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")  # names a predictions file, so never a path
# Matched whole (fullmatch): with re.match, "$" also matches before a final newline ("org/model\n").
MODEL_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}")
Dtype = Literal["float32", "bfloat16", "float16"]
Batching = Literal["length_grouped", "random"]
EXECUTION_DTYPES: tuple[str, ...] = typing.get_args(Dtype)
EXECUTION_BATCHING: tuple[str, ...] = typing.get_args(Batching)


class RecordError(BenchmarkError):
    """A file that is not a valid record (one line: the file, the key path, what is wrong)."""


MAX_SHOWN = 200  # characters of a free-text field the board shows (device names)
URL_RE = re.compile(r"://|\bwww\.", re.IGNORECASE)
MENTION_RE = re.compile(r"(?<![A-Za-z0-9])@[A-Za-z0-9_-]")


def shown_text_problem(value: Any) -> str | None:
    """Why a free-text value the board shows (a device name) cannot go on it: too long, invisible or
    direction-changing characters (U+202E...), a URL or an @mention (GitHub links them in the README)."""
    if not isinstance(value, str):
        return None
    if len(value) > MAX_SHOWN:
        return f"is {len(value):,} characters long (at most {MAX_SHOWN})"
    bad = next(
        (c for c in value if unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp")), None
    )
    if bad is not None:
        return f"contains the control or formatting character U+{ord(bad):04X}"
    if URL_RE.search(value):
        return "contains a URL"
    if MENTION_RE.search(value):
        return "contains an @mention"
    return None


def check_model_id(model_id: Any) -> str | None:
    """Why ``model_id`` cannot name a leaderboard entry (None when it can)."""
    if isinstance(model_id, str) and (".." in model_id or "//" in model_id or model_id.startswith("/")):
        return f"model name {model_id!r} contains '..' or '//' or starts with '/' (a path, not a Hub id)"
    if not isinstance(model_id, str) or not MODEL_ID_RE.fullmatch(model_id):
        return (
            f"model name {model_id!r} is not a Hub id or baseline:NAME (allowed: letters, digits, . _ - : /, "
            "starting with a letter or digit)"
        )
    return None


def _at_least(low: int | float) -> dict[str, Any]:
    """Field metadata: the number must be ``>= low`` (None passes where the type allows it)."""
    word = "a positive" if low == 1 else "a non-negative" if low == 0 else f"a >= {low}"
    return {"check": lambda v: v is None or v >= low, "wanted": f"{word} number"}


def _key(name: str) -> dict[str, Any]:
    """Field metadata: the JSON key differs from the attribute name (``class``, a Python keyword)."""
    return {"key": name}


@dataclass(kw_only=True)
class Section:
    """Base of every section: typed fields, plus the order the keys had in the file (``key_order``), so that
    :meth:`to_dict` gives the file back unchanged. A field's JSON key is its name unless its metadata says
    otherwise (:func:`_key`)."""

    key_order: tuple[str, ...] | None = field(default=None, repr=False, compare=False)

    _OWN: ClassVar[frozenset[str]] = frozenset({"key_order"})
    WHAT: ClassVar[str] = "record"  # what the file is, in errors: "not a valid <WHAT>"

    @classmethod
    def _fields(cls) -> list[tuple[str, str, Any, dataclasses.Field]]:
        """(attribute, JSON key, type, field) of every declared field, in declared order."""
        hints = _hints(cls)
        return [
            (f.name, f.metadata.get("key", f.name), hints[f.name], f)
            for f in dataclasses.fields(cls)
            if f.name not in Section._OWN
        ]

    @classmethod
    def parse(cls, data: Any, path: str, problems: list[str]) -> Any:
        """The section read from ``data``; each problem found is appended (``path``: where ``data`` sits)."""
        if not isinstance(data, dict):
            problems.append(f"{path or 'the file'} must be an object, got {_show(data)}")
            return None
        values: dict[str, Any] = {}
        known: list[str] = []
        for name, key, hint, spec in cls._fields():
            known.append(key)
            where = f"{path}.{key}" if path else key
            if key not in data:
                if spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
                    problems.append(f"missing key {where!r}")
                    values[name] = None
                continue
            before = len(problems)
            values[name] = _parse(hint, data[key], where, problems)
            check = spec.metadata.get("check")
            if check and len(problems) == before and not check(values[name]):
                problems.append(f"{where} must be {spec.metadata['wanted']}, got {_show(data[key])}")
        problems += [_unknown(path, key, known) for key in data if key not in known]
        section = cls(**values, key_order=tuple(k for k in data if k in known))
        section.check(path, problems)
        return section

    def check(self, path: str, problems: list[str]) -> None:
        """Checks across fields (the types are checked already); appends problems."""

    @classmethod
    def problems(cls, data: Any) -> list[str]:
        """Every problem of ``data`` as this section (empty: valid)."""
        if not isinstance(data, dict):
            return [f"not a JSON object (got {_show(data)})"]
        found: list[str] = []
        cls.parse(data, "", found)
        return found

    @classmethod
    def from_dict(cls, data: Any, source: str = "file") -> Any:
        """The record of ``data``; :class:`RecordError` (one line naming ``source``, the file) when invalid."""
        found: list[str] = []
        record = cls.parse(data, "", found) if isinstance(data, dict) else None
        if record is None or found:
            found = found or cls.problems(data)
            more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
            raise RecordError(f"{source}: not a valid {cls.WHAT}: {'; '.join(found[:3])}{more}")
        return record

    @classmethod
    def made(cls, **values: Any) -> Any:
        """A section made in code with the fields ``values`` names: like a file holding just those keys, a field not
        given is absent from :meth:`to_dict` (never written as null). The writers make their sections so, where
        they are measured (``measure_inference`` a :class:`Timing`, ``finetune`` a :class:`TrainingRun`)."""
        given = tuple(key for name, key, _, _ in cls._fields() if name in values)
        return cls(**values, key_order=given)

    def has(self, name: str) -> bool:
        """Whether the file had the key of field ``name`` (a section made in code has every field)."""
        key = next(k for n, k, _, _ in self._fields() if n == name)
        return self.key_order is None or key in self.key_order

    def to_dict(self) -> dict[str, Any]:
        """The section as JSON data, keys in the order they were read (declared order for a new section)."""
        names = {key: name for name, key, _, _ in self._fields()}
        order = self.key_order if self.key_order is not None else tuple(names)
        return {key: _dump(getattr(self, names[key])) for key in order if key in names}


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _show(value: Any) -> str:
    """A value for an error message: repr, cut short (a hostile file's values can be long)."""
    text = "an object" if isinstance(value, dict) else "a list" if isinstance(value, list) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unknown(path: str, key: Any, known: list[str]) -> str:
    """``unknown key 'config.dtpye' (did you mean 'dtype'?)``; the key cut short (a hostile file's can be long)."""
    shown = _show(f"{path}.{key}" if path else str(key))
    close = difflib.get_close_matches(str(key), known, n=1) if len(str(key)) <= 60 else []
    return f"unknown key {shown}" + (f" (did you mean {close[0]!r}?)" if close else "")


def _describe(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if origin is Literal:
        return " or ".join(repr(a) for a in args)
    if origin is list:
        return "a list"
    if origin is dict or (isinstance(hint, type) and issubclass(hint, Section)):
        return "an object"
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        type(None): "null",
    }.get(hint, str(hint))


def _parse(hint: Any, value: Any, path: str, problems: list[str]) -> Any:
    """``value`` checked against ``hint`` (and nested sections read); appends a problem when it does not fit."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) == 1 and not _is_plain(options[0]):
            return _parse(options[0], value, path, problems)
        for option in options:
            tried: list[str] = []
            parsed = _parse(option, value, path, tried)
            if not tried:
                return parsed
        problems.append(f"{path} must be {_describe(hint)}, got {_show(value)}")
        return value
    if origin is Literal:
        if not any(value == a and type(value) is type(a) for a in args):
            wanted = repr(args[0]) if len(args) == 1 else f"one of {', '.join(repr(a) for a in args)}"
            problems.append(f"{path} must be {wanted}, got {_show(value)}")
        return value
    if origin is list:
        if not isinstance(value, list):
            problems.append(f"{path} must be a list, got {_show(value)}")
            return value
        return [_parse(args[0], item, f"{path}[{i}]", problems) for i, item in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            problems.append(f"{path} must be an object, got {_show(value)}")
            return value
        return {key: _parse(args[1], item, f"{path}.{key}", problems) for key, item in value.items()}
    if isinstance(hint, type) and issubclass(hint, Section):
        parsed = hint.parse(value, path, problems)
        return value if parsed is None else parsed
    if not _fits(hint, value):
        problems.append(f"{path} must be {_describe(hint)}, got {_show(value)}")
    return value


def _is_plain(hint: Any) -> bool:
    return hint in (str, int, float, bool)


def _fits(hint: Any, value: Any) -> bool:
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:  # a JSON number: 2 and 2.0 both (kept as written)
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    raise TypeError(f"record.py: no rule for the type {hint!r}")  # a programming error in a section


def _dump(value: Any) -> Any:
    if isinstance(value, Section):
        return value.to_dict()
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    return value


# ----------------------------------------------------------------------------------------------------- sections
@dataclass(kw_only=True)
class Model(Section):
    """Which model ran, and what preprocessing needs to know about it: :func:`benchmark.model.modeling.load_model_for_task`
    makes it (from the model's config and :mod:`benchmark.core.architectures`, fields up to ``unpadded``); the task
    types, the collator and the timing protocol read it; the run adds where the model came from (``path`` on)."""

    model_id: str
    revision: str | None  # Hub commit, or "sha256:<hex>" over a local directory's config and weights
    model_type: str
    max_positions: int | None = None  # usable input length in tokens
    n_params: int = field(metadata=_at_least(0))
    needs_remote_code: bool = False
    global_attention: bool = False  # Longformer: needs a global_attention_mask
    fixed_length: int | None = None  # Nyströmformer: every input padded to exactly this length
    attention_type: str | None = None  # BigBird: configured attention ("block_sparse" / "original_full")
    model_class: str | None = None  # the Python class that ran (its own class for remote code)
    recipe: dict[str, Any] | None = (
        None  # benchmark.model.recipe: the model's recipe.json as written (kinds differ), e.g. its teacher
    )
    # which head ran: transformers' own class for the task, the harness's generic one over AutoModel
    # (benchmark.model.heads), or the repository's remote code; absent in files written before it was recorded
    head: Literal["transformers", "generic", "remote_code"] | None = None
    pooling: str | None = None  # sequence tasks: the classification head's pooling (cls, mean, bos, late)
    unpadded: bool | None = None  # the attention kernel unpadded the batches (flash-attention varlen)
    path: str | None = None
    requested_revision: str | None = None
    tokenizer_revision: str | None = None
    slug: str | None = None

    def teacher_revision(self) -> str | None:
        """The revision of the model a distilled student started from (its recipe's ``teacher_revision``)."""
        found = (self.recipe or {}).get("teacher_revision")
        return str(found) if found else None


@dataclass(kw_only=True)
class Harness(Section):
    version: str
    git_commit: str | None
    name: str | None = None


@dataclass(kw_only=True)
class Task(Section):
    name: str
    version: str
    spec_hash: str
    task_type: str
    primary_metric: str
    context: str | None = None


@dataclass(kw_only=True)
class DataFile(Section):
    path: str
    sha256: str
    bytes: int | None = field(default=None, metadata=_at_least(0))


@dataclass(kw_only=True)
class Source(Section):
    """Where a split's data was read (``dataset.sources``): Hub dataset, a copy of one, a project build, local
    files or a task's own reader (:mod:`benchmark.data`)."""

    kind: str  # "hub", "hub_folder", "local"
    files: list[DataFile] | None = None
    gold_sha256: str | None = None  # benchmark.data.loader.gold_sha256 of ids and gold labels
    path: str | None = None
    revision: str | None = None
    config: str | None = None
    split: str | None = None
    fingerprint: str | None = None  # the datasets library's fingerprint of what it loaded
    data_dir: str | None = None
    format: str | None = None  # local: the reader of benchmark.data.local ("reader": a task's own)
    columns: int | None = None  # CoNLL: columns per line
    tag_scheme: str | None = None  # CoNLL: IOB1 converted or IOB2 as read
    reader: str | None = None  # a task's reader hook (import path) and the sha256 of its module
    reader_sha256: str | None = None
    origin: str | None = None  # a project-built dataset: "hub" or "<task>_build" (benchmark.data.builds)
    manifest: dict[str, Any] | None = None  # ... and its manifest's version and sha256
    hub_unavailable: str | None = None  # ... why the Hub copy was not used
    leak_reference: Source | None = None  # a cleaning's train split, read to find evaluation texts in it


@dataclass(kw_only=True)
class HubPin(Section):
    """The spec's Hub pin (:class:`benchmark.core.task_spec.HubSource`)."""

    path: str
    revision: str
    config: str | None = None
    splits: dict[str, str] = field(default_factory=dict)


@dataclass(kw_only=True)
class Dataset(Section):
    hub: HubPin | None = None  # the spec's Hub pin when every split came from the Hub
    sources: dict[str, Source] = field(default_factory=dict)  # per split ("<sub>/<split>" for GLUE)
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(kw_only=True)
class SplitScore(Section):
    """A split's score (:func:`benchmark.evaluate.scoring.score_predictions`)."""

    metrics: dict[str, Any]
    primary_metric: str
    score: float
    task: str | None = None
    num_examples: int | None = field(default=None, metadata=_at_least(0))
    spec_hash: str | None = None
    missing: int | None = None


@dataclass(kw_only=True)
class TrainingRun(Section):
    """One fine-tuning, as :func:`benchmark.train.finetune.finetune` makes it (the run adds its ``windows``); every key
    optional (files written before a key existed)."""

    train_examples: int | None = None
    train_windows: int | None = None
    steps: int | None = None
    epochs: float | None = None
    seconds: float | None = None
    final_loss: float | None = None
    saved_to: str | None = None
    num_processes: int | None = None
    per_device_batch_size: int | None = None
    total_batch_size: int | None = None
    padding_ratio: float | None = None
    padded_positions: int | None = None
    real_tokens: int | None = None
    batching: str | None = None
    megabatch_factor: int | None = None
    windows: dict[str, Any] | None = None


@dataclass(kw_only=True)
class Timing(Section):
    """A timed inference, as :func:`benchmark.timing.protocol.measure_inference` makes it (all times in milliseconds,
    memory in MiB; the protocol and ``memory_kind``: that module's docstring), in a result (plus the attention paths
    and the batches timed) and per length in ``speed.json``; only ``device`` is required.

    ``n_batches`` / ``n_examples`` / ``n_tokens`` / ``n_padded_tokens`` describe the distinct batches measured (one
    pass); ``n_tokens`` counts real tokens (``attention_mask == 1``), ``n_padded_tokens`` every position the model
    computed over (padding included). ``iterations`` is the number of timed calls."""

    device: str
    device_name: str | None = None
    dtype: str | None = None
    torch_version: str | None = None
    cuda_version: str | None = None
    cpu_threads: int | None = None
    timer: str | None = None
    batch_size: int | None = None
    seq_len: int | None = None
    n_batches: int | None = None
    n_examples: int | None = None
    n_tokens: int | None = None
    n_padded_tokens: int | None = None
    latency_ms_per_example_median: float | None = field(default=None, metadata=_at_least(0))
    latency_ms_per_example_p90: float | None = field(default=None, metadata=_at_least(0))
    latency_ms_per_example_mean: float | None = None
    latency_ms_per_batch_median: float | None = None
    latency_ms_per_batch_p90: float | None = None
    tokens_per_second: float | None = field(default=None, metadata=_at_least(0))
    examples_per_second: float | None = None
    timed_seconds: float | None = None
    peak_memory_mb: float | None = field(default=None, metadata=_at_least(0))
    memory_baseline_mb: float | None = None
    memory_kind: str | None = None
    warmup: int | None = None
    iterations: int | None = None
    percentile_method: str | None = None
    attention_paths: dict[str, str] | None = None  # a result: padded length -> attention path computed
    protocol: dict[str, Any] | None = None  # a result: the timing batches (inference_timing.time_inference)

    def value(self, name: str) -> float | None:
        """A number of the timing (``latency_ms_per_example_median``, ``peak_memory_mb``...), as a float."""
        value = getattr(self, name)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass(kw_only=True)
class Execution(Section):
    """How the model ran (:func:`benchmark.model.precision.execution_record`)."""

    dtype: Dtype
    compiled: bool
    mixed_precision: str | None = None
    attn_implementation: str | None = None
    requested_attn_implementation: str | None = None
    batching: Batching | None = None  # absent before --batching existed


# What a result written before --dtype / --attn-implementation / --compile existed ran with: float32,
# transformers' default attention (not recorded then), not compiled. Such files have no ``execution`` section.
LEGACY_EXECUTION: dict[str, Any] = {
    "dtype": "float32",
    "mixed_precision": None,
    "attn_implementation": None,
    "requested_attn_implementation": None,
    "compiled": False,
    "batching": None,  # not recorded in execution before --batching existed: see ResultRecord.batching
}


@dataclass(kw_only=True)
class Hardware(Section):
    """The machine (:func:`benchmark.timing.hardware.hardware_info`); every key optional."""

    device: str | None = None
    device_type: str | None = None
    device_name: str | None = None
    cpu_model: str | None = None
    cpu_cores_logical: int | None = None
    cpu_cores_physical: int | None = None
    torch_num_threads: int | None = None
    memory_total_mb: float | None = None
    ram_total_mb: float | None = None
    torch_version: str | None = None
    cuda_version: str | None = None
    cudnn_version: int | None = None
    transformers_version: str | None = None
    python_version: str | None = None
    platform: str | None = None
    load_average: list[float] | None = None
    cpu_capability: str | None = (
        None  # the CPU kernels torch uses (AVX2, AVX512, ...); absent before 2026-12-05
    )
    cpu_native_bf16: bool | None = None  # AVX-512 BF16 or AMX: bf16 autocast is native, not emulated


@dataclass(kw_only=True)
class Budget(Section):
    """How one task fine-tunes (and the batch size its evaluation uses): a task's default (its YAML over these
    defaults, :func:`benchmark.tasks.registry`), a run's (``--config`` and flags over it,
    :func:`benchmark.run.config.resolve_budget`), and what a result records. What a valid value is:
    :mod:`benchmark.core.budget`."""

    epochs: float | None = field(default=3, metadata=_at_least(0))
    learning_rate: float | None = field(default=2e-5, metadata=_at_least(0))
    warmup_ratio: float | None = 0.1
    weight_decay: float | None = 0.01
    max_train_examples: int | None = None  # None: the whole training split
    batch_size: int | None = field(default=32, metadata=_at_least(1))
    eval_batch_size: int | None = None  # None: same as batch_size


@dataclass(kw_only=True)
class Distillation(Section):
    """``benchmark run --teacher``: the student learnt from a fine-tuned teacher's soft labels (:mod:`benchmark.train.distill`)."""

    teacher_run: str  # the teacher's OUTPUT/<slug> folder
    teacher_model_id: str | None = None
    teacher_revision: str | None = None
    alpha: float = field(metadata=_at_least(0))
    temperature: float = field(metadata=_at_least(0))
    subtasks: list[str] | None = None  # the (sub)tasks the teacher had a model for


@dataclass(kw_only=True)
class Config(Section):
    """What of a run changes its results (:meth:`benchmark.run.config.RunConfig.result_config`, hashed into
    ``config_hash``) plus the device; every key optional (non-default execution settings only)."""

    budget: Budget | None = None
    limit: int | None = field(default=None, metadata=_at_least(1))
    eval_only: bool | None = None
    seed: int | None = None
    max_length: int | None = None
    tokenizer: str | None = None
    data_dir: str | None = None
    train_batches: str | None = None
    megabatch_factor: int | None = None
    dtype: Dtype | None = None
    attn_implementation: str | None = None
    compile_model: bool | None = None
    num_processes: int | None = None
    seeds: list[int] | None = None  # benchmark run --seeds: the seeds of the aggregate (absent: one --seed)
    device: str | None = None
    save_models: bool | None = None
    distillation: Distillation | None = None  # --teacher (absent: no teacher at task time)


@dataclass(kw_only=True)
class Bootstrap(Section):
    """A split's primary metric on resampled sets of its evaluation examples (:mod:`benchmark.evaluate.intervals`): the
    replicates, paired with any other run's on the same gold (same ``ids_sha256``, ``resamples``, ``rng_seed``)."""

    metric: str
    unit: str  # what was resampled: sentence, document, question, example
    n: int = field(metadata=_at_least(1))
    resamples: int = field(metadata=_at_least(1))
    rng_seed: int
    ids_sha256: str
    method: str  # chunk counts, example mean, rescore
    replicates: list[float]

    def check(self, path: str, problems: list[str]) -> None:
        if (
            isinstance(self.replicates, list)
            and isinstance(self.resamples, int)
            and len(self.replicates) != self.resamples
        ):
            problems.append(
                f"{path}.replicates has {len(self.replicates)} values, resamples is {self.resamples}"
            )


@dataclass(kw_only=True)
class MetricStats(Section):
    """A metric over seeds."""

    mean: float
    sd: float | None  # sample standard deviation; None for one seed
    n: int = field(metadata=_at_least(1))
    min: float
    max: float


@dataclass(kw_only=True)
class Interval(Section):
    """A percentile bootstrap interval over evaluation examples of the seeds' mean primary metric."""

    metric: str
    low: float
    high: float
    confidence: float
    resamples: int = field(metadata=_at_least(1))
    unit: str


@dataclass(kw_only=True)
class SeedSplit(Section):
    stats: dict[str, MetricStats]  # every numeric metric of the split
    interval: Interval | None = None


@dataclass(kw_only=True)
class Seeds(Section):
    """``benchmark run --seeds``: every seed's result (``files``, relative to the result's folder) and the
    aggregate over them, per split."""

    seeds: list[int]
    files: dict[str, str]  # seed -> its result file, e.g. "seeds/1/conll2003.json"
    scores: dict[str, dict[str, float]]  # seed -> split -> primary metric
    splits: dict[str, SeedSplit]


@dataclass(kw_only=True)
class ResultRecord(Section):
    """One result file: a model on one task (see the module docstring)."""

    WHAT: ClassVar[str] = f"{SCHEMA} result"

    schema: Literal["gonerd-bench/result/v1"]
    model: Model
    harness: Harness
    task: Task
    dataset: Dataset
    splits: list[str]
    n_examples: dict[str, int]
    metrics: dict[str, SplitScore]
    windows: dict[str, Any]
    attention: dict[str, Any]
    training: dict[str, TrainingRun] | None = None  # None / absent: nothing trained (--eval-only)
    timing: Timing | None
    execution: Execution | None = None  # absent in files written before it existed: execution_or_legacy
    hardware: Hardware
    seed: int
    config: Config
    config_hash: str
    started_at: str
    finished_at: str
    bootstrap: dict[str, Bootstrap] | None = (
        None  # per split; absent in files written before intervals existed
    )
    seeds: Seeds | None = (
        None  # benchmark run --seeds: the aggregate; this file is then the first seed's result
    )

    def check(self, path: str, problems: list[str]) -> None:
        splits = self.splits if isinstance(self.splits, list) else []
        for split in (s for s in splits if isinstance(s, str)):
            if not SPLIT_NAME.fullmatch(split):  # it names a predictions file: never a path
                problems.append(
                    f"split name {_show(split)} must be letters, digits and '_' (at most 64), as the "
                    "predictions file <task>.<split>.predictions.jsonl.gz is named after it"
                )
                continue
            if isinstance(self.metrics, dict) and split not in self.metrics:
                problems.append(f"no metrics for split {split!r}")
            count = self.n_examples.get(split) if isinstance(self.n_examples, dict) else None
            if isinstance(self.n_examples, dict) and (not isinstance(count, int) or count < 1):
                problems.append(f"n_examples.{split} must be a positive integer, got {_show(count)}")

    @classmethod
    def problems(cls, data: Any) -> list[str]:
        """Every problem of ``data`` as a result (empty: a valid record)."""
        return super().problems(data) if isinstance(data, dict) else ["a result must be a JSON object"]

    @classmethod
    def from_dict(cls, data: Any, source: str = "result") -> ResultRecord:
        """The record of ``data``; :class:`RecordError` (one line naming ``source``, the file) when invalid."""
        return super().from_dict(data, source)

    # --------------------------------------------------------------------------------- what the views read
    def headline_split(self) -> str:
        """The split whose score represents the task: ``test`` when scored, else ``validation``, else the first."""
        return next((s for s in ("test", "validation") if s in self.splits), self.splits[0])

    def score(self) -> float | None:
        """Primary metric (0-100) of the headline split: the mean over seeds of a ``--seeds`` result."""
        stats = self.seed_stats()
        if stats is not None:
            return stats.mean
        score = self.metrics[self.headline_split()].score
        return float(score) if isinstance(score, int | float) and not isinstance(score, bool) else None

    def seed_stats(self) -> MetricStats | None:
        """The primary metric's statistics over seeds on the headline split (None without ``--seeds``)."""
        if self.seeds is None:
            return None
        part = self.seeds.splits.get(self.headline_split())
        return part.stats.get(self.task.primary_metric) if part is not None else None

    def n_seeds(self) -> int:
        """How many seeds the headline score averages (1 without ``--seeds``)."""
        stats = self.seed_stats()
        return stats.n if stats is not None else 1

    def timing_value(self, name: str) -> float | None:
        """``timing.<name>`` (latency_ms_per_example_median, peak_memory_mb...) or None without timing."""
        return self.timing.value(name) if self.timing is not None else None

    def execution_or_legacy(self) -> Execution:
        """The ``execution`` section, or what a file written before it existed ran with (LEGACY_EXECUTION)."""
        return self.execution if self.execution is not None else Execution(**LEGACY_EXECUTION)

    def batching(self) -> str | None:
        """How the training batches were drawn: ``execution.batching`` (``benchmark run --batching``), else what the
        training sections record (length-grouped, before the flag existed), else ``random`` for a result that trained
        before length grouping existed; None when nothing was trained (``--eval-only``)."""
        if not self.training:
            return None
        recorded = self.execution_or_legacy().batching
        if recorded is not None:
            return recorded
        return " + ".join(sorted({t.batching or "random" for t in self.training.values()})) or None


@dataclass(kw_only=True)
class Owner(Section):
    """``model.json`` beside the result files: which model owns the directory."""

    WHAT: ClassVar[str] = "owner file"

    model_id: str
    revision: str | None
    created_at: str | None = None


# ------------------------------------------------------------------------------------------------- speed.json
@dataclass(kw_only=True)
class SpeedModel(Section):
    """The model ``benchmark speed`` measured (:class:`benchmark.timing.speed.SpeedResult`)."""

    id: str
    model_type: str
    model_class: str = field(metadata=_key("class"))
    n_params: int = field(metadata=_at_least(0))
    max_input_length: int
    revision: str | None = None  # absent in files written before it was recorded
    attn_implementation: str | None = None  # what the model ran (config._attn_implementation); absent before


@dataclass(kw_only=True)
class TimingConfig(Section):
    """How long and how often the timing protocol measures (:func:`benchmark.timing.protocol.measure_inference`),
    as ``speed.json`` records it.

    ``warmup``: untimed forward calls before timing. ``min_iterations``: minimum number of timed calls (each
    batch is timed at least once anyway). ``min_seconds``: keep timing until the timed calls add up to at least
    this long. ``rss_interval_s``: CPU memory sampling period. ``trim_allocator``: on CPU, return freed heap
    memory to the OS (glibc ``malloc_trim``) before the memory baseline.

    A config made in code is checked when it is made (:class:`~benchmark.errors.BenchmarkError`, one line); one
    read from a file is checked by :meth:`Section.parse`, which reports every problem with the file's name.
    """

    warmup: int = field(default=2, metadata=_at_least(0))
    min_iterations: int = field(default=5, metadata=_at_least(1))
    min_seconds: float = field(default=0.0, metadata=_at_least(0))
    rss_interval_s: float = 0.005
    trim_allocator: bool = True

    def __post_init__(self) -> None:
        if self.key_order is None:  # made in code, not read (parse passes the file's key order)
            found = type(self).problems(self.to_dict())
            if found:
                raise BenchmarkError(f"timing config: {found[0]}")

    def check(self, path: str, problems: list[str]) -> None:
        where = f"{path}." if path else ""
        if isinstance(self.min_seconds, int | float) and not math.isfinite(self.min_seconds):
            problems.append(f"{where}min_seconds must be a finite number, got {self.min_seconds!r}")
        if isinstance(self.rss_interval_s, int | float) and not 0 < self.rss_interval_s <= 1:
            problems.append(f"{where}rss_interval_s must be in (0, 1] seconds, got {self.rss_interval_s!r}")

    def calls(self, n_batches: int, device: Any) -> int:
        """Forward calls :func:`~benchmark.timing.protocol.measure_inference` makes over ``n_batches`` batches on
        ``device`` (a ``torch.device``) when ``min_seconds`` adds none: the warm-up, the timed calls and, on CPU,
        the memory pass."""
        return self.warmup + max(self.min_iterations, n_batches) + int(device.type != "cuda")


Protocol = Literal["fixed", "variable"]


@dataclass(kw_only=True)
class VariableBatches(Section):
    """The variable-length protocol at one length (the most tokens a sequence may have): the seeded draw of
    sequence lengths and the batch size found by probing (:func:`benchmark.timing.speed.probe_batch_size`)."""

    mean_length: float = field(metadata=_at_least(0))
    min_length: int = field(metadata=_at_least(1))
    max_length: int = field(metadata=_at_least(1))
    n_sequences: int = field(metadata=_at_least(1))
    batch_size: int = field(metadata=_at_least(1))
    probed: list[int]  # batch sizes tried, in order (each one forward of that many longest sequences)
    probe_stop: Literal["max_batch_size", "out_of_memory", "shared"]  # shared: smallest of a paired run's
    real_tokens: int = field(metadata=_at_least(1))
    padded_positions: int = field(metadata=_at_least(1))


@dataclass(kw_only=True)
class SpeedLength(Section):
    """One requested length: measured (``ok``, with its timing) or skipped (with the reason)."""

    length: int = field(metadata=_at_least(1))
    status: Literal["ok", "skipped"]
    input_length: int | None = None
    attention_path: str | None = None
    reason: str | None = None
    timing: Timing | None = None
    variable: VariableBatches | None = None  # the variable protocol's batches (absent: fixed protocol)

    def check(self, path: str, problems: list[str]) -> None:
        if self.status == "ok" and self.timing is None:
            problems.append(f"{path}.timing must be an object when status is 'ok', got None")


@dataclass(kw_only=True)
class SpeedLoad(Section):
    """The 1/5/15-minute load averages before and after the measurement (:func:`benchmark.timing.paired.load_check`);
    ``busy`` when a 1-minute one exceeds the cores available, with the ``warning`` printed."""

    before: list[float] | None
    after: list[float] | None
    cores: int = field(metadata=_at_least(1))
    busy: bool
    warning: str | None = None


@dataclass(kw_only=True)
class PairedStats(Section):
    """One model at one length of a paired run: median and quartiles of its repetitions (ms per example), and
    its median as a ratio of the reference (first) model's with the bootstrap interval (None: the reference)."""

    model: str
    median_ms: float = field(metadata=_at_least(0))
    q25_ms: float = field(metadata=_at_least(0))
    q75_ms: float = field(metadata=_at_least(0))
    repetitions: int = field(metadata=_at_least(1))
    ratio: float | None = None
    ratio_low: float | None = None
    ratio_high: float | None = None


@dataclass(kw_only=True)
class PairedLength(Section):
    """One length of a paired run: every model's statistics, or skipped (some model cannot take it)."""

    length: int = field(metadata=_at_least(1))
    status: Literal["ok", "skipped"]
    reason: str | None = None
    models: list[PairedStats] | None = None


@dataclass(kw_only=True)
class Paired(Section):
    """``benchmark speed --model A B ...``: the models timed interleaved in this one process
    (:mod:`benchmark.timing.paired`), the same in every speed.json the run wrote."""

    models: list[str]  # the first is the reference of the ratios
    order: str
    warmup: int = field(metadata=_at_least(0))
    repetitions: int = field(metadata=_at_least(1))
    unit: str
    bootstrap_resamples: int = field(metadata=_at_least(1))
    confidence: float
    seed: int
    attn_implementations: list[str | None]  # of each model, in the order of models
    notes: list[str]
    lengths: list[PairedLength]


@dataclass(kw_only=True)
class SpeedRecord(Section):
    """``speed.json``: the inference-cost curve of one model on one device (``benchmark speed --output``)."""

    WHAT: ClassVar[str] = f"{SPEED_SCHEMA} file"

    schema: Literal["gonerd-bench/speed/v1"]
    package_version: str
    created_at: str
    model: SpeedModel
    device: str
    device_name: str
    dtype: str
    batch_size: int = field(metadata=_at_least(1))
    timing_config: TimingConfig
    memory_kinds: dict[str, str]
    hardware: Hardware
    lengths: list[SpeedLength]
    protocol: Protocol | None = None  # absent in files written before the variable protocol: fixed
    load: SpeedLoad | None = None  # absent before it was recorded
    paired: Paired | None = None  # a paired run (several models)

    @property
    def fixed(self) -> bool:
        """Whether the lengths were measured with the fixed protocol (sequences of exactly the length)."""
        return self.protocol in (None, "fixed")

    def points(self) -> list[tuple[int, float]]:
        """(length, median ms per example) of every measured length, sorted."""
        return sorted(
            (item.length, float(value))
            for item in self.lengths
            if item.status == "ok"
            and item.timing is not None
            and (value := item.timing.latency_ms_per_example_median) is not None
        )


# ------------------------------------------------------------------------------------------- submission.json
@dataclass(kw_only=True)
class SubmittedModel(Section):
    """The model of a leaderboard entry (its ``model.json``'s id and revision)."""

    model_id: str
    revision: str | None


@dataclass(kw_only=True)
class Submission(Section):
    """``submission.json`` of a leaderboard entry (:func:`benchmark.leaderboard.submit.manifest`): partial
    flag, the splits admitted without re-scoring, sha256 of every copied file."""

    WHAT: ClassVar[str] = f"{SUBMISSION_SCHEMA} file"

    schema: Literal["gonerd-bench/submission/v1"]
    model: SubmittedModel
    partial: bool
    files: dict[str, str]
    unverified: list[str] | None = None  # absent in entries submitted before --unverified existed
