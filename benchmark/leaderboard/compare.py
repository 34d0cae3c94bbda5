"""Student vs teacher: per task the student's share of the teacher's primary metric and the change in inference
time and peak memory, plus the averages (the comparison "Efficient Transformer Knowledge Distillation: A
Performance Review" reports), and how two results ran differently."""

from __future__ import annotations

import json
import re
from pathlib import Path
from statistics import mean
from typing import Any

import numpy as np

from ..core.record import ResultRecord
from ..errors import BenchmarkError


def _ratio(student: float | None, teacher: float | None) -> float | None:
    return student / teacher if student is not None and teacher else None


def _pct(ratio: float | None) -> float | None:
    return (ratio - 1.0) * 100.0 if ratio is not None else None


SeedRuns = dict[str, list[ResultRecord]]  # task -> the result of every seed (one: a run without --seeds)
INTERVAL_KEYS = ("difference_interval", "share_interval", "verdict", "seeds", "paired_seeds", "interval_note")


def compare_records(
    student: dict[str, ResultRecord],
    teacher: dict[str, ResultRecord],
    student_seeds: SeedRuns | None = None,
    teacher_seeds: SeedRuns | None = None,
) -> list[dict]:
    """One row per task both have (sorted), then an ``average`` row (means over those rows' values).

    Row keys: task, metric, split, student, teacher (the mean over seeds of a ``--seeds`` result), share
    (student/teacher x 100), time_student_ms, time_teacher_ms, time_ratio, time_change_pct, memory_student_mb,
    memory_teacher_mb, memory_ratio, memory_change_pct; and the paired comparison (:func:`paired_row`):
    difference, difference_interval, share_interval, verdict, sd_student, sd_teacher, seeds, paired_seeds,
    interval_note. ``student_seeds`` / ``teacher_seeds``: every seed's result per task (default: the record
    itself). Values that cannot be computed are None."""
    rows = []
    replicates: list[Any] = []
    for task in sorted(set(student) & set(teacher)):
        s, t = student[task], teacher[task]
        s_score, t_score = s.score(), t.score()
        row: dict[str, Any] = {
            "task": task,
            "metric": s.task.primary_metric,
            "split": s.headline_split(),
            "student": s_score,
            "teacher": t_score,
            "share": s_score / t_score * 100.0 if s_score is not None and t_score else None,
        }
        paired_part, ratio = paired_row(
            (student_seeds or {}).get(task) or [s], (teacher_seeds or {}).get(task) or [t], s.headline_split()
        )
        row |= paired_part
        replicates.append(ratio)
        for name, key, unit in (
            ("time", "latency_ms_per_example_median", "ms"),
            ("memory", "peak_memory_mb", "mb"),
        ):
            sv, tv = s.timing_value(key), t.timing_value(key)
            ratio = _ratio(sv, tv)
            row |= {
                f"{name}_student_{unit}": sv,
                f"{name}_teacher_{unit}": tv,
                f"{name}_ratio": ratio,
                f"{name}_change_pct": _pct(ratio),
            }
        rows.append(row)
    if rows:
        average: dict[str, Any] = {"task": "average", "metric": None, "split": None}
        for key in rows[0]:
            if key in average or key in INTERVAL_KEYS:
                continue
            values = [r[key] for r in rows if r[key] is not None]
            average[key] = mean(values) if values else None
        average |= {key: None for key in INTERVAL_KEYS}
        if all(r is not None for r in replicates):  # the mean share over tasks, replicate by replicate
            from ..evaluate.intervals import percentile_interval

            average["share_interval"] = list(percentile_interval(np.mean(replicates, axis=0)))
        rows.append(average)
    return rows


def paired_row(
    student: list[ResultRecord], teacher: list[ResultRecord], split: str
) -> tuple[dict[str, Any], Any]:
    """The paired comparison of one task (:mod:`benchmark.evaluate.intervals`): the seeds both runs have are used (all of
    each when they share none); difference = mean over those seeds of student minus teacher, with a 95% paired
    bootstrap interval over the same evaluation examples, the share's interval, the verdict (``better``,
    ``worse``, ``indistinguishable``: the interval holds 0) and the spread over seeds (sd of each run's seeds).
    Also returns the share's replicates (None without an interval), for the average over tasks."""
    from ..evaluate.intervals import paired, verdict

    common = sorted({r.seed for r in student} & {r.seed for r in teacher})
    if common and (len(common) < len(student) or len(common) < len(teacher)):
        student = [r for r in student if r.seed in common]
        teacher = [r for r in teacher if r.seed in common]
    s_scores = [r.metrics[split].score for r in student if split in r.metrics]
    t_scores = [r.metrics[split].score for r in teacher if split in r.metrics]
    row: dict[str, Any] = {
        "difference": mean(s_scores) - mean(t_scores) if s_scores and t_scores else None,
        "difference_interval": None,
        "share_interval": None,
        "verdict": None,
        "sd_student": _sd(s_scores),
        "sd_teacher": _sd(t_scores),
        "seeds": [len(s_scores), len(t_scores)],
        "paired_seeds": common or None,
        "interval_note": None,
    }
    s_boot = [r.bootstrap.get(split) if r.bootstrap else None for r in student]
    t_boot = [r.bootstrap.get(split) if r.bootstrap else None for r in teacher]
    if not all(s_boot) or not all(t_boot):
        row["interval_note"] = "no interval: a result records no bootstrap replicates (written before them)"
        return row, None
    from ..evaluate.intervals import mean_replicates, pairable

    if not pairable(s_boot, t_boot):
        row["interval_note"] = "no interval: the runs were not scored on the same evaluation examples"
        return row, None
    found = paired(s_boot, t_boot)
    row["difference_interval"] = list(found["difference_interval"])
    row["share_interval"] = list(found["retention_interval"]) if found["retention_interval"] else None
    row["verdict"] = verdict(found["difference_interval"])
    teacher_reps = mean_replicates(t_boot)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(teacher_reps != 0, mean_replicates(s_boot) / teacher_reps * 100.0, np.nan)
    return row, ratio


def _sd(values: list[float]) -> float | None:
    return float(np.std(values, ddof=1)) if len(values) > 1 else None


def _device_of(record: ResultRecord) -> str:
    """The device a result ran on: its type and, where recorded, its name (``cpu (AMD EPYC)``)."""
    hardware = record.hardware
    kind = hardware.device_type or hardware.device or record.config.device
    name = hardware.device_name
    return f"{kind} ({name})" if kind and name else str(kind or name or "not recorded")


def how_it_ran(record: ResultRecord) -> dict[str, str]:
    """What of how a result ran makes its numbers incomparable with another's: dtype, attention implementation,
    compiled, training batches (:meth:`benchmark.core.record.ResultRecord.batching`) and device; "not recorded"
    where the file does not say."""
    execution = record.execution_or_legacy()
    return {
        "dtype": execution.dtype,
        "attention implementation": execution.attn_implementation or "not recorded",
        "compiled": "yes" if execution.compiled else "no",
        "batching": record.batching() or "none (nothing trained)",
        "device": _device_of(record),
    }


def run_differences(student: dict[str, ResultRecord], teacher: dict[str, ResultRecord]) -> list[str]:
    """One line per way the tasks both have ran differently, naming both values and the tasks, e.g.
    ``dtype differs: student bfloat16, teacher float32 (conll2003, squad)``; empty when they ran alike."""
    found: dict[tuple[str, str, str], list[str]] = {}
    for task in sorted(set(student) & set(teacher)):
        s, t = how_it_ran(student[task]), how_it_ran(teacher[task])
        for key in s:
            if s[key] != t[key]:
                found.setdefault((key, s[key], t[key]), []).append(task)
    return [
        f"{key} differs: student {s}, teacher {t} ({', '.join(tasks)})"
        for (key, s, t), tasks in found.items()
    ]


def load_records(directory: str | Path) -> dict[str, ResultRecord]:
    """``{task: record}`` of every valid result file in a results directory (one-line error if none)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise BenchmarkError(f"{directory}: no such results directory")
    from ..tasks.registry import task_names

    known = set(task_names())
    records = {p.stem: _load_result(p) for p in sorted(directory.glob("*.json")) if p.stem in known}
    if not records:
        raise BenchmarkError(f"{directory}: no result files (<task>.json)")
    return records


SEED_FILE = re.compile(r"seeds/(\d{1,10})/([A-Za-z0-9_.-]+)\.json")


def seed_records(folder: str | Path, record: ResultRecord) -> list[ResultRecord]:
    """Every seed's result of a ``--seeds`` result in ``folder`` (``seeds/<seed>/<task>.json``), or the record
    itself for a run of one seed; one-line errors for a missing file or one that is not that seed's result."""
    if record.seeds is None:
        return [record]
    out = []
    for seed, relative in record.seeds.files.items():
        match = SEED_FILE.fullmatch(relative)
        if match is None or match.group(1) != seed or match.group(2) != record.task.name:
            raise BenchmarkError(
                f"{folder}: {record.task.name} seeds.files.{seed} is {relative!r}, expected "
                f"'seeds/{seed}/{record.task.name}.json'"
            )
        path = Path(folder) / relative
        if not path.is_file():
            raise BenchmarkError(f"{path}: no such result file (seed {seed} of {record.task.name})")
        found = _load_result(path)
        if found.seed != int(seed) or found.task.name != record.task.name:
            raise BenchmarkError(f"{path}: not the seed {seed} result of {record.task.name}")
        out.append(found)
    return out


def load_seed_records(directory: str | Path, records: dict[str, ResultRecord]) -> SeedRuns:
    """:func:`seed_records` of every task of a results directory."""
    return {task: seed_records(directory, record) for task, record in records.items()}


def with_bootstrap(directory: Path, record: ResultRecord, data_dir: str | Path) -> ResultRecord:
    """A result written before bootstrap replicates existed, with them computed from its predictions against
    its gold data under ``data_dir`` (identified by the sha256 the run recorded, and re-scored first, as
    ``benchmark submit`` does); the record unchanged when it has them, or when the gold is not at hand."""
    import dataclasses

    from ..core.record import Bootstrap
    from ..evaluate.intervals import bootstrap_split
    from ..evaluate.scoring import read_predictions
    from ..results.files import predictions_path
    from ..tasks.registry import get_task
    from .rescore import GoldUnavailable, load_gold, verify

    if record.bootstrap or record.seeds is not None:
        return record
    spec = get_task(record.task.name)
    split = record.headline_split()
    try:
        gold = load_gold(spec, record, split, data_dir)
    except GoldUnavailable:
        return record
    where = directory / f"{record.task.name}.json"
    predictions = read_predictions(predictions_path(where, split), max_count=len(gold))
    try:
        verify(spec, record, split, predictions, data_dir)
    except BenchmarkError as exc:
        raise BenchmarkError(f"{where}: {exc}") from None
    found = bootstrap_split(spec, gold, predictions, score=record.metrics[split].score)
    return dataclasses.replace(record, bootstrap={split: Bootstrap.from_dict(found, f"{where} bootstrap")})


def _load_result(path: Path) -> ResultRecord:
    """A result file read within the limits of :mod:`benchmark.limits` (size, nesting); one-line errors."""
    from ..limits import load_json_file

    return ResultRecord.from_dict(load_json_file(path), str(path))


def compare(student_dir: str | Path, teacher_dir: str | Path) -> list[dict[str, Any]]:
    """:func:`compare_records` of two results directories; error when they share no task."""
    return compare_dirs(student_dir, teacher_dir)[0]


def compare_dirs(
    student_dir: str | Path, teacher_dir: str | Path, data_dir: str | Path | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """:func:`compare`'s rows and the :func:`run_differences` of the two results directories. ``data_dir``: gold
    data for results that recorded no bootstrap replicates (:func:`with_bootstrap`)."""
    student, teacher = load_records(student_dir), load_records(teacher_dir)
    if data_dir is not None:
        student = {t: with_bootstrap(Path(student_dir), r, data_dir) for t, r in student.items()}
        teacher = {t: with_bootstrap(Path(teacher_dir), r, data_dir) for t, r in teacher.items()}
    rows = compare_records(
        student, teacher, load_seed_records(student_dir, student), load_seed_records(teacher_dir, teacher)
    )
    if not rows:
        raise BenchmarkError(f"{student_dir} and {teacher_dir} have no task in common")
    return rows, run_differences(student, teacher)


def _f(value: Any, fmt: str) -> str:
    return format(value, fmt) if isinstance(value, int | float) else "-"


def _interval(interval: Any, fmt: str) -> str:
    return f" [{format(interval[0], fmt)}, {format(interval[1], fmt)}]" if interval else ""


def format_table(rows: list[dict[str, Any]]) -> str:
    """Text table of :func:`compare` rows."""
    header = (
        "task",
        "metric",
        "student",
        "teacher",
        "difference [95% CI]",
        "verdict",
        "sd s/t",
        "seeds s/t",
        "share % [95% CI]",
        "time ms s/t",
        "time Δ%",
        "mem MiB s/t",
        "mem Δ%",
    )
    lines = [header]
    for r in rows:
        lines.append(
            (
                r["task"],
                r["metric"] or "",
                _f(r["student"], ".2f"),
                _f(r["teacher"], ".2f"),
                _f(r["difference"], "+.2f") + _interval(r["difference_interval"], "+.2f"),
                r["verdict"] or ("-" if r["task"] == "average" else "no interval"),
                f"{_f(r['sd_student'], '.2f')}/{_f(r['sd_teacher'], '.2f')}",
                "/".join(str(n) for n in r["seeds"]) if r["seeds"] else "-",
                _f(r["share"], ".1f") + _interval(r["share_interval"], ".1f"),
                f"{_f(r['time_student_ms'], '.2f')}/{_f(r['time_teacher_ms'], '.2f')}",
                _f(r["time_change_pct"], "+.1f"),
                f"{_f(r['memory_student_mb'], '.0f')}/{_f(r['memory_teacher_mb'], '.0f')}",
                _f(r["memory_change_pct"], "+.1f"),
            )
        )
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def format_notes(rows: list[dict[str, Any]]) -> list[str]:
    """Why a task has no interval, one line per reason with its tasks."""
    found: dict[str, list[str]] = {}
    for row in rows:
        if row.get("interval_note"):
            found.setdefault(row["interval_note"], []).append(row["task"])
    single = [r["task"] for r in rows if r.get("verdict") and r.get("seeds") and min(r["seeds"]) < 2]
    if single:
        found[
            "a verdict of a run of one seed covers the sampling of evaluation examples, not the spread over "
            "fine-tuning seeds (benchmark run --seeds)"
        ] = single
    return [f"{note} ({', '.join(tasks)})" for note, tasks in found.items()]


def to_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, indent=2)
