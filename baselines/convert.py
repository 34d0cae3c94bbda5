"""Convert a full-attention BERT/RoBERTa checkpoint into a Longformer or BigBird one (the "convert" of
convert-then-distill).

What is copied, tensor for tensor:

- word, token-type and LayerNorm embeddings; every layer's attention Q/K/V and output projection, feed-forward and
  LayerNorms; the pooler when the source has one; the masked-LM head when the source has one (BERT-style
  ``cls.predictions`` and RoBERTa-style ``lm_head`` are mapped onto each other);
- Longformer's ``query_global``/``key_global``/``value_global`` projections are initialised from the local ones;
- position embeddings are extended to ``max_length`` by copying the source table over and over (as the Longformer
  and LED authors did).

Position offsets. RoBERTa and Longformer number positions from ``padding_idx + 1`` (rows ``0..padding_idx`` are
never used for real tokens); BERT and BigBird from 0. The conversion maps *token position* ``i`` of the source to
token position ``i`` of the target, so BERT -> Longformer is supported: target row ``pad + 1 + i`` gets source row
``i mod 512``; RoBERTa -> BigBird: target row ``i`` gets source row ``2 + (i mod 512)``; RoBERTa -> Longformer keeps
rows 0-1 and tiles the rest. With right padding (what every tokenizer here does) the positions coincide exactly,
which :func:`check_equivalence` verifies on inputs short enough for the efficient attention to see every token.

Every conversion writes ``conversion.json`` with the mapping and the measured equivalence.

A model that already has long context (ModernBERT, Longformer, BigBird, local or sparse attention in its config, or
at least 4,096 positions: :func:`long_context`) is refused in one line: there is nothing to convert, it can be
distilled as it is.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from baselines.errors import BaselinesError
from benchmark.core import architectures
from benchmark.logs import quiet_transformers
from benchmark.model.modeling import content_sha256

PathLike = str | os.PathLike[str]
TARGETS = ("longformer", "bigbird")
SOURCE_TYPES = ("bert", "roberta")
_TARGET_MODEL_TYPE = {"longformer": "longformer", "bigbird": "big_bird"}
# RoBERTa-style embeddings number positions from padding_idx + 1.

DEFAULT_CHECK_TEXTS: tuple[str, ...] = (
    "Marie Curie was a physicist and chemist who conducted pioneering research on radioactivity.",
    "The Longformer extends the context of a transformer encoder to thousands of tokens.",
    "In 1901 the city council of Springfield announced a new bridge over the river, which opened four years later "
    "after a long dispute between the engineers and the mayor about its cost and its design.",
    "Short one.",
    "Barack Obama visited Berlin, Paris and London before returning to Washington on Monday.",
)


# Model types whose attention already reaches long inputs without full attention.
LONG_CONTEXT_TYPES = {
    "modernbert": "ModernBERT: local and global attention layers",
    "longformer": "Longformer: sliding-window attention",
    "big_bird": "BigBird: block-sparse attention",
    "led": "LED: sliding-window attention",
    "reformer": "Reformer: LSH attention",
}
LONG_CONTEXT_POSITIONS = 4096


def long_context(config: dict[str, Any]) -> str | None:
    """Why a model (its ``config.json``) already has long context, or ``None``: a long-context ``model_type``
    (ModernBERT, Longformer, BigBird...), local/sparse attention in its config (``attention_window``,
    ``local_attention``, ``block_sparse``, sliding layers), or at least 4,096 positions."""
    model_type = config.get("model_type")
    if model_type in LONG_CONTEXT_TYPES:
        return LONG_CONTEXT_TYPES[model_type]
    if config.get("attention_type") == "block_sparse":
        return "block-sparse attention"
    for key in ("attention_window", "local_attention", "sliding_window", "global_attn_every_n_layers"):
        if config.get(key):
            return f"local attention: {key} {config[key]}"
    if any(kind != "full_attention" for kind in config.get("layer_types") or []):
        return "local attention layers (layer_types)"
    positions = config.get("max_position_embeddings")
    if isinstance(positions, int) and not isinstance(positions, bool) and positions >= LONG_CONTEXT_POSITIONS:
        return f"{positions} position embeddings"
    return None


def _quiet_transformers() -> contextlib.AbstractContextManager[None]:
    """Silence transformers' load reports, warnings and progress bars (expected here: heads are absent on
    purpose)."""
    return quiet_transformers(progress_bars=False)


def _read_config(path: Path) -> dict[str, Any]:
    if not path.is_dir():
        raise BaselinesError(f"model directory not found: {path}")
    cfg_file = path / "config.json"
    if not cfg_file.is_file():
        raise BaselinesError(f"{path} has no config.json: not a transformers model directory")
    from gonerd import untrusted

    # a regular file of at most 4 MiB; nesting, 5,000-digit numbers, lone surrogates refused
    cfg = untrusted.load_json(cfg_file, str(cfg_file), BaselinesError)
    if not isinstance(cfg, dict):
        raise BaselinesError(f"{cfg_file}: expected a JSON object")
    return cfg


def load_pretrained(loader: Any, path: PathLike, **kwargs: Any) -> Any:
    """``loader(path, **kwargs)`` (a ``from_pretrained``), with damaged or truncated files as one line."""
    from safetensors import SafetensorError

    try:
        return loader(path, **kwargs)
    except (OSError, ValueError, RuntimeError, SafetensorError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BaselinesError(
            f"cannot load the model in {path} (truncated or damaged files?): {first}"
        ) from None


def refuse_overlap(source: Path, out: Path, source_flag: str) -> None:
    """Refuse an output folder that is the model read (also through a symlink or another spelling of the path),
    lies inside it, or holds it: writing or ``--overwrite`` there would destroy the source model.

    Raises:
        BaselinesError: one line naming both flags.
    """
    src, dst = source.resolve(), out.resolve()
    if dst == src or (out.exists() and source.exists() and os.path.samefile(out, source)):
        raise BaselinesError(
            f"--out {out} is the model directory given to {source_flag} ({source}): writing there would destroy "
            "the source model; choose another --out"
        )
    if dst.is_relative_to(src):
        raise BaselinesError(
            f"--out {out} lies inside the model directory given to {source_flag} ({source}); choose an --out "
            "outside it"
        )
    if src.is_relative_to(dst):
        raise BaselinesError(
            f"--out {out} holds the model directory given to {source_flag} ({source}): --overwrite would delete "
            "it; choose another --out"
        )


def check_out_dir(out: Path, overwrite: bool) -> None:
    """Refuse a non-empty output directory unless ``overwrite`` (raises :class:`BaselinesError`)."""
    if out.exists() and not out.is_dir():
        raise BaselinesError(f"output path {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise BaselinesError(
            f"output directory {out} is not empty; pass overwrite=True (--overwrite) to replace it"
        )


def extend_position_embeddings(
    weight: torch.Tensor, *, source_offset: int, target_offset: int, max_length: int
) -> tuple[torch.Tensor, dict[str, int]]:
    """Tile the usable rows of a position table to ``max_length`` positions.

    Args:
        weight: Source table ``(rows, hidden)``.
        source_offset: First row used by a real token in the source (``padding_idx + 1`` for RoBERTa, else 0).
        target_offset: Same for the target.
        max_length: Usable positions of the target.

    Returns:
        The target table of ``target_offset + max_length`` rows and a summary for ``conversion.json``.
        Rows below ``target_offset`` are copied from the source's own offset rows where it has them (RoBERTa ->
        Longformer keeps rows 0-1), else from source row 0 (they are only used by padding, which is masked).
    """
    usable = weight[source_offset:]
    n_src = usable.shape[0]
    if n_src < 1:
        raise BaselinesError("source position table has no usable rows")
    new = weight.new_empty((target_offset + max_length, weight.shape[1]))
    for row in range(target_offset):
        new[row] = weight[row] if row < source_offset else weight[0]
    for start in range(0, max_length, n_src):
        stop = min(start + n_src, max_length)
        new[target_offset + start : target_offset + stop] = usable[: stop - start]
    summary = {
        "source_rows": int(weight.shape[0]),
        "source_offset": source_offset,
        "target_rows": int(new.shape[0]),
        "target_offset": target_offset,
        "copies": -(-max_length // n_src),
    }
    return new, summary


def _target_config(
    src: Any, to: str, max_length: int, attention_window: int, block_size: int, rnd: int
) -> Any:
    from transformers import BigBirdConfig, LongformerConfig

    common = dict(
        vocab_size=src.vocab_size,
        hidden_size=src.hidden_size,
        num_hidden_layers=src.num_hidden_layers,
        num_attention_heads=src.num_attention_heads,
        intermediate_size=src.intermediate_size,
        hidden_act=src.hidden_act,
        hidden_dropout_prob=src.hidden_dropout_prob,
        attention_probs_dropout_prob=src.attention_probs_dropout_prob,
        type_vocab_size=src.type_vocab_size,
        initializer_range=src.initializer_range,
        layer_norm_eps=src.layer_norm_eps,
        pad_token_id=src.pad_token_id,
        bos_token_id=getattr(src, "bos_token_id", None),
        eos_token_id=getattr(src, "eos_token_id", None),
    )
    if to == "longformer":
        return LongformerConfig(
            **common,
            attention_window=[attention_window] * src.num_hidden_layers,
            max_position_embeddings=max_length + src.pad_token_id + 1,
            sep_token_id=getattr(src, "sep_token_id", None) or getattr(src, "eos_token_id", None) or 2,
        )
    return BigBirdConfig(
        **common,
        attention_type="block_sparse",
        block_size=block_size,
        num_random_blocks=rnd,
        max_position_embeddings=max_length,
        rescale_embeddings=False,
        use_bias=True,
    )


_BERT_HEAD = {
    "cls.predictions.transform.dense.weight": "dense.weight",
    "cls.predictions.transform.dense.bias": "dense.bias",
    "cls.predictions.transform.LayerNorm.weight": "layer_norm.weight",
    "cls.predictions.transform.LayerNorm.bias": "layer_norm.bias",
    "cls.predictions.decoder.weight": "decoder.weight",
    "cls.predictions.decoder.bias": "decoder.bias",
    "cls.predictions.bias": "bias",
}
_ROBERTA_HEAD = {f"lm_head.{v}": v for v in _BERT_HEAD.values()}


def _head_to_canonical(state: dict[str, torch.Tensor], bert_style: bool) -> dict[str, torch.Tensor]:
    table = _BERT_HEAD if bert_style else _ROBERTA_HEAD
    return {canon: state[key] for key, canon in table.items() if key in state}


def _map_base(
    src_base: dict[str, torch.Tensor], tgt_base: dict[str, torch.Tensor], to: str, positions: torch.Tensor
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Target base-model state dict from the source one; returns it and the target keys left as initialised."""
    out: dict[str, torch.Tensor] = {}
    missing: list[str] = []
    for key, tensor in tgt_base.items():
        if key.endswith(("position_ids", "token_type_ids")) and key.startswith("embeddings."):
            continue  # buffers
        if key == "embeddings.position_embeddings.weight":
            out[key] = positions
            continue
        src_key = key
        for kind in ("query", "key", "value"):
            src_key = src_key.replace(f".attention.self.{kind}_global.", f".attention.self.{kind}.")
        if key.startswith("pooler.") and not key.startswith("pooler.dense."):
            src_key = key.replace("pooler.", "pooler.dense.")  # BigBird's pooler is a bare Linear
        if src_key in src_base and src_base[src_key].shape == tensor.shape:
            out[key] = src_base[src_key].detach().clone()
        else:
            missing.append(key)
    return out, missing


def convert(
    source: PathLike,
    to: str,
    max_length: int = 4096,
    out: PathLike | None = None,
    *,
    attention_window: int = 512,
    block_size: int = 64,
    num_random_blocks: int = 3,
    overwrite: bool = False,
    check_texts: Sequence[str] | None = None,
    atol: float = 1e-4,
) -> Path:
    """Convert a BERT- or RoBERTa-style model directory into a Longformer or BigBird one.

    Args:
        source: Directory of a ``bert`` or ``roberta`` checkpoint (with or without a masked-LM head) and its
            tokenizer.
        to: ``"longformer"`` or ``"bigbird"``.
        max_length: Tokens the converted model accepts (position table extended by tiling).
        out: Output directory (required). Written only when everything succeeded.
        attention_window: Longformer local attention window (even; every layer).
        block_size: BigBird block size.
        num_random_blocks: BigBird random blocks per query block.
        overwrite: Replace a non-empty ``out``.
        check_texts: Texts for the equivalence check (default: :data:`DEFAULT_CHECK_TEXTS`).
        atol: Tolerance of the equivalence check recorded in ``conversion.json``.

    Returns:
        ``out`` as a :class:`~pathlib.Path`; it holds the model, the tokenizer (``model_max_length = max_length``)
        and ``conversion.json``.

    Raises:
        BaselinesError: unsupported target or source ``model_type``, relative position embeddings, bad sizes, or a
            non-empty ``out`` without ``overwrite`` -- all detected before any weight is loaded.
    """
    if to not in TARGETS:
        raise BaselinesError(f"unsupported conversion target {to!r}; expected one of: {', '.join(TARGETS)}")
    if out is None:
        raise BaselinesError("convert() needs an output directory (out=...)")
    src_path, out_path = Path(source), Path(out)
    raw_cfg = _read_config(src_path)
    model_type = raw_cfg.get("model_type")
    already = long_context(raw_cfg)
    if already:
        raise BaselinesError(
            f"{src_path} already has long context ({already}): nothing to convert; distil it as it is "
            f"(baselines distill --teacher {src_path} ...)"
        )
    if model_type not in SOURCE_TYPES:
        raise BaselinesError(
            f"cannot convert a {model_type!r} model ({src_path}); supported sources: {', '.join(SOURCE_TYPES)} "
            "(full-attention BERT/RoBERTa-style encoders)"
        )
    if raw_cfg.get("position_embedding_type", "absolute") != "absolute":
        raise BaselinesError(
            f"{src_path}: position_embedding_type {raw_cfg['position_embedding_type']!r} is not supported "
            "(only absolute position embeddings can be tiled)"
        )
    if max_length < 1:
        raise BaselinesError(f"max_length must be positive, got {max_length}")
    if to == "longformer" and (attention_window < 2 or attention_window % 2):
        raise BaselinesError(f"attention_window must be an even number >= 2, got {attention_window}")
    if to == "bigbird" and (block_size < 1 or num_random_blocks < 0):
        raise BaselinesError("block_size must be >= 1 and num_random_blocks >= 0")
    if to == "bigbird" and max_length % block_size:
        raise BaselinesError(
            f"max_length ({max_length}) must be a multiple of block_size ({block_size}) for BigBird"
        )
    if not isinstance(raw_cfg.get("pad_token_id"), int) or isinstance(raw_cfg["pad_token_id"], bool):
        raise BaselinesError(f"{src_path}/config.json has no integer pad_token_id")
    src_positions = raw_cfg.get("max_position_embeddings")
    if isinstance(src_positions, int):
        src_positions -= raw_cfg["pad_token_id"] + 1 if _offset_style(model_type) else 0
        if max_length < src_positions:
            raise BaselinesError(
                f"--max-length {max_length} is below the {src_positions} positions of {src_path}: a conversion "
                f"extends the position table, it never cuts it (use at least {src_positions})"
            )
    refuse_overlap(src_path, out_path, "--from")
    check_out_dir(out_path, overwrite)

    from transformers import (
        AutoModel,
        AutoModelForMaskedLM,
        AutoTokenizer,
        BigBirdForMaskedLM,
        LongformerForMaskedLM,
    )

    with _quiet_transformers():
        try:
            tokenizer = AutoTokenizer.from_pretrained(src_path)
        except (OSError, ValueError) as exc:
            raise BaselinesError(
                f"cannot load the tokenizer of {src_path}: {str(exc).splitlines()[0]}"
            ) from None
        # The bare encoder (with its pooler, which *ForMaskedLM drops) ...
        src_base = load_pretrained(AutoModel.from_pretrained, src_path)
        # ... and the masked-LM head, if the checkpoint has one (missing head keys = no head).
        source_model, info = load_pretrained(
            AutoModelForMaskedLM.from_pretrained, src_path, output_loading_info=True
        )
    src_cfg = src_base.config
    head_prefix = "cls." if model_type == "bert" else "lm_head."
    has_head = not any(k.startswith(head_prefix) for k in info.get("missing_keys", []))
    src_base_sd = src_base.state_dict()

    tgt_cfg = _target_config(src_cfg, to, max_length, attention_window, block_size, num_random_blocks)
    tgt_type = _TARGET_MODEL_TYPE[to]
    src_offset = src_cfg.pad_token_id + 1 if _offset_style(model_type) else 0
    tgt_offset = tgt_cfg.pad_token_id + 1 if _offset_style(tgt_type) else 0
    positions, pos_summary = extend_position_embeddings(
        src_base_sd["embeddings.position_embeddings.weight"],
        source_offset=src_offset,
        target_offset=tgt_offset,
        max_length=max_length,
    )
    if has_head:
        target = (LongformerForMaskedLM if to == "longformer" else BigBirdForMaskedLM)(tgt_cfg)
    else:
        from transformers import BigBirdModel, LongformerModel

        target = (LongformerModel if to == "longformer" else BigBirdModel)(tgt_cfg)
    base_sd, not_copied = _map_base(src_base_sd, target.base_model.state_dict(), to, positions)
    target.base_model.load_state_dict(base_sd, strict=False)
    if has_head:
        head = _head_to_canonical(source_model.state_dict(), bert_style=model_type == "bert")
        if to == "longformer":
            target.lm_head.load_state_dict(head, strict=False)
        else:
            to_bert = {canon: key for key, canon in _BERT_HEAD.items()}
            target.load_state_dict({to_bert[c]: t for c, t in head.items()}, strict=False)
        target.tie_weights()
    target.eval()

    out_path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_path.name}.", dir=out_path.parent))
    try:
        target.save_pretrained(staging)
        tokenizer.model_max_length = max_length
        tokenizer.save_pretrained(staging)
        equivalence = check_equivalence(src_path, staging, check_texts or DEFAULT_CHECK_TEXTS, atol=atol)
        record = {
            "source": str(src_path.resolve()),
            "source_revision": content_sha256(src_path),  # the revision a result records for that model
            "source_model_type": model_type,
            "target": to,
            "target_model_type": tgt_type,
            "max_length": max_length,
            "attention": (
                {"attention_window": attention_window}
                if to == "longformer"
                else {"block_size": block_size, "num_random_blocks": num_random_blocks}
            ),
            "position_embeddings": pos_summary,
            "masked_lm_head": "copied" if has_head else "absent in source (saved the bare encoder)",
            "global_attention_projections": "initialised from local Q/K/V" if to == "longformer" else None,
            "left_initialised": not_copied,
            "equivalence": equivalence,
        }
        (staging / "conversion.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        if out_path.exists():
            shutil.rmtree(out_path)
        staging.rename(out_path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if not equivalence["passed"]:
        logging.getLogger(__name__).warning(
            "converted model differs from the source by %.3g (> atol %.3g) on short inputs",
            equivalence["max_abs_diff"],
            atol,
        )
    return out_path


def _full_attention_limit(config: Any, source_limit: int) -> int:
    """Longest input on which the converted model still lets every token see every other token."""
    limit = architectures.full_attention_limit(config)
    return source_limit if limit is None else min(limit, source_limit)


def _offset_style(model_type: str) -> bool:
    """Whether positions start at ``padding_idx + 1`` (RoBERTa-style) for this ``model_type``."""
    return architectures.get(model_type).position_offset > 0


def check_equivalence(
    source: PathLike, converted: PathLike, texts: Sequence[str], atol: float = 1e-4
) -> dict[str, Any]:
    """Compare the last hidden states of ``source`` and ``converted`` on ``texts``.

    Inputs are truncated to the longest length on which the converted model still attends to every token
    (Longformer: half the attention window; BigBird: ``(5 + 2 * num_random_blocks) * block_size``, below which
    transformers falls back to full attention), padded to the longest text; padded positions are excluded.

    Returns:
        ``{"max_abs_diff", "atol", "passed", "num_texts", "max_tokens", "token_limit"}``.
    """
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    if not texts:
        raise BaselinesError("check_equivalence needs at least one text")
    with _quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(source)
        src_model = AutoModel.from_pretrained(source).eval()
        conv_cfg = AutoConfig.from_pretrained(converted)
        conv_model = AutoModel.from_pretrained(converted).eval()
        src_cfg = src_model.config
        src_limit = src_cfg.max_position_embeddings - (
            src_cfg.pad_token_id + 1 if _offset_style(src_cfg.model_type) else 0
        )
        limit = _full_attention_limit(conv_cfg, src_limit)
        enc = tokenizer(list(texts), padding=True, truncation=True, max_length=limit, return_tensors="pt")
        inputs = {k: v for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
        with torch.no_grad():
            a = src_model(**inputs).last_hidden_state
            b = conv_model(**inputs).last_hidden_state
    mask = enc["attention_mask"].bool()
    diff = float((a[mask] - b[mask]).abs().max())
    return {
        "max_abs_diff": diff,
        "atol": atol,
        "passed": diff <= atol,
        "num_texts": len(texts),
        "max_tokens": int(enc["input_ids"].shape[1]),
        "token_limit": limit,
    }
