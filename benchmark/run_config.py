"""What a ``benchmark run`` needs besides the model and the tasks, as one typed, validated value.

:class:`RunConfig` is built once, by the command line from its flags and ``--config FILE`` (or by
:func:`benchmark.run.run` from keyword arguments), and handed to :func:`benchmark.run.run_models`,
:func:`benchmark.run.run` and, per task, to the run and to ``--dry-run``. It is checked when it is built: a bad
value is one :class:`BenchmarkError` line naming the flag, or the file and key it came from.

A ``--config`` file (:func:`read_config`, YAML or JSON) holds budget keys at the top level (all tasks) and/or
under ``tasks: {<name>: {...}}`` (:class:`benchmark.budget.Budget`), and run options under ``run:``::

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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import batching as _batching
from .batching import BATCHING_CHOICES
from .budget import BUDGET_KEYS, Budget, _check_keys, budget_problem
from .errors import BenchmarkError
from .record import check_model_id
from .tasks import registry

# ``run:`` keys of a --config file -> RunConfig fields. Only how a run executes and is seeded: what it is run on
# (model, tasks, data, output) and permissions (--trust-remote-code) stay on the command line.
RUN_FILE_KEYS = {
    "device": "device",
    "dtype": "dtype",
    "attn_implementation": "attn_implementation",
    "compile": "compile_model",
    "batching": "batching",
    "seed": "seed",
    "seeds": "seeds",
    "max_length": "max_length",
}
FLAGS = {"compile_model": "--compile", "tokenizer_from": "--tokenizer", "config_file": "--config"}
BUDGET_OVERRIDES = ("epochs", "learning_rate", "max_train_examples", "batch_size")
NOT_OPTIONS = ("config_file", "budgets", "from_file")  # set by from_options itself
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
    return FLAGS.get(name, "--" + name.replace("_", "-"))


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs besides the model and the tasks (see the module docstring)."""

    output: str | Path = "runs"
    data_dir: str | None = None  # stored as an absolute path
    limit: int | None = None
    eval_only: bool = False
    seed: int = 42
    seeds: tuple[int, ...] | None = None  # --seeds: one fine-tuning per seed, kept, plus the aggregate
    device: str = "auto"
    max_length: int | None = None
    trust_remote_code: bool = False
    tokenizer_from: str | None = None
    revision: str | None = None
    model_name: str | None = None
    save_models: bool = False
    dtype: str = "float32"
    attn_implementation: str | None = None
    compile_model: bool = False
    batching: str = "grouped"
    dry_run: bool = False
    teacher: str | None = (
        None  # --teacher: a teacher's `benchmark run --save-models` folder (benchmark.distill)
    )
    distill_alpha: float = 0.5
    distill_temperature: float = 2.0
    # budget overrides (None: the task's budget, after the config file's)
    epochs: float | None = None
    learning_rate: float | None = None
    max_train_examples: int | None = None
    batch_size: int | None = None
    config_file: str | None = None
    budgets: Mapping[str, Any] = field(
        default_factory=lambda: {"defaults": {}, "tasks": {}}, repr=False, hash=False
    )  # the --config file's budgets, parsed
    from_file: frozenset[str] = field(default=frozenset(), repr=False, compare=False)  # fields the file set

    # --------------------------------------------------------------------------------------------- building
    @classmethod
    def from_options(cls, *, config: str | Path | None = None, **options: Any) -> RunConfig:
        """From keyword arguments named like the fields (None: not given) and ``config``, a ``--config`` file
        whose ``run:`` options apply where ``options`` gives none."""
        unknown = sorted(set(options) - {f.name for f in dataclasses.fields(cls)} - set(NOT_OPTIONS))
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
        for name, kind in (("seed", int), ("limit", int), ("max_length", int)):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, kind)):
                self._fail(name, f"must be an integer, got {value!r}")
        for name in ("eval_only", "trust_remote_code", "save_models", "compile_model", "dry_run"):
            if not isinstance(getattr(self, name), bool):
                self._fail(name, f"must be true or false, got {getattr(self, name)!r}")
        for name in ("device", "dtype", "batching"):
            if not isinstance(getattr(self, name), str):
                self._fail(name, f"must be a string, got {getattr(self, name)!r}")
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
        if self.batching not in BATCHING_CHOICES:
            self._fail("batching", f"must be one of {', '.join(BATCHING_CHOICES)}, got {self.batching!r}")
        from .precision import DTYPES, check_attn_implementation

        if self.dtype not in DTYPES:
            self._fail("dtype", f"must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        with self.blame("attn_implementation"):
            check_attn_implementation(self.attn_implementation)
        if "device" in self.from_file:  # a flag's device is checked where the run resolves it (as before)
            from .hardware import resolve_device

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
            from .distill import teacher_run_dir

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
            key = next(k for k, v in RUN_FILE_KEYS.items() if v == name)
            return f"--config {self.config_file}: run.{key}"
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
            # Mega-batches of 16 batches since 2026-11-29 (benchmark.batching); results trained with 50 lack the
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

        from .modeling import load_model_for_task

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
