"""Encoded model inputs, before batching: a :class:`Feature` (one window of an example, with its target) and the
:class:`EncodedSplit` of a split (its features and the counts a result file records), plus the window stride and
the tokenizer's special-token frame every task type's encoder uses.

The task types (:mod:`benchmark.task_types`) produce these; :mod:`benchmark.encode.features` batches them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
