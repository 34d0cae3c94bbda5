"""Check one model's result directory before it goes on the leaderboard; every problem found is listed.

Only JSON files and gzipped JSON-lines predictions are read, within the limits of :mod:`benchmark.limits`;
nothing from a submission is imported or run. Checks: file names (known tasks only, no symlinks), the shape of
every result, owner and speed file (:class:`benchmark.core.record.ResultRecord`, :class:`benchmark.core.record.Owner`,
:class:`benchmark.core.record.SpeedRecord`: keys, types, allowed values, no unknown key; nothing about shape is checked
here again), one model per directory, a Hub-id-like model
name, task spec hashes and dataset revisions equal to the current specs, metric ranges, recorded data paths inside
the data folder, predictions files present with one prediction per example, and every split re-scored from its
saved predictions against its gold data identified by sha256 (:mod:`.rescore`). Splits whose gold is not at hand
are listed in ``Checked.unverified``; the caller decides (submit refuses them unless ``--unverified``). An optional
``distill_report.json`` (a distilled student's loss curve, kept with its results by ``benchmark run``) must be of a
shape the board can show (:mod:`.distillation`) and the very file whose sha256 the results' ``model.recipe``
records.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gonerd import untrusted
from gonerd.untrusted import not_regular

from ..core.record import (  # noqa: F401 (re-exported)
    MAX_SHOWN,
    MENTION_RE,
    SUBMISSION_SCHEMA,
    URL_RE,
    Owner,
    ResultRecord,
    SpeedRecord,
    SplitScore,
    SubmittedModel,
    check_model_id,
    shown_text_problem,
)
from ..errors import BenchmarkError
from ..results.files import OWNER_FILE, model_slug, predictions_path
from .distillation import DISTILL_REPORT_FILE, MAX_REPORT_BYTES, DistillCurve, report_problems, shown_repr
from .rescore import GoldUnavailable, recorded_path_problems, verify

__all__ = ["DISTILL_REPORT_FILE", "Checked", "check_record", "check_results_dir", "safe_slug"]

SPEED_FILE = "speed.json"
MANIFEST = "submission.json"
MANIFEST_SCHEMA = SUBMISSION_SCHEMA
SLUG_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
TASK_FILE_RE = re.compile(r"([A-Za-z0-9_]+)\.json")
PRED_FILE_RE = re.compile(r"([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)\.predictions\.jsonl\.gz")
SEEDS_DIR = "seeds"  # benchmark run --seeds: seeds/<seed>/<task>.json and its predictions
SIGNED = {"matthews_correlation", "pearson", "spearmanr"}  # correlations: -100..100
SCORES = {
    "precision",
    "recall",
    "f1",
    "strict_f1",
    "accuracy",
    "exact_match",
    "macro_f1",
    "glue_score",
} | SIGNED


@dataclass
class Checked:
    """Outcome of :func:`check_results_dir`: what was read, what may be copied, and what is wrong."""

    directory: Path
    model: SubmittedModel | None = None  # of model.json
    records: dict[str, ResultRecord] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    speed: SpeedRecord | None = None
    distill: DistillCurve | None = None  # of distill_report.json, when there is one and it checked
    slug: str | None = None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unverified: dict[str, str] = field(default_factory=dict)  # "<task>.<split>" -> why it was not re-scored

    @property
    def ok(self) -> bool:
        return not self.problems


def _tasks() -> dict[str, Any]:
    from ..tasks.registry import all_tasks

    return {spec.name: spec for spec in all_tasks()}


def _user_task(name: str) -> bool:
    from ..tasks.registry import is_user_task

    return is_user_task(name)


def _read_json(path: Path, problems: list[str]) -> Any:
    from ..limits import load_json_file

    try:
        return load_json_file(path, path.name)
    except BenchmarkError as exc:
        problems.append(str(exc))
    return None


def safe_slug(model_id: str) -> str | None:
    """Directory name on the leaderboard for ``model_id`` (None when no safe one exists)."""
    slug = model_slug(model_id.replace(":", "__")) if model_id else ""
    if not SLUG_RE.fullmatch(slug) or ".." in slug:
        return None
    return slug


def check_results_dir(
    directory: str | Path,
    *,
    data_dir: str | Path | None = None,
    allow_partial: bool = False,
    rescore: bool = True,
) -> Checked:
    """Check a ``OUTPUT/<model-slug>`` directory; see the module docstring. ``rescore=False``: every check but
    re-scoring (the splits are then listed in ``unverified``)."""
    directory = Path(directory)
    out = Checked(directory)
    if not directory.is_dir():
        out.problems.append(f"{directory}: not a directory")
        return out
    specs = _tasks()
    names = _scan(directory, out, specs)
    owner = _check_owner(directory, names, out)
    read: list[ResultRecord] = []  # every result of a valid shape (what its recipe says is checked below)
    for task in sorted(t for t in names["tasks"]):
        data = _read_json(directory / f"{task}.json", out.problems)
        if data is None:
            continue
        shape = ResultRecord.problems(data)
        if shape:
            out.problems += [f"{task}.json: {p}" for p in shape]
            continue
        record = ResultRecord.from_dict(data, f"{task}.json")
        read.append(record)
        before = len(out.problems)
        check_record(record, task, specs, out.problems, owner=owner)
        out.problems += [f"{task}.json: {p}" for p in recorded_path_problems(record)]
        sound = len(out.problems) == before  # re-score only a record that passed the checks above
        _check_predictions(directory / f"{task}.json", record, out, data_dir, specs.get(task), sound, rescore)
        if record.seeds is not None and sound:
            _check_seeds(directory, task, record, specs, owner, out, data_dir, rescore)
        if len(out.problems) == before:
            out.records[task] = record
        out.files.append(f"{task}.json")
    missing = [t for t in specs if t not in names["tasks"]]
    if missing and not allow_partial:
        out.problems.append(
            f"missing tasks: {', '.join(missing)} (submit with --partial to list a partial entry)"
        )
    if not names["tasks"]:
        out.problems.append("no result files (<task>.json) in the directory")
    if names["speed"]:
        out.speed = _check_speed(directory / SPEED_FILE, out.problems, owner, out.records)
        out.files.append(SPEED_FILE)
    if names["distill"]:
        out.distill = _check_distill_report(directory / DISTILL_REPORT_FILE, out.problems, read)
        out.files.append(DISTILL_REPORT_FILE)
    if out.model is not None:
        out.slug = safe_slug(out.model.model_id)
        if out.slug is None and not check_model_id(out.model.model_id):
            out.problems.append(f"model name {out.model.model_id!r} gives no safe directory name")
    return out


def _scan(directory: Path, out: Checked, specs: dict[str, Any]) -> dict[str, Any]:
    """Sort the directory's entries into result, predictions, owner, speed and distillation report files; flag
    anything odd."""
    names: dict[str, Any] = {"tasks": [], "predictions": [], "owner": False, "speed": False, "distill": False}
    for child in sorted(directory.iterdir()):
        name = child.name
        if child.is_symlink():
            out.problems.append(f"{name}: symbolic links are not accepted")
            continue
        if child.is_dir() and name == SEEDS_DIR:
            continue  # read through the seeds sections of the results (_check_seeds)
        if child.is_dir():
            out.warnings.append(f"{name}/: folder ignored (not copied)")
            continue
        odd = not_regular(child)
        if odd:  # a FIFO would block the first read for ever: never opened
            out.problems.append(f"{name}: {odd}, not a regular file; refused")
            continue
        if name == OWNER_FILE:
            names["owner"] = True
            out.files.append(name)
        elif name == SPEED_FILE:
            names["speed"] = True
        elif name == DISTILL_REPORT_FILE:
            names["distill"] = True
        elif name == MANIFEST or name.startswith("."):
            out.warnings.append(f"{name}: ignored (not copied)")
        elif match := PRED_FILE_RE.fullmatch(name):
            names["predictions"].append(name)
        elif match := TASK_FILE_RE.fullmatch(name):
            if match.group(1) in specs:
                names["tasks"].append(match.group(1))
            elif _user_task(match.group(1)):
                out.warnings.append(
                    f"{name}: user task (--include-path), not on the leaderboard; ignored (not copied)"
                )
            else:
                out.problems.append(f"{name}: unknown task {match.group(1)!r}; known: {', '.join(specs)}")
        else:
            out.warnings.append(f"{name}: not a result file; ignored (not copied)")
    return names


def _check_owner(directory: Path, names: dict[str, Any], out: Checked) -> Owner | None:
    if not names["owner"]:
        out.problems.append(f"{OWNER_FILE}: missing (written by `benchmark run` beside the result files)")
        return None
    data = _read_json(directory / OWNER_FILE, out.problems)
    if data is None:
        return None
    shape = Owner.problems(data)
    if shape:
        out.problems += [f"{OWNER_FILE}: {p}" for p in shape]
        return None
    owner = Owner.parse(data, "", [])
    why = check_model_id(owner.model_id)
    if why:
        out.problems.append(f"{OWNER_FILE}: {why}")
    out.model = SubmittedModel(model_id=owner.model_id, revision=owner.revision)
    return owner


def check_record(
    record: ResultRecord,
    task: str,
    specs: dict[str, Any],
    problems: list[str],
    *,
    owner: Owner | None = None,
) -> None:
    """What a valid record must also be to go on the leaderboard: of the current task spec (hash, dataset
    revision, primary metric), of the directory's model, with scores in range (appends to ``problems``)."""
    where = f"{task}.json"
    spec = specs.get(task)
    if record.task.name != task:
        problems.append(f"{where}: task.name is {record.task.name!r}, expected {task!r} (the file name)")
    if spec is None:
        problems.append(f"{where}: unknown task {task!r}")
        return
    if record.task.spec_hash != spec.spec_hash():
        problems.append(
            f"{where}: task spec hash {record.task.spec_hash!r} (version {record.task.version!r}) "
            f"is not the current one {spec.spec_hash()!r} (version {spec.version!r}); rerun the task"
        )
    hub = record.dataset.hub
    if hub is not None and hub.revision != spec.hub.revision:
        problems.append(f"{where}: dataset revision {hub.revision!r} is not the spec's {spec.hub.revision!r}")
    model = record.model
    if owner is not None and (model.model_id, model.revision) != (owner.model_id, owner.revision):
        problems.append(f"{where}: model {model.model_id!r} differs from {OWNER_FILE}'s {owner.model_id!r}")
    why = check_model_id(model.model_id)
    if why and (owner is None or model.model_id != owner.model_id):
        problems.append(f"{where}: {why}")
    missing = [s for s in spec.eval_splits if s not in record.splits]
    if missing:
        problems.append(
            f"{where}: no {', '.join(missing)} split (the task evaluates {', '.join(spec.eval_splits)}); a result "
            "carries every evaluation split, so the board never shows one split in place of another"
        )
    for split in record.splits:
        _check_split_metrics(where, split, record.metrics[split], spec, problems)
    timing = record.timing
    for key in ("device", "device_name"):
        why = shown_text_problem(getattr(timing, key)) if timing is not None else None
        if why:
            problems.append(f"{where}: timing.{key} {why}")


def _check_split_metrics(where: str, split: str, scored: SplitScore, spec: Any, problems: list[str]) -> None:
    if scored.primary_metric != spec.primary_metric:
        problems.append(
            f"{where}: {split} primary_metric {scored.primary_metric!r} is not {spec.primary_metric!r}"
        )
    if scored.spec_hash not in (None, spec.spec_hash()):
        problems.append(f"{where}: {split} was scored with spec hash {scored.spec_hash!r}")
    score = scored.score
    if scored.metrics.get(spec.primary_metric) != score:
        problems.append(f"{where}: {split} score {score} differs from metrics.{spec.primary_metric}")
    for path, value in _numbers(scored.metrics):
        if path[-1] not in SCORES:  # counts (tokens, support, ...)
            continue
        low = -100.0 if path[-1] in SIGNED else 0.0
        if not math.isfinite(value) or not low <= value <= 100.0:
            problems.append(f"{where}: {split} {'.'.join(path)} = {value} is outside {low:g}..100")
    if not 0.0 <= score <= 100.0 and spec.primary_metric not in SIGNED:
        problems.append(f"{where}: {split} score {score} is outside 0..100")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _numbers(tree: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], float]]:
    """Every numeric leaf of a metrics tree with its key path."""
    if isinstance(tree, dict):
        return [item for key, value in sorted(tree.items()) for item in _numbers(value, (*path, str(key)))]
    return [(path, float(tree))] if _is_number(tree) and path else []


def _check_seeds(
    directory: Path,
    task: str,
    record: ResultRecord,
    specs: dict[str, Any],
    owner: Owner | None,
    out: Checked,
    data_dir: str | Path | None,
    rescore: bool = True,
) -> None:
    """A ``--seeds`` result: every seed's result (``seeds/<seed>/<task>.json``) checked and its predictions
    re-scored like a result of its own, and the aggregate recomputed from them (it must match)."""
    from ..evaluate.intervals import aggregate_seeds
    from .compare import SEED_FILE
    from .rescore import _differences

    runs = []
    for seed, relative in sorted(record.seeds.files.items(), key=lambda kv: kv[0]):
        match = SEED_FILE.fullmatch(relative)
        if match is None or match.group(1) != seed or match.group(2) != task:
            out.problems.append(
                f"{task}.json: seeds.files.{seed} is {relative!r}, expected 'seeds/{seed}/{task}.json'"
            )
            continue
        path = directory / relative
        if any(p.is_symlink() for p in (path, path.parent, path.parent.parent)) or not path.is_file():
            out.problems.append(f"{relative}: missing (seed {seed} of {task}.json)")
            continue
        data = _read_json(path, out.problems)
        if data is None:
            continue
        shape = ResultRecord.problems(data)
        if shape:
            out.problems += [f"{relative}: {p}" for p in shape]
            continue
        found = ResultRecord.from_dict(data, relative)
        problems: list[str] = []
        check_record(found, task, specs, problems, owner=owner)
        problems += recorded_path_problems(found)
        if found.seed != int(seed) or found.seeds is not None:
            problems.append(f"seed is {found.seed}, expected {seed} (a result of that seed alone)")
        out.problems += [f"{relative}: {p.removeprefix(f'{task}.json: ')}" for p in problems]
        before = len(out.problems)
        _check_predictions(
            path, found, out, data_dir, specs.get(task), not problems, rescore, prefix=f"{SEEDS_DIR}/{seed}/"
        )
        out.files.append(relative)
        if not problems and len(out.problems) == before:
            runs.append((int(seed), found, relative))
    if len(runs) != len(record.seeds.files):
        return
    order = {seed: i for i, seed in enumerate(record.seeds.seeds)}
    fresh = aggregate_seeds(sorted(runs, key=lambda run: order.get(run[0], len(order))))
    diffs = _differences(record.seeds.to_dict(), fresh, ("seeds",))
    if diffs:
        shown = "; ".join(diffs[:3]) + (f"; and {len(diffs) - 3} more" if len(diffs) > 3 else "")
        out.problems.append(
            f"{task}.json: the aggregate over seeds does not match the seeds' results: {shown}"
        )


def _check_predictions(
    result: Path,
    record: ResultRecord,
    out: Checked,
    data_dir: str | Path | None,
    spec: Any,
    sound: bool,
    rescore: bool = True,
    prefix: str = "",
) -> None:
    """Every split's predictions file read (within the limits) and re-scored against its gold data."""
    from ..evaluate.scoring import read_predictions

    for split in record.splits:
        path = predictions_path(result, split)
        if not path.is_symlink() and not_regular(path):
            continue  # a FIFO or device there: named once already, by _scan
        if not path.is_file() or path.is_symlink():
            out.problems.append(f"{prefix}{path.name}: predictions file missing")
            continue
        out.files.append(prefix + path.name)
        expected = record.n_examples[split]  # a valid record has a positive count for every split
        try:
            preds = read_predictions(path, max_count=expected)
        except BenchmarkError as exc:
            out.problems.append(str(exc))
            continue
        if len(preds) != expected:
            out.problems.append(f"{path.name}: {len(preds)} predictions for {expected} examples")
            continue
        if spec is None or not sound:
            continue
        if not rescore:
            out.unverified[f"{spec.name}.{split}"] = "--no-rescore"
            continue
        try:
            verify(spec, record, split, preds, data_dir)
        except GoldUnavailable as exc:
            out.unverified[f"{spec.name}.{split}"] = str(exc)
        except BenchmarkError as exc:
            out.problems.append(f"{prefix}{result.name}: {exc}")


def _check_speed(
    path: Path, problems: list[str], owner: Owner | None, records: dict[str, ResultRecord]
) -> SpeedRecord | None:
    """The directory's ``speed.json`` as its typed record (:class:`benchmark.core.record.SpeedRecord`), of the
    directory's model (its revision, where recorded, and its architecture) and with device names the board can
    show."""
    data = _read_json(path, problems)
    if data is None:
        return None
    shape = SpeedRecord.problems(data)
    if shape:
        problems += [f"{SPEED_FILE}: {p}" for p in shape]
        return None
    speed = SpeedRecord.from_dict(data, SPEED_FILE)
    before = len(problems)
    for key in ("device", "device_name"):
        why = shown_text_problem(getattr(speed, key))
        if why:
            problems.append(f"{SPEED_FILE}: {key} {why}")
    for item in speed.lengths:
        for key in ("device", "device_name"):
            why = shown_text_problem(getattr(item.timing, key)) if item.timing is not None else None
            if why:
                problems.append(f"{SPEED_FILE}: lengths[{item.length}].timing.{key} {why}")
    revision = speed.model.revision
    if owner is not None and revision is not None and revision != owner.revision:
        problems.append(
            f"{SPEED_FILE}: measured model revision {revision!r}, not this directory's {owner.revision!r} "
            f"({OWNER_FILE}): the speed of another model"
        )
    types = {r.model.model_type for r in records.values()}
    if types and speed.model.model_type not in types:
        problems.append(
            f"{SPEED_FILE}: measured a {speed.model.model_type!r} model, the results are of "
            f"{', '.join(sorted(types))}: the speed of another model"
        )
    return speed if len(problems) == before else None


def _check_distill_report(
    path: Path, problems: list[str], records: list[ResultRecord]
) -> DistillCurve | None:
    """The directory's ``distill_report.json`` (a distilled student's loss curve, :mod:`.distillation`): of a shape
    the board can show, and the very report of the model the results were made with (its sha256 is the one their
    ``model.recipe`` records for a distilled student's ``distill_report.json``)."""
    import hashlib

    from ..limits import loads

    where = DISTILL_REPORT_FILE
    try:
        raw = untrusted.read_bytes(path, where, BenchmarkError, limit=MAX_REPORT_BYTES)
        data = loads(raw, where)
    except BenchmarkError as exc:
        problems.append(str(exc))
        return None
    shape = report_problems(data)
    if shape:
        problems += [f"{where}: {p}" for p in shape]
        return None
    if not records:  # no result could be read: those problems say what is wrong
        return None
    recipes = [r.model.recipe or {} for r in records]
    if not all(r.get("kind") == "distilled" and r.get("file") == DISTILL_REPORT_FILE for r in recipes):
        kinds = sorted({shown_repr(r.get("kind")) for r in recipes})
        problems.append(
            f"{where}: not the report of the model these results were made with (their model.recipe is of kind "
            f"{', '.join(kinds)}, not a distilled student's {DISTILL_REPORT_FILE})"
        )
        return None
    sha = hashlib.sha256(raw).hexdigest()
    recorded = sorted({str(r.get("sha256")) for r in recipes})
    if recorded != [sha]:
        problems.append(
            f"{where}: not the report of the model these results were made with (its sha256 is {sha[:16]}..., "
            f"their model.recipe.sha256 {', '.join(_sha_shown(s) for s in recorded)})"
        )
        return None
    return DistillCurve.from_dict(data)


def _sha_shown(value: str) -> str:
    return f"{value[:16]}..." if re.fullmatch(r"[0-9a-f]{64}", value) else shown_repr(value)
