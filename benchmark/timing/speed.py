"""``benchmark speed``: the inference-cost curve of an encoder over input lengths.

Two protocols (recorded as ``protocol`` in ``speed.json``):

- ``fixed`` (the default): for each length, synthetic inputs of exactly that many real tokens
  (:func:`benchmark.timing.protocol.speed_batches`), ``batch_size`` of them per call, no padding.
- ``variable`` (as ModernBERT's efficiency study): for each length L, sequence lengths drawn (seeded) from a normal
  distribution around L/2 (standard deviation L/8, clipped to 1..L: around 256 up to 512, around 4,096 up to
  8,192), in batches of the largest size that fits (:func:`probe_batch_size`: doubling from 1 up to
  ``max_batch_size``, stopping cleanly at the first out-of-memory), each padded to its longest sequence as a
  collator does. ``tokens_per_second`` counts real tokens only, so a model that skips padding (unpadding,
  padding-aware kernels) shows what it saves there.

Inputs are prepared for the architecture (:func:`benchmark.timing.protocol.prepare_model_inputs`) and measured with
:func:`benchmark.timing.protocol.measure_inference`; several models (:func:`run_speed_paired`) are timed interleaved in one
process instead (:mod:`benchmark.timing.paired`). Lengths a model cannot take are reported as skipped with the reason.
The load average before and after is recorded; a busy machine gets a warning. The result is schema-versioned JSON
(``speed.json``) and a text table; both carry the device.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import __version__
from ..core.architectures import attention_path, max_input_length
from ..core.record import SPEED_SCHEMA, Timing, TimingConfig
from ..errors import BenchmarkError
from ..logs import quiet_transformers
from .hardware import hardware_info, resolve_device
from .paired import LoadCheck, load_average, load_check
from .protocol import (
    MEMORY_KINDS,
    measure_inference,
    prepare_model_inputs,
    speed_batches,
)

SCHEMA = SPEED_SCHEMA  # the shape: benchmark.core.record.SpeedRecord
PROTOCOL_TEXT = {
    "fixed": "every sequence exactly the length, no padding",
    "variable": "lengths drawn around length/2 (sd length/8, at most the length), batches padded to their longest",
}
DEFAULT_LENGTHS = (512, 1024, 2048, 4096, 8192)  # lengths a model cannot take are skipped with the reason
PROTOCOLS = ("fixed", "variable")
DEFAULT_VARIABLE_LENGTHS = (512, 8192)  # sequences around 256 (up to 512) and around 4,096 (up to 8,192)
VARIABLE_BATCHES = 4  # batches of the probed size timed per length in the variable protocol
DEFAULT_MAX_BATCH = {"cpu": 8, "cuda": 512}  # where probing stops when nothing runs out of memory first
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
SPECIAL_ID_FIELDS = (
    "pad_token_id",
    "bos_token_id",
    "eos_token_id",
    "sep_token_id",
    "cls_token_id",
    "unk_token_id",
    "mask_token_id",
)


@dataclass
class SpeedEntry:
    """One requested length: measured (``status == "ok"``, with ``report``) or ``"skipped"`` (with ``reason``).

    ``input_length`` is the number of positions fed to the model after architecture padding (Nyströmformer pads
    up to ``segment_means_seq_len``); the report's ``n_tokens`` counts only the ``length`` real ones.
    """

    length: int
    status: str
    input_length: int | None = None
    attention_path: str | None = None
    reason: str | None = None
    report: Timing | None = None
    variable: dict[str, Any] | None = None  # the variable protocol's draw and probe (record.VariableBatches)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "length": self.length,
            "status": self.status,
            "input_length": self.input_length,
            "attention_path": self.attention_path,
            "reason": self.reason,
            "timing": self.report.to_dict() if self.report else None,
        }
        if self.variable is not None:
            out["variable"] = self.variable
        return out


@dataclass
class SpeedResult:
    """The cost curve of one model on one device: per-length entries plus what was measured, and where."""

    model_id: str
    model_type: str
    model_class: str
    n_params: int
    max_input_length: int
    device: str
    device_name: str
    dtype: str
    batch_size: int
    timing_config: TimingConfig
    hardware: dict[str, Any]
    entries: list[SpeedEntry] = field(default_factory=list)
    created_at: str = ""
    revision: str | None = None  # the Hub commit read, or sha256 of a local directory's config and weights
    protocol: str = "fixed"
    attn_implementation: str | None = None
    load: LoadCheck | None = None
    paired: dict[str, Any] | None = None  # record.Paired: the comparison of a paired run

    @property
    def measured(self) -> list[SpeedEntry]:
        return [e for e in self.entries if e.status == "ok"]

    @property
    def skipped(self) -> list[SpeedEntry]:
        return [e for e in self.entries if e.status != "ok"]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, schema-versioned (``"schema": "gonerd-bench/speed/v1"``)."""
        return {
            "schema": SCHEMA,
            "package_version": __version__,
            "created_at": self.created_at,
            "model": {
                "id": self.model_id,
                "revision": self.revision,
                "model_type": self.model_type,
                "class": self.model_class,
                "n_params": self.n_params,
                "max_input_length": self.max_input_length,
                "attn_implementation": self.attn_implementation,
            },
            "device": self.device,
            "device_name": self.device_name,
            "dtype": self.dtype,
            "batch_size": self.batch_size,
            "timing_config": self.timing_config.to_dict(),
            "memory_kinds": MEMORY_KINDS,
            "hardware": self.hardware,
            "lengths": [e.to_dict() for e in self.entries],
            "protocol": self.protocol,
            "load": self.load.to_dict() if self.load else None,
            **({"paired": self.paired} if self.paired is not None else {}),
        }


def parse_lengths(text: str | Iterable[int]) -> tuple[int, ...]:
    """``"512,1024"`` (or integers) -> ``(512, 1024)``: sorted, duplicates dropped; one-line error otherwise."""
    if isinstance(text, str):
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts:
            raise BenchmarkError(f"--lengths {text!r}: give comma-separated token counts, e.g. 512,1024")
        values = []
        for part in parts:
            try:
                values.append(int(part))
            except ValueError:
                raise BenchmarkError(f"--lengths {text!r}: {part!r} is not an integer") from None
    else:
        values = list(text)
    if not values:
        raise BenchmarkError("--lengths: no lengths given")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise BenchmarkError(f"--lengths: {value!r} is not a positive number of tokens")
    return tuple(sorted(set(values)))


def _load_model(
    model_path: str,
    dtype: torch.dtype,
    trust_remote_code: bool,
    revision: str | None = None,
    attn_implementation: str | None = None,
) -> tuple[torch.nn.Module, Any, str]:
    """(encoder from ``AutoModel`` in eval mode, tokenizer or None, revision read); one-line errors for non-models.

    ``revision`` pins a Hub model (branch, tag or commit), resolved once so config and weights share a commit.
    ``attn_implementation`` is requested from ``from_pretrained``; an architecture that cannot use it loads
    with its default (the attention actually used is read from the model afterwards)."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    from ..model.modeling import (
        check_config_sizes,
        check_weights,
        content_sha256,
        load_errors,
        native_over_remote,
        refuse_remote_code,
    )

    local = Path(model_path).expanduser()
    pinned: Any = None
    if local.exists():
        if revision:
            raise BenchmarkError(
                f"--revision {revision} applies to Hub models; {model_path} is a local directory"
            )
        if not (local.is_dir() and (local / "config.json").is_file()):
            raise BenchmarkError(f"{model_path} is not a model: no config.json in it")
        source = str(local)
        commit = content_sha256(local)
    elif model_path.count("/") == 1 and not model_path.startswith((".", "/", "~")):
        from transformers.utils.hub import resolve_revision

        source = model_path  # Hub id: only works online or cached
        pinned = resolve_revision(source, revision)
        commit = getattr(pinned, "resolved", None) or pinned or "unknown"
    else:
        raise BenchmarkError(f"{model_path} is not a model: no such directory and not a Hub model id")
    at = {"revision": pinned} if pinned else {}
    with quiet_transformers():
        try:
            config = AutoConfig.from_pretrained(source, trust_remote_code=trust_remote_code, **at)
            if native_over_remote(getattr(config, "model_type", None)):
                # EuroBERT: the repository's code is transformers' own class; load that one (as benchmark run)
                trust_remote_code = False
                if not type(config).__module__.startswith("transformers."):
                    config = AutoConfig.from_pretrained(source, trust_remote_code=False, **at)
            elif getattr(config, "auto_map", None) and not trust_remote_code:
                refuse_remote_code(model_path, getattr(config, "model_type", None), config.auto_map)
        except (OSError, ValueError, KeyError) as exc:
            raise BenchmarkError(
                f"cannot load the model config of {model_path}: {_first_line(exc)}"
            ) from None
        check_config_sizes(config, model_path)
        check_weights(source)
        try:
            model = None
            if attn_implementation:
                try:
                    model = AutoModel.from_pretrained(
                        source,
                        config=config,
                        dtype=dtype,
                        trust_remote_code=trust_remote_code,
                        attn_implementation=attn_implementation,
                        **at,
                    )
                except (ValueError, ImportError):
                    model = None  # not supported by this architecture: its default, named in the output
            if model is None:
                model = AutoModel.from_pretrained(
                    source, config=config, dtype=dtype, trust_remote_code=trust_remote_code, **at
                )
        except load_errors() as exc:
            raise BenchmarkError(f"cannot load the weights of {model_path}: {_first_line(exc)}") from None
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=trust_remote_code, **at)
        except (OSError, ValueError, KeyError, TypeError):
            tokenizer = None  # not needed: inputs are synthetic ids from the model's vocabulary
    return model.eval(), tokenizer, str(commit)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _special_ids(config: Any, tokenizer: Any) -> set[int]:
    ids = {getattr(config, name, None) for name in SPECIAL_ID_FIELDS}
    if tokenizer is not None:
        ids |= set(getattr(tokenizer, "all_special_ids", []))
    return {int(i) for i in ids if isinstance(i, int)}


def _check_common(batch_size: int, dtype: str, threads: int | None, protocol: str) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise BenchmarkError(f"--batch-size must be a positive integer, got {batch_size!r}")
    if dtype not in DTYPES:
        raise BenchmarkError(f"--dtype {dtype!r} is not supported (use {', '.join(DTYPES)})")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise BenchmarkError(f"--threads must be a positive integer, got {threads!r}")
    if protocol not in PROTOCOLS:
        raise BenchmarkError(f"--protocol {protocol!r}: use {' or '.join(PROTOCOLS)}")


def run_speed(
    model_path: str,
    lengths: Iterable[int] | str | None = None,
    batch_size: int = 1,
    device: str | torch.device | None = "auto",
    dtype: str = "float32",
    config: TimingConfig | None = None,
    trust_remote_code: bool = False,
    *,
    threads: int | None = None,
    seed: int = 0,
    revision: str | None = None,
    protocol: str = "fixed",
    max_batch_size: int | None = None,
    attn_implementation: str | None = None,
) -> SpeedResult:
    """Measure the encoder at ``model_path`` (``AutoModel``, no task head) at each of ``lengths`` tokens.

    Lengths beyond :func:`benchmark.timing.protocol.max_input_length` are skipped with the reason, as are lengths that
    run out of GPU memory; nothing else is caught. ``protocol`` ``fixed``: batches hold ``batch_size`` sequences
    of exactly the length; ``variable``: see the module docstring (``batch_size`` is unused there, probing stops
    at ``max_batch_size``, default :data:`DEFAULT_MAX_BATCH` of the device type).
    ``threads`` sets torch's CPU intra-op threads for the run (restored afterwards; default: torch's choice).
    ``model_path`` may be ``baseline:NAME`` (the registry's Hub id at its pinned revision); ``revision`` pins a
    Hub model.
    """
    config = config or TimingConfig()
    _check_common(batch_size, dtype, threads, protocol)
    wanted = parse_lengths(lengths if lengths is not None else _default_lengths(protocol))
    dev = resolve_device(device)
    max_batch = _max_batch(max_batch_size, dev)
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        before = load_average()
        loaded = _Loaded.load(str(model_path), dev, dtype, trust_remote_code, revision, attn_implementation)
        result = loaded.result(batch_size, config, protocol)
        for length in wanted:
            result.entries.append(_measure_one(loaded, length, protocol, batch_size, max_batch, config, seed))
        result.load = load_check(before, load_average())
        return result
    finally:
        torch.set_num_threads(previous_threads)


def _default_lengths(protocol: str) -> tuple[int, ...]:
    return DEFAULT_VARIABLE_LENGTHS if protocol == "variable" else DEFAULT_LENGTHS


def _max_batch(max_batch_size: int | None, dev: torch.device) -> int:
    if max_batch_size is None:
        return DEFAULT_MAX_BATCH.get(dev.type, 8)
    if isinstance(max_batch_size, bool) or not isinstance(max_batch_size, int) or max_batch_size < 1:
        raise BenchmarkError(f"--max-batch-size must be a positive integer, got {max_batch_size!r}")
    return max_batch_size


@dataclass
class _Loaded:
    """One model ready to time: the module, its config, its usable length and what the result records."""

    path: str
    model: torch.nn.Module
    tokenizer: Any
    commit: str
    dev: torch.device
    dtype: str

    @classmethod
    def load(
        cls,
        model_path: str,
        dev: torch.device,
        dtype: str,
        trust_remote_code: bool,
        revision: str | None,
        attn_implementation: str | None,
    ) -> _Loaded:
        from ..model.model_source import resolve_baseline

        resolved = resolve_baseline(
            model_path, tokenizer_from=None, trust_remote_code=trust_remote_code, revision=revision
        )
        model, tokenizer, commit = _load_model(
            resolved.path, DTYPES[dtype], trust_remote_code, resolved.revision, attn_implementation
        )
        model.to(dev)
        return cls(model_path, model, tokenizer, commit, dev, dtype)

    @property
    def cfg(self) -> Any:
        return self.model.config

    @property
    def limit(self) -> int:
        return max_input_length(self.cfg)

    @property
    def attn_implementation(self) -> str | None:
        return getattr(self.cfg, "_attn_implementation", None) or None

    def forward(self, batch: dict[str, Any]) -> Any:
        return self.model(**batch)

    def result(self, batch_size: int, config: TimingConfig, protocol: str) -> SpeedResult:
        hardware = hardware_info(self.dev)
        return SpeedResult(
            model_id=self.path,
            model_type=str(getattr(self.cfg, "model_type", "unknown")),
            model_class=type(self.model).__name__,
            n_params=sum(p.numel() for p in self.model.parameters()),
            max_input_length=self.limit,
            device=str(self.dev),
            device_name=hardware["device_name"],
            dtype=self.dtype,
            batch_size=batch_size,
            timing_config=config,
            hardware=hardware,
            created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            revision=self.commit,
            protocol=protocol,
            attn_implementation=self.attn_implementation,
        )

    def raw_batches(self, lengths: list[list[int]], seed: int) -> list[dict[str, torch.Tensor]]:
        """Batches of synthetic sequences with the given real lengths (one list per batch), each padded to its
        longest with the model's pad id (mask 0), ids drawn from the vocabulary minus the special ids."""
        return variable_batches(
            self.cfg.vocab_size,
            lengths,
            seed=seed,
            exclude_ids=_special_ids(self.cfg, self.tokenizer),
            pad_id=getattr(self.cfg, "pad_token_id", None),
        )

    def prepared(self, raw: list[dict[str, torch.Tensor]]) -> list[dict[str, Any]]:
        return [prepare_model_inputs(self.model, b) for b in raw]  # also undoes BigBird's sticky fallback


def _too_long(loaded: _Loaded, length: int) -> str | None:
    if length > loaded.limit:
        return f"{length} tokens > the model's {loaded.limit} usable positions"
    return None


def draw_lengths(max_length: int, n: int, seed: int) -> list[int]:
    """``n`` sequence lengths for the variable protocol: normal around ``max_length / 2`` with standard deviation
    ``max_length / 8``, rounded and clipped to ``1..max_length``; seeded from ``(seed, max_length)``, so a length's
    draw does not depend on the other lengths asked for."""
    rng = np.random.default_rng([seed, max_length])
    drawn = np.rint(rng.normal(max_length / 2, max_length / 8, size=n))
    return [int(x) for x in np.clip(drawn, 1, max_length)]


def variable_batches(
    vocab_size: int,
    lengths: list[list[int]],
    *,
    seed: int = 0,
    exclude_ids: Iterable[int] = (),
    pad_id: int | None = None,
) -> list[dict[str, torch.Tensor]]:
    """One batch per list of ``lengths``: sequences of exactly those many real tokens, right-padded to the
    batch's longest with ``pad_id`` (default 0) and mask zeros; ids drawn (seeded) from the vocabulary minus
    ``exclude_ids``."""
    excluded = {int(i) for i in exclude_ids}
    allowed = torch.tensor([i for i in range(vocab_size) if i not in excluded], dtype=torch.long)
    if allowed.numel() == 0:
        raise BenchmarkError(f"no ordinary token ids to draw from (vocabulary of {vocab_size}, all special)")
    generator = torch.Generator().manual_seed(seed)
    pad = 0 if pad_id is None else int(pad_id)
    out = []
    for group in lengths:
        width = max(group)
        ids = torch.full((len(group), width), pad, dtype=torch.long)
        mask = torch.zeros((len(group), width), dtype=torch.long)
        for row, n in enumerate(group):
            ids[row, :n] = allowed[torch.randint(allowed.numel(), (n,), generator=generator)]
            mask[row, :n] = 1
        out.append({"input_ids": ids, "attention_mask": mask})
    return out


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` says the device ran out of memory (CUDA's OutOfMemoryError, or the CPU allocator's)."""
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(
        m in text for m in ("out of memory", "can't allocate memory", "not enough memory")
    )


def probe_batch_size(fits: Any, max_batch_size: int) -> tuple[int, list[int], str]:
    """The largest batch size that fits: ``fits(b)`` runs one forward of ``b`` sequences (raising an
    out-of-memory error when they do not fit) for b = 1, 2, 4, ... and finally ``max_batch_size``, stopping at
    the first out-of-memory. Returns (largest size that ran, sizes tried, why probing stopped:
    ``max_batch_size`` or ``out_of_memory``); 0 when not even one sequence fits."""
    tried: list[int] = []
    best = 0
    size = 1
    while True:
        tried.append(size)
        try:
            fits(size)
        except Exception as exc:  # only running out of memory ends the probe; anything else is a bug
            if not is_out_of_memory(exc):
                raise
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            return best, tried, "out_of_memory"
        best = size
        if size >= max_batch_size:
            return best, tried, "max_batch_size"
        size = min(size * 2, max_batch_size)


def _probe(loaded: _Loaded, length: int, max_batch: int, seed: int) -> tuple[int, list[int], str]:
    """:func:`probe_batch_size` for ``loaded`` with batches of ``length``-token sequences (the longest a draw
    can give, so every batch drawn then fits too)."""

    def fits(size: int) -> None:
        batch = loaded.prepared(loaded.raw_batches([[length] * size], seed))[0]
        batch = {k: v.to(loaded.dev) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
        with torch.inference_mode(), quiet_transformers():
            out = loaded.forward(batch)
        del out, batch

    return probe_batch_size(fits, max_batch)


def _variable_groups(length: int, batch: int, seed: int) -> list[list[int]]:
    drawn = draw_lengths(length, batch * VARIABLE_BATCHES, seed)
    return [drawn[i : i + batch] for i in range(0, len(drawn), batch)]


def _variable_record(groups: list[list[int]], batch: int, probed: list[int], stop: str) -> dict[str, Any]:
    flat = [n for g in groups for n in g]
    return {
        "mean_length": round(float(np.mean(flat)), 2),
        "min_length": min(flat),
        "max_length": max(flat),
        "n_sequences": len(flat),
        "batch_size": batch,
        "probed": probed,
        "probe_stop": stop,
        "real_tokens": sum(flat),
        "padded_positions": sum(max(g) * len(g) for g in groups),
    }


def _measure_one(
    loaded: _Loaded,
    length: int,
    protocol: str,
    batch_size: int,
    max_batch: int,
    config: TimingConfig,
    seed: int,
) -> SpeedEntry:
    """One length of one model (single-model run)."""
    reason = _too_long(loaded, length)
    if reason:
        return SpeedEntry(length, "skipped", reason=reason)
    dev = loaded.dev
    variable = None
    input_length, path = length, None
    try:
        if protocol == "variable":
            batch, probed, stop = _probe(loaded, length, max_batch, seed)
            if batch == 0:
                return SpeedEntry(
                    length, "skipped", reason=f"out of memory on {dev} with 1 sequence of {length}"
                )
            groups = _variable_groups(length, batch, seed)
            batches = loaded.prepared(loaded.raw_batches(groups, seed * 1_000_003 + length))
            variable = _variable_record(groups, batch, probed, stop)
            passes = -(-config.min_iterations // len(batches))  # whole passes over the batches
            config = TimingConfig(
                warmup=config.warmup,
                min_iterations=passes * len(batches),
                min_seconds=config.min_seconds,
                rss_interval_s=config.rss_interval_s,
                trim_allocator=config.trim_allocator,
            )
        else:
            raw = speed_batches(
                loaded.cfg.vocab_size,
                [length],
                batch_size,
                seed=seed,
                exclude_ids=_special_ids(loaded.cfg, loaded.tokenizer),
                pad_id=getattr(loaded.cfg, "pad_token_id", None),
            )
            batches = loaded.prepared(raw[length])
            raw = None
        input_length = max(int(b["input_ids"].shape[1]) for b in batches)
        path = attention_path(loaded.model, input_length)
        with quiet_transformers():
            report = measure_inference(loaded.forward, batches, device=dev, config=config, dtype=loaded.dtype)
    except (torch.OutOfMemoryError, RuntimeError, MemoryError) as exc:
        if not (isinstance(exc, MemoryError) or is_out_of_memory(exc)):
            raise
        raw = batches = None
        if dev.type == "cuda":
            torch.cuda.empty_cache()
        size = "variable batches" if protocol == "variable" else f"batch {batch_size:,} x {length:,} tokens"
        return SpeedEntry(length, "skipped", input_length, path, reason=f"out of memory on {dev} ({size})")
    return SpeedEntry(length, "ok", input_length, path, report=report, variable=variable)


# ---------------------------------------------------------------------------------------------------- paired
@dataclass
class PairedResult:
    """``benchmark speed --model A B ...``: one :class:`SpeedResult` per model (each carrying the comparison as
    its ``paired`` section) and the comparison itself (:class:`benchmark.core.record.Paired`'s shape)."""

    results: list[SpeedResult]
    paired: dict[str, Any]
    load: LoadCheck

    @property
    def measured(self) -> list[dict[str, Any]]:
        return [p for p in self.paired["lengths"] if p["status"] == "ok"]


def run_speed_paired(
    model_paths: list[str],
    lengths: Iterable[int] | str | None = None,
    batch_size: int = 1,
    device: str | torch.device | None = "auto",
    dtype: str = "float32",
    *,
    warmup: int = 2,
    repetitions: int = 20,
    threads: int | None = None,
    seed: int = 0,
    trust_remote_code: bool = False,
    protocol: str = "fixed",
    max_batch_size: int | None = None,
    attn_implementation: str | None = None,
    config: TimingConfig | None = None,
) -> PairedResult:
    """Time several models interleaved in this one process (:mod:`benchmark.timing.paired`): at every length each model
    gets inputs of the same lengths (its own vocabulary's ids), the same threads and dtype, ``warmup`` untimed
    passes and then ``repetitions`` (at least :data:`benchmark.timing.paired.MIN_REPETITIONS`) rounds A, B, ... with the
    order rotated every round. The variable protocol gives all models the same drawn lengths in batches of the
    smallest size that fits every one of them. A length some model cannot take is skipped for all."""
    from . import paired as pairing

    if len(model_paths) < 2:
        raise BenchmarkError("paired timing needs at least two --model")
    if len(set(model_paths)) != len(model_paths):
        raise BenchmarkError("--model: the same model is named twice")
    if (
        isinstance(repetitions, bool)
        or not isinstance(repetitions, int)
        or repetitions < pairing.MIN_REPETITIONS
    ):
        raise BenchmarkError(
            f"--iterations must be at least {pairing.MIN_REPETITIONS} when timing several models, got {repetitions}"
        )
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise BenchmarkError(f"--warmup must be an integer >= 0, got {warmup!r}")
    _check_common(batch_size, dtype, threads, protocol)
    wanted = parse_lengths(lengths if lengths is not None else _default_lengths(protocol))
    dev = resolve_device(device)
    max_batch = _max_batch(max_batch_size, dev)
    config = config or TimingConfig(warmup=warmup, min_iterations=repetitions)
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        before = load_average()
        models = [
            _Loaded.load(str(p), dev, dtype, trust_remote_code, None, attn_implementation)
            for p in model_paths
        ]
        results = [m.result(batch_size, config, protocol) for m in models]
        rows = []
        for length in wanted:
            point = (length, protocol, batch_size, max_batch, config, warmup, repetitions, seed)
            rows.append(_paired_length(models, results, *point))
        load = load_check(before, load_average())
    finally:
        torch.set_num_threads(previous_threads)
    paired = {
        "models": list(model_paths),
        "order": pairing.ORDER,
        "warmup": warmup,
        "repetitions": repetitions,
        "unit": "ms per example (one repetition: one pass over the length's batches)",
        "bootstrap_resamples": pairing.BOOTSTRAP_RESAMPLES,
        "confidence": pairing.CONFIDENCE,
        "seed": seed,
        "attn_implementations": [m.attn_implementation for m in models],
        "notes": attention_notes(models, attn_implementation),
        "lengths": rows,
    }
    for result in results:
        result.load = load
        result.paired = paired
    return PairedResult(results, paired, load)


def attention_notes(models: list[_Loaded], requested: str | None) -> list[str]:
    """One line per way the models' attention implementations differ (empty when they all ran the same)."""
    from ..core import architectures

    used = [m.attn_implementation for m in models]
    notes = []
    if len(set(used)) > 1:
        shown = ", ".join(f"{m.path} {u}" for m, u in zip(models, used, strict=True))
        notes.append(f"note: attention implementation differs: {shown}")
    for m, u in zip(models, used, strict=True):
        if architectures.get(getattr(m.cfg, "model_type", None)).own_attention:
            notes.append(f"note: {m.path} ({m.cfg.model_type}) computes its own attention ({u} is nominal)")
        elif requested and u != requested:
            notes.append(f"note: {m.path} cannot use --attn-implementation {requested}; ran {u}")
    return notes


def _paired_length(
    models: list[_Loaded],
    results: list[SpeedResult],
    length: int,
    protocol: str,
    batch_size: int,
    max_batch: int,
    config: TimingConfig,
    warmup: int,
    repetitions: int,
    seed: int,
) -> dict[str, Any]:
    from .paired import compare, interleaved_times
    from .protocol import memory_pass, report_from_times, to_device

    def skip(reason: str, why: list[str | None] | None = None) -> dict[str, Any]:
        for i, result in enumerate(results):
            own = why[i] if why else None
            result.entries.append(SpeedEntry(length, "skipped", reason=own or reason))
        return {"length": length, "status": "skipped", "reason": reason, "models": None}

    too_long = [_too_long(m, length) for m in models]
    if any(too_long):
        names = ", ".join(m.path for m, r in zip(models, too_long, strict=True) if r)
        return skip(f"{names}: {length} tokens > the model's usable positions", too_long)
    variable = None
    if protocol == "variable":
        probes = [_probe(m, length, max_batch, seed) for m in models]
        batch = min(p[0] for p in probes)
        if batch == 0:
            return skip(f"out of memory on {models[0].dev} with 1 sequence of {length}")
        groups = _variable_groups(length, batch, seed)
        # the smallest model's probe decided: the others record theirs, stopped at the shared size
        variable = [
            _variable_record(groups, batch, probed, stop if size == batch else "shared")
            for size, probed, stop in probes
        ]
        raw_of = [m.raw_batches(groups, seed * 1_000_003 + length) for m in models]
    else:
        raw_of = [
            speed_batches(
                m.cfg.vocab_size,
                [length],
                batch_size,
                seed=seed,
                exclude_ids=_special_ids(m.cfg, m.tokenizer),
                pad_id=getattr(m.cfg, "pad_token_id", None),
            )[length]
            for m in models
        ]
    prepared = [m.prepared(raw) for m, raw in zip(models, raw_of, strict=True)]
    moved = [[to_device(b, m.dev) for b in bs] for m, bs in zip(models, prepared, strict=True)]
    try:
        with quiet_transformers():
            passes, calls = interleaved_times(
                [m.forward for m in models],
                moved,
                device=models[0].dev,
                repetitions=repetitions,
                warmup=warmup,
            )
            memory = [memory_pass(m.forward, bs, m.dev, config) for m, bs in zip(models, moved, strict=True)]
    except torch.OutOfMemoryError:
        if models[0].dev.type == "cuda":
            torch.cuda.empty_cache()
        return skip(f"out of memory on {models[0].dev}")
    examples = sum(int(b["input_ids"].shape[0]) for b in moved[0])
    per_example = [[t / examples for t in reps] for reps in passes]
    stats = compare(per_example, seed=seed)
    timer = "cuda_event" if models[0].dev.type == "cuda" else "perf_counter"
    for i, (m, result) in enumerate(zip(models, results, strict=True)):
        order = [k % len(moved[i]) for k in range(len(calls[i]))]
        report = report_from_times(
            calls[i],
            order,
            moved[i],
            device=m.dev,
            config=config,
            dtype=m.dtype,
            timer=timer,
            memory=memory[i],
        )
        input_length = max(int(b["input_ids"].shape[1]) for b in moved[i])
        result.entries.append(
            SpeedEntry(
                length,
                "ok",
                input_length,
                attention_path(m.model, input_length),
                report=report,
                variable=variable[i] if variable else None,
            )
        )
    return {
        "length": length,
        "status": "ok",
        "reason": None,
        "models": [
            {
                "model": m.path,
                "median_ms": s.median_ms,
                "q25_ms": s.q25_ms,
                "q75_ms": s.q75_ms,
                "repetitions": s.repetitions,
                "ratio": s.ratio,
                "ratio_low": s.ratio_low,
                "ratio_high": s.ratio_high,
            }
            for m, s in zip(models, stats, strict=True)
        ],
    }


def write_speed_result(result: SpeedResult, output_dir: str | Path) -> Path:
    """Write ``<output_dir>/speed.json`` atomically (temporary file in the same directory, then ``os.replace``),
    after checking it as a :class:`benchmark.core.record.SpeedRecord` (ValueError when it is not one: a bug)."""
    from ..core.record import RecordError, SpeedRecord
    from ..results.files import non_finite_fields

    out_dir = Path(output_dir).expanduser()
    data = result.to_dict()
    bad = non_finite_fields(data)
    if bad:  # a NaN or infinite measurement: not JSON, never written
        raise BenchmarkError(
            f"--output {output_dir}: speed.json not written: {', '.join(bad[:3])}: not a finite number"
        )
    try:
        record = SpeedRecord.from_dict(data, str(out_dir / "speed.json"))
    except RecordError as exc:
        raise ValueError(f"refusing to write an invalid {exc}") from None
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BenchmarkError(f"--output {output_dir}: cannot create the directory ({exc.strerror})") from None
    target = out_dir / "speed.json"
    tmp = out_dir / f".speed.json.{os.getpid()}.tmp"
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            json.dump(record.to_dict(), handle, indent=2, ensure_ascii=False, allow_nan=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BenchmarkError(f"--output {output_dir}: cannot write speed.json ({exc.strerror})") from None
    except ValueError as exc:  # a NaN or infinite measurement: not JSON, never written
        tmp.unlink(missing_ok=True)
        raise BenchmarkError(f"--output {output_dir}: speed.json not written: {exc}") from None
    return target


def write_paired_results(paired: PairedResult, output_dir: str | Path) -> list[Path]:
    """Each model's ``speed.json`` (with the comparison as its ``paired`` section) under
    ``<output_dir>/<model-slug>/``, as :func:`write_speed_result` writes one; the slugs must differ."""
    from ..results.files import model_slug

    slugs = [model_slug(r.model_id) for r in paired.results]
    if len(set(slugs)) != len(slugs):
        raise BenchmarkError(
            f"--output {output_dir}: two models share the folder name {slugs!r}: write them one by one"
        )
    return [
        write_speed_result(r, Path(output_dir) / slug) for r, slug in zip(paired.results, slugs, strict=True)
    ]


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def format_speed_table(result: SpeedResult) -> str:
    """The cost curve as a text table: one row per length (skipped ones with their reason), each with its device;
    ``x first`` is the median ms/example relative to the first measured length."""
    cfg = result.timing_config
    lines = [
        f"model  {result.model_id} ({result.model_type}, {result.model_class}, {result.n_params / 1e6:.2f}M params, "
        f"max {result.max_input_length} tokens)",
        f"device {result.device} ({result.device_name}), {result.dtype}, "
        + (f"batch {result.batch_size}" if result.protocol == "fixed" else "largest batch that fits (probed)")
        + f", torch {result.hardware.get('torch_version')}, {result.hardware.get('torch_num_threads')} threads; "
        f"warm-up {cfg.warmup}, >= {cfg.min_iterations} timed calls",
        f"protocol {result.protocol}: " + PROTOCOL_TEXT[result.protocol],
        "",
    ]
    header = [
        "length",
        "input",
        "attention",
        "ms/ex med",
        "ms/ex p90",
        "tokens/s",
        "peak MB",
        "x first",
        "device",
    ]
    if result.protocol == "variable":
        header[1:1] = ["mean len", "batch"]
    rows: list[list[str]] = []
    first: float | None = None
    kinds: set[str] = set()
    for entry in result.entries:
        if entry.status != "ok" or entry.report is None:
            lead = [str(entry.length)] + ["-"] * (len(header) - 8)
            rows.append([*lead, entry.attention_path or "-", f"skipped: {entry.reason}"])
            continue
        rep = entry.report
        kinds.add(rep.memory_kind)
        med = rep.latency_ms_per_example_median
        first = med if first is None else first
        extra = (
            [f"{entry.variable['mean_length']:.0f}", str(entry.variable["batch_size"])]
            if entry.variable is not None
            else []
        )
        rows.append(
            [
                str(entry.length),
                *extra,
                str(entry.input_length),
                entry.attention_path or "-",
                _fmt(med),
                _fmt(rep.latency_ms_per_example_p90),
                _fmt(rep.tokens_per_second),
                _fmt(rep.peak_memory_mb),
                f"{med / first:.2f}x",
                rep.device,
            ]
        )
    widths = [len(h) for h in header]
    for row in rows:
        if len(row) == len(header):
            widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

    def render(cells: list[str]) -> str:
        attention = header.index("attention")
        if len(cells) < len(header):  # skipped: reason spans the remaining columns
            head = [
                c.ljust(widths[i]) if i == attention else c.rjust(widths[i]) for i, c in enumerate(cells[:-1])
            ]
            return "  ".join([*head, cells[-1]]).rstrip()
        return "  ".join(
            c.ljust(widths[i]) if i in (attention, len(header) - 1) else c.rjust(widths[i])
            for i, c in enumerate(cells)
        ).rstrip()

    lines.append(render(header))
    lines.extend(render(r) for r in rows)
    for kind in sorted(kinds):
        lines.append(f"peak MB = {kind}: {MEMORY_KINDS[kind]}")
    if result.protocol == "variable":
        lines.append("tokens/s counts real tokens only (not padding); mean len: of the drawn sequences")
    if result.load is not None and result.load.warning:
        lines.append(result.load.warning)
    if not result.measured:
        lines.append("no length could be measured")
    return "\n".join(lines)


def format_paired_table(paired: PairedResult) -> str:
    """The paired comparison: per length and model the median ms per example, its interquartile range and the
    ratio to the first model with its bootstrap interval; the device, threads, dtype, attention and load."""
    data = paired.paired
    first = paired.results[0]
    load = paired.load
    shown_load = " -> ".join(f"{x[0]:.2f}" for x in (load.before, load.after) if x) or "unknown"
    lines = [
        f"paired timing ({first.protocol} protocol): {len(data['models'])} models interleaved in one process, "
        f"{data['repetitions']} repetitions each after {data['warmup']} warm-up, order rotated every round",
        f"device {first.device} ({first.device_name}), {first.dtype}, "
        f"{first.hardware.get('torch_num_threads')} threads, "
        + (
            f"batch {first.batch_size}"
            if first.protocol == "fixed"
            else "largest batch that fits all (probed)"
        )
        + f"; 1-minute load {shown_load} on {load.cores} cores",
        f"ratio: median / {data['models'][0]}'s median, {data['confidence']:.0%} paired bootstrap interval "
        f"({data['bootstrap_resamples']} resamples of the rounds, seed {data['seed']})",
        "",
    ]
    header = ["length", "model", "attention", "attn impl", "ms/ex med", "IQR", "ratio", "interval", "device"]
    rows: list[list[str]] = []
    impls = dict(zip(data["models"], data["attn_implementations"], strict=True))
    for row in data["lengths"]:
        if row["status"] != "ok":
            rows.append([str(row["length"]), f"skipped: {row['reason']}"])
            continue
        for stats, result in zip(row["models"], paired.results, strict=True):
            entry = next(e for e in result.entries if e.length == row["length"])
            ratio = stats["ratio"]
            rows.append(
                [
                    str(row["length"]),
                    stats["model"],
                    entry.attention_path or "-",
                    str(impls[stats["model"]] or "-"),
                    _fmt(stats["median_ms"]),
                    f"{_fmt(stats['q25_ms'])}-{_fmt(stats['q75_ms'])}",
                    "1.00" if ratio is None else f"{ratio:.2f}",
                    "" if ratio is None else f"[{stats['ratio_low']:.2f}, {stats['ratio_high']:.2f}]",
                    result.device,
                ]
            )
    widths = [len(h) for h in header]
    for row in rows:
        if len(row) == len(header):
            widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    left = {1, 2, 3, 7, 8}

    def render(cells: list[str]) -> str:
        if len(cells) < len(header):
            return f"{cells[0].rjust(widths[0])}  {cells[1]}"
        return "  ".join(
            c.ljust(widths[i]) if i in left else c.rjust(widths[i]) for i, c in enumerate(cells)
        ).rstrip()

    lines.append(render(header))
    lines.extend(render(r) for r in rows)
    lines.extend(data["notes"])
    if load.warning:
        lines.append(load.warning)
    if not paired.measured:
        lines.append("no length could be measured for every model")
    return "\n".join(lines)
