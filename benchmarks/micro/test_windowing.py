"""Windowing (:mod:`benchmark.task_types.windowing`) on GONERD-sized inputs: cutting a 10,000-word article into 512-token
windows and choosing each word's most central window; the best QA span of a 512-token window, beside the full
length x length score matrix it avoids building (same span); length-bucketed batching of 20,000 lengths."""

from __future__ import annotations

import random

import pytest
import torch

from benchmark.task_types.windowing import assign_words_to_windows, best_span, length_buckets, word_windows

MAX_ANSWER = 30


def test_word_windows_and_assignment(benchmark):
    rng = random.Random(0)
    counts = [rng.choice((1, 1, 1, 2, 2, 3, 5)) for _ in range(10_000)]
    benchmark.group = "windowing"

    def run():
        windows = word_windows(counts, 510, 128)
        return windows, assign_words_to_windows(windows, len(counts))

    windows, owner = benchmark(run)
    assert len(owner) == len(counts) and len(windows) > 40


def _full_matrix_span(starts, ends, allowed, max_answer):
    """The naive way: every (start, end) score at once, masked, then one argmax."""
    n = starts.shape[0]
    scores = starts[:, None] + ends[None, :]
    i, j = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    ok = (j >= i) & (j - i < max_answer) & allowed[:, None] & allowed[None, :]
    flat = int(torch.argmax(torch.where(ok, scores, torch.tensor(float("-inf")))))
    return flat // n, flat % n


@pytest.mark.parametrize("side", ["old", "new"])
def test_best_span(benchmark, side):
    """old: the full length x length matrix; new: best_span, O(length x 30). Same span either way."""
    gen = torch.Generator().manual_seed(0)
    windows = [(torch.randn(512, generator=gen), torch.randn(512, generator=gen)) for _ in range(32)]
    allowed = torch.ones(512, dtype=torch.bool)
    allowed[:20] = False  # the question
    benchmark.group = "best QA span, 32 windows of 512 tokens"
    benchmark.extra_info.update(pair="best span: O(n x 30) vs full matrix", side=side)
    torch.set_num_threads(1)
    if side == "old":
        spans = benchmark(lambda: [_full_matrix_span(s, e, allowed, MAX_ANSWER) for s, e in windows])
    else:
        spans = benchmark(
            lambda: [(b.start, b.end) for b in (best_span(s, e, allowed, MAX_ANSWER) for s, e in windows)]
        )
    assert spans == [_full_matrix_span(s, e, allowed, MAX_ANSWER) for s, e in windows]


def test_length_buckets(benchmark):
    rng = random.Random(0)
    lengths = [rng.randint(5, 512) for _ in range(20_000)]
    benchmark.group = "windowing"
    batches = benchmark(lambda: length_buckets(lengths, 32, max_pad_fraction=0.15))
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
