"""Model inputs: windowed features, their padding into batches, and the usable input length.

The usable length is ``L = min(spec.max_length, model max positions)`` (:func:`input_length`). How each task
type tokenises its examples into :class:`Feature` windows (and collates their labels) lives in
:mod:`benchmark.task_types`; :func:`encode` and :class:`Collator` call it.

Every encoder returns an :class:`EncodedSplit` whose ``stats`` (examples, windows, truncated examples) go into the
result file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from . import task_types
from .modeling import ModelInfo
from .task_types.base import IGNORE
from .task_types.qa import MAX_QUESTION_TOKENS, YES_NO_PREFIX, recover_answer, uses_yes_no
from .tasks.spec import TaskSpec
from .windowing import WordWindow


@dataclass
class Feature:
    """One model input (a window of an example) with its training target and what merging needs."""

    example_index: int
    input_ids: list[int]
    token_type_ids: list[int] | None = None
    global_positions: tuple[int, ...] = ()  # Longformer: tokens with global attention
    label: Any = None  # int / float (sequence), list[int] (tokens), (start, end) (QA); None if unlabeled
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass
class EncodedSplit:
    """Features of one split plus counts for the result file."""

    features: list[Feature]
    n_examples: int
    truncated_examples: int = 0
    context_prefix: str = ""  # QA: text prepended to every context (yes/no answers)

    @property
    def stats(self) -> dict[str, int]:
        windowed = {}
        for f in self.features:
            windowed[f.example_index] = windowed.get(f.example_index, 0) + 1
        return {
            "examples": self.n_examples,
            "windows": len(self.features),
            "windowed_examples": sum(1 for n in windowed.values() if n > 1),
            "truncated_examples": self.truncated_examples,
        }


def input_length(spec: TaskSpec, info: ModelInfo, max_length: int | None = None) -> int:
    """``L = min(spec.max_length (or --max-length), model's usable positions)``."""
    return min(max_length or spec.max_length, info.max_positions)


def default_stride(length: int) -> int:
    """Overlap between neighbouring windows: a quarter of the window (128 tokens at 512)."""
    return max(1, length // 4)


def special_frame(tokenizer) -> tuple[list[int], list[int]]:
    """Special tokens the tokenizer puts before and after a single sequence (e.g. [CLS] / [SEP])."""
    enc = tokenizer("a", add_special_tokens=True)
    seq = enc.sequence_ids(0) if hasattr(enc, "sequence_ids") else enc.encodings[0].sequence_ids
    ids = enc["input_ids"]
    content = [i for i, s in enumerate(seq) if s is not None]
    return ids[: content[0]], ids[content[-1] + 1 :]


def encode(
    examples: Sequence[Any],
    tokenizer,
    spec: TaskSpec,
    info: ModelInfo,
    length: int,
    *,
    stride: int | None = None,
    with_labels: bool = True,
) -> EncodedSplit:
    """Encode with the task type's encoder (:meth:`benchmark.task_types.TaskType.encode`)."""
    return task_types.get(spec.task_type).encode(
        examples, tokenizer, spec, info, length, stride=stride, with_labels=with_labels
    )


# Names of the per-type encoders before they moved into benchmark.task_types; each dispatches on spec.task_type.
encode_classification = encode_tokens = encode_qa = encode


# ------------------------------------------------------------------------------------------------------ collation
class Collator:
    """Pads a list of :class:`Feature` into tensors; also the ``data_collator`` of the Trainer.

    ``pad_to`` pads every batch to exactly that length (Nyströmformer; the timing protocol's buckets).
    ``additive_mask`` passes the padding mask as an additive ``(batch, 1, 1, length)`` float tensor:
    Nyströmformer with landmarks in transformers 5 breaks on the 4-D mask it builds itself from a 2-D one
    (its landmark scores are ``landmarks x length``, not ``length x length``).
    """

    def __init__(
        self,
        pad_token_id: int,
        *,
        task_type: str = "classification",
        pad_to: int | None = None,
        additive_mask: bool = False,
    ):
        self.pad_token_id = pad_token_id
        self.task_type = task_type
        self.pad_to = pad_to
        self.additive_mask = additive_mask

    @classmethod
    def for_model(cls, pad_token_id: int, info: ModelInfo, task_type: str) -> Collator:
        """The collator ``info``'s architecture needs (fixed length and additive mask for Nyströmformer)."""
        return cls(
            pad_token_id,
            task_type=task_type,
            pad_to=info.fixed_length,
            additive_mask=info.fixed_length is not None,
        )

    def __call__(self, features: Sequence[Feature], *, with_labels: bool = True) -> dict[str, torch.Tensor]:
        width = max(self.pad_to or 0, max(len(f) for f in features))
        n = len(features)
        ids = torch.full((n, width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((n, width), dtype=torch.long)
        batch: dict[str, torch.Tensor] = {"input_ids": ids, "attention_mask": mask}
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
        if with_labels and all(f.label is not None for f in features):
            batch.update(task_types.get(self.task_type).collate_labels(features, width))
        if self.additive_mask:
            keep = mask[:, None, None, :].float()
            batch["attention_mask"] = (1.0 - keep) * torch.finfo(torch.float32).min
        return batch


__all__ = [
    "IGNORE",
    "MAX_QUESTION_TOKENS",
    "YES_NO_PREFIX",
    "Collator",
    "EncodedSplit",
    "Feature",
    "WordWindow",
    "default_stride",
    "encode",
    "encode_classification",
    "encode_qa",
    "encode_tokens",
    "input_length",
    "recover_answer",
    "special_frame",
    "uses_yes_no",
]
