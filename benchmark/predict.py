"""Batched inference over encoded windows, then merging window outputs into one prediction per example.

Predictions are in the ``benchmark score`` format: answer text (QA), list of IOB2 tags per word (token
classification), label name (classification), float (regression). Inference runs under
``torch.inference_mode()`` with the model in eval mode, in length-sorted batches
(:func:`benchmark.windowing.length_buckets`) so padding stays low.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm

from .examples import QAExample, TokenExample
from .features import Collator, EncodedSplit, Feature, recover_answer
from .modeling import ModelInfo, attention_path, restore_attention_type
from .tasks.spec import TaskSpec
from .windowing import PREDICT_MAX_PAD_FRACTION, assign_words_to_windows, best_span, length_buckets

MAX_ANSWER_TOKENS = 30


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


def run_model(
    model: torch.nn.Module,
    info: ModelInfo,
    features: Sequence[Feature],
    collator: Collator,
    *,
    batch_size: int,
    device: torch.device,
    desc: str = "predicting",
) -> tuple[list[Any], dict[str, dict[str, int]], int]:
    """One output per feature (in ``features`` order): sequence logits, per-token argmax ids, or (start, end)
    logits, trimmed to the feature's length. Also the attention paths taken and the padded token count."""
    outputs: list[Any] = [None] * len(features)
    paths: dict[str, dict[str, int]] = {}
    padded = 0
    model.eval()
    task_type = collator.task_type
    with torch.inference_mode():
        for idx in tqdm(
            length_buckets(
                [len(f) for f in features],
                batch_size,
                # a fixed-length model (Nystromformer) pads every batch to the same width: splitting cannot help
                max_pad_fraction=None if collator.pad_to else PREDICT_MAX_PAD_FRACTION,
            ),
            desc=desc,
            unit="batch",
            leave=False,
        ):
            batch = collator([features[i] for i in idx], with_labels=False)
            width = batch["input_ids"].shape[1]
            padded += batch["input_ids"].numel()
            path = attention_path(model, width)
            rec = paths.setdefault(path, {"batches": 0, "min_seq_len": width, "max_seq_len": width})
            rec["batches"] += 1
            rec["min_seq_len"] = min(rec["min_seq_len"], width)
            rec["max_seq_len"] = max(rec["max_seq_len"], width)
            restore_attention_type(model, info)
            out = model(**{k: v.to(device) for k, v in batch.items()})
            if task_type == "extractive_qa":
                starts, ends = out.start_logits.float().cpu(), out.end_logits.float().cpu()
                for r, i in enumerate(idx):
                    n = len(features[i])
                    outputs[i] = (starts[r, :n].clone(), ends[r, :n].clone())
            elif task_type == "token_classification":
                ids = out.logits.argmax(-1).cpu()
                for r, i in enumerate(idx):
                    outputs[i] = ids[r, : len(features[i])].clone()
            else:
                logits = out.logits.float().cpu()
                for r, i in enumerate(idx):
                    outputs[i] = logits[r].clone()
    restore_attention_type(model, info)
    return outputs, paths, padded


def merge_classification(
    spec: TaskSpec, examples: Sequence[Any], encoded: EncodedSplit, outputs: Sequence[torch.Tensor]
) -> dict[str, Any]:
    """Average the logits of each example's windows; label name (classification) or float (regression)."""
    sums: dict[int, torch.Tensor] = {}
    counts: dict[int, int] = {}
    for f, logits in zip(encoded.features, outputs, strict=True):
        sums[f.example_index] = sums.get(f.example_index, 0) + logits
        counts[f.example_index] = counts.get(f.example_index, 0) + 1
    preds: dict[str, Any] = {}
    for i, ex in enumerate(examples):
        mean = sums[i] / counts[i]
        if spec.task_type == "regression":
            preds[ex.id] = float(mean.reshape(-1)[0])
        else:
            preds[ex.id] = spec.label_names[int(mean.argmax())]
    return preds


def merge_tokens(
    spec: TaskSpec, examples: Sequence[TokenExample], encoded: EncodedSplit, outputs: Sequence[torch.Tensor]
) -> dict[str, list[str]]:
    """One tag per word, read from the window where the word is most central; "O" for words without tokens."""
    by_example: dict[int, list[tuple[Feature, torch.Tensor]]] = {}
    for f, ids in zip(encoded.features, outputs, strict=True):
        by_example.setdefault(f.example_index, []).append((f, ids))
    outside = "O" if "O" in spec.label_names else spec.label_names[0]
    preds: dict[str, list[str]] = {}
    for i, ex in enumerate(examples):
        windows = by_example.get(i, [])
        owners = assign_words_to_windows([f.meta["window"] for f, _ in windows], len(ex.tokens))
        tags: list[str] = []
        for word, w in enumerate(owners):
            f, ids = windows[w]
            pos = f.meta["word_positions"][word - f.meta["window"].start]
            tags.append(spec.label_names[int(ids[pos])] if pos >= 0 else outside)
        preds[ex.id] = tags
    return preds


def merge_qa(
    spec: TaskSpec, examples: Sequence[QAExample], encoded: EncodedSplit, outputs: Sequence[Any]
) -> dict[str, str]:
    """Best span over all windows of each question (max start+end logit, at most 30 tokens, inside the context),
    mapped back to the context's characters (or "yes"/"no", see :func:`benchmark.features.recover_answer`)."""
    best: dict[int, tuple[float, int, int]] = {}
    for f, (starts, ends) in zip(encoded.features, outputs, strict=True):
        offsets = f.meta["offsets"]
        allowed = torch.tensor([o is not None for o in offsets])
        span = best_span(starts, ends, allowed, MAX_ANSWER_TOKENS)
        if span is None:
            continue
        if f.example_index not in best or span.score > best[f.example_index][0]:
            best[f.example_index] = (span.score, offsets[span.start][0], offsets[span.end][1])
    preds: dict[str, str] = {}
    for i, ex in enumerate(examples):
        if i not in best:
            preds[ex.id] = ""
            continue
        _, c0, c1 = best[i]
        preds[ex.id] = recover_answer(ex.context, encoded.context_prefix, c0, c1).strip()
    return preds


def predict(
    model: torch.nn.Module,
    info: ModelInfo,
    spec: TaskSpec,
    examples: Sequence[Any],
    encoded: EncodedSplit,
    *,
    pad_token_id: int,
    batch_size: int = 32,
    device: torch.device | str = "cpu",
    desc: str | None = None,
) -> PredictOutput:
    """``{example id: prediction}`` for ``examples`` (already encoded into ``encoded``)."""
    device = torch.device(device)
    collator = Collator.for_model(pad_token_id, info, spec.task_type)
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
    merge = {
        "classification": merge_classification,
        "regression": merge_classification,
        "token_classification": merge_tokens,
        "extractive_qa": merge_qa,
    }[spec.task_type]
    real = sum(len(f) for f in encoded.features)
    return PredictOutput(merge(spec, examples, encoded, outputs), paths, padded, real)
