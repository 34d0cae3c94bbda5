"""Length-grouped training batches (like ``TrainingArguments(group_by_length=True)``) and their padding cost.

Random batches pad every sequence to the longest in its batch: on CoNLL-2003 sentences at batch 32 the model
computes over ~2.5 positions per real token. :func:`length_grouped_order` keeps the randomness of an epoch while
putting sequences of similar length together:

1. a seeded random permutation of all training windows;
2. cut into *mega-batches* of ``MEGABATCH_FACTOR x batch_size`` windows (16 x, see below), each sorted by length
   (longest first);
3. each mega-batch cut into batches of ``batch_size``;
4. the batches shuffled (seeded) across all mega-batches, except that the batch holding the longest window goes
   first (an out-of-memory error shows at the first step, not hours in, as in transformers' sampler).

:class:`LengthGroupedSampler` yields that order; its ``batch_size`` is the per-process batch size, so under DDP
(accelerate shards the batches of the sampler's order round-robin over the processes) every process gets whole
length-grouped batches. The order depends only on ``(seed, epoch)``, the same on every process.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch

# 16, not transformers' 50 (get_length_grouped_indices): on the shared CoNLL-2003 sample (2,000 sentences, MiniLM,
# 5 epochs, benchmarks/bench_finetune.py) mega-batches of 50 batches sort nearly the whole training set, and
# grouped runs scored 0.7-1.7 validation and 1.8-3.5 test F1 below random batches (seeds 42-44); with 16, -0.55
# validation and -1.49 test F1 on average over seeds 42-46, at 1.12 positions per real token instead of 1.06 and
# still 2x faster than random batches (docs/speed-and-statistics.md, "Speed"). 12 would give 1.17 (benchmarks/bench_megabatch_padding.py),
# over the 1.15 goal. Part of a result's config (``megabatch_factor``).
MEGABATCH_FACTOR = 16
# ``benchmark run --batching``: the flag's choices and what a result records for each (execution.batching,
# training.<task>.batching, config.train_batches). ``random`` is the Trainer's own seeded random sampler, the
# harness's training batches before length grouping existed.
BATCHING_CHOICES = {"grouped": "length_grouped", "random": "random"}


def length_grouped_batches(
    lengths: Sequence[int], batch_size: int, *, seed: int, epoch: int = 0
) -> list[list[int]]:
    """Batches of indices into ``lengths`` (see module docstring); deterministic in ``(seed, epoch)``."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    n = len(lengths)
    if n == 0:
        return []
    generator = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch))
    order = torch.randperm(n, generator=generator).tolist()
    mega = MEGABATCH_FACTOR * batch_size
    batches: list[list[int]] = []
    for m in range(0, n, mega):
        group = sorted(order[m : m + mega], key=lambda i: -lengths[i])
        batches += [group[b : b + batch_size] for b in range(0, len(group), batch_size)]
    shuffled = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
    longest = max(range(len(shuffled)), key=lambda b: max(lengths[i] for i in shuffled[b]))
    shuffled.insert(0, shuffled.pop(longest))
    # Only the last batch of the epoch may be short: a short batch in the middle would shift every later
    # batch boundary of the flat order the DataLoader cuts (and the shards under DDP).
    short = [b for b in shuffled if len(b) < batch_size]
    full = [b for b in shuffled if len(b) == batch_size]
    tail = [i for b in short for i in b]
    return full + [tail[k : k + batch_size] for k in range(0, len(tail), batch_size)]


def random_batches(lengths: Sequence[int], batch_size: int, *, seed: int, epoch: int = 0) -> list[list[int]]:
    """Batches of a seeded random permutation (what ``--batching random`` costs; an estimate of the Trainer's own
    random order, which depends on its generator, for ``--dry-run``)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    generator = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch))
    order = torch.randperm(len(lengths), generator=generator).tolist()
    return [order[b : b + batch_size] for b in range(0, len(order), batch_size)]


def padded_positions(
    lengths: Sequence[int], batches: Sequence[Sequence[int]], pad_to: int | None = None
) -> int:
    """Positions the model computes over for ``batches`` (each padded to its longest, or to ``pad_to``)."""
    return sum(len(b) * max(pad_to or 0, max(lengths[i] for i in b)) for b in batches if b)


class LengthGroupedSampler(torch.utils.data.Sampler):
    """Indices in :func:`length_grouped_batches` order; a new seeded order every epoch (``set_epoch``, or each
    new iteration when nobody calls it)."""

    def __init__(self, lengths: Sequence[int], batch_size: int, *, seed: int):
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.epoch: int | None = None
        self._iterations = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self) -> Iterator[int]:
        epoch = self.epoch if self.epoch is not None else self._iterations
        self._iterations += 1
        for batch in length_grouped_batches(self.lengths, self.batch_size, seed=self.seed, epoch=epoch):
            yield from batch
