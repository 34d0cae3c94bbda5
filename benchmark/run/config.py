"""What a ``benchmark run`` needs besides the model and the tasks, as one typed, validated value.

:class:`RunConfig` is built once, by the command line from its flags and ``--config FILE`` (or by
:func:`benchmark.run.pipeline.run` from keyword arguments), and handed to :func:`benchmark.run.pipeline.run_models`,
:func:`benchmark.run.pipeline.run` and, per task, to the run and to ``--dry-run``. It is checked when it is built: a bad
value is one :class:`BenchmarkError` line naming the flag, or the file and key it came from.

Each run option is declared once, on its field (:func:`option`: default, flag, help text, and whether a
``--config`` file may set it; its type is the field's annotation): ``benchmark run``'s flags
(:mod:`benchmark.commands.run`), the ``run:`` keys a ``--config`` file may hold (:data:`RUN_FILE_KEYS`) and the
type checks of both are made from :data:`RUN_OPTIONS`.

A ``--config`` file (:func:`read_config`, YAML or JSON) holds budget keys at the top level (all tasks) and/or
under ``tasks: {<name>: {...}}`` (:class:`benchmark.core.record.Budget`), and run options under ``run:``::

    run: {dtype: bfloat16, batching: random, seed: 1}
    epochs: 2                 # budgets, as before
    tasks:
      gonerd: {epochs: 1}

Precedence, lowest first, for run options: the defaults below -> the file's ``run:`` -> command-line flags; for
budgets (:func:`resolve_budget`): the task's default -> the file -> the budget flags. The values actually
used are recorded in each result as before (``config``, ``execution``, ``seed``); the file's name is not.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..core.budget import BUDGET_KEYS, _check_keys, budget_problem
from ..core.record import Budget, check_model_id
from ..core.task_spec import TaskSpec
from ..encode import batching as _batching
from ..encode.batching import BATCHING_CHOICES
from ..errors import BenchmarkError
from ..model.precision import DTYPES
from ..tasks import registry

SEED_LIMIT = 2**32  # numpy's seeding range (transformers.set_seed seeds numpy too)


# ------------------------------------------------------------------------------------- budgets and --config
def default_budget(task: str) -> Budget:
    """The default for ``task`` from its spec's ``budget:`` (GLUE sub-tasks inherit ``glue``'s; user tasks of
    ``--include-path`` have their own); an unknown name is an error naming the known tasks."""
    return Budget(**registry.get_task(task).budget)


def read_config(path: str | Path | None) -> dict[str, Any]:
    """Parse a ``--config`` file (YAML or JSON) into ``{"defaults": {...}, "tasks": {name: {...}}, "run": {...}}``
    (``run``: the file's run options, keys checked here, values by :class:`RunConfig`)."""
    if path is None:
        return {"defaults": {}, "tasks": {}, "run": {}}
    file = Path(path)
    if not file.exists():
        raise BenchmarkError(f"--config {path}: no such file")
    from gonerd import untrusted

    where = f"--config {path}"
    raw = untrusted.read_bytes(
        file, where, BenchmarkError, limit=untrusted.MAX_CONFIG_BYTES
    )  # a FIFO: refused
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BenchmarkError(
            f"{where}: not a text file (byte {exc.start} is not UTF-8); expected YAML or JSON"
        ) from None
    if file.suffix == ".json":
        data = untrusted.json_loads(text, where, BenchmarkError)
    else:  # duplicate keys, alias bombs and deep nesting refused before anything is built
        data = untrusted.yaml_loads(text, where, BenchmarkError)
    data = data or {}
    if not isinstance(data, dict):
        raise BenchmarkError(f"--config {path}: expected a mapping at the top level")
    run = data.pop("run", {}) or {}
    if not isinstance(run, dict):
        raise BenchmarkError(f"--config {path}: 'run' must map run options to values")
    for key in run:
        if key not in RUN_FILE_KEYS:
            raise BenchmarkError(
                f"--config {path}: run.{key}: unknown run option; known: {', '.join(sorted(RUN_FILE_KEYS))}"
            )
    tasks = data.pop("tasks", {}) or {}
    if not isinstance(tasks, dict):
        raise BenchmarkError(f"--config {path}: 'tasks' must map task names to budget settings")
    known = registry.task_names()
    for name, values in tasks.items():
        if name not in known:
            raise BenchmarkError(
                f"--config {path}: tasks.{name}: unknown task; known tasks: {', '.join(known)}"
            )
        if values is not None and not isinstance(values, dict):
            raise BenchmarkError(f"--config {path}: tasks.{name} must map budget keys to values")
    return {
        "defaults": _check_keys(data, f"--config {path}"),
        "tasks": {
            name: _check_keys(dict(v or {}), f"--config {path}, tasks.{name}") for name, v in tasks.items()
        },
        "run": run,
    }


def resolve_budget(
    task: str, *, config: dict[str, Any] | None = None, overrides: dict[str, Any] | None = None
) -> Budget:
    """Default for ``task`` <- config file (top level, then ``tasks.<task>``) <- non-None CLI ``overrides``."""
    budget = default_budget(task)
    config = config or {"defaults": {}, "tasks": {}}
    budget = replace(budget, **config.get("defaults", {}))
    budget = replace(budget, **config.get("tasks", {}).get(task, {}))
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    for key, value in flags.items():
        problem = budget_problem(key, value) if key in BUDGET_KEYS else "is not a budget setting"
        if problem:
            raise BenchmarkError(f"--{key.replace('_', '-')} {problem}")
    return replace(budget, **flags)


def _short(value: str, limit: int = 60) -> str:
    """``repr`` of a user's value, cut to ``limit`` characters (a 1,000-character name stays one readable line)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 5]}...' ({len(value):,} characters)"


def flag(name: str) -> str:
    """The command-line flag of RunConfig field ``name``."""
    option = RUN_OPTIONS.get(name)
    return option.flag if option is not None else "--" + name.replace("_", "-")


# ------------------------------------------------------------------------------------------- run options
def option(
    default: Any = None,
    *,
    help: str,
    flag: str | None = None,
    metavar: str | None = None,
    choices: Sequence[str] | None = None,
    config: bool = False,
    budget: bool = False,
) -> Any:
    """A :class:`RunConfig` field that is a ``benchmark run`` option, declared once: its default, and in its
    metadata the flag (default: ``--`` and the name with dashes), the help text (``%(default)s``: the field's
    default), the metavar and choices; ``config``: a ``--config`` file's ``run:`` may set it too (its key: the
    flag without ``--``, dashes as underscores); ``budget``: it overrides the task budget's key of that name. The
    flag's type and the config value's type are the field's annotation (:data:`RUN_OPTIONS`)."""
    metadata = {
        "flag": flag,
        "help": help,
        "metavar": metavar,
        "choices": tuple(choices) if choices is not None else None,
        "config": config,
        "budget": budget,
    }
    return field(default=default, metadata={"option": metadata})


@dataclass(frozen=True)
class RunOption:
    """One run option as :func:`option` declared it on its :class:`RunConfig` field: what ``benchmark run``'s
    flag and the ``--config`` key are generated from, and what a value is checked against.

    ``kind``: from the field's annotation, ``None`` aside: ``bool``, ``int``, ``float``, ``str``, ``path`` (a str
    or a Path) or ``seeds`` (a list of integers)."""

    name: str
    flag: str
    kind: str
    default: Any
    help: str
    metavar: str | None
    choices: tuple[str, ...] | None
    config_key: str | None
    budget: bool

    def help_text(self) -> str:
        """The help text with ``%(default)s`` replaced by the field's default (``no`` / ``yes`` for a switch) and
        ``%(config_keys)s`` by the ``run:`` keys of a ``--config`` file."""
        shown = ("yes" if self.default else "no") if self.kind == "bool" else str(self.default)
        return self.help.replace("%(default)s", shown).replace("%(config_keys)s", ", ".join(RUN_FILE_KEYS))

    def problem(self, value: Any) -> str | None:
        """What is wrong with the type of ``value`` (None: fine, or checked elsewhere: budgets, numbers, seeds)."""
        if self.budget:  # benchmark.core.budget.budget_problem
            return None
        if value is None and self.default is None:
            return None
        if self.kind == "bool" and not isinstance(value, bool):
            return f"must be true or false, got {value!r}"
        if self.kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
            return f"must be an integer, got {value!r}"
        if self.kind == "str" and not isinstance(value, str):
            return f"must be a string, got {value!r}"
        if self.choices is not None and value not in self.choices:
            return f"must be one of {', '.join(self.choices)}, got {value!r}"
        return None


@dataclass(frozen=True)
class SubtaskPlan:
    """One sub-task of a task's plan (:meth:`RunConfig.plan`): the splits it trains on and evaluates, and how many
    examples of each."""

    spec: TaskSpec  # the sub-task (the task itself when it has none)
    prefix: str  # "<sub-task>/" before its split names in a result's per-split records; "" without sub-tasks
    train_split: str | None  # None: nothing trained (--eval-only)
    train_limit: int | None  # at most this many training examples (--limit, the budget's max_train_examples)
    eval_splits: tuple[str, ...]
    eval_limit: int | None  # at most this many examples per evaluation split (--limit)


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs besides the model and the tasks (see the module docstring)."""

    # Each run option once (:func:`option`): ``benchmark run``'s flags and a --config file's ``run:`` keys are made
    # from these fields. ``run:`` holds only how a run executes and is seeded: what it is run on (model, tasks,
    # data, output) and permissions (--trust-remote-code) stay on the command line.
    output: str | Path = option("runs", metavar="DIR", help="results directory (default: %(default)s)")
    data_dir: str | Path | None = option(  # stored as an absolute path
        metavar="DIR", help="read the official files from DIR/<task>/ (default: the Hub)"
    )
    limit: int | None = option(metavar="N", help="at most N examples per split (default: all)")
    eval_only: bool = option(False, help="the model is already fine-tuned for the task: skip training")
    seed: int = option(
        42, config=True, help="random seed for head initialisation and training (default: %(default)s)"
    )
    seeds: tuple[int, ...] | None = option(
        config=True,
        metavar="A,B,C",
        help="fine-tune once per seed (each kept under OUTPUT/<slug>/seeds/<seed>/, resumable per seed); each "
        "task's result then carries mean, sd, n, min and max over seeds and a 95%% bootstrap interval",
    )
    device: str = option("auto", config=True, help="auto, cpu, cuda or cuda:N (default: %(default)s)")
    max_length: int | None = option(
        config=True,
        metavar="N",
        help="cap on input tokens, at most the model's positions (default: per task, within the model's)",
    )
    trust_remote_code: bool = option(False, help="allow models that ship their own modelling code")
    tokenizer_from: str | Path | None = option(
        flag="--tokenizer", metavar="PATH", help="tokenizer to use when the model has none"
    )
    revision: str | None = option(
        metavar="REV",
        help="Hub branch, tag or commit of the model (default: main; baseline:NAME uses the registry's pin)",
    )
    model_name: str | None = option(
        metavar="ID",
        help="id to file results under (default: MODEL, or a local directory's name); e.g. the Hub id of a local "
        "copy",
    )
    save_models: bool = option(False, help="keep fine-tuned checkpoints under OUTPUT/<slug>/models/")
    dtype: str = option(
        "float32",
        config=True,
        choices=DTYPES,
        help="mixed precision for training (the Trainer's bf16/fp16) and inference (autocast); float32, the "
        "default, compares with published numbers; float16 needs a GPU (default: %(default)s)",
    )
    attn_implementation: str | None = option(
        config=True,
        metavar="NAME",
        help="attention kernel passed to from_pretrained: sdpa, eager, flash_attention_2, ... (default: what "
        "transformers picks); architectures with their own attention ignore it with a warning",
    )
    compile_model: bool = option(
        False,
        flag="--compile",
        config=True,
        help="torch.compile the model for training and inference (default: %(default)s)",
    )
    batching: str = option(
        "random",
        config=True,
        choices=BATCHING_CHOICES,
        help="training batches: drawn at random (seeded, as the transformers Trainer does) or length-grouped "
        "(little padding, about 2x faster on CPU, but about 1 F1 lower on CoNLL-2003 at batch 32; labelled on "
        "the leaderboard); recorded in each result (default: %(default)s)",
    )
    dry_run: bool = option(
        False,
        help="print per task the examples, windows, tokens, padded positions, optimiser steps and an estimated "
        "wall time from a short calibration on this device; trains nothing, writes nothing",
    )
    teacher: str | Path | None = (
        option(  # a teacher's `benchmark run --save-models` folder (benchmark.train.distill)
            metavar="RUN",
            help="task distillation: the output folder (OUTPUT/<slug>) of a `benchmark run --save-models` of a "
            "fine-tuned teacher with the same tokenizer; its soft labels join the gold loss on each task it has a "
            "model for (tasks without one train as usual)",
        )
    )
    distill_alpha: float = option(
        0.5,
        metavar="A",
        help="with --teacher: weight of the teacher's KL term; 1 - A weighs the gold loss (default: %(default)s)",
    )
    distill_temperature: float = option(
        2.0,
        metavar="T",
        help="with --teacher: softmax temperature of the KL term, scaled by T^2 (default: %(default)s)",
    )
    # budget overrides (None: the task's budget, after the config file's)
    epochs: float | None = option(
        budget=True, help="training epochs, 0 = evaluate the fresh head (default: per task)"
    )
    learning_rate: float | None = option(
        budget=True, metavar="LR", help="peak learning rate (default: per task)"
    )
    max_train_examples: int | None = option(
        budget=True, metavar="N", help="cap on training examples (default: per task)"
    )
    batch_size: int | None = option(
        budget=True, metavar="N", help="training/eval batch size (default: per task)"
    )
    config_file: str | None = option(  # set by from_options from its ``config`` (the --config flag)
        flag="--config",
        metavar="FILE",
        help="YAML/JSON file of budgets and, under run:, run options (%(config_keys)s); flags override it (see "
        "benchmark/run/config.py)",
    )
    budgets: Mapping[str, Any] = field(
        default_factory=lambda: {"defaults": {}, "tasks": {}}, repr=False, hash=False
    )  # the --config file's budgets, parsed
    from_file: frozenset[str] = field(default=frozenset(), repr=False, compare=False)  # fields the file set

    # --------------------------------------------------------------------------------------------- building
    @classmethod
    def from_options(cls, *, config: str | Path | None = None, **options: Any) -> RunConfig:
        """From keyword arguments named like the fields (None: not given) and ``config``, a ``--config`` file
        whose ``run:`` options apply where ``options`` gives none."""
        unknown = sorted(set(options) - (set(RUN_OPTIONS) - {"config_file"}))  # config_file: from ``config``
        if unknown:
            raise TypeError(f"unknown run option(s): {', '.join(unknown)}")
        parsed = read_config(config)
        given = {k: v for k, v in options.items() if v is not None}
        if "seed" in given and "seeds" in given:
            raise BenchmarkError("--seed and --seeds both given; pass one of them")
        run = parsed.get("run", {})
        if "seed" in run and "seeds" in run:
            raise BenchmarkError(f"--config {config}: run.seed and run.seeds both given; keep one of them")
        if (
            "seed" in given or "seeds" in given
        ):  # a seed flag replaces the file's seed choice, whichever it is
            run = {k: v for k, v in run.items() if k not in ("seed", "seeds")}
            parsed = {**parsed, "run": run}
        from_file = {
            RUN_FILE_KEYS[key]: value
            for key, value in parsed.get("run", {}).items()
            if RUN_FILE_KEYS[key] not in given
        }
        return cls(
            **{**from_file, **given},
            config_file=str(config) if config is not None else None,
            budgets={"defaults": parsed["defaults"], "tasks": parsed["tasks"]},
            from_file=frozenset(from_file),
        )

    def __post_init__(self) -> None:
        for name, declared in RUN_OPTIONS.items():  # types and choices, as the fields declare them
            problem = declared.problem(getattr(self, name))
            if problem:
                self._fail(name, problem)
        if self.limit is not None and self.limit < 1:
            self._fail("limit", f"must be a positive number of examples, got {self.limit}")
        if self.max_length is not None and self.max_length < 16:
            self._fail("max_length", f"must be at least 16 tokens, got {self.max_length}")
        if self.model_name is not None:
            why = check_model_id(self.model_name)
            if why:  # also a name no file system can hold (a result folder is named after it)
                self._fail(
                    "model_name", why.replace(f"model name {self.model_name!r}", _short(self.model_name))
                )
        if not 0 <= self.seed < SEED_LIMIT:
            self._fail("seed", f"must be between 0 and 2**32 - 1, got {self.seed}")
        if self.seeds is not None:
            self._check_seeds()
        from ..model.precision import check_attn_implementation

        with self.blame("attn_implementation"):
            check_attn_implementation(self.attn_implementation)
        if "device" in self.from_file:  # a flag's device is checked where the run resolves it (as before)
            from ..timing.hardware import resolve_device

            with self.blame("device"):
                resolve_device(self.device)
        for name in BUDGET_OVERRIDES:
            problem = budget_problem(name, getattr(self, name))
            if getattr(self, name) is not None and problem:
                self._fail(name, problem)
        for name, low, high in (("distill_alpha", 0.0, 1.0), ("distill_temperature", 0.0, None)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                self._fail(name, f"must be a finite number, got {value!r}")
            if high is not None and not low <= value <= high:
                self._fail(name, f"must be between 0 and 1, got {value}")
            if high is None and value <= low:
                self._fail(name, f"must be above 0, got {value}")
        if self.teacher is not None:
            from ..train.distill import teacher_run_dir

            object.__setattr__(self, "teacher", str(teacher_run_dir(self.teacher)))
        if self.data_dir is not None:
            if not Path(self.data_dir).is_dir():
                raise BenchmarkError(f"--data-dir {self.data_dir}: no such directory")
            object.__setattr__(self, "data_dir", str(Path(self.data_dir).resolve()))

    def _check_seeds(self) -> None:
        seeds = self.seeds
        if isinstance(seeds, str | bytes) or not isinstance(seeds, list | tuple) or not seeds:
            self._fail("seeds", f"must be a non-empty list of integers, got {seeds!r}")
        for value in seeds:
            if isinstance(value, bool) or not isinstance(value, int):
                self._fail("seeds", f"must be a list of integers, got {value!r} in it")
            if not 0 <= value < SEED_LIMIT:
                self._fail("seeds", f"must be between 0 and 2**32 - 1, got {value}")
        if len(set(seeds)) != len(seeds):
            self._fail("seeds", f"lists a seed twice: {list(seeds)}")
        object.__setattr__(self, "seeds", tuple(seeds))

    def seed_list(self) -> list[int]:
        """The seeds to fine-tune with: ``--seeds``, else the one ``--seed``."""
        return list(self.seeds) if self.seeds is not None else [self.seed]

    def where(self, name: str) -> str:
        """Where field ``name``'s value came from: its flag, or ``--config FILE: run.KEY``."""
        if name in self.from_file:
            return f"--config {self.config_file}: run.{RUN_OPTIONS[name].config_key}"
        return flag(name)

    def _fail(self, name: str, problem: str) -> None:
        raise BenchmarkError(f"{self.where(name)} {problem}")

    @contextlib.contextmanager
    def blame(self, name: str) -> Iterator[None]:
        """Re-raise a BenchmarkError about field ``name``'s flag as one naming the config file when the value
        came from there (e.g. ``--dtype float16 is not supported on CPU`` for a file's ``run.dtype``)."""
        try:
            yield
        except BenchmarkError as exc:
            text, prefix = str(exc), flag(name)
            if name in self.from_file and text.startswith(prefix):
                raise BenchmarkError(self.where(name) + text[len(prefix) :]) from None
            raise

    # -------------------------------------------------------------------------------------------- using
    def budget(self, task: str) -> Budget:
        """``task``'s budget: its default <- the config file <- the budget flags."""
        overrides = {name: getattr(self, name) for name in BUDGET_OVERRIDES}
        return resolve_budget(task, config=dict(self.budgets), overrides=overrides)

    def plan(self, spec: TaskSpec, budget: Budget) -> list[SubtaskPlan]:
        """What the run does for ``spec`` with ``budget``, per sub-task (GLUE's; else the task itself): the run
        and ``--dry-run`` follow the same plan. Training a task without a training split is refused here."""
        plans = []
        for sub in list(spec.subtasks) or [spec]:
            if not self.eval_only and sub.train_split is None:
                raise BenchmarkError(f"task {sub.name!r} has no training split; run it with --eval-only")
            caps = [x for x in (self.limit, budget.max_train_examples) if x]
            plans.append(
                SubtaskPlan(
                    spec=sub,
                    prefix=f"{sub.name}/" if spec.subtasks else "",
                    train_split=None if self.eval_only else sub.train_split,
                    train_limit=min(caps, default=None),
                    eval_splits=tuple(sub.eval_splits),
                    eval_limit=self.limit,
                )
            )
        return plans

    @property
    def execution(self) -> dict[str, Any]:
        """How the model runs, as ``run``'s config records it (only non-default values enter it)."""
        return {
            "dtype": self.dtype,
            "attn_implementation": self.attn_implementation,
            "compile_model": self.compile_model,
        }

    def result_config(self, budget: Budget, *, tokenizer: str | None, processes: int = 1) -> dict[str, Any]:
        """A result's ``config`` section before ``device`` and ``save_models``: what ``config_hash`` covers, so
        a rerun with the same settings finds its result up to date. Its shape must not change (a changed hash
        reruns every finished task): only non-default execution settings enter it."""
        config = {
            "budget": budget.to_dict(),
            "limit": self.limit,
            "eval_only": self.eval_only,
            "seed": self.seed,
            "max_length": self.max_length,
            "tokenizer": tokenizer,
            "data_dir": self.data_dir,
            "train_batches": BATCHING_CHOICES[self.batching],  # --batching (random before grouping existed)
        }
        if self.batching == "grouped" and not self.eval_only:
            # Mega-batches of 16 batches since 2026-11-29 (benchmark.encode.batching); results trained with 50 lack the
            # key, so their hash differs and they train again instead of being taken as up to date.
            config["megabatch_factor"] = _batching.MEGABATCH_FACTOR
        config.update({k: v for k, v in self.execution.items() if v not in (None, False, "float32")})
        if self.seeds is not None:  # the aggregate of --seeds (each seed's own result records its seed alone)
            config["seed"] = self.seeds[0]
            config["seeds"] = list(self.seeds)
        if processes > 1 and not self.eval_only:
            config["num_processes"] = processes  # --batch-size is per process
        return config

    def load_model(self, resolved: Any, spec: Any, device: Any) -> tuple[Any, Any, Any]:
        """``(model, tokenizer, info)`` for task ``spec`` from ``resolved`` (a ResolvedModel), seeded with
        ``seed`` first so that every load of it gets the same fresh head (the run and ``--dry-run``)."""
        from transformers import set_seed

        from ..model.modeling import load_model_for_task

        set_seed(self.seed)
        return load_model_for_task(
            resolved.path,
            spec,
            device=device,
            trust_remote_code=self.trust_remote_code,
            tokenizer_from=resolved.tokenizer_from,
            eval_only=self.eval_only,
            revision=resolved.revision,
            tokenizer_revision=resolved.tokenizer_revision,
            attn_implementation=self.attn_implementation,
        )


def _kind(hint: Any) -> str:
    """A run option's kind (:class:`RunOption`) from its field's annotation."""
    args = set(typing.get_args(hint)) if isinstance(hint, types.UnionType) else {hint}
    args.discard(type(None))
    kinds = {
        frozenset({bool}): "bool",
        frozenset({int}): "int",
        frozenset({float}): "float",
        frozenset({str}): "str",
        frozenset({str, Path}): "path",
        frozenset({tuple[int, ...]}): "seeds",
    }
    kind = kinds.get(frozenset(args))
    if kind is None:
        raise TypeError(f"a run option of type {hint} has no flag type")
    return kind


def _run_options() -> dict[str, RunOption]:
    hints = typing.get_type_hints(RunConfig)
    options = {}
    for f in dataclasses.fields(RunConfig):
        declared = f.metadata.get("option")
        if declared is None:
            continue
        name = declared["flag"] or "--" + f.name.replace("_", "-")
        options[f.name] = RunOption(
            name=f.name,
            flag=name,
            kind=_kind(hints[f.name]),
            default=f.default,
            help=declared["help"],
            metavar=declared["metavar"],
            choices=declared["choices"],
            config_key=name.removeprefix("--").replace("-", "_") if declared["config"] else None,
            budget=declared["budget"],
        )
    return options


# Every run option (field name -> RunOption): benchmark.commands.run makes its flags from them, read_config takes
# a --config file's run: keys (RUN_FILE_KEYS: key -> field name) from them, and RunConfig checks values by them.
RUN_OPTIONS: dict[str, RunOption] = _run_options()
RUN_FILE_KEYS: dict[str, str] = {o.config_key: o.name for o in RUN_OPTIONS.values() if o.config_key}
BUDGET_OVERRIDES: tuple[str, ...] = tuple(o.name for o in RUN_OPTIONS.values() if o.budget)
