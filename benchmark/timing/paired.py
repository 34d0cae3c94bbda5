"""Paired timing: several models timed interleaved in one process, compared with a bootstrap interval.

Timing two models one after the other lets the machine's load drift between them (on a shared machine a
student/teacher ratio measured so swings by 0.1 from run to run). Here every *round* times each model once, in an
order that rotates from round to round (A B, B A, A B, ...), after each model's warm-up, so that a slow spell of
the machine falls on all models alike:

- :func:`interleaved_times`: the rounds; one *repetition* of a model is one pass over its batches (a call per
  batch), timed as the sum of its calls (CUDA events with a synchronize on GPU, ``time.perf_counter`` on CPU).
- :func:`compare`: per model the median and interquartile range (linear percentiles), and the ratio of each
  model's median to the first model's with a **paired bootstrap** interval: rounds are resampled with
  replacement (the same rounds for every model, so what a round shared stays shared), the ratio of medians is
  computed on every resample, and the interval is its 2.5th and 97.5th percentile (``confidence`` 0.95). The
  generator is seeded: the same times always give the same interval.
- :func:`load_check`: the 1-minute load average (``os.getloadavg``) before and after, against the cores this
  process may use; over that number the machine is *busy* and a one-line warning says so (CPU timings there are
  slower and noisier, and a ratio is less trustworthy even when paired).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

MIN_REPETITIONS = 20  # at least this many rounds: fewer give intervals too wide to tell models apart
BOOTSTRAP_RESAMPLES = 2000
CONFIDENCE = 0.95
ORDER = "rotated"  # round r times the models starting at model r mod n (A B, B A, ... for two)


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one, else ``os.cpu_count``)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def load_average() -> list[float] | None:
    """The 1, 5 and 15-minute load averages, rounded to 2 decimals; None where the OS has none."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


@dataclass(frozen=True)
class LoadCheck:
    """The machine's load around a measurement: ``busy`` when a 1-minute load average (before or after) exceeds
    the cores available; ``warning`` is then the one line printed and recorded."""

    before: list[float] | None
    after: list[float] | None
    cores: int
    busy: bool
    warning: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "before": self.before,
            "after": self.after,
            "cores": self.cores,
            "busy": self.busy,
            "warning": self.warning,
        }


def load_check(before: list[float] | None, after: list[float] | None, cores: int | None = None) -> LoadCheck:
    """:class:`LoadCheck` of the load averages read before and after a measurement."""
    cores = cores or available_cores()
    ones = [x[0] for x in (before, after) if x]
    busy = bool(ones) and max(ones) > cores
    warning = None
    if busy:
        shown = ", ".join(
            f"{x[0]:.2f} {when}" for x, when in ((before, "before"), (after, "after")) if x is not None
        )
        warning = (
            f"warning: busy machine: 1-minute load average {shown} on {cores} cores: "
            "timings are slower and noisier than on an idle machine"
        )
    return LoadCheck(before, after, cores, busy, warning)


def _timed(
    forward: Callable[[Any], Any], batches: Sequence[Any], device: torch.device
) -> tuple[float, list[float]]:
    """(total ms, ms of each call) of one pass of ``forward`` over ``batches``."""
    calls: list[float] = []
    if device.type == "cuda":
        for batch in batches:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            out = forward(batch)
            end.record()
            torch.cuda.synchronize(device)
            del out
            calls.append(float(start.elapsed_time(end)))
    else:
        for batch in batches:
            begin = time.perf_counter()
            out = forward(batch)
            calls.append((time.perf_counter() - begin) * 1000.0)
            del out
    return sum(calls), calls


def interleaved_times(
    forwards: Sequence[Callable[[Any], Any]],
    batches: Sequence[Sequence[Any]],
    *,
    device: torch.device,
    repetitions: int = MIN_REPETITIONS,
    warmup: int = 2,
) -> tuple[list[list[float]], list[list[float]]]:
    """Time ``forwards[i]`` over ``batches[i]`` interleaved: ``warmup`` untimed passes of each model, then
    ``repetitions`` rounds in which every model makes one timed pass, the order rotated every round.

    Returns (pass times, call times): ``passes[i][r]`` is model i's pass in round r (ms), ``calls[i]`` every timed
    call of model i in the order made. Runs under :func:`torch.inference_mode`; batches must be on ``device``.
    """
    if len(forwards) != len(batches) or not forwards:
        raise ValueError("one list of batches per forward, at least one forward")
    if repetitions < 1 or warmup < 0:
        raise ValueError(f"repetitions >= 1 and warmup >= 0, got {repetitions} and {warmup}")
    n = len(forwards)
    passes: list[list[float]] = [[] for _ in range(n)]
    calls: list[list[float]] = [[] for _ in range(n)]
    with torch.inference_mode():
        for i in range(n):
            for _ in range(warmup):
                _timed(forwards[i], batches[i], device)
        for r in range(repetitions):
            for k in range(n):
                i = (r + k) % n
                total, each = _timed(forwards[i], batches[i], device)
                passes[i].append(total)
                calls[i].extend(each)
    return passes, calls


@dataclass(frozen=True)
class ModelStats:
    """One model at one length: median and quartiles of its repetitions (ms), and its median as a ratio of the
    reference model's (the first) with the paired bootstrap interval (None for the reference itself)."""

    median_ms: float
    q25_ms: float
    q75_ms: float
    repetitions: int
    ratio: float | None = None
    ratio_low: float | None = None
    ratio_high: float | None = None


def compare(
    times: Sequence[Sequence[float]],
    *,
    seed: int = 0,
    resamples: int = BOOTSTRAP_RESAMPLES,
    confidence: float = CONFIDENCE,
) -> list[ModelStats]:
    """Statistics of ``times[i][r]`` (model i, round r; every model the same number of rounds), each model
    against ``times[0]``: see the module docstring. Seeded (``numpy.random.default_rng(seed)``)."""
    data = np.asarray(times, dtype=np.float64)
    if data.ndim != 2 or data.shape[1] < 1:
        raise ValueError("times: one equally long list of repetitions per model")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    n_models, n_reps = data.shape
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n_reps, size=(resamples, n_reps))  # the same resampled rounds for every model
    reference = np.median(data[0][picks], axis=1)
    tail = (1 - confidence) / 2 * 100
    out = []
    for i in range(n_models):
        q25, median, q75 = np.percentile(data[i], [25, 50, 75])
        stats = ModelStats(float(median), float(q25), float(q75), n_reps)
        if i:
            ratios = np.median(data[i][picks], axis=1) / reference
            low, high = np.percentile(ratios, [tail, 100 - tail])
            ref_median = float(np.median(data[0]))
            stats = ModelStats(
                float(median),
                float(q25),
                float(q75),
                n_reps,
                ratio=float(median) / ref_median,
                ratio_low=float(low),
                ratio_high=float(high),
            )
        out.append(stats)
    return out


@dataclass(frozen=True)
class PairedTiming:
    """:func:`time_paired`'s answer: per-model statistics (the first is the reference), the pass and call times
    they came from, and the load around them."""

    stats: list[ModelStats]
    passes: list[list[float]]
    calls: list[list[float]]
    load: LoadCheck


def time_paired(
    forwards: Sequence[Callable[[Any], Any]],
    batches: Sequence[Sequence[Any]],
    *,
    device: torch.device,
    repetitions: int = MIN_REPETITIONS,
    warmup: int = 2,
    seed: int = 0,
) -> PairedTiming:
    """The whole paired protocol for models built by the caller (``benchmarks/bench_student_vs_teacher.py``):
    the load average, :func:`interleaved_times`, the load average again, :func:`compare` of the pass times.
    ``repetitions`` below :data:`MIN_REPETITIONS` is refused (ValueError)."""
    if repetitions < MIN_REPETITIONS:
        raise ValueError(f"paired timing needs at least {MIN_REPETITIONS} repetitions, got {repetitions}")
    before = load_average()
    passes, calls = interleaved_times(
        forwards, batches, device=device, repetitions=repetitions, warmup=warmup
    )
    load = load_check(before, load_average())
    return PairedTiming(compare(passes, seed=seed), passes, calls, load)
