"""What each encoder architecture needs from the harness, in one place: one :class:`Architecture` entry per
``model_type``. ``benchmark run`` (:mod:`benchmark.model.modeling`, :mod:`benchmark.encode.features` through ``Model``),
the timing protocol and ``benchmark speed`` (:mod:`benchmark.timing.protocol`), the execution options
(:mod:`benchmark.model.precision`) and ``baselines convert`` / ``baselines distill`` read it through the functions below.
Adding an architecture is one entry in :data:`ARCHITECTURES` (or :data:`OVERLAYS` for remote-code attention).

The quirks recorded here (transformers 5.23):

- **RoBERTa-style position ids** (RoBERTa, XLM-R, CamemBERT, Longformer, Nyströmformer) start at
  ``padding_idx + 1``: two fewer usable positions than ``max_position_embeddings``.
- **Longformer** needs a ``global_attention_mask`` (CLS; CLS and the question tokens for QA) and pads every input
  itself to a multiple of its (largest) ``attention_window``; every token sees every other only up to half the
  (smallest) window.
- **BigBird** (``block_sparse``) pads to a multiple of ``block_size`` and silently switches to full attention for
  inputs of at most ``(5 + 2 * num_random_blocks) * block_size`` tokens, and *stays* switched (transformers
  #20031): the switch is undone before each forward (:func:`reset_sticky_attention`).
- **Nyströmformer** with landmarks (``num_landmarks != segment_means_seq_len``) only runs on inputs of exactly
  ``segment_means_seq_len`` tokens (caller-padded; training batches are padded to a multiple of
  ``num_landmarks``); with as many landmarks as segment positions it is full attention at any length.
- **LSG** (remote code, ``model_type`` of its base, e.g. ``roberta``) is recognised by its ``sparsity_type``; only
  its attention description differs from its base (:data:`OVERLAYS`).
- Architectures with their own attention code (Longformer, BigBird, Nyströmformer, Reformer) have no
  ``attn_implementation`` choice and are not ``torch.compile``-d.
- **ModernBERT** (and the encoders trained with its recipe: Ettin, mmBERT) alternates local and global layers
  (``config.layer_types``; the Hub configs' ``global_attn_every_n_layers: 3`` becomes a global layer, then two
  local ones): a local layer lets a token see ``local_attention // 2`` tokens on either side (128 -> 64), so up to
  ``local_attention // 2 + 1`` tokens every layer is full attention. Its sequence-classification head pools by
  ``classifier_pooling`` (``cls`` or ``mean``); a task may ask for ``mean`` (``classifier_pooling:`` in its YAML).
  Positions are rotary (no table offset: ``max_position_embeddings`` tokens, 8,192). transformers 5.23 runs it on
  padded batches with masks; only a flash-attention kernel unpads (varlen), recorded as ``unpadded``.
- **EuroBERT** (Llama-style, full attention, RoPE) pools by ``classifier_pooling`` too (``bos``, ``mean`` or
  ``late``); its Hub repositories ship remote code (``auto_map``) that is the file transformers generates from its
  own ``modular_eurobert.py``, so the native classes are loaded instead (``native_over_remote``).
- **GTE** (``gte``: BERT with RoPE and a GLU feed-forward, 8,192 positions) and **NomicBERT** have no
  question-answering head in transformers; EuroBERT neither. Those run QA through the harness's generic span head
  over ``AutoModel`` (:mod:`benchmark.model.heads`; ``generic_heads``). The Hub's GTE-en-MLM checkpoints are
  ``model_type: new`` with remote code (Alibaba-NLP/new-impl): not this entry (see the registry).

Attention paths have one vocabulary, :func:`attention_path`, written by result files (``benchmark run``) and by
``speed.json`` (``benchmark speed``) alike: ``full``, ``block_sparse`` and ``original_full`` (BigBird's full
attention: configured, or its fallback on short inputs; transformers' own name), ``sliding_window+global``
(Longformer), ``nystrom``, ``lsh+local`` (Reformer), ``local+sparse (LSG <sparsity type>)``. Releases before it
wrote ``full (BigBird fallback at <= N tokens)`` and ``full`` for BigBird in ``speed.json``, and ``full`` for
Reformer in result files: :func:`canonical_attention_path` reads those spellings as today's names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the leaderboard reads the vocabulary without torch
    import torch


def _none(config: Any) -> int | None:
    return None


def _none_at(config: Any, seq_len: int) -> int | None:
    return None


def _full(config: Any, seq_len: int) -> str:
    return "full"


@dataclass(frozen=True)
class Architecture:
    """One architecture's quirks. Callables take a transformers config (``fixed_length(config)``...).

    ``position_offset``: positions lost to the ``padding_idx + 1`` offset of the position ids (RoBERTa's pad 1).
    ``positions_after_pad``: the ids start after ``config.pad_token_id`` (RoBERTa's embeddings), so the offset is
    ``pad_token_id + 1``: 2 with RoBERTa's vocabulary, 1 for a model converted from BERT's (pad 0).
    ``prefix_space``: the tokenizer is byte-level BPE and needs ``add_prefix_space=True`` for pre-split words.
    ``global_attention``: needs a ``global_attention_mask`` (set on CLS, and on the question for QA).
    ``own_attention``: its attention is its own code: no ``attn_implementation`` choice, not compiled.
    ``sticky_attention_type``: a short input switches the model to full attention for good; undo before a forward.
    ``pad_multiple``: the model pads an input of a length itself to a multiple of this (``None``: it does not pad
    it; BigBird pads only when it runs block-sparse attention, not in its full-attention fallback).
    ``full_attention_limit``: longest input on which every token still attends to every other token (``None``:
    any length).
    ``fixed_length``: every input must be exactly this long (the caller pads), ``None`` for any length.
    ``input_multiple``: training batches must be padded by the caller to a multiple of this.
    ``attention_path``: the attention computed at a length (the one vocabulary of result files and ``speed.json``).
    ``detect``: for an overlay (remote code under its base's ``model_type``), recognises its config.
    ``rotary``: positions are rotary (RoPE): no position table and no offset; the longest input is
    ``max_position_embeddings``.
    ``pooling``: the sequence-classification pooling a task may ask for (``cls``/``mean``) -> the value of the
    config's ``classifier_pooling`` that gives it; empty: the head's pooling is fixed (BERT's pooler: ``cls``).
    ``generic_heads``: a task type transformers has no head for runs through :mod:`benchmark.model.heads`.
    ``native_over_remote``: the Hub checkpoints' ``auto_map`` code is transformers' own class of this
    ``model_type`` (generated from the same modular file): load the native class, not the remote code.
    ``flash_unpads``: under a flash-attention kernel the model unpads the batch (variable-length attention).
    """

    model_type: str
    position_offset: int = 0
    positions_after_pad: bool = False
    prefix_space: bool = False
    global_attention: bool = False
    own_attention: bool = False
    sticky_attention_type: bool = False
    pad_multiple: Callable[[Any, int], int | None] = _none_at
    full_attention_limit: Callable[[Any], int | None] = _none
    fixed_length: Callable[[Any], int | None] = _none
    input_multiple: Callable[[Any], int | None] = _none
    attention_path: Callable[[Any, int], str] = _full
    detect: Callable[[Any], bool] | None = None
    rotary: bool = False
    pooling: tuple[tuple[str, str], ...] = ()
    generic_heads: bool = False
    native_over_remote: bool = False
    flash_unpads: bool = False


# --- Longformer ---------------------------------------------------------------------------------------------


def _windows(config: Any) -> list[int]:
    window = config.attention_window
    return [int(w) for w in window] if isinstance(window, (list, tuple)) else [int(window)]


# --- BigBird ------------------------------------------------------------------------------------------------


def bigbird_fallback_limit(config: Any) -> int:
    """BigBird computes full attention for inputs of at most this many tokens (transformers' fallback)."""
    return (5 + 2 * int(config.num_random_blocks)) * int(config.block_size)


def _block_sparse(config: Any) -> bool:
    return getattr(config, "attention_type", "block_sparse") == "block_sparse"


def _bigbird_path(config: Any, seq_len: int) -> str:
    configured = getattr(config, "attention_type", "block_sparse")
    if configured != "block_sparse":
        return configured
    return "block_sparse" if seq_len > bigbird_fallback_limit(config) else "original_full"


# --- Nyströmformer ------------------------------------------------------------------------------------------


def _nystrom_fixed_length(config: Any) -> int | None:
    if config.num_landmarks == config.segment_means_seq_len:
        return None
    return int(config.segment_means_seq_len)


def _nystrom_path(config: Any, seq_len: int) -> str:
    return "full" if _nystrom_fixed_length(config) is None else "nystrom"


# --- LSG (remote code) --------------------------------------------------------------------------------------


def _is_lsg(config: Any) -> bool:
    return str(getattr(config, "model_type", "") or "").startswith("lsg") or (
        getattr(config, "sparsity_type", None) is not None
    )


def _lsg_path(config: Any, seq_len: int) -> str:
    return f"local+sparse (LSG {getattr(config, 'sparsity_type', None) or 'none'})"


# --- ModernBERT (and Ettin, mmBERT) -----------------------------------------------------------------------


def modernbert_layer_pattern(config: Any) -> tuple[int, int]:
    """(local window in tokens, global-layer period) of a ModernBERT config: ``local_attention`` and the distance
    between its ``full_attention`` layers (0 when every layer is global or every layer local)."""
    types = list(getattr(config, "layer_types", None) or [])
    full = [i for i, t in enumerate(types) if t == "full_attention"]
    if len(full) == len(types) or not full:
        return int(getattr(config, "local_attention", 0) or 0), 0
    period = full[1] - full[0] if len(full) > 1 else len(types)
    return int(config.local_attention), period


def _modernbert_limit(config: Any) -> int | None:
    types = list(getattr(config, "layer_types", None) or [])
    if "sliding_attention" not in types:
        return None
    return int(config.local_attention) // 2 + 1  # a token sees local_attention // 2 on either side


def _modernbert_path(config: Any, seq_len: int) -> str:
    limit = _modernbert_limit(config)
    if limit is None or seq_len <= limit:
        return "full"
    window, period = modernbert_layer_pattern(config)
    if period == 0:
        return f"local (window {window})"
    return f"local+global (window {window}, every {_ordinal(period)} layer global)"


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


CLS_OR_MEAN = (("cls", "cls"), ("mean", "mean"))
MODERN = {"rotary": True, "generic_heads": True, "flash_unpads": True}

ROBERTA_STYLE = {"position_offset": 2, "positions_after_pad": True, "prefix_space": True}

ARCHITECTURES: dict[str, Architecture] = {
    entry.model_type: entry
    for entry in (
        Architecture("bert"),
        Architecture("distilbert"),
        Architecture("roberta", **ROBERTA_STYLE),
        Architecture("xlm-roberta", **ROBERTA_STYLE),
        Architecture("camembert", **ROBERTA_STYLE),
        Architecture(
            "longformer",
            **ROBERTA_STYLE,
            global_attention=True,
            own_attention=True,
            pad_multiple=lambda config, seq_len: max(_windows(config)),
            full_attention_limit=lambda config: min(_windows(config)) // 2,
            attention_path=lambda config, seq_len: "sliding_window+global",
        ),
        Architecture(
            "big_bird",
            own_attention=True,
            sticky_attention_type=True,
            pad_multiple=lambda config, seq_len: (
                int(config.block_size) if _bigbird_path(config, seq_len) == "block_sparse" else None
            ),
            full_attention_limit=bigbird_fallback_limit,
            attention_path=_bigbird_path,
        ),
        Architecture(
            "nystromformer",
            **{**ROBERTA_STYLE, "positions_after_pad": False},  # its ids start at a fixed 2
            own_attention=True,
            fixed_length=_nystrom_fixed_length,
            input_multiple=lambda config: getattr(config, "num_landmarks", None),
            attention_path=_nystrom_path,
        ),
        Architecture("reformer", own_attention=True, attention_path=lambda config, seq_len: "lsh+local"),
        Architecture(
            "modernbert",
            **MODERN,
            prefix_space=True,  # byte-level BPE (the OLMo tokenizer)
            pooling=CLS_OR_MEAN,
            full_attention_limit=_modernbert_limit,
            attention_path=_modernbert_path,
        ),
        Architecture(
            "eurobert", **MODERN, pooling=(("cls", "bos"), ("mean", "mean")), native_over_remote=True
        ),
        Architecture("gte", **MODERN),
        Architecture("nomic_bert", **MODERN),
        # Alibaba-NLP/new-impl remote code (GTE v1.5, GTE-en-MLM: config model_type "new"), run only with
        # --trust-remote-code; rotary positions. Its classes are the repository's, so no generic heads here.
        Architecture("new", rotary=True),
    )
}
# Remote-code attention living under its base's model_type: what such an entry sets replaces the base's.
OVERLAYS: tuple[Architecture, ...] = (Architecture("lsg", attention_path=_lsg_path, detect=_is_lsg),)
DEFAULT = Architecture("")
_OVERLAY_SKIP = {"model_type", "detect"}


def _config_of(model_or_config: Any) -> Any:
    return getattr(model_or_config, "config", model_or_config)


def get(model_type: str | None) -> Architecture:
    """The entry of a ``model_type`` (an empty entry, full attention and no quirks, for unknown ones)."""
    return ARCHITECTURES.get(str(model_type or ""), DEFAULT)


def of(model_or_config: Any) -> Architecture:
    """The entry for a model or its config: its ``model_type``'s, with a matching overlay's fields on top."""
    config = _config_of(model_or_config)
    entry = get(getattr(config, "model_type", ""))
    for overlay in OVERLAYS:
        if overlay.detect is not None and overlay.detect(config):
            changes = {
                f.name: getattr(overlay, f.name)
                for f in dataclasses.fields(Architecture)
                if f.name not in _OVERLAY_SKIP and getattr(overlay, f.name) != getattr(DEFAULT, f.name)
            }
            entry = dataclasses.replace(entry, **changes)
    return entry


def fixed_length(model_or_config: Any) -> int | None:
    """Length every input must have (Nyströmformer with landmarks), ``None`` when any length works."""
    config = _config_of(model_or_config)
    return of(config).fixed_length(config)


def position_offset(model_or_config: Any) -> int:
    """Positions of ``max_position_embeddings`` no input token can use (the padding-index offset of the ids)."""
    config = _config_of(model_or_config)
    entry = of(config)
    pad = getattr(config, "pad_token_id", None)
    if entry.positions_after_pad and isinstance(pad, int) and pad >= 0:
        return pad + 1
    return entry.position_offset


def max_input_length(model_or_config: Any) -> int:
    """Longest input the model takes, in tokens: ``max_position_embeddings`` (512 when unset) minus the position
    offset, capped at the fixed length of a model that has one."""
    config = _config_of(model_or_config)
    length = getattr(config, "max_position_embeddings", None) or 512
    length -= position_offset(config)
    fixed = fixed_length(config)
    if fixed is not None:
        length = min(length, fixed)
    return int(length)


def pad_multiple(model_or_config: Any, seq_len: int) -> int | None:
    """The multiple the model pads an input of ``seq_len`` tokens to itself (Longformer's largest window;
    BigBird's block when it runs block-sparse attention), else ``None``."""
    config = _config_of(model_or_config)
    return of(config).pad_multiple(config, seq_len)


def computed_length(model_or_config: Any, seq_len: int) -> int:
    """Positions a sequence of ``seq_len`` tokens (padding included) costs inside the model: ``seq_len`` rounded
    up to :func:`pad_multiple` (Longformer window 64: 100 -> 128)."""
    multiple = pad_multiple(model_or_config, seq_len)
    return -(-seq_len // multiple) * multiple if multiple else seq_len


def full_attention_limit(model_or_config: Any) -> int | None:
    """Longest input on which every token attends to every other token (``None``: any length)."""
    config = _config_of(model_or_config)
    return of(config).full_attention_limit(config)


def attention_path(model_or_config: Any, seq_len: int) -> str:
    """Attention computed for inputs of ``seq_len`` tokens: the name result files and ``speed.json`` record."""
    config = _config_of(model_or_config)
    return of(config).attention_path(config, seq_len)


def pooling_value(model_or_config: Any, wanted: str | None) -> str | None:
    """The ``classifier_pooling`` config value that makes the model's sequence-classification head pool as
    ``wanted`` (``cls`` / ``mean``), or None where the head's pooling cannot be chosen (or nothing is wanted)."""
    if wanted is None:
        return None
    return dict(of(_config_of(model_or_config)).pooling).get(wanted)


def pooling_of(model_or_config: Any) -> str:
    """How the model's sequence-classification head pools, in the config's own words (ModernBERT ``cls`` /
    ``mean``, EuroBERT ``bos`` / ``mean`` / ``late``); ``cls`` for heads over the first token (BERT's pooler)."""
    config = _config_of(model_or_config)
    value = getattr(config, "classifier_pooling", None)
    return str(value) if value else "cls"


def unpadded(model_or_config: Any) -> bool:
    """Whether the model unpads its batches (variable-length attention): a flash-attention kernel on an
    architecture whose attention goes through transformers' attention interface."""
    config = _config_of(model_or_config)
    impl = str(getattr(config, "_attn_implementation", None) or "")
    return of(config).flash_unpads and impl.startswith(("flash_attention", "kernels-community/flash"))


def canonical_attention_path(path: str, model_type: str | None) -> str:
    """``path`` as read from a file about a ``model_type`` model, in today's vocabulary: the spellings of earlier
    releases become today's names, anything else is returned unchanged."""
    if model_type == "big_bird" and (path == "full" or path.startswith("full (BigBird fallback")):
        return "original_full"  # speed.json: its fallback, and a BigBird configured with full attention
    if model_type == "reformer" and path == "full":
        return "lsh+local"  # result files
    return path


def reset_sticky_attention(model: torch.nn.Module, configured: str | None = None) -> bool:
    """Undo BigBird's sticky switch to full attention so the next forward runs as configured (``configured``, by
    default the config's ``attention_type``). True when something was reset."""
    config = _config_of(model)
    if not of(config).sticky_attention_type:
        return False
    configured = configured or getattr(config, "attention_type", None)
    base = getattr(model, getattr(model, "base_model_prefix", ""), model)
    if configured and getattr(base, "attention_type", configured) != configured:
        base.set_attention_type(configured)
        return True
    return False
