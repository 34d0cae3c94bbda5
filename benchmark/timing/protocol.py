"""The inference-cost measurement protocol: typed config in, typed report out.

Protocol of :func:`measure_inference` (the same for every model, task and length):

1. Every batch is moved to the device first (host-to-device copies are not timed).
2. Everything runs under :func:`torch.inference_mode` (``benchmark run``'s timing under autocast switches it off
   inside its forward, so autocast casts the weights once: :func:`benchmark.model.precision.inference_context`).
3. ``warmup`` forward calls, cycling through the batches, are run and **not** timed or counted.
4. Timed calls cycle through the batches in order until at least ``max(min_iterations, len(batches))`` calls are
   made (so every batch is timed at least once) *and* their total time is at least ``min_seconds``.
   One *iteration* is one timed forward call on one batch.
5. Time of a call:

   - **CUDA**: a pair of ``torch.cuda.Event(enable_timing=True)`` recorded just before and just after the call,
     then ``torch.cuda.synchronize(device)``, then ``start.elapsed_time(end)`` (GPU time of the call).
   - **CPU**: ``time.perf_counter()`` wall clock around the call, with ``torch.get_num_threads()`` intra-op
     threads (recorded as ``cpu_threads``). On a machine shared with other work the wall clock includes being
     preempted; fewer threads than free cores gives steadier figures.

6. Memory (``Timing.memory_kind`` says which of these a figure is):

   - ``"cuda_max_allocated"``: after the warm-up, ``torch.cuda.synchronize`` and
     ``torch.cuda.reset_peak_memory_stats(device)``; after the timed calls ``torch.cuda.max_memory_allocated``.
     ``peak_memory_mb`` is that **absolute** peak of memory held by tensors on the device (weights included);
     ``memory_baseline_mb`` is ``memory_allocated`` right after the reset (mostly the weights), so
     ``peak - baseline`` is what inference itself needed. The caching allocator's reserve is not counted.
   - ``"cpu_peak_rss_delta"``: measured in a separate pass *after* the timed calls, so the sampling never
     disturbs the timings: ``gc.collect()`` and glibc ``malloc_trim(0)`` hand freed heap memory back to the OS,
     the process RSS (resident set size, from ``/proc/self/statm``, psutil elsewhere) is read as the baseline,
     then one **untimed** call runs on the batch with the most positions while a background thread samples the
     RSS every ``rss_interval_s`` (default 5 ms), plus once after the call. ``peak_memory_mb`` is the largest
     sample minus the baseline (what that forward call added to the process); ``memory_baseline_mb`` is the
     baseline (the whole process: weights, libraries...). It is a lower bound: a spike shorter than the
     sampling interval can be missed, and memory the allocator kept despite the trim is re-used without
     growing the RSS. ``ru_maxrss`` is not used: it is a process-lifetime maximum that cannot be reset.

7. Latency per example of a call = call time / examples in its batch. Medians and p90 are over all timed
   calls, with the **linear-interpolation** percentile (numpy's default, Hyndman-Fan type 7): the value at
   rank ``(n - 1) * q / 100`` of the sorted values, interpolated between its neighbours.
   ``tokens_per_second`` = real (non-padding, ``attention_mask == 1``) tokens of all timed calls / their total
   time.

Helpers shared with the task runner: :func:`speed_batches` (synthetic inputs of exact lengths),
:func:`prepare_model_inputs` (what each architecture needs on top of ``input_ids`` / ``attention_mask``); the
attention computed at a length and the longest input come from :mod:`benchmark.core.architectures`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ..core import architectures
from ..core.record import Timing, TimingConfig
from ..errors import BenchmarkError
from .hardware import device_name, resolve_device

MEMORY_KINDS = {
    "cuda_max_allocated": "absolute peak of torch.cuda.max_memory_allocated over the timed calls, MiB",
    "cpu_peak_rss_delta": "peak process RSS sampled every 5 ms during one extra untimed call minus the RSS before it, MiB",
}
PERCENTILE_METHOD = "linear"  # numpy default / Hyndman-Fan type 7


def percentile(values: Sequence[float], q: float) -> float:
    """``q``-th percentile (0..100) by linear interpolation between closest ranks: ``numpy.percentile`` with
    ``method="linear"`` (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be in [0, 100], got {q}")
    return float(np.percentile(np.asarray(values, dtype=np.float64), q, method=PERCENTILE_METHOD))


# ---------------------------------------------------------------------------------------------------------------
# memory helpers


def current_rss_bytes() -> int:
    """Resident set size of this process in bytes (``/proc/self/statm`` on Linux, else psutil)."""
    reader = _RssReader()
    try:
        return reader.read()
    finally:
        reader.close()


class _RssReader:
    """Cheap repeated RSS reads: one open ``/proc/self/statm`` re-read with ``pread`` (psutil elsewhere)."""

    def __init__(self) -> None:
        self._fd: int | None = None
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
        try:
            self._fd = os.open("/proc/self/statm", os.O_RDONLY)
        except OSError:
            import psutil

            self._process = psutil.Process()

    def read(self) -> int:
        if self._fd is not None:
            return int(os.pread(self._fd, 128, 0).split()[1]) * self._page
        return int(self._process.memory_info().rss)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        self.close()


def trim_allocator() -> bool:
    """Run the garbage collector and glibc ``malloc_trim(0)``; True when the trim could be called."""
    gc.collect()
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        return False
    return True


class RssSampler:
    """Context manager sampling the process RSS in a daemon thread; ``baseline`` at entry, ``peak`` overall."""

    def __init__(self, interval_s: float = 0.005) -> None:
        self.interval_s = interval_s
        self.baseline = 0
        self.peak = 0
        self.samples = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sample(self) -> None:
        """Take one sample now (also called by the measuring code after the call)."""
        rss = self._reader.read()
        with self._lock:
            self.samples += 1
            self.peak = max(rss, self.peak)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def __enter__(self) -> RssSampler:
        self._reader = _RssReader()
        self.baseline = self.peak = self._reader.read()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()
        self._reader.close()


# ---------------------------------------------------------------------------------------------------------------
# the protocol


def _batch_size_and_len(batch: Mapping[str, Any], index: int) -> tuple[int, int]:
    tensor = batch.get("input_ids")
    if not isinstance(tensor, torch.Tensor):
        tensor = next((v for v in batch.values() if isinstance(v, torch.Tensor)), None)
    if tensor is None or tensor.dim() < 2:
        raise BenchmarkError(f"batch {index} has no [batch, sequence] tensor (input_ids) to measure")
    # input_ids: [batch, sequence], or [batch, choices, sequence] (multiple choice): the sequence is the last
    # dimension; any other tensor (the first one, without input_ids) is read as [batch, sequence, ...]
    sequence = tensor.shape[-1] if tensor is batch.get("input_ids") else tensor.shape[1]
    return int(tensor.shape[0]), int(sequence)


def count_tokens(batch: Mapping[str, Any]) -> tuple[int, int]:
    """(real tokens, all positions) of a batch: attended positions of ``attention_mask`` vs ``input_ids`` size.

    A 2-D mask attends where it is non-zero; a ``[batch, 1, 1, seq]`` mask (:func:`additive_mask`) where it is
    ``True`` (boolean) or ``0`` (additive float). Without a mask every position is real.
    """
    ids = batch.get("input_ids")
    positions = int(ids.numel()) if isinstance(ids, torch.Tensor) else 0
    mask = batch.get("attention_mask")
    if not isinstance(mask, torch.Tensor):
        return positions, positions
    if mask.dim() == 4:
        mask = mask[:, 0, 0, :]
        attended = mask if mask.dtype == torch.bool else mask == 0
    else:
        attended = mask != 0
    if not positions:
        positions = int(mask.numel())
    return int(attended.sum().item()), positions


def _to_device(batch: Mapping[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def _dtype_name(forward: Callable[..., Any], dtype: torch.dtype | str | None) -> str:
    if dtype is None and isinstance(forward, torch.nn.Module):
        param = next(forward.parameters(), None)
        dtype = param.dtype if param is not None else None
    if dtype is None:
        return "unknown"
    return str(dtype).removeprefix("torch.")


def _time_cpu(
    forward: Callable[[dict], Any], batches: Sequence[dict], config: TimingConfig, target: int
) -> tuple[list[float], list[int], float, float]:
    times_ms: list[float] = []
    order: list[int] = []
    n = len(batches)
    for i in range(config.warmup):
        out = forward(batches[i % n])
        del out
    total = 0.0
    i = 0
    while i < target or total < config.min_seconds:
        batch = batches[i % n]
        start = time.perf_counter()
        out = forward(batch)
        elapsed = time.perf_counter() - start
        del out
        times_ms.append(elapsed * 1000.0)
        order.append(i % n)
        total += elapsed
        i += 1
    peak_mb, base_mb = _cpu_memory_pass(forward, batches, config)
    return times_ms, order, peak_mb, base_mb


def _cpu_memory_pass(
    forward: Callable[[dict], Any], batches: Sequence[dict], config: TimingConfig
) -> tuple[float, float]:
    """(peak RSS growth, baseline RSS) in MiB over one untimed call on the batch with the most positions."""
    largest = max(
        range(len(batches)),
        key=lambda j: _batch_size_and_len(batches[j], j)[0] * _batch_size_and_len(batches[j], j)[1],
    )
    if config.trim_allocator:
        trim_allocator()
    with RssSampler(config.rss_interval_s) as rss:
        out = forward(batches[largest])
        rss.sample()
        del out
    return max(rss.peak - rss.baseline, 0) / 2**20, rss.baseline / 2**20


def _time_cuda(
    forward: Callable[[dict], Any],
    batches: Sequence[dict],
    config: TimingConfig,
    target: int,
    device: torch.device,
) -> tuple[list[float], list[int], float, float]:
    cuda = torch.cuda
    times_ms: list[float] = []
    order: list[int] = []
    n = len(batches)
    with cuda.device(device):
        for i in range(config.warmup):
            out = forward(batches[i % n])
            del out
        cuda.synchronize(device)  # warm-up work must not leak into the first timed call
        cuda.reset_peak_memory_stats(device)
        baseline = cuda.memory_allocated(device)
        total = 0.0
        i = 0
        while i < target or total < config.min_seconds:
            batch = batches[i % n]
            start, end = cuda.Event(enable_timing=True), cuda.Event(enable_timing=True)
            start.record()
            out = forward(batch)
            end.record()
            cuda.synchronize(device)  # both events have completed: elapsed_time is valid
            elapsed_ms = float(start.elapsed_time(end))
            del out
            times_ms.append(elapsed_ms)
            order.append(i % n)
            total += elapsed_ms / 1000.0
            i += 1
        peak = cuda.max_memory_allocated(device)
    return times_ms, order, peak / 2**20, baseline / 2**20


def measure_inference(
    forward: Callable[[dict], Any],
    batches: Sequence[Mapping[str, Any]],
    *,
    device: torch.device | str,
    config: TimingConfig | None = None,
    dtype: torch.dtype | str | None = None,
) -> Timing:
    """Measure ``forward(batch)`` over ``batches`` on ``device`` with the protocol in the module docstring.

    ``forward`` takes one batch dict (e.g. ``lambda b: model(**b)``); its output is discarded. ``batches`` are
    already prepared for the model (:func:`prepare_model_inputs`); they are moved to ``device`` before timing.
    ``dtype`` is recorded in the report (taken from ``forward``'s parameters when it is a module and ``dtype``
    is not given).
    """
    config = config or TimingConfig()
    device = resolve_device(device)
    if not batches:
        raise BenchmarkError("nothing to measure: no batches")
    for i, b in enumerate(batches):
        _batch_size_and_len(b, i)
    moved = [_to_device(b, device) for b in batches]
    target = max(config.min_iterations, len(moved))
    with torch.inference_mode():
        if device.type == "cuda":
            times_ms, order, peak_mb, base_mb = _time_cuda(forward, moved, config, target, device)
            timer, memory_kind = "cuda_event", "cuda_max_allocated"
        else:
            times_ms, order, peak_mb, base_mb = _time_cpu(forward, moved, config, target)
            timer, memory_kind = "perf_counter", "cpu_peak_rss_delta"
    memory = (peak_mb, base_mb, memory_kind)
    name = _dtype_name(forward, dtype)
    return report_from_times(
        times_ms, order, batches, device=device, config=config, dtype=name, timer=timer, memory=memory
    )


def report_from_times(
    times_ms: Sequence[float],
    order: Sequence[int],
    batches: Sequence[Mapping[str, Any]],
    *,
    device: torch.device,
    config: TimingConfig,
    dtype: str,
    timer: str,
    memory: tuple[float, float, str],
) -> Timing:
    """The :class:`~benchmark.core.record.Timing` of timed calls already made: call ``k`` took ``times_ms[k]`` on
    ``batches[order[k]]``; ``memory`` is (peak MiB, baseline MiB, memory kind) of :func:`memory_pass`.
    :func:`measure_inference` and the paired protocol (:mod:`benchmark.timing.paired`) both report through it."""
    shapes = [_batch_size_and_len(b, i) for i, b in enumerate(batches)]
    counts = [count_tokens(b) for b in batches]
    peak_mb, base_mb, memory_kind = memory
    per_example = [t / shapes[j][0] for t, j in zip(times_ms, order, strict=True)]
    timed_s = max(sum(times_ms) / 1000.0, 1e-9)
    timed_tokens = sum(counts[j][0] for j in order)
    timed_examples = sum(shapes[j][0] for j in order)
    return Timing.made(
        device=str(device),
        device_name=device_name(device),
        dtype=dtype,
        torch_version=torch.__version__,
        cuda_version=torch.version.cuda,
        cpu_threads=torch.get_num_threads(),
        timer=timer,
        batch_size=max(s[0] for s in shapes),
        seq_len=max(s[1] for s in shapes),
        n_batches=len(batches),
        n_examples=sum(s[0] for s in shapes),
        n_tokens=sum(c[0] for c in counts),
        n_padded_tokens=sum(c[1] for c in counts),
        latency_ms_per_example_median=percentile(per_example, 50),
        latency_ms_per_example_p90=percentile(per_example, 90),
        latency_ms_per_example_mean=sum(times_ms) / timed_examples,
        latency_ms_per_batch_median=percentile(times_ms, 50),
        latency_ms_per_batch_p90=percentile(times_ms, 90),
        tokens_per_second=timed_tokens / timed_s,
        examples_per_second=timed_examples / timed_s,
        timed_seconds=timed_s,
        peak_memory_mb=round(peak_mb, 3),
        memory_baseline_mb=round(base_mb, 3),
        memory_kind=memory_kind,
        warmup=config.warmup,
        iterations=len(times_ms),
        percentile_method=PERCENTILE_METHOD,
    )


def memory_pass(
    forward: Callable[[dict], Any], batches: Sequence[dict], device: torch.device, config: TimingConfig
) -> tuple[float, float, str]:
    """(peak MiB, baseline MiB, memory kind) of one untimed call on the batch with the most positions, for
    timings made elsewhere (the paired protocol): on CPU :func:`_cpu_memory_pass`; on CUDA the allocator's
    peak over that call (reset first) and what was allocated before it. Batches must be on ``device``."""
    with torch.inference_mode():
        if device.type != "cuda":
            peak, base = _cpu_memory_pass(forward, batches, config)
            return peak, base, "cpu_peak_rss_delta"
        largest = max(
            range(len(batches)),
            key=lambda j: _batch_size_and_len(batches[j], j)[0] * _batch_size_and_len(batches[j], j)[1],
        )
        with torch.cuda.device(device):
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
            baseline = torch.cuda.memory_allocated(device)
            out = forward(batches[largest])
            torch.cuda.synchronize(device)
            del out
            peak = torch.cuda.max_memory_allocated(device)
    return peak / 2**20, baseline / 2**20, "cuda_max_allocated"


def to_device(batch: Mapping[str, Any], device: torch.device) -> dict[str, Any]:
    """``batch`` with every tensor moved to ``device``."""
    return _to_device(batch, device)


# ---------------------------------------------------------------------------------------------------------------
# inputs


def _check_lengths(lengths: Iterable[int]) -> list[int]:
    out = list(lengths)
    if not out:
        raise BenchmarkError("no lengths given")
    for length in out:
        if isinstance(length, bool) or not isinstance(length, int) or length <= 0:
            raise BenchmarkError(f"length {length!r} is not a positive integer")
    return out


def speed_batches(
    tokenizer_or_vocab_size: Any,
    lengths: Iterable[int],
    batch_size: int,
    *,
    pad_to_multiple_of: int | None = None,
    n_batches: int = 1,
    seed: int = 0,
    exclude_ids: Iterable[int] = (),
    pad_id: int | None = None,
) -> dict[int, list[dict[str, torch.Tensor]]]:
    """Deterministic synthetic inputs: for each length, ``n_batches`` batches of ``batch_size`` sequences of
    exactly ``length`` real tokens.

    Token ids are drawn uniformly from the vocabulary minus the special ids (the tokenizer's
    ``all_special_ids`` plus ``exclude_ids``; with a plain vocabulary size, only ``exclude_ids``), with a
    generator seeded from ``(seed, length)``: the same length always gets the same ids, whatever other lengths
    are asked for. ``attention_mask`` is all ones; with ``pad_to_multiple_of``, sequences are right-padded with
    ``pad_id`` (default: the tokenizer's pad id, else 0) and mask zeros up to the next multiple.
    """
    lengths = _check_lengths(lengths)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise BenchmarkError(f"batch size must be a positive integer, got {batch_size!r}")
    if n_batches < 1:
        raise BenchmarkError(f"n_batches must be >= 1, got {n_batches!r}")
    if pad_to_multiple_of is not None and pad_to_multiple_of < 1:
        raise BenchmarkError(f"pad_to_multiple_of must be >= 1, got {pad_to_multiple_of!r}")
    excluded = {int(i) for i in exclude_ids if i is not None}
    if isinstance(tokenizer_or_vocab_size, int) and not isinstance(tokenizer_or_vocab_size, bool):
        vocab_size = tokenizer_or_vocab_size
    else:
        tokenizer = tokenizer_or_vocab_size
        vocab_size = len(tokenizer)
        excluded |= {int(i) for i in getattr(tokenizer, "all_special_ids", []) if i is not None}
        if pad_id is None:
            pad_id = getattr(tokenizer, "pad_token_id", None)
    pad_id = 0 if pad_id is None else int(pad_id)
    allowed = torch.tensor([i for i in range(vocab_size) if i not in excluded], dtype=torch.long)
    if allowed.numel() == 0:
        raise BenchmarkError(f"no ordinary token ids to draw from (vocabulary of {vocab_size}, all special)")
    out: dict[int, list[dict[str, torch.Tensor]]] = {}
    for length in lengths:
        padded = length
        if pad_to_multiple_of:
            padded = -(-length // pad_to_multiple_of) * pad_to_multiple_of
        generator = torch.Generator().manual_seed(seed * 1_000_003 + length)
        batches = []
        for _ in range(n_batches):
            draw = torch.randint(allowed.numel(), (batch_size, length), generator=generator)
            ids = torch.full((batch_size, padded), pad_id, dtype=torch.long)
            ids[:, :length] = allowed[draw]
            mask = torch.zeros((batch_size, padded), dtype=torch.long)
            mask[:, :length] = 1
            batches.append({"input_ids": ids, "attention_mask": mask})
        out[length] = batches
    return out


def _config_of(model_or_config: Any) -> Any:
    return getattr(model_or_config, "config", model_or_config)


def _pad_to(batch: dict[str, Any], length: int, pad_id: int) -> dict[str, Any]:
    ids = batch["input_ids"]
    b, current = ids.shape[0], ids.shape[1]
    fill = {"input_ids": pad_id, "labels": -100}
    out = {}
    for key, value in batch.items():
        if isinstance(value, torch.Tensor) and value.dim() >= 2 and tuple(value.shape[:2]) == (b, current):
            pad_shape = (b, length - current, *value.shape[2:])
            pad = torch.full(pad_shape, fill.get(key, 0), dtype=value.dtype, device=value.device)
            value = torch.cat([value, pad], dim=1)
        out[key] = value
    return out


def _param_dtype(model: Any) -> torch.dtype:
    param = next(model.parameters(), None) if isinstance(model, torch.nn.Module) else None
    return param.dtype if param is not None and param.dtype.is_floating_point else torch.float32


def additive_mask(mask: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``[batch, seq]`` 1/0 padding mask -> ``[batch, 1, 1, seq]`` additive mask (0 to attend, dtype min to
    ignore), which transformers passes to the attention unchanged."""
    bias = torch.zeros(mask.shape, dtype=dtype, device=mask.device)
    bias = bias.masked_fill(mask == 0, torch.finfo(dtype).min)
    return bias[:, None, None, :]


def prepare_model_inputs(model: torch.nn.Module, batch: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``batch`` with what the architecture needs on top of ``input_ids`` / ``attention_mask``.

    - Longformer: ``global_attention_mask`` with global attention on position 0 (CLS), unless given.
    - Nyströmformer with landmarks: every ``[batch, seq]`` tensor right-padded to exactly
      ``segment_means_seq_len`` (pad id / mask 0 / labels -100); longer inputs raise :class:`BenchmarkError`.
      (Only that exact length works in transformers 5.23: a multiple of it fails in the landmark reshape.)
      A mask with padding is then passed as an additive ``[batch, 1, 1, seq]`` mask (:func:`additive_mask`):
      transformers 5.23 expands a 2-D mask to ``[batch, 1, seq, seq]``, which cannot be added to the
      ``[batch, heads, landmarks, seq]`` landmark scores and crashes. :func:`count_tokens` reads both forms.
    - BigBird: nothing to add (the model pads to its block size itself), but the sticky fallback to full
      attention is undone on ``model`` (:func:`benchmark.core.architectures.reset_sticky_attention`), so this call has a side effect there.
    """
    out = dict(batch)
    config = _config_of(model)
    arch = architectures.of(config)
    ids = out.get("input_ids")
    if arch.global_attention and "global_attention_mask" not in out and isinstance(ids, torch.Tensor):
        glob = torch.zeros_like(ids)
        glob[:, 0] = 1
        out["global_attention_mask"] = glob
    fixed = arch.fixed_length(config)
    if fixed is not None and isinstance(ids, torch.Tensor):
        length = ids.shape[1]
        if length > fixed:
            raise BenchmarkError(
                f"{arch.model_type} takes at most segment_means_seq_len={fixed} tokens, got an input of {length}"
            )
        if length < fixed:
            out = _pad_to(out, fixed, int(getattr(config, "pad_token_id", 0) or 0))
        mask = out.get("attention_mask")
        if isinstance(mask, torch.Tensor) and mask.dim() == 2 and bool((mask == 0).any()):
            out["attention_mask"] = additive_mask(mask, _param_dtype(model))
    if arch.sticky_attention_type:
        architectures.reset_sticky_attention(model)
    return out
