"""benchmark.timing.paired: interleaving order, the paired bootstrap statistics and the load check (no timing asserted)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.timing.paired import compare, interleaved_times, load_check


def test_rounds_alternate_after_each_models_warmup() -> None:
    log: list[str] = []

    def forward(name: str):
        return lambda batch: log.append(f"{name}{batch}")

    passes, calls = interleaved_times(
        [forward("A"), forward("B")], [[0, 1], [0, 1]], device=torch.device("cpu"), repetitions=4, warmup=1
    )
    assert log[:4] == ["A0", "A1", "B0", "B1"]  # warm-up: one untimed pass of each
    rounds = ["".join(log[i : i + 4]) for i in range(4, len(log), 4)]
    assert rounds == ["A0A1B0B1", "B0B1A0A1", "A0A1B0B1", "B0B1A0A1"]  # order rotated every round
    assert [len(p) for p in passes] == [4, 4] and [len(c) for c in calls] == [8, 8]
    assert all(t >= 0 for p in passes for t in p)
    with pytest.raises(ValueError):
        interleaved_times([forward("A")], [[0], [0]], device=torch.device("cpu"))


def test_compare_median_iqr_and_seeded_bootstrap_interval() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(100, 10, size=40)
    b = a * 0.5 + rng.normal(0, 2, size=40)
    stats = compare([a, b], seed=3)
    assert stats[0].ratio is None and stats[0].repetitions == 40
    assert stats[0].median_ms == pytest.approx(np.median(a))
    assert (stats[0].q25_ms, stats[0].q75_ms) == pytest.approx(tuple(np.percentile(a, [25, 75])))
    assert stats[1].ratio == pytest.approx(np.median(b) / np.median(a))
    assert stats[1].ratio_low < stats[1].ratio < stats[1].ratio_high
    assert stats[1].ratio_low > 0.4 and stats[1].ratio_high < 0.6
    assert compare([a, b], seed=3) == stats  # seeded: the same times give the same interval
    assert compare([a, b], seed=4)[1].ratio_low != stats[1].ratio_low


def test_paired_resampling_cancels_a_drift_both_models_share() -> None:
    drift = np.linspace(1.0, 3.0, 30)  # the machine slows down over the run, for both models alike
    stats = compare([drift * 10, drift * 5], seed=0)
    assert (stats[1].ratio_low, stats[1].ratio, stats[1].ratio_high) == pytest.approx((0.5, 0.5, 0.5))
    unpaired = compare([drift * 10, (drift * 5)[::-1]], seed=0)  # rounds no longer share their drift
    assert unpaired[1].ratio_high - unpaired[1].ratio_low > 0.1


def test_load_check_warns_on_a_busy_machine_in_one_line() -> None:
    idle = load_check([0.5, 0.4, 0.3], [1.5, 1.0, 0.5], cores=2)
    assert not idle.busy and idle.warning is None
    busy = load_check([0.5, 0.4, 0.3], [3.25, 1.0, 0.5], cores=2)
    assert busy.busy and busy.warning is not None and "\n" not in busy.warning
    assert "3.25 after" in busy.warning and "on 2 cores" in busy.warning
    assert busy.to_dict()["before"] == [0.5, 0.4, 0.3]
    unknown = load_check(None, None, cores=2)
    assert not unknown.busy and unknown.to_dict()["after"] is None


def test_time_paired_is_the_whole_protocol_and_refuses_few_repetitions() -> None:
    from benchmark.timing.paired import time_paired

    calls: list[str] = []
    forwards = [lambda b: calls.append("t"), lambda b: calls.append("s")]
    with pytest.raises(ValueError, match="at least 20"):
        time_paired(forwards, [[0], [0]], device=torch.device("cpu"), repetitions=5)
    timing = time_paired(forwards, [[0], [0]], device=torch.device("cpu"), repetitions=20, warmup=0)
    assert calls == ["t", "s", "s", "t"] * 10  # interleaved from the first round
    assert [s.repetitions for s in timing.stats] == [20, 20] and timing.stats[1].ratio is not None
    assert timing.load.cores >= 1 and len(timing.passes[0]) == 20
