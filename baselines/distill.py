"""Knowledge distillation of an encoder into a student with fewer layers (the "distill" of convert-then-distill).

Student. The teacher's config with ``student_layers`` layers (Longformer's per-layer ``attention_window`` list is
cut to match), initialised from the teacher: embeddings, masked-LM head and pooler copied, student layer ``i`` from
teacher layer ``layer_map[i]``. ``layer_map`` is every other layer ``[0, 2, 4, ...]`` as in DistilBERT when the
student has at most half the teacher's layers, else layers spread evenly from the first to the last.

Loss, per step: the weighted sum of the terms of ``objective`` (:mod:`baselines.objectives`)::

    mlm                  MLM(student)                                       # 15% masking, 80/10/10 (DistilBERT)
    kl                   T^2 * KL(softmax(teacher / T) || softmax(student / T))  # masked positions (DistilBERT)
    cos                  1 - cos(student_last_hidden, teacher_last_hidden)  # non-padding positions (DistilBERT)
    hidden               MSE or 1 - cos of student layer i vs teacher layer hidden_layer_map[i] (TinyBERT)
    attention-relations  KL of Q-Q, K-K, V-V relations of one teacher and one student layer (MiniLMv2)

The default is DistilBERT's ``mlm:2, kl:5, cos:1`` for a teacher with a trained masked-LM head. Teachers without
one: a bare encoder (e.g. the sentence-transformers all-MiniLM-L6-v2, a ``BertModel``) is loaded with
``AutoModelForMaskedLM``, which adds a head drawn from the seed. Its logits are random, so matching them (``kl``)
teaches nothing and is refused; an MLM loss through it would train a random transform through the shared
embeddings. Such a teacher gets ``hidden:1, cos:1`` (the teacher's actual knowledge, layer by layer) and one line
saying so; ``mlm`` only when asked (``--objective mlm:W,...``). Without ``mlm`` and ``kl`` teacher and student read
the unmasked text. The report (``distill_report.json`` beside the weights, the student's recipe) records the
objective, every setting of its terms, the lines printed, and every term's unweighted loss per logging step.

Data. Text files (documents separated by blank lines) or JSONL files with a ``text`` field. Every document is
tokenised once and cut into long chunks of ``max_length`` tokens and short chunks of ``max_length // 4`` tokens
(the paper found a mix of long and short sequences best); batches are drawn at random from the mix, deterministically
from ``(seed, step)``, so a resumed run sees the batches it would have seen.

Checkpoints every ``save_every`` steps through accelerate's ``save_state`` with a ``ProjectConfiguration``
(``automatic_checkpoint_naming``): ``out/checkpoints/checkpoint_N`` holds the student's weights, the optimizer, the
scheduler and every process's RNG states (Python, NumPy, torch: dropout), then ``history.json`` (the report's rows
so far) and ``state.json`` (step, student layers, teacher, seed), written last by process 0: a folder without it is
incomplete, ignored and deleted on resume. Only once it is written are older checkpoints pruned to the newest
``keep_checkpoints`` (accelerate's own ``total_limit`` deletes before it writes, so a run killed during a save
could be left with no checkpoint at all). ``resume=True`` checks ``state.json`` against the arguments before any
model is loaded, then ``load_state`` restores the newest complete checkpoint, so an interrupted run (also by
``kill -9``) that is resumed ends with the weights and the report rows of an uninterrupted one. An ``out`` holding
nothing but unfinished checkpoints (killed during the first save) starts over. There is no data loader or sampler
to restore: a batch is a function of ``(seed, step, process)``. Every parameter that is not copied from a
checkpoint (the fresh masked-LM head of a bare encoder) is drawn from ``seed`` (:func:`initialise_new_parameters`),
so two runs with the same arguments write the same weights. Checkpoints of releases before this layout
(``out/checkpoints/step-N``) are not resumed: ``distill`` refuses them in one line that says to pass
``overwrite=True`` (``--overwrite``) to restart.

Several processes (``accelerate launch --multi_gpu --num_processes N -m baselines distill ...`` or ``torchrun``;
on a machine without CUDA they train on CPU over gloo): device placement and backward go through an
:class:`accelerate.Accelerator`; each process draws its own batches (process 0 the ones a single process would
draw, from ``(seed, step)``; process ``k`` from ``(seed, step, k)``) and DDP averages the gradients, so a step
sees ``N * batch_size`` sequences. Only process 0 writes checkpoints, the student and the report.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import random
import re
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from baselines import objectives
from baselines.convert import _quiet_transformers, _read_config, load_pretrained, refuse_overlap
from baselines.errors import BaselinesError
from benchmark.core import architectures
from benchmark.model.modeling import content_sha256
from benchmark.results.files import file_sha256
from gonerd import untrusted

PathLike = str | os.PathLike[str]
CHECKPOINT_DIR = "checkpoints"  # accelerate's folder under its project_dir (ProjectConfiguration)
STATE_FILE = "state.json"
HISTORY_FILE = (
    "history.json"  # in each checkpoint: the report's rows up to its step, so a resumed report has all
)
REPORT_FILE = "distill_report.json"
TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "vocab.json",
    "spiece.model",
    "spm.model",
    "tokenizer.model",
    "sentencepiece.bpe.model",
)


@dataclass
class DistillReport:
    """What a :func:`distill` run did.

    Attributes:
        out: Directory of the final student (model + tokenizer + ``distill_report.json``).
        teacher: Teacher directory.
        teacher_layers / student_layers: Layer counts.
        layer_map: Teacher layer each student layer was initialised from.
        kl_used: Whether the KL term was on (never for a teacher without a trained MLM head).
        start_step: Step the run started from (0, or the checkpoint it resumed from).
        final_step: Last step done (``max_steps``).
        resumed_from: Checkpoint directory resumed from, or ``None``.
        objective: The loss terms and their weights (``{"hidden": 1.0, "cos": 1.0}``).
        teacher_has_mlm_head: Whether the teacher's checkpoint holds a masked-LM head.
        notes: The lines ``distill`` printed about its choices (no MLM term, eager attention).
        history: One row per ``log_every`` steps, from step 1 (also of a resumed run): ``step``, ``loss`` (the
            weighted sum), the unweighted loss of every term of the objective, ``lr``; with ``log_every > 1`` each
            value is the mean over the row's ``steps`` steps.
        num_chunks: Training sequences (long + short) built from the corpus.
        seconds: Wall time of this run.
        settings: The hyper-parameters of the run.
    """

    out: str
    teacher: str
    teacher_layers: int
    student_layers: int
    layer_map: list[int]
    kl_used: bool
    start_step: int
    final_step: int
    resumed_from: str | None
    objective: dict[str, float] = field(default_factory=dict)
    teacher_has_mlm_head: bool = True
    notes: list[str] = field(default_factory=list)
    history: list[dict[str, float]] = field(default_factory=list)
    num_chunks: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)

    def mean_loss(self, first: int | None = None, last: int | None = None) -> float:
        """Mean total loss of the first or last ``n`` steps of this run."""
        rows = self.history[:first] if first is not None else self.history[-last:] if last else self.history
        return sum(r["loss"] for r in rows) / max(len(rows), 1)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (also written to ``distill_report.json``)."""
        return asdict(self)


def layer_map_for(teacher_layers: int, student_layers: int) -> list[int]:
    """Teacher layer for each student layer: ``[0, 2, 4, ...]`` when it fits (DistilBERT), else evenly spread."""
    if 2 * student_layers - 1 <= teacher_layers:
        return [2 * i for i in range(student_layers)]
    if student_layers == 1:
        return [0]
    return [round(i * (teacher_layers - 1) / (student_layers - 1)) for i in range(student_layers)]


def read_corpus(paths: Sequence[PathLike]) -> list[str]:
    """Documents of text files (blank-line separated) and JSONL files (``text`` field of each line).

    Raises:
        BaselinesError: a file is missing, a JSONL line is not an object with a string ``text``, or no file holds
            any text.
    """
    if not paths:
        raise BaselinesError("no corpus file given")
    docs: list[str] = []
    for p in map(Path, paths):
        if not p.exists():
            raise BaselinesError(f"corpus file not found: {p}")
        try:
            with untrusted.open_regular(p, f"corpus file {p}", BaselinesError) as fh:  # a FIFO: refused
                text = fh.read().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BaselinesError(
                f"corpus file {p} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
                "give text or JSONL files"
            ) from None
        if "\x00" in text:
            raise BaselinesError(f"corpus file {p} holds NUL bytes: a binary file, not text")
        if p.suffix in (".jsonl", ".json"):
            for n, line in enumerate(text.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    obj = untrusted.json_loads(line, f"{p}:{n}")
                except untrusted.Refused as exc:
                    raise BaselinesError(
                        f"{exc} (JSONL corpus files need one JSON object per line)"
                    ) from None
                if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                    raise BaselinesError(f"{p}:{n}: JSONL line has no string 'text' field")
                if obj["text"].strip():
                    docs.append(obj["text"])
        else:
            docs.extend(d.strip() for d in text.split("\n\n") if d.strip())
    if not docs:
        raise BaselinesError(f"corpus is empty: no text in {', '.join(str(p) for p in paths)}")
    return docs


def special_template(tokenizer: Any) -> tuple[list[int], list[int]]:
    """Special-token ids the tokenizer puts before and after a single sequence (``[CLS]``/``[SEP]``, ``<s>``/``</s>``)."""
    plain = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a", add_special_tokens=True)["input_ids"]
    for i in range(len(full) - len(plain) + 1):
        if full[i : i + len(plain)] == plain:
            return list(full[:i]), list(full[i + len(plain) :])
    return [], []


def build_chunks(
    docs: Sequence[str], tokenizer: Any, max_length: int
) -> tuple[list[list[int]], dict[str, int]]:
    """Token-id sequences with special tokens: long chunks of ``max_length`` and short ones of ``max_length // 4``."""
    prefix, suffix = special_template(tokenizer)
    n_special = len(prefix) + len(suffix)
    long_body = max_length - n_special
    short_body = max(max_length // 4 - n_special, 1)
    if max_length // 4 - n_special < 1:
        raise BaselinesError(
            f"--max-length {max_length} leaves no room for text in the short chunks ({max_length // 4} tokens, "
            f"{n_special} of them special); use at least {4 * (n_special + 1)}"
        )
    chunks: list[list[int]] = []
    counts = {"long": 0, "short": 0}
    for doc in docs:
        ids = tokenizer(doc, add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
        # Long chunks over the whole document; short chunks from the same text, every other window.
        for start in range(0, len(ids), long_body):
            piece = ids[start : start + long_body]
            if len(piece) >= max(8, long_body // 8):
                chunks.append(prefix + piece + suffix)
                counts["long"] += 1
        for start in range(0, len(ids), 2 * short_body):
            piece = ids[start : start + short_body]
            if len(piece) >= min(8, short_body):
                chunks.append(prefix + piece + suffix)
                counts["short"] += 1
    if not chunks:
        raise BaselinesError("the corpus yields no training sequence (documents too short?)")
    return chunks, counts


def mask_tokens(
    input_ids: torch.Tensor,
    special_mask: torch.Tensor,
    tokenizer: Any,
    generator: torch.Generator,
    mlm_probability: float = 0.15,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking (80% ``[MASK]``, 10% random, 10% unchanged) with an explicit generator; returns ids, labels."""
    labels = input_ids.clone()
    prob = torch.full(labels.shape, mlm_probability)
    prob.masked_fill_(special_mask, 0.0)
    masked = torch.bernoulli(prob, generator=generator).bool()
    if not masked.any():  # at least one masked token per batch keeps the losses defined
        candidates = (~special_mask).nonzero()
        pick = candidates[torch.randint(len(candidates), (1,), generator=generator)]
        masked[pick[0, 0], pick[0, 1]] = True
    labels[~masked] = -100
    ids = input_ids.clone()
    replace = torch.bernoulli(torch.full(labels.shape, 0.8), generator=generator).bool() & masked
    ids[replace] = tokenizer.mask_token_id
    rand = torch.bernoulli(torch.full(labels.shape, 0.5), generator=generator).bool() & masked & ~replace
    ids[rand] = torch.randint(len(tokenizer), labels.shape, generator=generator)[rand]
    return ids, labels


def _batch(
    chunks: list[list[int]],
    tokenizer: Any,
    batch_size: int,
    seed: int,
    step: int,
    pad_multiple: int | None,
    shard: int = 0,
):
    """The batch of ``step`` for process ``shard``: every process draws its own (data-parallel), and process 0
    draws what a single process would, so one process and several see the same first shard."""
    rng = random.Random(f"{seed}-{step}" if shard == 0 else f"{seed}-{step}-{shard}")
    picked = [chunks[rng.randrange(len(chunks))] for _ in range(batch_size)]
    enc = tokenizer.pad(
        {"input_ids": picked}, padding=True, pad_to_multiple_of=pad_multiple, return_tensors="pt"
    )
    special_ids = torch.tensor(sorted(set(tokenizer.all_special_ids)))
    special = torch.isin(enc["input_ids"], special_ids) | (enc["attention_mask"] == 0)
    gen = torch.Generator().manual_seed((seed * 1_000_003 + step + shard * 7_919_009) % (2**31))
    ids, labels = mask_tokens(enc["input_ids"], special, tokenizer, gen)
    return {"input_ids": ids, "attention_mask": enc["attention_mask"], "labels": labels}


def _generator_for(seed: int, name: str) -> torch.Generator:
    """A generator of its own for parameter ``name``: its values depend on ``seed`` and the name only, not on the
    order of initialisation or on what ran before."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") >> 1)


def initialise_new_parameters(model: torch.nn.Module, names: Sequence[str], seed: int) -> list[str]:
    """Give the parameters ``names`` (those a checkpoint lacked: a fresh masked-LM head) values drawn from ``seed``,
    in place; returns the names initialised (one per tensor, sorted).

    transformers 5.23 initialises most missing parameters from the global RNG but leaves some as uninitialised
    memory: the tied ``lm_head.bias`` of a Longformer (or Nystromformer) loaded with ``AutoModelForMaskedLM`` from a
    bare encoder held whatever was in memory (NaN, 5.7e38, or 0), so two runs with the same arguments trained
    different students (one started at an MLM loss of 4.1e10). Here every new parameter gets what
    ``_init_weights`` gives it (biases 0, LayerNorm weights 1, others N(0, initializer_range)) from a generator
    seeded by ``seed`` and the parameter's name. A tensor that is also reachable under a name the checkpoint did
    hold (a decoder tied to the word embeddings) is left alone."""
    std = float(getattr(model.config, "initializer_range", 0.02))
    modules = dict(model.named_modules(remove_duplicate=False))
    missing = set(names)
    loaded = {id(p) for n, p in model.named_parameters(remove_duplicate=False) if n not in missing}
    done: set[int] = set()
    initialised = []
    with torch.no_grad():
        for name, param in sorted(model.named_parameters(remove_duplicate=False)):
            if name not in missing or id(param) in loaded or id(param) in done:
                continue
            done.add(id(param))
            owner = modules.get(name.rpartition(".")[0])
            if name.endswith("bias"):
                param.zero_()
            elif param.dim() == 1 or isinstance(owner, torch.nn.LayerNorm):
                param.fill_(1.0)
            else:
                param.copy_(torch.randn(param.shape, generator=_generator_for(seed, name)) * std)
            initialised.append(name)
    return initialised


def load_teacher(teacher_path: Path, seed: int, **kwargs: Any) -> tuple[torch.nn.Module, list[str]]:
    """The teacher as ``AutoModelForMaskedLM`` and the names of the parameters its checkpoint lacked (a bare
    encoder: the whole masked-LM head), which :func:`initialise_new_parameters` draws from ``seed``.

    Raises:
        BaselinesError: the files cannot be loaded, or a parameter the checkpoint holds is NaN or infinite.
    """
    from transformers import AutoModelForMaskedLM

    with _quiet_transformers():
        model, info = load_pretrained(
            AutoModelForMaskedLM.from_pretrained, teacher_path, output_loading_info=True, **kwargs
        )
    params = {n for n, _ in model.named_parameters(remove_duplicate=False)}
    missing = sorted(k for k in info.get("missing_keys", []) if k in params)
    initialise_new_parameters(model, missing, seed)
    for name, param in model.named_parameters():
        if not torch.isfinite(param).all():
            raise BaselinesError(
                f"teacher {teacher_path} has NaN or infinite weights in {name}: damaged files?"
            )
    return model, missing


def _make_student(
    teacher: torch.nn.Module, student_layers: int, layer_map: list[int], **kwargs: Any
) -> torch.nn.Module:
    """The teacher's config with ``student_layers`` layers (per-layer lists such as Longformer's
    ``attention_window`` and ModernBERT's ``layer_types`` cut to ``layer_map``), every weight copied from the
    teacher: student layer ``i`` from teacher layer ``layer_map[i]``. ``kwargs`` go to ``from_config``
    (``attn_implementation``)."""
    from transformers import AutoModelForMaskedLM

    cfg = teacher.config.__class__.from_dict(teacher.config.to_dict())
    cfg.num_hidden_layers = student_layers
    for name in ("attention_window", "layer_types"):
        if isinstance(getattr(cfg, name, None), (list, tuple)):
            setattr(cfg, name, [getattr(cfg, name)[i] for i in layer_map])
    student = AutoModelForMaskedLM.from_config(cfg, **kwargs)
    layers_name, _ = objectives.encoder_layers(student)
    t_sd = teacher.state_dict()
    s_sd = {}
    for key in student.state_dict():
        src = key
        if key.startswith(layers_name + "."):
            idx, tail = key[len(layers_name) + 1 :].split(".", 1)
            src = f"{layers_name}.{layer_map[int(idx)]}.{tail}"
        if src in t_sd:
            s_sd[key] = t_sd[src].detach().clone()
    missing = set(student.state_dict()) - set(s_sd)
    student.load_state_dict(s_sd, strict=False)
    student.tie_weights()
    if any(not k.endswith(("position_ids", "token_type_ids")) for k in missing):
        raise RuntimeError(f"student weights not found in the teacher: {sorted(missing)[:3]}")
    return student


def student_layer_map(teacher_config: Any, student_layers: int) -> list[int]:
    """The teacher layer each student layer is copied from: :func:`layer_map_for`, except for teachers that mix
    local and global attention layers (ModernBERT's ``layer_types``: every ``global_attn_every_n_layers``-th layer
    global, from layer 0).

    Such a student keeps the pattern: its layer ``i`` is global when ``i % n == 0``, and every student layer is a
    copy of a teacher layer of its own kind, the one nearest to :func:`layer_map_for`'s choice, in increasing order
    where the teacher has enough of that kind (DistilBERT's every-other-layer map already does this for odd ``n``,
    as ModernBERT's 3). A teacher whose layer kinds follow no such rule keeps :func:`layer_map_for`'s map, and its
    kinds go with the copied layers."""
    base = layer_map_for(teacher_config.num_hidden_layers, student_layers)
    kinds = getattr(teacher_config, "layer_types", None)
    if not isinstance(kinds, (list, tuple)) or len(set(kinds)) < 2:
        return base
    every = getattr(teacher_config, "global_attn_every_n_layers", None)
    globals_ = [i for i, kind in enumerate(kinds) if kind == kinds[0]]
    if not isinstance(every, int) or every < 1:
        every = globals_[1] - globals_[0] if len(globals_) > 1 else len(kinds)
    if [i for i in range(len(kinds)) if i % every == 0] != globals_:
        return base
    other = next(kind for kind in kinds if kind != kinds[0])
    wanted = [kinds[0] if i % every == 0 else other for i in range(student_layers)]
    chosen: list[int] = []
    for i, kind in enumerate(wanted):
        free = [j for j, k in enumerate(kinds) if k == kind and j not in chosen]
        later = [j for j in free if not chosen or j > chosen[-1]]
        chosen.append(min(later or free, key=lambda j: (abs(j - base[i]), j)))
    return chosen


def teacher_fingerprint(teacher: Path) -> dict[str, str]:
    """What identifies a teacher for resuming: its resolved path and its content revision (``sha256:`` over its
    config and weights, the revision ``benchmark run`` records for a local model)."""
    return {"path": str(teacher.resolve()), "sha256": content_sha256(teacher)}


def _check_resumable(checkpoint: Path, student_layers: int, teacher: dict[str, str], seed: int) -> int:
    """Refuse to continue a checkpoint made with other layers, another teacher or another seed; returns its step."""
    hint = "pass overwrite=True (--overwrite) to start afresh, or another --out"
    try:
        state = json.loads((checkpoint / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise BaselinesError(f"{checkpoint}/{STATE_FILE} is damaged; {hint}") from None
    if not isinstance(state, dict) or not isinstance(state.get("step"), int) or state["step"] < 1:
        raise BaselinesError(f"{checkpoint}/{STATE_FILE} is damaged; {hint}")
    if state.get("student_layers") != student_layers:
        raise BaselinesError(
            f"checkpoint {checkpoint} has {state.get('student_layers')} student layers, not {student_layers}; {hint}"
        )
    recorded = state.get("teacher")
    if not isinstance(recorded, dict) or "seed" not in state:
        raise BaselinesError(f"checkpoint {checkpoint} does not record its teacher and seed; {hint}")
    if recorded != teacher:
        which = recorded.get("path") if recorded.get("path") != teacher["path"] else "other weights"
        raise BaselinesError(
            f"checkpoint {checkpoint} was made with another teacher ({which}), not {teacher['path']}; {hint}"
        )
    if state["seed"] != seed:
        raise BaselinesError(
            f"checkpoint {checkpoint} was made with seed {state['seed']}, not {seed}; {hint}"
        )
    return state["step"]


def _checkpoint_number(path: Path) -> int | None:
    """``N`` of accelerate's ``checkpoint_N`` folder, or ``None`` for anything else."""
    match = re.fullmatch(r"checkpoint_(\d+)", path.name)
    return int(match.group(1)) if match and path.is_dir() else None


def _only_unfinished_checkpoints(out: Path) -> bool:
    """Whether ``out`` holds nothing but ``checkpoints/`` with unfinished ``checkpoint_N`` folders (no
    ``state.json``): what a run killed during its first save leaves, which a rerun may start over."""
    entries = list(out.iterdir()) if out.is_dir() else []
    if [p.name for p in entries] != [CHECKPOINT_DIR] or not entries[0].is_dir():
        return False
    return all(
        _checkpoint_number(p) is not None and not (p / STATE_FILE).exists() for p in entries[0].iterdir()
    )


def _prune_checkpoints(out: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` complete checkpoints, and unfinished ones older than the newest complete
    one. Run after a checkpoint's ``state.json`` is written (accelerate's ``total_limit`` deletes the oldest
    *before* writing the new one, so with one kept, a run killed during a save was left without any)."""
    root = out / CHECKPOINT_DIR
    folders = sorted((p for p in root.iterdir() if _checkpoint_number(p) is not None), key=_checkpoint_number)
    complete = [p for p in folders if (p / STATE_FILE).is_file()]
    if not complete:
        return
    kept = set(complete[-keep:])
    for folder in folders:
        if folder not in kept and _checkpoint_number(folder) < _checkpoint_number(complete[-1]):
            shutil.rmtree(folder)


def _read_history(checkpoint: Path) -> list[dict[str, float]]:
    """The report rows a checkpoint holds (``[]`` for checkpoints written before they kept them)."""
    try:
        rows = json.loads((checkpoint / HISTORY_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError, RecursionError):
        raise BaselinesError(
            f"{checkpoint}/{HISTORY_FILE} is damaged; pass overwrite=True (--overwrite) to start afresh"
        ) from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise BaselinesError(
            f"{checkpoint}/{HISTORY_FILE} is damaged; pass overwrite=True (--overwrite) to start afresh"
        )
    return rows


def _latest_checkpoint(out: Path) -> Path | None:
    """Newest complete (``state.json`` written) ``checkpoint_N`` under ``out/checkpoints``.

    Raises:
        BaselinesError: ``out/checkpoints`` holds a checkpoint of an older release (``step-N``), which this one
            cannot resume.
    """
    root = out / CHECKPOINT_DIR
    if not root.is_dir():
        return None
    legacy = sorted(p.name for p in root.glob("step-*") if p.is_dir())
    if legacy:
        raise BaselinesError(
            f"{root / legacy[-1]} is a checkpoint of an older release, which this one cannot resume; "
            "pass overwrite=True (--overwrite) to restart from step 0, or another --out"
        )
    done = [p for p in root.iterdir() if _checkpoint_number(p) is not None and (p / STATE_FILE).is_file()]
    return max(done, key=_checkpoint_number, default=None)


def distill(
    teacher: PathLike,
    student_layers: int,
    corpus: Sequence[PathLike],
    out: PathLike,
    *,
    max_steps: int = 1000,
    batch_size: int = 8,
    max_length: int = 512,
    lr: float = 5e-4,
    warmup_steps: int = 0,
    weight_decay: float = 0.01,
    objective: str | Mapping[str, float] | None = None,
    alpha_mlm: float | None = None,
    alpha_kl: float | None = None,
    alpha_cos: float | None = None,
    temperature: float = 2.0,
    hidden_loss: str = "mse",
    hidden_layer_map: str | Sequence[int] | None = None,
    relation_teacher_layer: int = -1,
    relation_student_layer: int = -1,
    relation_heads: int | None = None,
    seed: int = 0,
    resume: bool = True,
    save_every: int = 500,
    keep_checkpoints: int = 2,
    log_every: int = 1,
    overwrite: bool = False,
    progress: bool = True,
) -> DistillReport:
    """Distil ``teacher`` into a student with ``student_layers`` layers.

    Args:
        teacher: Directory of a transformers encoder (any ``AutoModelForMaskedLM`` type: BERT, RoBERTa, Longformer,
            BigBird, Nyströmformer, ModernBERT...) with its tokenizer.
        student_layers: Layers of the student, ``1 <= student_layers < teacher layers``.
        corpus: Text or JSONL files (see module docstring).
        out: Output directory: the final student, ``distill_report.json`` and ``checkpoints/``.
        max_steps: Optimisation steps in total (a resumed run continues to this number).
        batch_size: Sequences per step.
        max_length: Tokens of a long chunk (short chunks are a quarter of it).
        lr: Peak AdamW learning rate (linear decay to 0 after ``warmup_steps``).
        warmup_steps: Linear warm-up steps.
        weight_decay: AdamW weight decay.
        objective: Loss terms and weights, ``"hidden:1,attention-relations:1"`` or a mapping (terms:
            :data:`baselines.objectives.TERMS`). ``None``: :data:`~baselines.objectives.DISTILBERT` (``mlm:2, kl:5,
            cos:1``) for a teacher with a trained MLM head, :data:`~baselines.objectives.WITHOUT_MLM_HEAD`
            (``hidden:1, cos:1``) for one without, said in one line.
        alpha_mlm / alpha_kl / alpha_cos: The older way to weigh the DistilBERT terms (any of them given: the
            objective is ``mlm``/``kl``/``cos`` with these weights, 2 / 5 / 1 where not given, but for a teacher
            without an MLM head ``mlm`` and ``kl`` only when given, and ``kl`` never); not with ``objective``.
        temperature: Softening temperature of the KL term.
        hidden_loss: ``"mse"`` or ``"cosine"``: the ``hidden`` term's distance.
        hidden_layer_map: Teacher layer (0-based, ``-1`` = last) whose output each student layer learns in the
            ``hidden`` term; ``None``: TinyBERT's uniform map.
        relation_teacher_layer / relation_student_layer: Layers (0-based, ``-1`` = last) whose Q/K/V relations the
            ``attention-relations`` term matches (MiniLMv2: the last student layer; the teacher's last for base-size
            teachers, an upper-middle one for large ones).
        relation_heads: Relation heads (``None``: the teacher's attention heads); divides both widths.
        seed: Seeds the student's fresh weights, the batches and the masking.
        resume: Continue from the newest checkpoint in ``out/checkpoints`` when there is one.
        save_every: Steps between checkpoints (the last step is always saved).
        keep_checkpoints: Newest checkpoints kept on disk.
        log_every: Steps per row of the report's ``history`` (each row: the mean of every term over those steps).
        overwrite: Start afresh in a non-empty ``out`` (its checkpoints are deleted).
        progress: Show a tqdm progress bar.

    Raises:
        BaselinesError: bad arguments, an empty or malformed corpus, a teacher directory that is not a model, or a
            non-empty ``out`` with nothing to resume -- before anything is written.
    """
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs, ProjectConfiguration
    from tqdm.auto import tqdm
    from transformers import AutoTokenizer, get_linear_schedule_with_warmup

    teacher_path, out_path = Path(teacher), Path(out)
    cfg = _read_config(teacher_path)
    t_layers = cfg.get("num_hidden_layers")
    if not isinstance(t_layers, int):
        raise BaselinesError(f"{teacher_path}/config.json has no num_hidden_layers")
    if not isinstance(student_layers, int) or student_layers < 1 or student_layers >= t_layers:
        raise BaselinesError(
            f"student_layers must be between 1 and {t_layers - 1} (the teacher has {t_layers} layers), "
            f"got {student_layers}"
        )
    for name, value in (
        ("max_steps", max_steps),
        ("batch_size", batch_size),
        ("save_every", save_every),
        ("keep_checkpoints", keep_checkpoints),
        ("log_every", log_every),
    ):
        if value < 1:
            raise BaselinesError(f"{name} must be >= 1, got {value}")
    if max_length < 8:
        raise BaselinesError(f"max_length must be >= 8, got {max_length}")
    for name, value in (("lr", lr), ("temperature", temperature), ("weight_decay", weight_decay)):
        if not math.isfinite(value):
            raise BaselinesError(f"--{name.replace('_', '-')} must be a finite number, got {value}")
    if lr <= 0:
        raise BaselinesError(f"--lr must be > 0, got {lr}")
    if warmup_steps < 0:
        raise BaselinesError(f"--warmup-steps must be >= 0, got {warmup_steps}")
    if temperature <= 0:
        raise BaselinesError(f"temperature must be > 0, got {temperature}")
    asked, explicit = _asked_objective(objective, alpha_mlm, alpha_kl, alpha_cos)
    if hidden_loss not in objectives.HIDDEN_LOSSES:
        raise BaselinesError(
            f"--hidden-loss {hidden_loss!r}: choose from {', '.join(objectives.HIDDEN_LOSSES)}"
        )
    hidden_map = objectives.parse_layer_map(hidden_layer_map, t_layers, student_layers)
    rel_teacher = objectives.relation_layer(relation_teacher_layer, t_layers, "--relation-teacher-layer")
    rel_student = objectives.relation_layer(
        relation_student_layer, student_layers, "--relation-student-layer"
    )
    max_pos = cfg.get("max_position_embeddings")
    if isinstance(max_pos, int) and max_length > max_pos:
        raise BaselinesError(f"max_length {max_length} exceeds the teacher's {max_pos} position embeddings")
    if out_path.exists() and not out_path.is_dir():
        raise BaselinesError(f"--out {out_path} exists and is not a directory")
    refuse_overlap(teacher_path, out_path, "--teacher")
    if not any((teacher_path / name).is_file() for name in TOKENIZER_FILES):
        raise BaselinesError(
            f"teacher {teacher_path} has no tokenizer ({', '.join(TOKENIZER_FILES)}): save it beside the model"
        )
    docs = read_corpus(corpus)
    checkpoint = _latest_checkpoint(out_path) if resume and not overwrite else None
    fingerprint = teacher_fingerprint(teacher_path)
    start_step = 0
    if checkpoint is not None:
        start_step = _check_resumable(checkpoint, student_layers, fingerprint, seed)
    restart = checkpoint is None and _only_unfinished_checkpoints(out_path)  # killed during its first save
    if checkpoint is None and out_path.is_dir() and any(out_path.iterdir()) and not (overwrite or restart):
        raise BaselinesError(
            f"output directory {out_path} is not empty and has no checkpoint to resume; "
            "pass overwrite=True (--overwrite) to start afresh"
        )

    started = time.perf_counter()
    torch.manual_seed(seed)
    relations = asked is not None and "attention-relations" in asked
    attention = {"attn_implementation": "eager"} if relations else {}
    with _quiet_transformers():
        tokenizer = load_pretrained(AutoTokenizer.from_pretrained, teacher_path)
    teacher_model, head_missing = load_teacher(teacher_path, seed, **attention)
    has_head = not head_missing
    notes: list[str] = []
    if asked is None:
        chosen = dict(objectives.DISTILBERT if has_head else objectives.WITHOUT_MLM_HEAD)
        if not has_head:
            notes.append(
                f"teacher {teacher_path} has no trained masked-LM head: no MLM or KL term (ask with --objective "
                f"mlm:W); objective {objectives.format_objective(chosen)}"
            )
    else:
        chosen = dict(asked)
        if "kl" in chosen and "kl" in explicit and not has_head:
            flag = "--objective kl" if objective is not None else "--alpha-kl"
            raise BaselinesError(
                f"{flag}: teacher {teacher_path} has no trained masked-LM head, its logits are random; leave kl out"
            )
        dropped = [name for name in ("mlm", "kl") if name in chosen and name not in explicit and not has_head]
        if dropped:  # the older flags' defaults (mlm 2, kl 5) for a teacher without a head: only when asked
            chosen = {name: weight for name, weight in chosen.items() if name not in dropped}
            notes.append(
                f"teacher {teacher_path} has no trained masked-LM head: no {' or '.join(n.upper() for n in dropped)} term "
                f"(ask with --alpha-mlm W); objective {objectives.format_objective(chosen)}"
            )
        if not chosen:
            raise BaselinesError(
                f"no loss term left: teacher {teacher_path} has no trained masked-LM head, so no MLM or KL term "
                "unless asked; give --objective (e.g. hidden:1,cos:1)"
            )
    if relations:
        notes.append(
            "attention-relations: the teacher and the student run with eager attention (their Q/K/V projections "
            "are read per token)"
        )
    masked_lm = "mlm" in chosen or "kl" in chosen
    if masked_lm and tokenizer.mask_token_id is None:
        raise BaselinesError(f"the tokenizer of {teacher_path} has no mask token: cannot train a masked LM")
    if len(tokenizer) <= len(set(tokenizer.all_special_ids)) + 1:
        raise BaselinesError(f"the tokenizer of {teacher_path} has an empty vocabulary (only special tokens)")
    teacher_cfg = teacher_model.config
    heads = relation_heads if relation_heads is not None else teacher_cfg.num_attention_heads
    if relations and (heads < 1 or teacher_cfg.hidden_size % heads):
        raise BaselinesError(
            f"--relation-heads {heads} must divide the hidden size {teacher_cfg.hidden_size} of the teacher"
        )
    _check_objective_of(checkpoint, chosen)
    layer_map = student_layer_map(teacher_cfg, student_layers)
    pad_multiple = architectures.of(teacher_cfg).input_multiple(teacher_cfg)  # Nyströmformer: its landmarks

    with _quiet_transformers():  # a resumed run gets the checkpoint's weights from load_state below
        student = _make_student(teacher_model, student_layers, layer_map, **attention)
    hidden_term = objectives.HiddenStateLoss(
        hidden_map, student.config.hidden_size, teacher_cfg.hidden_size, hidden_loss, seed
    )
    chunks, counts = build_chunks(docs, tokenizer, max_length)
    # Under accelerate launch / torchrun: one process per device; on a machine without CUDA they train on CPU.
    # Checkpoints: accelerate's save_state into out/checkpoints/checkpoint_N, pruned by _prune_checkpoints.
    project = ProjectConfiguration(
        project_dir=str(out_path),
        automatic_checkpoint_naming=True,
        total_limit=None,  # pruned by _prune_checkpoints once a new checkpoint is complete
        iteration=_checkpoint_number(checkpoint) + 1 if checkpoint is not None else 0,
    )
    # Without an MLM-based term the head gets no gradient: DDP must be told some parameters go unused.
    unused = [DistributedDataParallelKwargs(find_unused_parameters=True)] if not masked_lm else []
    accelerator = Accelerator(
        cpu=not torch.cuda.is_available(), project_config=project, kwargs_handlers=unused
    )
    if accelerator.is_main_process:  # only once every input has been checked
        for note in notes:
            print(f"baselines distill: {note}", file=sys.stderr)
        if checkpoint is None and out_path.is_dir() and (overwrite or restart):
            shutil.rmtree(out_path)
        elif (
            checkpoint is not None
        ):  # newer folders lack state.json (a save cut off): save_state reuses names
            newest = _checkpoint_number(checkpoint)
            for folder in (out_path / CHECKPOINT_DIR).iterdir():
                if (_checkpoint_number(folder) or 0) > newest:
                    shutil.rmtree(folder)
    accelerator.wait_for_everyone()

    teacher_model.eval().requires_grad_(False)
    student.train()
    decay = [p for n, p in student.named_parameters() if not n.endswith("bias") and "LayerNorm" not in n]
    no_decay = [p for n, p in student.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=lr
    )
    scheduler = get_linear_schedule_with_warmup(optimizer, warmup_steps, max_steps)
    student, optimizer, scheduler = accelerator.prepare(student, optimizer, scheduler)
    if checkpoint is not None:  # weights, optimizer, scheduler and this process's RNG states
        try:
            accelerator.load_state(str(checkpoint))
        except Exception as exc:  # torch, safetensors and pickle each raise their own kind
            raise BaselinesError(
                f"checkpoint {checkpoint} is damaged ({type(exc).__name__}); pass --overwrite to start afresh"
            ) from None
    teacher_model.to(accelerator.device)

    settings = dict(
        max_steps=max_steps,
        batch_size=batch_size,
        max_length=max_length,
        lr=lr,
        warmup_steps=warmup_steps,
        weight_decay=weight_decay,
        objective=chosen,
        alpha_mlm=chosen.get("mlm", 0.0),
        alpha_kl=chosen.get("kl", 0.0),
        alpha_cos=chosen.get("cos", 0.0),
        temperature=temperature,
        masked_inputs=masked_lm,  # without an MLM-based term teacher and student read the unmasked text
        seed=seed,
        save_every=save_every,
        log_every=log_every,
        corpus=[str(Path(p).resolve()) for p in corpus],
        corpus_sha256=[file_sha256(Path(p)) for p in corpus],
        teacher_revision=fingerprint["sha256"],  # the revision a result records for the teacher
        num_processes=accelerator.num_processes,  # each draws its own batch of batch_size
    )
    if "hidden" in chosen:
        settings.update(hidden_loss=hidden_loss, hidden_layer_map=hidden_map, hidden_projection=None)
    if relations:
        settings.update(
            relation_teacher_layer=rel_teacher,
            relation_student_layer=rel_student,
            relation_heads=heads,
            attn_implementation="eager",
        )
    report = DistillReport(
        out=str(out_path),
        teacher=str(teacher_path.resolve()),
        teacher_layers=t_layers,
        student_layers=student_layers,
        layer_map=layer_map,
        kl_used="kl" in chosen,
        start_step=start_step,
        final_step=start_step,
        resumed_from=str(checkpoint) if checkpoint else None,
        objective=chosen,
        teacher_has_mlm_head=has_head,
        notes=notes,
        num_chunks=counts,
        settings=settings,
    )
    steps: list[dict[str, float]] = []  # every step's row; the report keeps one per log_every steps
    if checkpoint is not None:  # the rows of the steps before it: the report covers every step
        steps = [r for r in _read_history(checkpoint) if r.get("step", 0) <= start_step]
    report.history = _log_rows(steps, log_every, max_steps)
    bar = tqdm(
        total=max_steps,
        initial=start_step,
        desc="distill",
        unit="step",
        disable=not progress or not accelerator.is_local_main_process,
    )
    capture = contextlib.ExitStack()  # the hooks that read Q/K/V, removed after the loop
    qkv = None
    if relations:
        qkv = (
            capture.enter_context(objectives.QKVCapture(teacher_model, rel_teacher)),
            capture.enter_context(objectives.QKVCapture(accelerator.unwrap_model(student), rel_student)),
            heads,
        )
    with capture:
        for step in range(start_step + 1, max_steps + 1):
            batch = {
                k: v.to(accelerator.device)
                for k, v in _batch(
                    chunks, tokenizer, batch_size, seed, step, pad_multiple, shard=accelerator.process_index
                ).items()
            }
            # Without an MLM-based term both models read the text itself (the masking drawn is not used).
            if not masked_lm:
                batch["input_ids"] = torch.where(batch["labels"] != -100, batch["labels"], batch["input_ids"])
            terms = loss_terms(
                chosen,
                teacher_model,
                student,
                batch,
                temperature=temperature,
                hidden_term=hidden_term,
                relations=qkv,
            )
            loss = sum(chosen[name] * value for name, value in terms.items())
            accelerator.backward(loss)
            accelerator.clip_grad_norm_(student.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            row = {"step": step, "loss": float(loss.detach())}
            row.update({name: float(value.detach()) for name, value in terms.items()})
            row["lr"] = float(scheduler.get_last_lr()[0])
            if not all(math.isfinite(v) for v in row.values()):
                raise RuntimeError(f"non-finite loss at step {step}: {row}")
            steps.append(row)
            report.history = _log_rows(steps, log_every, max_steps)
            report.final_step = step
            bar.update(1)
            bar.set_postfix(loss=f"{row['loss']:.3f}")
            if step % save_every == 0 or step == max_steps:
                accelerator.wait_for_everyone()
                # Every process: process 0 writes weights, optimizer and scheduler, each its own RNG states.
                saved = Path(_quiet_save(accelerator))
                accelerator.wait_for_everyone()
                if accelerator.is_main_process:  # written last: marks the checkpoint complete
                    identity = {
                        "step": step,
                        "student_layers": student_layers,
                        "teacher": fingerprint,
                        "seed": seed,
                        "objective": chosen,
                    }
                    for name, content in ((HISTORY_FILE, steps), (STATE_FILE, identity)):
                        staged = saved / f"{name}.tmp"
                        staged.write_text(json.dumps(content) + "\n", encoding="utf-8")
                        staged.replace(saved / name)
                    _prune_checkpoints(out_path, keep_checkpoints)
                accelerator.wait_for_everyone()
    bar.close()

    accelerator.wait_for_everyone()
    unwrapped = accelerator.unwrap_model(student)
    unwrapped.eval()
    report.seconds = time.perf_counter() - started
    if accelerator.is_main_process:
        unwrapped.save_pretrained(out_path)
        tokenizer.save_pretrained(out_path)
        (out_path / REPORT_FILE).write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    accelerator.wait_for_everyone()
    return report


def loss_terms(
    objective: Mapping[str, float],
    teacher: torch.nn.Module,
    student: torch.nn.Module,
    batch: Mapping[str, torch.Tensor],
    *,
    temperature: float = 2.0,
    hidden_term: objectives.HiddenStateLoss | None = None,
    relations: tuple[objectives.QKVCapture, objectives.QKVCapture, int] | None = None,
) -> dict[str, torch.Tensor]:
    """The unweighted loss of every term of ``objective`` on one batch (``input_ids``, ``attention_mask``,
    ``labels``): the teacher runs without gradient, and only as far as needed (its MLM head only for ``kl``).

    Args:
        hidden_term: The ``hidden`` term's module (its layer map, distance and projection).
        relations: For ``attention-relations``: the Q/K/V captures of the teacher's and the student's layer, and
            the number of relation heads.
    """
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    t_out: Any = None
    t_qkv = None
    if set(objective) - {"mlm"}:  # MLM alone (a control without a teacher) never runs the teacher
        with torch.no_grad():
            t_model = teacher if "kl" in objective else teacher.base_model
            t_out = t_model(**inputs, output_hidden_states=True)
            t_qkv = relations[0].states(*inputs["input_ids"].shape) if relations else None
    labels = batch["labels"] if "mlm" in objective else None
    s_out = student(**inputs, labels=labels, output_hidden_states=True)
    attended = batch["attention_mask"].bool()
    length = attended.shape[1]  # models that pad inside (Longformer, BigBird) may return longer states
    terms: dict[str, torch.Tensor] = {}
    if "mlm" in objective:
        terms["mlm"] = s_out.loss
    if "kl" in objective:
        masked = batch["labels"] != -100
        s_logits = s_out.logits[:, :length][masked] / temperature
        t_logits = t_out.logits[:, :length][masked] / temperature
        terms["kl"] = (
            F.kl_div(F.log_softmax(s_logits, -1), F.softmax(t_logits, -1), reduction="batchmean")
            * temperature**2
        )
    if "cos" in objective:
        s_hid = s_out.hidden_states[-1][:, :length][attended]
        t_hid = t_out.hidden_states[-1][:, :length][attended]
        terms["cos"] = (1.0 - F.cosine_similarity(s_hid, t_hid, dim=-1)).mean()
    if "hidden" in objective:
        if hidden_term is None:
            raise ValueError("the hidden term needs hidden_term")
        terms["hidden"] = hidden_term(s_out.hidden_states, t_out.hidden_states, batch["attention_mask"])
    if "attention-relations" in objective:
        if relations is None:
            raise ValueError("the attention-relations term needs relations")
        s_qkv = relations[1].states(*inputs["input_ids"].shape)
        terms["attention-relations"] = objectives.relation_loss(t_qkv, s_qkv, attended, relations[2])
    return terms


def _asked_objective(
    objective: str | Mapping[str, float] | None,
    alpha_mlm: float | None,
    alpha_kl: float | None,
    alpha_cos: float | None,
) -> tuple[dict[str, float] | None, set[str]]:
    """The objective the caller asked for (``None``: the default for the teacher, chosen once it is loaded) and
    the terms named explicitly (with the older ``alpha_*`` flags the others keep DistilBERT's weights)."""
    alphas = {"mlm": alpha_mlm, "kl": alpha_kl, "cos": alpha_cos}
    given = {name: value for name, value in alphas.items() if value is not None}
    if objective is not None and given:
        flags = ", ".join(f"--alpha-{name}" for name in given)
        raise BaselinesError(f"give --objective or {flags}, not both (e.g. --objective mlm:2,kl:5,cos:1)")
    if objective is not None:
        parsed = objectives.parse_objective(objective)
        return parsed, set(parsed)
    if not given:
        return None, set()
    for name, value in given.items():
        if not math.isfinite(value) or value < 0:
            raise BaselinesError(f"--alpha-{name} must be a finite number >= 0, got {value}")
    weights = {name: given.get(name, objectives.DISTILBERT[name]) for name in objectives.DISTILBERT}
    if not any(weights.values()):
        raise BaselinesError("loss weights must be >= 0 and not all 0")
    return {name: weight for name, weight in weights.items() if weight > 0}, set(given)


def _check_objective_of(checkpoint: Path | None, objective: Mapping[str, float]) -> None:
    """Refuse to continue a checkpoint trained with another objective (a mixed run would match neither)."""
    if checkpoint is None:
        return
    state = json.loads((checkpoint / STATE_FILE).read_text(encoding="utf-8"))
    recorded = state.get("objective")
    if recorded is not None and recorded != dict(objective):
        raise BaselinesError(
            f"checkpoint {checkpoint} was trained with --objective {objectives.format_objective(recorded)}, not "
            f"{objectives.format_objective(objective)}; pass overwrite=True (--overwrite) to start afresh, or "
            "another --out"
        )


def _log_rows(steps: Sequence[dict[str, float]], log_every: int, max_steps: int) -> list[dict[str, float]]:
    """One row per ``log_every`` steps (and the last step): each term's mean over those steps, ``step`` the last
    of them, ``lr`` its learning rate."""
    if log_every == 1:
        return [dict(r) for r in steps]
    rows, window = [], []
    for row in steps:
        window.append(row)
        if row["step"] % log_every == 0 or row["step"] == max_steps:
            merged = {"step": row["step"], "steps": len(window)}
            for key in row:
                if key not in ("step", "lr"):
                    merged[key] = sum(r[key] for r in window) / len(window)
            merged["lr"] = row["lr"]
            rows.append(merged)
            window = []
    return rows


def _quiet_save(accelerator) -> str:
    """``accelerator.save_state()`` without accelerate's warnings on every save (pruning old checkpoints, the
    tied masked-LM head left out of the safetensors file and tied again on load); returns the folder."""
    import logging

    log = logging.getLogger("accelerate")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        return accelerator.save_state()
    finally:
        log.setLevel(level)


def init_student(teacher: PathLike, student_layers: int, out: PathLike, *, seed: int = 0) -> Path:
    """Write the student :func:`distill` starts from, without training it: the undistilled control.

    Same teacher loading, seed and layer map as :func:`distill` at step 0, so a control and a distilled student
    differ only by the distillation steps. ``out`` must be absent or empty; ``student_init.json`` records the
    recipe (teacher, layer map, seed). Written to a staging folder, then moved into place."""
    from transformers import AutoTokenizer

    teacher_path, out_path = Path(teacher), Path(out)
    cfg = _read_config(teacher_path)
    t_layers = cfg.get("num_hidden_layers")
    if not isinstance(t_layers, int) or not 1 <= student_layers < t_layers:
        raise BaselinesError(
            f"student_layers must be between 1 and {(t_layers or 2) - 1} (the teacher has {t_layers} layers), "
            f"got {student_layers}"
        )
    refuse_overlap(teacher_path, out_path, "--teacher")
    if out_path.exists() and (not out_path.is_dir() or any(out_path.iterdir())):
        raise BaselinesError(f"--out {out_path} exists and is not an empty directory")
    torch.manual_seed(seed)
    with _quiet_transformers():
        tokenizer = load_pretrained(AutoTokenizer.from_pretrained, teacher_path)
    teacher_model, _ = load_teacher(teacher_path, seed)
    with _quiet_transformers():
        layer_map = student_layer_map(teacher_model.config, student_layers)
        student = _make_student(teacher_model, student_layers, layer_map)
    staging = out_path.with_name(out_path.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    student.eval().save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    record = {
        "teacher": str(teacher_path.resolve()),
        "teacher_layers": t_layers,
        "student_layers": student_layers,
        "layer_map": layer_map,
        "seed": seed,
        "teacher_revision": content_sha256(teacher_path),
        "distilled": False,
    }
    (staging / "student_init.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    if out_path.exists():
        out_path.rmdir()
    staging.replace(out_path)
    return out_path
