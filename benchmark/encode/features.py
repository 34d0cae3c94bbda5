"""Model inputs: encoding a split into windowed features, their padding into batches, and the usable input length.

The usable length is ``L = min(spec.max_length, model max positions)`` (:func:`input_length`). How each task
type tokenises its examples into :class:`~benchmark.core.encoded.Feature` windows (and collates their labels) lives in
:mod:`benchmark.task_types`; :func:`encode` and :class:`Collator` call it.

Every encoder returns an :class:`~benchmark.core.encoded.EncodedSplit` whose ``stats`` (examples, windows, truncated
examples) go into the result file. The plain encoded-data classes live in :mod:`benchmark.core.encoded` (below the
task types, which produce them); they are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .. import task_types
from ..core.encoded import EncodedSplit, Feature, default_stride, special_frame
from ..core.record import Model
from ..core.task_spec import TaskSpec
from ..errors import BenchmarkError
from ..task_types.base import IGNORE, pad_offset
from ..task_types.qa import MAX_QUESTION_TOKENS, YES_NO_PREFIX, recover_answer, uses_yes_no
from ..task_types.windowing import WordWindow


def input_length(spec: TaskSpec, info: Model, max_length: int | None = None) -> int:
    """``L = min(spec.max_length (or --max-length), model's usable positions)``."""
    return min(max_length or spec.max_length, info.max_positions)


def encode(
    examples: Sequence[Any],
    tokenizer,
    spec: TaskSpec,
    info: Model,
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

    ``input_ids``, ``attention_mask`` and ``token_type_ids`` are padded by the tokenizer itself
    (``tokenizer.pad``: its pad token, pad token type and ``padding_side``); the Collator adds what the tokenizer
    does not know about, on the same side: Longformer's ``global_attention_mask``, the task type's labels
    (:meth:`~benchmark.task_types.TaskType.collate_labels`) and the additive mask.
    ``pad_to`` pads every batch to exactly that length (Nyströmformer; the timing protocol's buckets).
    ``additive_mask`` passes the padding mask as an additive ``(batch, 1, 1, length)`` float tensor:
    Nyströmformer with landmarks in transformers 5 breaks on the 4-D mask it builds itself from a 2-D one
    (its landmark scores are ``landmarks x length``, not ``length x length``).
    """

    def __init__(
        self,
        tokenizer: Any,
        *,
        task_type: str = "classification",
        pad_to: int | None = None,
        additive_mask: bool = False,
    ):
        if tokenizer.pad_token_id is None:
            raise BenchmarkError(
                f"tokenizer {getattr(tokenizer, 'name_or_path', '') or type(tokenizer).__name__} has no padding "
                "token: give it one (pad_token) before batching"
            )
        self.tokenizer = tokenizer
        self.task_type = task_type
        self.pad_to = pad_to
        self.additive_mask = additive_mask

    @property
    def pad_token_id(self) -> int:
        return self.tokenizer.pad_token_id

    @property
    def padding_side(self) -> str:
        """The tokenizer's padding side ("right" or "left"): labels and the global mask follow it."""
        return self.tokenizer.padding_side

    @classmethod
    def for_model(cls, tokenizer: Any, info: Model, task_type: str) -> Collator:
        """The collator ``info``'s architecture needs (fixed length and additive mask for Nyströmformer)."""
        return cls(
            tokenizer,
            task_type=task_type,
            pad_to=info.fixed_length,
            additive_mask=info.fixed_length is not None,
        )

    def __call__(self, features: Sequence[Feature], *, with_labels: bool = True) -> dict[str, torch.Tensor]:
        """The batch of ``features`` as their task type collates it
        (:meth:`~benchmark.task_types.TaskType.collate`; by default :meth:`pad`)."""
        return task_types.get(self.task_type).collate(self, features, with_labels=with_labels)

    def pad(self, features: Sequence[Feature], *, with_labels: bool = True) -> dict[str, torch.Tensor]:
        """One sequence per feature, padded into ``[batch, width]`` tensors (plus the type's labels)."""
        width = max(self.pad_to or 0, max(len(f) for f in features))
        side = self.padding_side
        inputs = {"input_ids": [f.input_ids for f in features]}
        if features[0].token_type_ids is not None:
            inputs["token_type_ids"] = [f.token_type_ids for f in features]
        # the padding mask always: a padded batch without one attends to the padding
        padded = self.tokenizer.pad(
            inputs, padding="max_length", max_length=width, return_attention_mask=True, return_tensors="pt"
        )
        batch: dict[str, torch.Tensor] = dict(padded)
        if features[0].global_positions:
            glob = torch.zeros((len(features), width), dtype=torch.long)
            for r, f in enumerate(features):
                first = pad_offset(len(f), width, side)
                glob[r, [first + p for p in f.global_positions]] = 1
            batch["global_attention_mask"] = glob
        if with_labels and all(f.label is not None for f in features):
            batch.update(task_types.get(self.task_type).collate_labels(features, width, padding_side=side))
        if self.additive_mask:
            keep = batch["attention_mask"][:, None, None, :].float()
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
