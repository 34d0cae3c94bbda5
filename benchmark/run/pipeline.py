"""``benchmark run`` as a library function: a model through the tasks, one result file per task.

Per task: load data -> fine-tune on the training split (unless ``eval_only``) -> predict every eval split ->
score with :func:`benchmark.evaluate.scoring.score_predictions` (the code ``benchmark score`` uses) -> time inference with
:func:`benchmark.timing.protocol.measure_inference` on a fixed protocol -> write ``OUTPUT/<model-slug>/<task>.json`` and
the predictions beside it. Tasks whose result is up to date (same spec hash, config and model revision) are
skipped, so an interrupted run resumes where it stopped.

``seeds`` (``--seeds``): each task is fine-tuned once per seed, each seed's result and predictions written to
``OUTPUT/<model-slug>/seeds/<seed>/<task>.json`` (a plain run of that seed, skipped when up to date: resumable per
seed), then ``OUTPUT/<model-slug>/<task>.json``: the first seed's result with the aggregate over the seeds
(:func:`benchmark.evaluate.intervals.aggregate_seeds`). Every result records its bootstrap replicates over evaluation
examples (:mod:`benchmark.evaluate.intervals`).

GLUE is one task with sub-tasks: each sub-task fine-tunes its own copy of the model; predictions of all
sub-tasks go into one file per split (the loader's ids already carry the ``<subtask>-`` prefix), and the GLUE
spec scores them together.
"""

from __future__ import annotations

import dataclasses
import gc
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from .. import distributed, task_types
from ..core.architectures import attention_path
from ..core.record import SCHEMA, Budget, Model
from ..core.task_spec import TaskSpec
from ..encode.batching import BATCHING_CHOICES
from ..encode.features import Collator, encode, input_length
from ..errors import BenchmarkError
from ..evaluate.predict import predict
from ..model.model_source import ResolvedModel, expand_models, resolve_baseline
from ..model.modeling import check_max_length, check_model_for_task
from ..results.files import (
    claim_output_dir,
    config_hash,
    harness_info,
    is_up_to_date,
    model_slug,
    result_path,
    typed_result,
    utc_now,
    write_result,
)
from ..timing.inference import time_inference, timing_batches
from ..train.finetune import finetune
from .config import RunConfig, flag


def log(message: str) -> None:
    """Progress line on stderr (stdout stays free for results); only the main process logs."""
    if distributed.is_main_process():
        print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------- collaborators
def _registry():
    from ..tasks import registry

    return registry


def resolve_tasks(names: Sequence[str] | None) -> list[TaskSpec]:
    """Task specs for ``names`` (all tasks if None), with a one-line error for an unknown name."""
    registry = _registry()
    if not names:
        return list(registry.known_tasks())  # the package's tasks and those of --include-path
    known = [t.name for t in registry.known_tasks()]
    specs = []
    for name in names:
        if name not in known:
            raise BenchmarkError(f"unknown task {name!r}; known tasks: {', '.join(known)}")
        specs.append(registry.get_task(name))
    return specs


def preflight(
    model: str,
    specs: Sequence[TaskSpec],
    *,
    tokenizer_from: str | None = None,
    trust_remote_code: bool = False,
    eval_only: bool = False,
    revision: str | None = None,
    data_dir: str | Path | None = None,
    max_length: int | None = None,
) -> tuple[ResolvedModel, str]:
    """Cheap checks of ``model`` and the data for every task before any weights are read: a bad path, a missing
    tokenizer, a head that cannot do a task or a missing data file fails here, not after an hour of training.
    Returns what to load and the model's revision (the commit the Hub resolved, or the content hash of a local
    directory)."""
    from ..data.loader import check_available

    for spec in specs:
        for sub in spec.subtasks or (spec,):
            roles = list(sub.eval_splits) + (
                [] if eval_only or sub.train_split is None else [sub.train_split]
            )
            check_available(sub, roles, data_dir)
    resolved = resolve_baseline(
        model, tokenizer_from=tokenizer_from, trust_remote_code=trust_remote_code, revision=revision
    )
    commit = ""
    for spec in specs:
        for sub in spec.subtasks or (spec,):
            config, _, _, commit = check_model_for_task(
                resolved.path,
                sub,
                trust_remote_code=trust_remote_code,
                tokenizer_from=resolved.tokenizer_from,
                eval_only=eval_only,
                revision=resolved.revision,
                tokenizer_revision=resolved.tokenizer_revision,
            )
            check_max_length(config, max_length, model)
    return resolved, commit


def _run_config(run_config: RunConfig | None, options: dict[str, Any]) -> RunConfig:
    """``run_config``, or one built from keyword ``options`` (the fields of :class:`RunConfig`, plus ``config``:
    a ``--config`` file), for callers that pass keyword arguments."""
    if run_config is None:
        return RunConfig.from_options(**options)
    if options:
        raise TypeError(f"pass run_config or keyword options, not both (got {', '.join(sorted(options))})")
    return run_config


def _plan_only(model: str, cfg: RunConfig) -> bool:
    """A ``--dry-run`` of ``baseline:NAME`` while the Hub is offline: the registry plan alone, nothing downloaded
    (:mod:`benchmark.run.plan`)."""
    from .plan import hub_offline

    return cfg.dry_run and model.startswith("baseline:") and hub_offline()


def _preflight(model: str, specs: Sequence[TaskSpec], cfg: RunConfig) -> tuple[ResolvedModel, str]:
    with cfg.blame("max_length"):  # --max-length above the model's positions, or the file's run.max_length
        return preflight(
            model,
            specs,
            tokenizer_from=cfg.tokenizer_from,
            trust_remote_code=cfg.trust_remote_code,
            eval_only=cfg.eval_only,
            revision=cfg.revision,
            data_dir=cfg.data_dir,
            max_length=cfg.max_length,
        )


def run_models(
    models: Sequence[str],
    tasks: Sequence[str] | None = None,
    run_config: RunConfig | None = None,
    **options: Any,
) -> tuple[list[Path], dict[str, str]]:
    """:func:`run` for several models (``baseline:students`` etc. expand to registry entries) in one command.

    Every model passes :func:`preflight` before the first one is trained, so a typo in the fifth model fails in
    seconds. A model that fails while running is reported and the others still run. Returns the result files
    and ``{model: error}`` for the models that failed.
    """
    cfg = _run_config(run_config, options)
    expanded = expand_models(models)
    for key in ("model_name", "revision"):
        if getattr(cfg, key) and len(expanded) > 1:
            raise BenchmarkError(f"{flag(key)} names one model; it cannot apply to {len(expanded)} models")
    specs = resolve_tasks(tasks)
    for spec in specs:
        cfg.budget(spec.name)  # a bad --config or budget flag fails before any model runs
    for model in expanded:
        if not _plan_only(model, cfg):
            resolved, _ = _preflight(model, specs, cfg)
            _teachers(
                specs, resolved, cfg, quiet=True
            )  # a teacher the student cannot learn from: refused now
    paths: list[Path] = []
    failed: dict[str, str] = {}
    for i, model in enumerate(expanded, 1):
        if len(expanded) > 1:
            log(f"model {i}/{len(expanded)}: {model}")
        try:
            paths += run(model, tasks, run_config=cfg)
        except BenchmarkError as exc:
            failed[model] = str(exc)
            log(f"{model}: failed: {exc}")
    return paths, failed


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA if available else CPU (:func:`benchmark.timing.hardware.resolve_device`)."""
    from ..timing.hardware import resolve_device as resolve

    return resolve(name)


def _hardware(device: torch.device) -> dict[str, Any]:
    from ..timing.hardware import hardware_info

    return hardware_info(device)


def _load_split(spec: TaskSpec, split: str, data_dir: str | None, limit: int | None):
    from ..data.loader import load_examples

    return load_examples(spec, split, data_dir=data_dir, limit=limit)


def _score(spec: TaskSpec, examples: list[Any], predictions: dict[str, Any]) -> dict[str, Any]:
    from ..evaluate.scoring import score_predictions

    return score_predictions(spec, examples, predictions)


# ------------------------------------------------------------------------------------------------------- run
@dataclasses.dataclass
class TaskOutcome:
    """What one task's fine-tuning and evaluation produced (:func:`_run_task`): every section of its result but
    identity and timestamps, and the predictions. The sections are JSON-shaped; the run types the whole result
    (:func:`benchmark.results.files.typed_result`) before anything is written."""

    info: Model
    splits: list[str]
    n_examples: dict[str, int]
    metrics: dict[str, Any]
    windows: dict[str, Any]
    attention: dict[str, Any]
    dataset: dict[str, Any]
    training: dict[str, Any] | None
    timing: dict[str, Any] | None
    execution: dict[str, Any]
    predictions: dict[str, dict[str, Any]]
    bootstrap: dict[str, Any] | None


def _run_task(
    spec: TaskSpec,
    resolved: ResolvedModel,
    cfg: RunConfig,
    *,
    budget: Budget,
    device: torch.device,
    save_dir: Path | None,
    teacher: Any = None,
) -> TaskOutcome:
    """Everything a result records for one task except identity and timestamps. ``teacher``: a
    :class:`benchmark.train.distill.Teacher` whose fine-tuned models teach the sub-tasks it has."""
    from ..model.precision import attn_implementation_of, autocast, can_compile, compiled, execution_record

    model_path, data_dir = resolved.path, cfg.data_dir
    seed, max_length, dtype, batching = cfg.seed, cfg.max_length, cfg.dtype, cfg.batching
    attn_implementation, compile_model = cfg.attn_implementation, cfg.compile_model

    examples: dict[str, list[Any]] = {}
    predictions: dict[str, dict[str, Any]] = {}
    windows: dict[str, dict[str, Any]] = {}
    attention: dict[str, Any] = {}
    sources: dict[str, Any] = {}
    load_stats: dict[str, Any] = {}  # what loading did per split (e.g. arXiv's MTEB cleaning counts)
    training: dict[str, Any] = {}
    timing = None
    info: Model | None = None
    execution: dict[str, Any] = {}
    for plan in cfg.plan(spec, budget):
        sub, prefix = plan.spec, plan.prefix  # prefix: of the keys of per-split records
        model, tokenizer, info = cfg.load_model(resolved, sub, device)
        use_compile = compile_model and can_compile(info.model_type)
        execution = execution_record(
            dtype=dtype,
            attn_implementation=attn_implementation_of(model),
            requested_attn=attn_implementation,
            compiled=use_compile,
            batching=BATCHING_CHOICES[batching],
        )
        length = input_length(sub, info, max_length)
        if plan.train_split is not None:
            train = _load_split(sub, plan.train_split, data_dir, plan.train_limit)
            sources.setdefault(f"{prefix}{plan.train_split}", train.source)
            load_stats.setdefault(f"{prefix}{plan.train_split}", train.stats)
            encoded = encode(train.examples, tokenizer, sub, info, length)
            log(f"{sub.name}: fine-tuning on {encoded.n_examples} examples ({len(encoded.features)} windows)")
            teacher_model = _load_teacher(teacher, sub, cfg, device)
            summary = finetune(
                model,
                tokenizer,
                sub.task_type,
                encoded,
                budget,
                seed=seed,
                device=device,
                info=info,
                save_to=save_dir / sub.name if save_dir else None,
                dtype=dtype,
                compile_model=use_compile,
                group_by_length=batching == "grouped",
                teacher=teacher_model,
                distill_alpha=cfg.distill_alpha,
                distill_temperature=cfg.distill_temperature,
            )
            del teacher_model
            training[sub.name] = {**summary.to_dict(), **{"windows": encoded.stats}}
        # Prediction, scoring and timing run on the main process alone (timing stays single-process); the
        # others wait, and fail with its error if it fails (benchmark.distributed).
        infer = compiled(model) if use_compile else model
        section = distributed.main_process_section(f"evaluate {model_path} {sub.name}")
        with section as main, autocast(device, dtype):  # predictions in the run's dtype
            for split in plan.eval_splits if main else ():
                loaded = _load_split(sub, split, data_dir, plan.eval_limit)
                sources[f"{prefix}{split}"] = loaded.source
                load_stats[f"{prefix}{split}"] = loaded.stats
                encoded = encode(loaded.examples, tokenizer, sub, info, length)
                out = predict(
                    infer,
                    info,
                    sub,
                    loaded.examples,
                    encoded,
                    tokenizer=tokenizer,
                    batch_size=budget.eval_batch_size or budget.batch_size,
                    device=device,
                    desc=f"predicting {sub.name} {split}",
                )
                examples.setdefault(split, []).extend(loaded.examples)
                predictions.setdefault(split, {}).update(out.predictions)
                windows[f"{prefix}{split}"] = {
                    **encoded.stats,
                    "input_length": length,
                    "padding_ratio": round(out.padding_ratio, 4),
                }
                attention[f"{prefix}{split}"] = out.attention_paths
                if timing is None:
                    collator = Collator.for_model(tokenizer, info, sub.task_type)
                    batches = timing_batches(encoded, collator, length)
                    timing = time_inference(infer, info, batches, device, dtype)
                    if timing is not None:
                        width = task_types.get(sub.task_type).batch_width
                        timing["attention_paths"] = {
                            str(width(b)): attention_path(model, width(b)) for b in batches
                        }
        del model, infer
        gc.collect()
    metrics = distributed.on_main(
        lambda: {split: _score(spec, examples[split], predictions[split]) for split in predictions},
        label=f"score {model_path} {spec.name}",
    )
    bootstrap = distributed.on_main(
        lambda: _bootstrap(spec, examples, predictions, metrics), label=f"bootstrap {model_path} {spec.name}"
    )
    assert info is not None  # a task has at least one plan (RunConfig.plan)
    from_hub = not data_dir and all(
        s.get("kind", "hub") == "hub" for s in sources.values() if isinstance(s, dict)
    )
    return TaskOutcome(
        info=info,
        splits=list(predictions),
        n_examples={split: len(examples[split]) for split in examples},
        metrics=metrics,
        windows=windows,
        attention=attention,
        # hub: None when the data did not come from the Hub (--data-dir, or GONERD's local build: see sources)
        dataset={
            "hub": dataclasses.asdict(spec.hub) if from_hub else None,
            "sources": sources,
            "stats": load_stats,
        },
        training=training or None,
        timing=timing,
        execution=execution,
        predictions=predictions,
        bootstrap=bootstrap,
    )


def _load_teacher(teacher: Any, sub: TaskSpec, cfg: RunConfig, device: torch.device) -> Any:
    """The teacher's fine-tuned model of ``sub`` (eval mode, on ``device``), or None without one."""
    if teacher is None:
        return None
    if sub.name not in teacher.models:
        log(f"{sub.name}: the teacher run has no fine-tuned model for it; trains without a teacher")
        return None
    from ..model.modeling import load_model_for_task

    path = teacher.models[sub.name]
    log(
        f"{sub.name}: distilling from the teacher's {path} (alpha {cfg.distill_alpha}, T {cfg.distill_temperature})"
    )
    model, _, _ = load_model_for_task(
        str(path),
        sub,
        device=device,
        trust_remote_code=cfg.trust_remote_code,
        eval_only=True,
        attn_implementation=cfg.attn_implementation,
    )
    return model.eval()


def _teachers(
    specs: Sequence[TaskSpec], resolved: ResolvedModel, cfg: RunConfig, *, quiet: bool = False
) -> dict[str, Any]:
    """``--teacher``: each task's :class:`benchmark.train.distill.Teacher`, checked against the student (same vocabulary,
    the task's labels) before anything trains; a task the teacher run has no model for runs without it."""
    if cfg.teacher is None or cfg.eval_only:
        if cfg.teacher is not None:
            raise BenchmarkError("--teacher needs training; it cannot be combined with --eval-only")
        return {}
    from ..model.modeling import check_model_for_task
    from ..train.distill import check_teacher, find_teacher

    teachers: dict[str, Any] = {}
    for spec in specs:
        for seed in cfg.seed_list():
            found = find_teacher(Path(cfg.teacher), spec, seed)
            if found is None:
                if not quiet:
                    log(
                        f"{spec.name}: the teacher run {cfg.teacher} has no fine-tuned model for it; runs without a teacher"
                    )
                break
            sub = next(iter(spec.subtasks or (spec,)))
            _, tokenizer, _, _ = check_model_for_task(
                resolved.path,
                sub,
                trust_remote_code=cfg.trust_remote_code,
                tokenizer_from=resolved.tokenizer_from,
                revision=resolved.revision,
                tokenizer_revision=resolved.tokenizer_revision,
            )
            check_teacher(found, spec, tokenizer, trust_remote_code=cfg.trust_remote_code)
            teachers[f"{spec.name}@{seed}"] = found
    return teachers


def _bootstrap(spec, examples, predictions, metrics) -> dict[str, Any]:
    """Per split, the paired bootstrap replicates of the primary metric (:mod:`benchmark.evaluate.intervals`); a split
    whose score is not a number (GLUE with sub-tasks missing) has none."""
    from ..evaluate.intervals import bootstrap_split

    out = {}
    for split in predictions:
        score = metrics[split].get("score")
        if not isinstance(score, int | float) or isinstance(score, bool):
            continue
        found = bootstrap_split(spec, examples[split], predictions[split], score=float(score))
        if all(math.isfinite(v) for v in found["replicates"]):
            out[split] = found
    return out


def run(
    model: str,
    tasks: Sequence[str] | None = None,
    run_config: RunConfig | None = None,
    **options: Any,
) -> list[Path]:
    """Run ``model`` through ``tasks`` (all of them if None: the package's and those of ``--include-path``) with ``run_config``; returns the result file of every
    task. Without ``run_config``, keyword ``options`` build one (:meth:`RunConfig.from_options`: the fields of
    :class:`benchmark.run.config.RunConfig`, and ``config``, a ``--config`` file).

    ``model_name`` is the id results are filed under (and the leaderboard shows): by default ``model`` itself for
    a Hub id or ``baseline:NAME``, and the directory's name for a local path (whose revision is then the sha256 of
    its config and weights). Give e.g. the Hub id a local copy came from. ``revision`` (branch, tag or commit)
    pins a Hub model; ``baseline:NAME`` is pinned to the registry's revision unless ``revision`` is given. The
    result records the commit the Hub resolved it to.

    ``limit`` caps examples per split (training and evaluation); ``epochs``, ``learning_rate``,
    ``max_train_examples`` and ``batch_size`` override the task budgets (:mod:`benchmark.core.budget`) after
    ``config``. ``save_models`` keeps each fine-tuned checkpoint under ``OUTPUT/<slug>/models/<task>/``.

    ``seeds``: fine-tune once per seed and aggregate (see the module docstring); ``seed``: the one seed otherwise.

    ``teacher`` (``--teacher``): the ``OUTPUT/<slug>`` of a teacher's ``save_models`` run; each task it has a
    fine-tuned model for is trained on its soft labels too (``distill_alpha``, ``distill_temperature``:
    :mod:`benchmark.train.distill`) and records ``config.distillation``.

    ``dtype``, ``attn_implementation`` and ``compile_model``: how the model runs (:mod:`benchmark.model.precision`),
    recorded in each result's ``execution``; so is ``batching`` (``grouped``: length-grouped training batches,
    :mod:`benchmark.encode.batching`; ``random``: the Trainer's seeded random ones). ``dry_run``: print what each task
    would cost (:mod:`benchmark.run.dryrun`) and write nothing; returns no paths.
    """
    cfg = _run_config(run_config, options)
    specs = resolve_tasks(tasks)
    budgets = {spec.name: cfg.budget(spec.name) for spec in specs}
    if cfg.dry_run and model.startswith("baseline:") and distributed.is_main_process():
        from .plan import baseline_plan

        print(baseline_plan(model, specs, cfg))
    if _plan_only(model, cfg):
        if distributed.is_main_process():
            print(
                f"{model}: HF_HUB_OFFLINE is set: no calibrated estimate (it needs the weights and the data)"
            )
        return []
    resolved, revision = _preflight(model, specs, cfg)
    teachers = _teachers(specs, resolved, cfg)
    model_path = resolved.path
    # Under accelerate launch / torchrun: join the processes, on the device the launcher gives this one.
    with cfg.blame("device"):
        torch_device = resolve_device(distributed.setup_process(cfg.device))
    from ..model.precision import check_dtype

    with cfg.blame("dtype"):
        check_dtype(cfg.dtype, torch_device)
    if cfg.dry_run:
        from .dryrun import dry_run as preview

        total = sum(
            preview(spec, resolved, cfg, budget=budgets[spec.name], device=torch_device) for spec in specs
        )
        if distributed.is_main_process():
            print(
                f"all {len(specs)} task(s), estimated: {total / 60:.1f} min on {torch_device} (nothing written)"
            )
        return []
    warning = distributed.launch_warning()
    if warning:
        log(f"warning: {warning}")
    name = cfg.model_name or (Path(model_path).name if Path(model_path).expanduser().exists() else model)
    slug = model_slug(name)
    directory = distributed.on_main(
        claim_output_dir,
        Path(cfg.output),
        slug,
        {"model_id": name, "revision": revision},
        label=f"claim {slug}",
    )
    if Path(model_path).is_dir():  # a distilled student's loss curve stays with the results it makes
        from ..results.files import keep_distill_report

        distributed.on_main(keep_distill_report, model_path, directory, label="keep distill_report.json")
    hardware = _hardware(torch_device)
    paths: list[Path] = []
    for spec in specs:
        task = _TaskRun(
            spec,
            resolved,
            revision,
            name,
            slug,
            directory,
            hardware,
            torch_device,
            budgets[spec.name],
            teachers,
        )
        if cfg.seeds is None:
            paths.append(task.run(cfg, result_path(Path(cfg.output), slug, spec.name)))
            continue
        done = []
        for seed in cfg.seeds:
            seed_cfg = dataclasses.replace(cfg, seed=seed, seeds=None)
            log(f"{spec.name}: seed {seed}")
            done.append((seed, task.run(seed_cfg, directory / "seeds" / str(seed) / f"{spec.name}.json")))
        paths.append(distributed.on_main(_write_aggregate, task, cfg, done, label=f"aggregate {spec.name}"))
    return paths


@dataclasses.dataclass
class _TaskRun:
    """One task of one model: what every seed's run of it shares."""

    spec: TaskSpec
    resolved: ResolvedModel
    revision: str
    name: str
    slug: str
    directory: Path
    hardware: dict[str, Any]
    device: torch.device
    budget: Budget
    teachers: dict[str, Any] = dataclasses.field(default_factory=dict)  # "<task>@<seed>" -> distill.Teacher

    def teacher(self, cfg: RunConfig) -> Any:
        seed = cfg.seeds[0] if cfg.seeds is not None else cfg.seed  # the aggregate: its first seed's
        return self.teachers.get(f"{self.spec.name}@{seed}")

    def section(self, cfg: RunConfig) -> dict[str, Any]:
        config = cfg.result_config(
            self.budget, tokenizer=self.resolved.tokenizer_from, processes=distributed.world_size()
        )
        teacher = self.teacher(cfg)
        if teacher is not None:  # hashed: a distilled result is never taken for a plain one
            config["distillation"] = teacher.record(cfg.distill_alpha, cfg.distill_temperature)
        return config

    def up_to_date(self, path: Path, cfg_hash: str) -> bool:
        return distributed.on_main(
            is_up_to_date,
            path,
            spec_hash=self.spec.spec_hash(),
            cfg_hash=cfg_hash,
            revision=self.revision,
            label=f"check {path}",
        )

    def run(self, cfg: RunConfig, path: Path) -> Path:
        """Fine-tune, predict, score and time the task with ``cfg`` (one seed) unless ``path`` is up to date;
        writes the result and its predictions to ``path``."""
        spec = self.spec
        section = self.section(cfg)
        cfg_hash = config_hash(section)
        if self.up_to_date(path, cfg_hash):
            log(f"{spec.name}: skipped (up to date) {path}")
            return path
        started = utc_now()
        log(f"{spec.name}: running ({spec.task_type}, {spec.context} context)")
        save_dir = self.directory / "models" / spec.name if cfg.save_models else None
        if save_dir is not None and path.parent.parent.name == "seeds":  # --seeds: one checkpoint per seed
            save_dir = save_dir / f"seed-{cfg.seed}"
        outcome = _run_task(
            spec,
            self.resolved,
            cfg,
            budget=self.budget,
            device=self.device,
            save_dir=save_dir,
            teacher=self.teacher(cfg),
        )
        record = {
            "schema": SCHEMA,
            "model": {
                **outcome.info.to_dict(),
                "model_id": self.name,
                "path": self.resolved.path,
                "revision": self.revision,
                "requested_revision": self.resolved.revision,
                "tokenizer_revision": self.resolved.tokenizer_revision,
                "slug": self.slug,
            },
            "harness": harness_info(),
            "task": {
                "name": spec.name,
                "version": spec.version,
                "spec_hash": spec.spec_hash(),
                "task_type": spec.task_type,
                "context": spec.context,
                "primary_metric": spec.primary_metric,
            },
            "dataset": outcome.dataset,
            "splits": outcome.splits,
            "n_examples": outcome.n_examples,
            "metrics": outcome.metrics,
            "windows": outcome.windows,
            "attention": outcome.attention,
            "training": outcome.training,
            "timing": outcome.timing,
            "execution": outcome.execution,
            "hardware": self.hardware,
            "seed": cfg.seed,
            "config": {**section, "device": str(self.device), "save_models": cfg.save_models},
            "config_hash": cfg_hash,
            "started_at": started,
            "finished_at": utc_now(),
        }
        if outcome.bootstrap:
            record["bootstrap"] = outcome.bootstrap
        distributed.on_main(
            lambda: write_result(path, typed_result(record, path), outcome.predictions), label=f"write {path}"
        )
        summary = ", ".join(
            f"{split} {spec.primary_metric}={_fmt(m.get('score'))}" for split, m in outcome.metrics.items()
        )
        log(f"{spec.name}: {summary} -> {path}")
        return path


def _write_aggregate(task: _TaskRun, cfg: RunConfig, done: list[tuple[int, Path]]) -> Path:
    """``OUTPUT/<slug>/<task>.json`` of a ``--seeds`` run: the first seed's result (and its predictions) with
    the aggregate over every seed (:func:`aggregate_seeds`) and ``config.seeds``."""
    from ..results.files import load_record, predictions_path, read_predictions

    records = [(seed, load_record(path)) for seed, path in done]
    first_path = done[0][1]
    first = records[0][1].to_dict()
    section = task.section(cfg)  # the first seed's config and the list of seeds (RunConfig.result_config)
    first["config"] = {**section, "device": first["config"]["device"], "save_models": cfg.save_models}
    first["config_hash"] = config_hash(section)
    from ..evaluate.intervals import aggregate_seeds

    first["seeds"] = aggregate_seeds(
        [
            (seed, record, path.relative_to(task.directory).as_posix())
            for (seed, record), (_, path) in zip(records, done, strict=True)
        ]
    )
    target = task.directory / f"{task.spec.name}.json"
    predictions = {split: read_predictions(predictions_path(first_path, split)) for split in first["splits"]}
    write_result(target, typed_result(first, target), predictions)
    stats = first["seeds"]["splits"]
    shown = ", ".join(
        f"{split} {task.spec.primary_metric}={_fmt(part['stats'][task.spec.primary_metric]['mean'])}"
        f" sd {_fmt(part['stats'][task.spec.primary_metric]['sd'])}"
        for split, part in stats.items()
        if task.spec.primary_metric in part["stats"]
    )
    log(f"{task.spec.name}: {len(done)} seed(s): {shown} -> {target}")
    return target


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else str(value)
