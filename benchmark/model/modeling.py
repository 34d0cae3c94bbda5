"""Loading any Hugging Face encoder with the right head for a task, after cheap checks that turn user mistakes
into one-line errors.

What differs between the supported architectures (position offset, Longformer's global attention, BigBird's
sticky fallback to full attention, Nyströmformer's fixed length...) is recorded once in
:mod:`benchmark.core.architectures`; here it becomes :class:`~benchmark.core.record.Model` (``global_attention``,
``fixed_length``, ``max_positions``, ``attention_type``), and :func:`restore_attention_type` applies it.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import torch

from .. import task_types
from ..core import architectures
from ..core.record import Model
from ..core.task_spec import TaskSpec
from ..errors import BenchmarkError
from .recipe import read_recipe

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".msgpack", ".h5")
# Files that hold a tokenizer's vocabulary (transformers 5 builds an empty tokenizer when none is there).
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model")


def num_labels_for(spec: TaskSpec) -> int:
    """Output size of the task's head: one per label, 1 for regression, 2 (start/end) for extractive QA."""
    return task_types.get(spec.task_type).num_labels(spec)


def _auto_class(task_type: str):
    """transformers' ``Auto`` class of the task type's head (remote code resolves through it)."""
    return task_types.get(task_type).auto_model_class()


def _head_supported(model_type: str, task_type: str) -> bool:
    """transformers' own head for the task type, or the harness's generic one (:mod:`benchmark.model.heads`)."""
    from .heads import head_kind

    return head_kind(model_type, task_type) is not None


def native_over_remote(model_type: Any) -> bool:
    """The Hub checkpoints of this ``model_type`` ship remote code that is transformers' own class (EuroBERT):
    the native class is loaded and ``auto_map`` ignored (:mod:`benchmark.core.architectures`)."""
    return architectures.get(str(model_type or "")).native_over_remote


def content_sha256(model_dir: Path) -> str:
    """sha256 over the names and bytes of a local model's config and weight files, sorted by name."""
    digest = hashlib.sha256()
    files = sorted(
        p
        for p in model_dir.iterdir()
        if p.is_file() and (p.name == "config.json" or p.suffix in WEIGHT_SUFFIXES)
    )
    for path in files:
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return "sha256:" + digest.hexdigest()


# Config fields that size tensors (minimum value): a zero or negative one fails deep inside torch otherwise.
SIZE_FIELDS = {
    "hidden_size": 1,
    "num_attention_heads": 1,
    "intermediate_size": 1,
    "vocab_size": 1,
    "max_position_embeddings": 1,
    "num_hidden_layers": 0,
}


def check_model_files(local: Path) -> None:
    """Every file of a local model folder is a regular file: a FIFO or device (as ``config.json``, a tokenizer or
    weight file) would block or never end the first read inside transformers."""
    from gonerd.untrusted import not_regular

    if not local.is_dir():
        return
    for path in sorted(local.iterdir()):
        why = not_regular(path)
        if why and why != "a folder":
            raise BenchmarkError(f"{path}: {why}, not a regular file; refused")


def check_config_sizes(config: Any, model_path: str) -> None:
    """One-line error for a config.json whose sizes cannot build a model (e.g. ``hidden_size: -5``)."""
    for name, least in SIZE_FIELDS.items():
        value = getattr(config, name, None)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            need = "a positive integer" if least else "an integer >= 0"
            raise BenchmarkError(f"{model_path}: config.json has {name}: {value!r}; it must be {need}")


def check_weights(model_path: str) -> None:
    """A local model's ``*.safetensors`` files are whole (header readable, data covering the file): a truncated
    download fails here, before anything runs, instead of inside ``from_pretrained``. Hub models are left to
    the Hub's own checks."""
    local = Path(model_path).expanduser()
    if not local.is_dir():
        return
    from safetensors import SafetensorError, safe_open

    for path in sorted(local.glob("*.safetensors")):
        try:
            with safe_open(str(path), framework="pt") as handle:
                handle.keys()
        except (SafetensorError, OSError) as exc:
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise BenchmarkError(
                f"{path}: not a complete safetensors file ({first}); download or save the model again"
            ) from None


def check_max_length(config: Any, max_length: int | None, model_path: str) -> None:
    """``--max-length`` above the positions the model has is refused (rather than silently clamped, which would
    record a run at another length than asked for)."""
    usable = architectures.max_input_length(config)
    if max_length is not None and max_length > usable:
        raise BenchmarkError(
            f"--max-length {max_length} is more than the {usable} tokens {model_path} takes; pass at most "
            f"{usable}, or leave it out (each task then uses min(its length, the model's))"
        )


def load_errors() -> tuple[type[BaseException], ...]:
    """What ``from_pretrained`` raises for broken or mismatched weight files (reported as one line)."""
    import pickle

    from safetensors import SafetensorError

    return (OSError, ValueError, KeyError, RuntimeError, EOFError, pickle.UnpicklingError, SafetensorError)


def _read_config(
    model_path: str, trust_remote_code: bool, revision: str | None = None
) -> tuple[Any, bool, str]:
    """(config, needs_remote_code, revision) with a one-line error for anything that is not a model.

    ``revision`` (a Hub branch, tag or commit) pins a Hub model; the returned revision is the commit the Hub
    resolved it to, or ``sha256:<hex>`` over a local directory's files."""
    from transformers import AutoConfig
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    local = Path(model_path).expanduser()
    if local.exists():
        if revision:
            raise BenchmarkError(
                f"--revision {revision} applies to Hub models; {model_path} is a local directory"
            )
        check_model_files(local)
        if not (local.is_dir() and (local / "config.json").is_file()):
            raise BenchmarkError(f"{model_path} is not a model: no config.json in it")
        from ..limits import load_json_file

        # size, depth, int digits capped: a hostile config.json is one line, not a RecursionError
        raw = load_json_file(local / "config.json")
        if not isinstance(raw, dict):
            raise BenchmarkError(f"{local / 'config.json'}: expected a JSON object")
        needs_remote = "auto_map" in raw and not native_over_remote(raw.get("model_type"))
        if needs_remote and not trust_remote_code:
            refuse_remote_code(model_path, raw.get("model_type"), raw["auto_map"])
        if raw.get("model_type") not in CONFIG_MAPPING_NAMES and not needs_remote:
            raise BenchmarkError(f"{model_path}: unknown model_type {raw.get('model_type')!r} in config.json")
        revision_hash = content_sha256(local)
        source = str(local)
    elif HUB_ID.match(model_path) and "/" in model_path:
        needs_remote = False  # known once the config is read
        revision_hash = ""
        source = model_path
    else:
        raise BenchmarkError(f"{model_path} is not a model: no such directory and not a Hub model id")
    pinned: Any = revision
    if not revision_hash:
        # One resolution of the branch or tag to its commit, so config, tokenizer and weights come from the same
        # commit and the result can record it (transformers 5 configs no longer carry ``_commit_hash``).
        from transformers.utils.hub import resolve_revision

        pinned = resolve_revision(source, revision)
        revision_hash = getattr(pinned, "resolved", None) or (
            pinned if isinstance(pinned, str) and _COMMIT.fullmatch(pinned) else ""
        )
    if local.exists() and native_over_remote(raw.get("model_type")):
        trust_remote_code = False  # the native class, not the repository's copy of it
    try:
        config = AutoConfig.from_pretrained(
            source, trust_remote_code=trust_remote_code, **_revision_kw(source, pinned)
        )
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        at = f" at revision {revision}" if revision else ""
        raise BenchmarkError(f"cannot load the model config of {model_path}{at}: {first}") from None
    if native_over_remote(config.model_type) and not type(config).__module__.startswith("transformers."):
        # --trust-remote-code on a Hub EuroBERT: read its config with transformers' own class instead
        config = AutoConfig.from_pretrained(source, trust_remote_code=False, **_revision_kw(source, pinned))
    check_config_sizes(config, model_path)
    auto_map = getattr(config, "auto_map", None)
    if auto_map and not needs_remote and not native_over_remote(getattr(config, "model_type", None)):
        if not trust_remote_code:
            refuse_remote_code(model_path, getattr(config, "model_type", None), auto_map)
        needs_remote = True
    return config, needs_remote, revision_hash or "unknown"


def refuse_remote_code(model_path: str, model_type: Any, auto_map: Any) -> None:
    """A config with ``auto_map`` ships its own modelling code (LSG does, with ``model_type`` "roberta"). Without
    ``trust_remote_code`` transformers silently loads its built-in class for a known ``model_type``, which would
    benchmark another model (plain RoBERTa for LSG), so it is refused here instead."""
    classes = sorted(
        {str(v).split(".")[-1] for v in (auto_map.values() if isinstance(auto_map, dict) else [])}
    )
    raise BenchmarkError(
        f"{model_path} ships its own modelling code ({', '.join(classes) or 'auto_map'}); without it "
        f"transformers would run the built-in {model_type!r} classes instead: pass --trust-remote-code if you "
        "trust that code"
    )


_COMMIT = re.compile(r"[0-9a-f]{40}")


def _revision_kw(source: str, revision: str | None) -> dict[str, str]:
    """``{"revision": ...}`` for a Hub id; nothing for a local directory (which has no revisions)."""
    if not revision or Path(source).expanduser().exists():
        return {}
    return {"revision": revision}


def load_tokenizer(
    model_path: str,
    *,
    tokenizer_from: str | None = None,
    trust_remote_code: bool = False,
    revision: str | None = None,
    **kw,
):
    """A fast tokenizer from ``tokenizer_from`` (if given) else from the model; one-line error if there is none.

    ``revision`` pins the Hub repository the tokenizer is read from (ignored for local directories)."""
    from transformers import AutoTokenizer

    source = tokenizer_from or model_path
    hint = "" if tokenizer_from else "; pass --tokenizer PATH to use another one"
    local = Path(source).expanduser()
    if tokenizer_from is not None and not local.exists() and not HUB_ID.match(tokenizer_from):
        raise BenchmarkError(f"--tokenizer {tokenizer_from}: no such directory and not a Hub id")
    if local.is_dir() and not any((local / name).is_file() for name in TOKENIZER_FILES):
        raise BenchmarkError(f"no usable tokenizer in {source} (none of {', '.join(TOKENIZER_FILES)}){hint}")
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            source, trust_remote_code=trust_remote_code, **_revision_kw(source, revision), **kw
        )
    except (OSError, ValueError, TypeError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise BenchmarkError(f"no usable tokenizer in {source} ({first}){hint}") from None
    if not getattr(tokenizer, "is_fast", False):
        raise BenchmarkError(f"the tokenizer of {source} is not a fast tokenizer (offsets are needed)")
    return tokenizer


def restore_attention_type(model: torch.nn.Module, info: Model) -> None:
    """Undo BigBird's sticky fallback to full attention so the next (longer) batch runs as configured."""
    if info.attention_type:
        architectures.reset_sticky_attention(model, info.attention_type)


def _check_eval_only_head(config: Any, spec: TaskSpec, model_path: str) -> None:
    architectures = list(getattr(config, "architectures", None) or [])
    impl = task_types.get(spec.task_type)
    if not any(a.endswith(impl.head_suffix) for a in architectures):
        raise BenchmarkError(
            f"--eval-only: {model_path} has no {impl.head_suffix} head (architectures={architectures}); "
            f"fine-tune it first or drop --eval-only"
        )
    impl.check_head_labels(config, spec, model_path)


def check_model_for_task(
    model_path: str,
    spec: TaskSpec,
    *,
    trust_remote_code: bool = False,
    tokenizer_from: str | None = None,
    eval_only: bool = False,
    revision: str | None = None,
    tokenizer_revision: str | None = None,
) -> tuple[Any, Any, bool, str]:
    """Every cheap check before weights are read: (config, tokenizer, needs_remote_code, revision).

    ``revision`` pins a Hub model (branch, tag or commit); ``tokenizer_revision`` pins ``tokenizer_from``, and
    without ``tokenizer_from`` the tokenizer is read at ``revision`` from the model's own repository."""
    config, needs_remote, resolved = _read_config(model_path, trust_remote_code, revision)
    check_weights(model_path)
    model_type = config.model_type
    if not needs_remote and not _head_supported(model_type, spec.task_type):
        raise BenchmarkError(
            f"{model_type} models have no {spec.task_type.replace('_', ' ')} head in transformers; "
            f"task {spec.name!r} cannot run on {model_path}"
        )
    kwargs = task_types.get(spec.task_type).tokenizer_kwargs(spec, model_type)
    tokenizer = load_tokenizer(
        model_path,
        tokenizer_from=tokenizer_from,
        trust_remote_code=trust_remote_code,
        revision=tokenizer_revision if tokenizer_from else revision,
        **kwargs,
    )
    vocab = getattr(config, "vocab_size", None)
    if vocab is not None and len(tokenizer) > vocab:
        raise BenchmarkError(
            f"tokenizer of {tokenizer_from or model_path} has {len(tokenizer)} tokens but the model's embeddings "
            f"hold {vocab}: tokenizer and model do not match"
        )
    if eval_only:
        _check_eval_only_head(config, spec, model_path)
    return config, tokenizer, needs_remote, resolved


def _load_with_attn(head: Any, source: str, kwargs: dict[str, Any], attn: str) -> torch.nn.Module:
    """``from_pretrained`` with ``attn_implementation=attn``, else (the architecture does not support it) with
    its default attention and a warning."""
    from .precision import warn_once

    try:
        return head.from_pretrained(source, attn_implementation=attn, **kwargs)
    except (ValueError, ImportError) as exc:
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        warn_once(
            f"--attn-implementation {attn} cannot be used by {source} ({first}); ran its default attention"
        )
    return head.from_pretrained(source, **kwargs)


def _pooling_kwargs(config: Any, spec: TaskSpec, generic: bool) -> dict[str, Any]:
    """``classifier_pooling`` for a sequence task that asks for one (``classifier_pooling:`` in its YAML): the
    architecture's config value for it (ModernBERT ``mean``; EuroBERT ``bos`` for ``cls``), the generic head's
    own; an architecture whose head pools one fixed way (BERT's pooler) keeps it, with a warning."""
    wanted = getattr(spec, "classifier_pooling", None)
    if wanted is None or task_types.get(spec.task_type).head_suffix != "ForSequenceClassification":
        return {}
    value = architectures.pooling_value(config, wanted) or (wanted if generic else None)
    if value is None:
        from .precision import warn_once

        warn_once(
            f"task {spec.name} asks for {wanted} pooling; {config.model_type} models' classification head pools "
            "one fixed way (its own), which ran"
        )
        return {}
    return {"classifier_pooling": value}


def load_model_for_task(
    model_path: str,
    spec: TaskSpec,
    *,
    device: torch.device | str = "cpu",
    trust_remote_code: bool = False,
    tokenizer_from: str | None = None,
    eval_only: bool = False,
    revision: str | None = None,
    tokenizer_revision: str | None = None,
    attn_implementation: str | None = None,
) -> tuple[torch.nn.Module, Any, Model]:
    """(model in eval mode on ``device``, fast tokenizer, :class:`Model`) for ``spec``'s task type.

    ``attn_implementation`` (``sdpa``, ``eager``, ...) is passed to ``from_pretrained``; an architecture that
    cannot use it loads with its own attention and a warning line says so (once).

    Without ``eval_only`` the head is (re)initialised with ``spec.label_names`` (``num_labels``, ``id2label``,
    ``label2id``); with it, the checkpoint's head must already predict exactly those labels.
    """
    _config, tokenizer, needs_remote, resolved = check_model_for_task(
        model_path,
        spec,
        trust_remote_code=trust_remote_code,
        tokenizer_from=tokenizer_from,
        eval_only=eval_only,
        revision=revision,
        tokenizer_revision=tokenizer_revision,
    )
    from .heads import head_class, head_kind

    source = str(Path(model_path).expanduser())
    # The weights come from the commit the config was read at, so config and weights cannot drift apart.
    pinned = resolved if _COMMIT.fullmatch(resolved) else revision
    remote = trust_remote_code and not native_over_remote(_config.model_type)
    kwargs: dict[str, Any] = {"trust_remote_code": remote, **_revision_kw(source, pinned)}
    kind = "remote_code" if needs_remote else head_kind(_config.model_type, spec.task_type)
    head = head_class(_config, spec.task_type) if kind != "remote_code" else _auto_class(spec.task_type)
    if not eval_only:
        kwargs["num_labels"] = num_labels_for(spec)
        kwargs["ignore_mismatched_sizes"] = True
        kwargs.update(task_types.get(spec.task_type).head_labels(spec))
        kwargs.update(_pooling_kwargs(_config, spec, generic=kind == "generic"))
    from ..logs import quiet_transformers

    with quiet_transformers():  # "newly initialized head" warnings are expected here
        try:
            if attn_implementation:
                model = _load_with_attn(head, source, kwargs, attn_implementation)
            else:
                model = head.from_pretrained(source, **kwargs)
        except load_errors() as exc:
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise BenchmarkError(f"cannot load the weights of {model_path}: {first}") from None
    model.to(device)
    model.eval()
    cfg = model.config
    info = Model.made(
        model_id=str(model_path),
        revision=resolved,
        model_type=cfg.model_type,
        max_positions=architectures.max_input_length(cfg),
        n_params=sum(p.numel() for p in model.parameters()),
        needs_remote_code=needs_remote,
        global_attention=architectures.of(cfg).global_attention,
        fixed_length=architectures.fixed_length(cfg),
        attention_type=getattr(cfg, "attention_type", None)
        if architectures.of(cfg).sticky_attention_type
        else None,
        model_class=type(model).__name__,
        recipe=read_recipe(Path(model_path)) if Path(model_path).is_dir() else None,
        head=kind,
        pooling=architectures.pooling_of(cfg)
        if task_types.get(spec.task_type).head_suffix == "ForSequenceClassification"
        else None,
        unpadded=architectures.unpadded(cfg),
    )
    return model, tokenizer, info
