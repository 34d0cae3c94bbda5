"""The result record: the one typed shape of a result file (schema ``gonerd-bench/result/v1``).

A result file is read into a :class:`ResultRecord` of nested typed sections (model, harness, task, dataset and its
sources, per-split scores, training, timing, execution, hardware, config and its budget) by
:meth:`ResultRecord.from_dict`, which checks every key and type and says what is wrong in one line naming the file
and the key path (``conll2003.json: execution.dtype must be one of 'float32', 'bfloat16', 'float16', got
'int8'``). :meth:`ResultRecord.to_dict` gives back the same JSON, key order included: keys a section does not
know are kept as they are (``extra``), and keys a file lacks stay absent, so every file written so far
round-trips byte for byte. :mod:`benchmark.results` checks a record through it when it writes and reads one, and
:mod:`benchmark.leaderboard.validate` adds only what is not about shape (spec hashes, score ranges, re-scoring).

Files written before a section existed load as they are; what they imply is derived on read, not written back:
:func:`execution_of` (no ``execution`` section: float32, default attention, not compiled) and :func:`batching_of`
(no ``execution.batching``: what the training sections say).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from .errors import BenchmarkError

SCHEMA = "gonerd-bench/result/v1"
Dtype = Literal["float32", "bfloat16", "float16"]
Batching = Literal["length_grouped", "random"]
EXECUTION_DTYPES: tuple[str, ...] = typing.get_args(Dtype)
EXECUTION_BATCHING: tuple[str, ...] = typing.get_args(Batching)


class RecordError(BenchmarkError):
    """A result that is not a valid record (one line: the file, the key path, what is wrong)."""


def _at_least(low: int | float) -> dict[str, Any]:
    """Field metadata: the number must be ``>= low`` (None passes where the type allows it)."""
    word = "a positive" if low == 1 else "a non-negative" if low == 0 else f"a >= {low}"
    return {"check": lambda v: v is None or v >= low, "wanted": f"{word} number"}


@dataclass(kw_only=True)
class Section:
    """Base of every section: typed fields, plus the keys it does not know (``extra``) and the order the keys had
    in the file (``key_order``), so that :meth:`to_dict` gives the file back unchanged."""

    extra: dict[str, Any] = field(default_factory=dict, repr=False)
    key_order: tuple[str, ...] | None = field(default=None, repr=False, compare=False)

    _OWN: ClassVar[frozenset[str]] = frozenset({"extra", "key_order"})

    @classmethod
    def _fields(cls) -> list[tuple[str, Any, dataclasses.Field]]:
        hints = _hints(cls)
        return [(f.name, hints[f.name], f) for f in dataclasses.fields(cls) if f.name not in Section._OWN]

    @classmethod
    def parse(cls, data: Any, path: str, problems: list[str]) -> Any:
        """The section read from ``data``; each problem found is appended (``path``: where ``data`` sits)."""
        if not isinstance(data, dict):
            problems.append(f"{path or 'the file'} must be an object, got {_show(data)}")
            return None
        values: dict[str, Any] = {}
        known = set()
        for name, hint, spec in cls._fields():
            known.add(name)
            where = f"{path}.{name}" if path else name
            if name not in data:
                if spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
                    problems.append(f"missing key {where!r}")
                    values[name] = None
                continue
            before = len(problems)
            values[name] = _parse(hint, data[name], where, problems)
            check = spec.metadata.get("check")
            if check and len(problems) == before and not check(values[name]):
                problems.append(f"{where} must be {spec.metadata['wanted']}, got {_show(data[name])}")
        extra = {k: v for k, v in data.items() if k not in known}
        section = cls(**values, extra=extra, key_order=tuple(data))
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

    def to_dict(self) -> dict[str, Any]:
        """The section as JSON data, keys in the order they were read (declared order for a new section)."""
        names = [name for name, _, _ in self._fields()]
        order = self.key_order if self.key_order is not None else (*names, *self.extra)
        out: dict[str, Any] = {}
        for key in order:
            if key in self.extra:
                out[key] = self.extra[key]
            elif key in names:
                out[key] = _dump(getattr(self, key))
        return out


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _show(value: Any) -> str:
    """A value for an error message: repr, cut short (a hostile file's values can be long)."""
    text = "an object" if isinstance(value, dict) else "a list" if isinstance(value, list) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


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
    """Which model ran (:class:`benchmark.modeling.ModelInfo` plus where it came from)."""

    model_id: str
    revision: str | None  # Hub commit, or "sha256:<hex>" over a local directory's config and weights
    model_type: str
    n_params: int = field(metadata=_at_least(0))
    max_positions: int | None = None
    needs_remote_code: bool = False
    global_attention: bool = False
    fixed_length: int | None = None
    attention_type: str | None = None
    model_class: str | None = None
    recipe: dict[str, Any] | None = None  # benchmark.recipe: how a local model was made
    path: str | None = None
    requested_revision: str | None = None
    tokenizer_revision: str | None = None
    slug: str | None = None


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
    """Where a split's data was read (``dataset.sources``): Hub dataset, a copy of one, or local files."""

    kind: str  # "hub", "hub_folder", "local"
    files: list[DataFile] | None = None
    gold_sha256: str | None = None  # benchmark.data.loader.gold_sha256 of ids and gold labels
    path: str | None = None
    revision: str | None = None
    data_dir: str | None = None


@dataclass(kw_only=True)
class Dataset(Section):
    hub: dict[str, Any] | None = None  # the spec's Hub pin when every split came from the Hub
    sources: dict[str, Source] = field(default_factory=dict)  # per split ("<sub>/<split>" for GLUE)
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(kw_only=True)
class SplitScore(Section):
    """A split's score (:func:`benchmark.scoring.score_predictions`)."""

    metrics: dict[str, Any]
    primary_metric: str
    score: float
    task: str | None = None
    num_examples: int | None = field(default=None, metadata=_at_least(0))
    spec_hash: str | None = None
    missing: int | None = None


@dataclass(kw_only=True)
class TrainingRun(Section):
    """One fine-tuning (:class:`benchmark.finetune.FinetuneSummary` plus its windows); every key optional."""

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
    windows: dict[str, Any] | None = None


@dataclass(kw_only=True)
class Timing(Section):
    """The timed inference (:mod:`benchmark.timing`); the keys the leaderboard reads are typed."""

    device: str
    device_name: str | None = None
    dtype: str | None = None
    latency_ms_per_example_median: float | None = field(default=None, metadata=_at_least(0))
    latency_ms_per_example_p90: float | None = field(default=None, metadata=_at_least(0))
    tokens_per_second: float | None = field(default=None, metadata=_at_least(0))
    peak_memory_mb: float | None = field(default=None, metadata=_at_least(0))
    memory_kind: str | None = None
    attention_paths: dict[str, str] | None = None


@dataclass(kw_only=True)
class Execution(Section):
    """How the model ran (:func:`benchmark.precision.execution_record`)."""

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
    "batching": None,  # not recorded in execution before --batching existed: see batching_of
}


@dataclass(kw_only=True)
class Hardware(Section):
    """The machine (:mod:`benchmark.hardware`); every key optional, unknown ones kept."""

    device: str | None = None
    device_type: str | None = None
    device_name: str | None = None
    cpu_model: str | None = None
    cpu_cores_logical: int | None = None
    cpu_cores_physical: int | None = None
    torch_num_threads: int | None = None
    memory_total_mb: float | None = None
    torch_version: str | None = None
    cuda_version: str | None = None
    transformers_version: str | None = None
    python_version: str | None = None


@dataclass(kw_only=True)
class Budget(Section):
    """:class:`benchmark.budget.Budget` as recorded."""

    epochs: float | None = field(default=None, metadata=_at_least(0))
    learning_rate: float | None = field(default=None, metadata=_at_least(0))
    warmup_ratio: float | None = None
    weight_decay: float | None = None
    max_train_examples: int | None = None
    batch_size: int | None = field(default=None, metadata=_at_least(1))
    eval_batch_size: int | None = None


@dataclass(kw_only=True)
class Config(Section):
    """What of a run changes its results (hashed into ``config_hash``) plus the device; every key optional."""

    budget: Budget | None = None
    limit: int | None = field(default=None, metadata=_at_least(1))
    eval_only: bool | None = None
    seed: int | None = None
    max_length: int | None = None
    tokenizer: str | None = None
    data_dir: str | None = None
    train_batches: str | None = None
    device: str | None = None
    save_models: bool | None = None


@dataclass(kw_only=True)
class ResultRecord(Section):
    """One result file: a model on one task (see the module docstring)."""

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

    def check(self, path: str, problems: list[str]) -> None:
        splits = self.splits if isinstance(self.splits, list) else []
        for split in (s for s in splits if isinstance(s, str)):
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
        found: list[str] = []
        record = cls.parse(data, "", found) if isinstance(data, dict) else None
        if record is None or found:
            found = found or ["a result must be a JSON object"]
            more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
            raise RecordError(f"{source}: not a valid {SCHEMA} result: {'; '.join(found[:3])}{more}")
        return record

    def execution_or_legacy(self) -> dict[str, Any]:
        """:func:`execution_of` this record."""
        return execution_of(self.to_dict())

    def batching(self) -> str | None:
        """:func:`batching_of` this record."""
        return batching_of(self.to_dict())


def execution_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """The ``execution`` section of a result (dtype, attention implementation, compiled), with the old
    behaviour (:data:`LEGACY_EXECUTION`) for files written before it was recorded. Takes the JSON data, which
    need not be a whole record (the leaderboard's pages read files as they are)."""
    recorded = record.get("execution")
    return {**LEGACY_EXECUTION, **(recorded if isinstance(recorded, dict) else {})}


def batching_of(record: Mapping[str, Any]) -> str | None:
    """How a result's training batches were drawn: ``execution.batching`` (``benchmark run --batching``), else
    what its training sections record (length-grouped, before the flag existed), else ``random`` for a result
    that trained before length grouping existed; None when nothing was trained (``--eval-only``)."""
    training = record.get("training")
    if not isinstance(training, dict) or not training:
        return None
    recorded = execution_of(record)["batching"]
    if recorded is not None:
        return recorded
    kinds = {t.get("batching") for t in training.values() if isinstance(t, dict)}
    return " + ".join(sorted(k or "random" for k in kinds)) or None


@dataclass(kw_only=True)
class Owner(Section):
    """``model.json`` beside the result files: which model owns the directory."""

    model_id: str
    revision: str | None
    created_at: str | None = None
