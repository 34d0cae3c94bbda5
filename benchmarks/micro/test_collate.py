"""Collation: the harness's :class:`benchmark.encode.features.Collator` (``tokenizer.pad`` plus the global mask and labels
on top) vs the hand-written padding it replaced (``torch.full`` + a row loop, :func:`legacy_collate`), on the
same batches: the shared CoNLL-2003 training sample with the MiniLM tokenizer, batches of 32, length-sorted (as
prediction and grouped training batch them) and in file order (as random training batches: more padding). Both
ways give the same tensors (checked first). Was benchmarks/bench_collate.py."""

from __future__ import annotations

import pytest
import torch

from benchmark import task_types
from benchmark.encode.features import Collator
from benchmark.task_types.windowing import PREDICT_MAX_PAD_FRACTION, length_buckets

BATCH = 32
pytestmark = pytest.mark.fixtures


def legacy_collate(features, pad_token_id: int, task_type: str) -> dict[str, torch.Tensor]:
    """The Collator's padding before it used ``tokenizer.pad`` (right padding, no fixed length)."""
    width = max(len(f) for f in features)
    n = len(features)
    ids = torch.full((n, width), pad_token_id, dtype=torch.long)
    mask = torch.zeros((n, width), dtype=torch.long)
    batch = {"input_ids": ids, "attention_mask": mask}
    if features[0].token_type_ids is not None:
        batch["token_type_ids"] = torch.zeros((n, width), dtype=torch.long)
    if features[0].global_positions:
        batch["global_attention_mask"] = torch.zeros((n, width), dtype=torch.long)
    for r, f in enumerate(features):
        k = len(f)
        ids[r, :k] = torch.tensor(f.input_ids)
        mask[r, :k] = 1
        if "token_type_ids" in batch:
            batch["token_type_ids"][r, :k] = torch.tensor(f.token_type_ids)
        if "global_attention_mask" in batch:
            batch["global_attention_mask"][r, list(f.global_positions)] = 1
    if all(f.label is not None for f in features):
        batch.update(task_types.get(task_type).collate_labels(features, width))
    return batch


def _groups(features, order: str) -> list[list]:
    if order == "length-sorted":
        batches = length_buckets([len(f) for f in features], BATCH, max_pad_fraction=PREDICT_MAX_PAD_FRACTION)
    else:
        batches = [list(range(i, min(i + BATCH, len(features)))) for i in range(0, len(features), BATCH)]
    return [[features[i] for i in idx] for idx in batches]


@pytest.mark.parametrize("side", ["old", "new"])
@pytest.mark.parametrize("order", ["length-sorted", "file order"])
def test_collate(benchmark, conll_features, order, side):
    features, tokenizer, info, spec = conll_features
    groups = _groups(features, order)
    collator = Collator.for_model(tokenizer, info, spec.task_type)
    way = collator if side == "new" else lambda g: legacy_collate(g, tokenizer.pad_token_id, spec.task_type)
    for group in groups[:3]:  # the same tensors both ways
        a, b = collator(group), legacy_collate(group, tokenizer.pad_token_id, spec.task_type)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    benchmark.group = f"collate, {order}, {len(groups)} batches of {BATCH}"
    benchmark.extra_info.update(pair=f"collate {order}", side=side)
    torch.set_num_threads(1)
    batches = benchmark(lambda: [way(g) for g in groups])
    assert len(batches) == len(groups) and sum(len(b["input_ids"]) for b in batches) == len(features)
