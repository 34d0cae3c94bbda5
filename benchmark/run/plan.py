"""``benchmark run --model baseline:NAME --dry-run``: the plan of a registry model, resolved without downloading
anything.

From the registry entry (the ``baseline:`` plug-in of :mod:`benchmark.model.model_source`: Hub id, pinned revision,
tokenizer, ``model_type``, layers, parameters, positions, remote code), the architecture table (:mod:`benchmark.core.architectures`: positions, attention
path, pooling, unpadding) and transformers' head mappings (:mod:`benchmark.model.heads`: its own head or the generic one)
it prints, per task, the head that would run, the input length and the budget. The calibrated estimate of the
ordinary dry run (:mod:`benchmark.run.dryrun`) needs the weights and the data: it follows when the Hub can be reached,
and is skipped with one line when ``HF_HUB_OFFLINE`` is set.

The attention path is the one of transformers' default config of the ``model_type`` (for ModernBERT: a 128-token
window, every third layer global, as ModernBERT-base, the Ettin encoders and mmBERT have); the checkpoint's own
config decides when it runs, and the result records what ran.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..core import architectures
from ..core.task_spec import TaskSpec
from .config import RunConfig


def hub_offline() -> bool:
    """Whether the Hub may not be contacted (``HF_HUB_OFFLINE``)."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _default_config(model_type: str) -> Any | None:
    from transformers import AutoConfig

    try:
        return AutoConfig.for_model(model_type)
    except (ValueError, KeyError):
        return None  # remote code ("new"): its config class is in its repository


def _head(entry: Any, task_type: str, trust_remote_code: bool) -> str:
    from transformers.models.auto import modeling_auto

    from .. import task_types
    from ..model.heads import generic_class, head_kind

    impl = task_types.get(task_type)
    if entry.trust_remote_code:
        return "the repository's remote code" + ("" if trust_remote_code else " (needs --trust-remote-code)")
    kind = head_kind(entry.architecture, task_type)
    if kind == "transformers":
        return f"transformers {getattr(modeling_auto, impl.head_mapping)[entry.architecture]}"
    if kind == "generic":
        return f"generic {generic_class(entry.architecture, impl.head_suffix).__name__}"
    return "none: the task is refused"


def _architecture_line(entry: Any) -> str:
    arch = architectures.get(entry.architecture)
    config = _default_config(entry.architecture)
    parts = ["rotary positions, no offset" if arch.rotary else f"position offset {arch.position_offset}"]
    if config is not None:
        limit = architectures.full_attention_limit(config)
        long = architectures.attention_path(config, entry.max_length)
        parts.append(
            f"attention {long}" + (f" (full up to {limit} tokens)" if limit and long != "full" else "")
        )
    else:
        parts.append("attention: as its remote code computes it")
    if arch.pooling:
        parts.append("classification pooling " + "/".join(value for _, value in arch.pooling))
    if arch.flash_unpads:
        parts.append("unpads under a flash-attention kernel")
    if arch.native_over_remote:
        parts.append("native transformers classes (the repository's auto_map is not run)")
    return ", ".join(parts)


def baseline_plan(model: str, specs: Sequence[TaskSpec], cfg: RunConfig) -> str:
    """The plan of ``baseline:NAME`` for ``specs``, from the registry alone (nothing is downloaded)."""
    from ..model.model_source import lookup

    entry = lookup("baseline:", model)
    params = f"{entry.parameters / 1e6:.1f}M parameters" if entry.parameters else "parameters unverified"
    pin = entry.revision or "main (no verified revision: the run records the commit it resolves)"
    lines = [
        f"{model}: {entry.hub_id}@{pin}; tokenizer {entry.tokenizer_from}; {entry.architecture}, "
        f"{entry.layers} layers, {params}, {entry.max_length:,} positions, license {entry.license or 'unverified'}",
        f"  architecture: {_architecture_line(entry)}",
    ]
    for spec in specs:
        budget = cfg.budget(spec.name)
        length = min(cfg.max_length or spec.max_length, entry.max_length)
        kinds = list(dict.fromkeys([sub.task_type for sub in spec.subtasks] or [spec.task_type]))
        heads = "; ".join(f"{kind}: {_head(entry, kind, cfg.trust_remote_code)}" for kind in kinds)
        pooling = ""
        if spec.classifier_pooling:
            from ..model.heads import head_kind

            config = _default_config(entry.architecture)
            value = config is not None and architectures.pooling_value(config, spec.classifier_pooling)
            generic = head_kind(entry.architecture, spec.task_type) == "generic"
            chosen = value or (generic and not entry.trust_remote_code)
            pooling = f", pooling {spec.classifier_pooling}" + (
                "" if chosen else " asked (its head pools its own fixed way)"
            )
        lines.append(
            f"  {spec.name}: {heads}; inputs of {length:,} tokens ({spec.context} context){pooling}; "
            f"budget epochs={budget.epochs:g} lr={budget.learning_rate:g} batch={budget.batch_size} "
            f"max_train={budget.max_train_examples or 'all'}"
        )
    return "\n".join(lines)
