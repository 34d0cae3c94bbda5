"""GONERD annotation bins (:func:`gonerd.annotate.balance`): the build's longest-first split of articles into one
bin per process, on the real lengths of the shared Wikipedia sample repeated to the release size (2,232 articles),
and the balance it reaches beside spaCy's round-robin dealing (printed as the larger bin over the mean)."""

from __future__ import annotations

import json

import pytest

from conftest import fixture_path
from gonerd.annotate import balance

pytestmark = pytest.mark.fixtures


@pytest.mark.parametrize("processes", [2, 8])
def test_balance(benchmark, processes):
    lines = fixture_path("wikipedia", "enwiki_2016_sample40_plaintext.jsonl").read_text(encoding="utf-8")
    lengths = [len(json.loads(line)["text"]) for line in lines.splitlines() if line.strip()]
    sizes = (lengths * (2232 // len(lengths) + 1))[:2232]
    benchmark.group = "annotation bins, 2,232 articles"
    bins = benchmark(lambda: balance(sizes, processes))
    assert sorted(i for b in bins for i in b) == list(range(len(sizes)))
    mean = sum(sizes) / processes
    longest = max(sum(sizes[i] for i in b) for b in bins)
    round_robin = max(sum(sizes[i::processes]) for i in range(processes))
    benchmark.extra_info.update(
        largest_bin_over_mean=round(longest / mean, 4), round_robin=round(round_robin / mean, 4)
    )
    assert longest <= round_robin
