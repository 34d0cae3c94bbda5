"""The fixed inference-timing protocol of a run: which batches are timed and how.

Batches of ``TIMING_BATCH_SIZE`` windows sorted by length, each padded up to the next bucket of
``TIMING_BUCKETS`` (capped at the task's input length), at most ``TIMING_MAX_BATCHES`` of them, timed with
:func:`benchmark.timing.protocol.measure_inference`. ``benchmark run`` writes the report into the result file;
``benchmark run --dry-run`` estimates the same batches' cost.
"""

from __future__ import annotations

from typing import Any

import torch

from .. import task_types
from ..core.encoded import EncodedSplit
from ..core.record import Model
from ..encode.features import Collator
from ..model.modeling import restore_attention_type
from ..task_types.windowing import length_buckets

# Fixed timing protocol: the same for every model, recorded in each result.
TIMING_BATCH_SIZE = 8
TIMING_MAX_BATCHES = 4
TIMING_BUCKETS = (128, 256, 512, 1024, 2048, 4096, 8192, 16384)


def timing_batches(encoded: EncodedSplit, collator: Collator, length: int) -> list[dict[str, torch.Tensor]]:
    """Fixed protocol: batches of ``TIMING_BATCH_SIZE`` windows sorted by length, each padded up to the next
    bucket of ``TIMING_BUCKETS`` (capped at the task's input length), at most ``TIMING_MAX_BATCHES``."""
    features = encoded.features
    width = task_types.get(collator.task_type).feature_width
    batches = []
    for idx in length_buckets([width(f) for f in features], TIMING_BATCH_SIZE)[:TIMING_MAX_BATCHES]:
        group = [features[i] for i in idx]
        longest = max(width(f) for f in group)
        bucket = next((b for b in TIMING_BUCKETS if b >= longest), longest)
        pad_to = collator.pad_to or max(longest, min(bucket, length))
        padder = Collator(
            collator.tokenizer,
            task_type=collator.task_type,
            pad_to=pad_to,
            additive_mask=collator.additive_mask,
        )
        batches.append(padder(group, with_labels=False))
    return batches


def timing_calls(n_batches: int, device: torch.device) -> int:
    """Forward calls :func:`time_inference` makes over ``n_batches`` batches (``benchmark run --dry-run``'s
    estimate of the timing protocol's cost)."""
    from ..core.record import TimingConfig

    return TimingConfig().calls(n_batches, device)


def time_inference(
    model: torch.nn.Module,
    info: Model,
    batches: list[dict[str, torch.Tensor]],
    device: torch.device,
    dtype: str = "float32",
) -> dict[str, Any] | None:
    """:func:`benchmark.timing.protocol.measure_inference` over ``batches`` (under autocast in ``dtype`` unless float32);
    None without batches. One autocast spans all calls, and each call runs outside inference mode
    (:func:`benchmark.model.precision.inference_context`), so the weights are cast to ``dtype`` once, in the warm-up,
    as for the run's predictions, not in every timed call."""
    if not batches:
        return None
    from ..model.precision import autocast, inference_context
    from .protocol import measure_inference

    model.eval()

    def forward(batch: dict[str, torch.Tensor]) -> Any:
        restore_attention_type(model, info)
        with autocast(device, dtype), inference_context(device):
            return model(**{k: v.to(device) for k, v in batch.items()})

    with autocast(device, dtype):
        report = measure_inference(forward, batches, device=device, dtype=dtype)
    data = report.to_dict()
    data["protocol"] = {
        "batch_size": TIMING_BATCH_SIZE,
        "max_batches": TIMING_MAX_BATCHES,
        "buckets": list(TIMING_BUCKETS),
        "batch_shapes": [list(b["input_ids"].shape) for b in batches],
    }
    return data
