"""What a result file records about the model that ran, and what preprocessing needs to know about it
(:class:`ModelInfo`). :func:`benchmark.model.modeling.load_model_for_task` fills it in from the model's config and
:mod:`benchmark.core.architectures`; the task types, the collator and the timing protocol read it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ModelInfo:
    """What a result file records about the model, and what preprocessing needs to know about it."""

    model_id: str
    revision: str  # Hub commit, or "sha256:<hex>" over a local directory's config and weight files
    model_type: str
    max_positions: int  # usable input length in tokens
    n_params: int
    needs_remote_code: bool
    global_attention: bool = False  # Longformer: needs a global_attention_mask
    fixed_length: int | None = None  # Nyströmformer: every input padded to exactly this length
    attention_type: str | None = None  # BigBird: configured attention ("block_sparse" / "original_full")
    model_class: str = ""  # the Python class that ran (its own class for remote code, e.g. LSGRobertaFor...)
    recipe: dict[str, Any] | None = (
        None  # how a local model was made (benchmark.model.recipe), e.g. its teacher
    )
    head: str | None = (
        None  # "transformers" (its own head class), "generic" (benchmark.model.heads), "remote_code"
    )
    pooling: str | None = None  # sequence tasks: how the head pools (config's classifier_pooling, else "cls")
    unpadded: bool | None = None  # the attention kernel unpads batches (flash-attention varlen)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
