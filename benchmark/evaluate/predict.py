"""Batched inference over encoded windows, then merging window outputs into one prediction per example.

Predictions are in the ``benchmark score`` format: answer text (QA), list of IOB2 tags per word (token
classification), label name (classification), float (regression). Inference runs under
``torch.inference_mode()`` (under autocast, ``torch.no_grad()``: :func:`benchmark.model.precision.inference_context`)
with the model in eval mode, in length-sorted batches (:func:`benchmark.task_types.windowing.length_buckets`) so padding
stays low.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm

from .. import task_types
from ..core.architectures import attention_path
from ..core.encoded import EncodedSplit, Feature
from ..core.record import Model
from ..core.task_spec import TaskSpec
from ..encode.features import Collator
from ..errors import DivergedError
from ..model.modeling import restore_attention_type
from ..model.precision import inference_context
from ..task_types.windowing import PREDICT_MAX_PAD_FRACTION, length_buckets


@dataclass
class PredictOutput:
    """Per-example predictions plus which attention path each padded length took."""

    predictions: dict[str, Any]
    attention_paths: dict[str, dict[str, int]] = field(default_factory=dict)
    padded_tokens: int = 0
    real_tokens: int = 0

    @property
    def padding_ratio(self) -> float:
        return self.padded_tokens / self.real_tokens if self.real_tokens else 1.0


def _refuse_nan(out: Any) -> None:
    """A model whose outputs hold NaN (all-NaN weights, a diverged training) is an error, not a score."""
    values = out.values() if hasattr(out, "values") else out if isinstance(out, tuple | list) else (out,)
    for value in values:
        if torch.is_tensor(value) and value.is_floating_point() and torch.isnan(value).any():
            raise DivergedError(
                "the model's outputs are NaN (NaN weights, or a diverged training?); no result written for this task"
            )


def run_model(
    model: torch.nn.Module,
    info: Model,
    features: Sequence[Feature],
    collator: Collator,
    *,
    batch_size: int,
    device: torch.device,
    desc: str = "predicting",
) -> tuple[list[Any], dict[str, dict[str, int]], int]:
    """One output per feature (in ``features`` order), as the task type extracts it from the model's output
    (sequence logits, per-token argmax ids, or (start, end) logits, trimmed to the feature's length). Also the
    attention paths taken and the padded token count."""
    outputs: list[Any] = [None] * len(features)
    paths: dict[str, dict[str, int]] = {}
    padded = 0
    model.eval()
    task_type = task_types.get(collator.task_type)
    with inference_context(device):  # under the run's autocast: each weight cast once, not once per batch
        for idx in tqdm(
            length_buckets(
                [task_type.feature_width(f) for f in features],
                batch_size,
                # a fixed-length model (Nystromformer) pads every batch to the same width: splitting cannot help
                max_pad_fraction=None if collator.pad_to else PREDICT_MAX_PAD_FRACTION,
            ),
            desc=desc,
            unit="batch",
            leave=False,
        ):
            batch = collator([features[i] for i in idx], with_labels=False)
            width = task_type.batch_width(batch)
            padded += batch["input_ids"].numel()
            path = attention_path(model, width)
            rec = paths.setdefault(path, {"batches": 0, "min_seq_len": width, "max_seq_len": width})
            rec["batches"] += 1
            rec["min_seq_len"] = min(rec["min_seq_len"], width)
            rec["max_seq_len"] = max(rec["max_seq_len"], width)
            restore_attention_type(model, info)
            out = model(**{k: v.to(device) for k, v in batch.items()})
            _refuse_nan(out)
            for i, output in zip(
                idx,
                task_type.extract_outputs(out, [features[i] for i in idx], collator.padding_side),
                strict=True,
            ):
                outputs[i] = output
    restore_attention_type(model, info)
    return outputs, paths, padded


def merge(
    spec: TaskSpec, examples: Sequence[Any], encoded: EncodedSplit, outputs: Sequence[Any]
) -> dict[str, Any]:
    """``{example id: prediction}`` from the window outputs: the task type's
    :meth:`~benchmark.task_types.TaskType.merge` (classification / regression average the logits of a document's
    windows; token classification reads each word from the window where it is most central; extractive QA takes
    the best span over all windows)."""
    return task_types.get(spec.task_type).merge(spec, examples, encoded, outputs)


# Names of the per-type merges before they moved into benchmark.task_types; each dispatches on spec.task_type.
merge_classification = merge_tokens = merge_qa = merge


def predict(
    model: torch.nn.Module,
    info: Model,
    spec: TaskSpec,
    examples: Sequence[Any],
    encoded: EncodedSplit,
    *,
    tokenizer: Any,
    batch_size: int = 32,
    device: torch.device | str = "cpu",
    desc: str | None = None,
) -> PredictOutput:
    """``{example id: prediction}`` for ``examples`` (already encoded into ``encoded`` with ``tokenizer``, which
    pads the batches)."""
    device = torch.device(device)
    collator = Collator.for_model(tokenizer, info, spec.task_type)
    if not encoded.features:
        return PredictOutput({})
    outputs, paths, padded = run_model(
        model,
        info,
        encoded.features,
        collator,
        batch_size=batch_size,
        device=device,
        desc=desc or f"predicting {spec.name}",
    )
    real = sum(task_types.get(spec.task_type).feature_tokens(f) for f in encoded.features)
    return PredictOutput(merge(spec, examples, encoded, outputs), paths, padded, real)
