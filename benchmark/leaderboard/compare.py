"""Student vs teacher: per task the student's share of the teacher's primary metric and the change in inference
time and peak memory, plus the averages (the comparison "Efficient Transformer Knowledge Distillation: A
Performance Review" reports), and how two results ran differently."""

from __future__ import annotations

import json
from pathlib import Path
from statistics import mean
from typing import Any

from ..errors import BenchmarkError
from ..record import ResultRecord


def _ratio(student: float | None, teacher: float | None) -> float | None:
    return student / teacher if student is not None and teacher else None


def _pct(ratio: float | None) -> float | None:
    return (ratio - 1.0) * 100.0 if ratio is not None else None


def compare_records(student: dict[str, ResultRecord], teacher: dict[str, ResultRecord]) -> list[dict]:
    """One row per task both have (sorted), then an ``average`` row (means over those rows' values).

    Row keys: task, metric, split, student, teacher, share (student/teacher x 100), time_student_ms,
    time_teacher_ms, time_ratio, time_change_pct, memory_student_mb, memory_teacher_mb, memory_ratio,
    memory_change_pct. Values that cannot be computed are None."""
    rows = []
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
            if key in average:
                continue
            values = [r[key] for r in rows if r[key] is not None]
            average[key] = mean(values) if values else None
        rows.append(average)
    return rows


def _device_of(record: ResultRecord) -> str:
    """The device a result ran on: its type and, where recorded, its name (``cpu (AMD EPYC)``)."""
    hardware = record.hardware
    kind = hardware.device_type or hardware.device or record.config.device
    name = hardware.device_name
    return f"{kind} ({name})" if kind and name else str(kind or name or "not recorded")


def how_it_ran(record: ResultRecord) -> dict[str, str]:
    """What of how a result ran makes its numbers incomparable with another's: dtype, attention implementation,
    compiled, training batches (:meth:`benchmark.record.ResultRecord.batching`) and device; "not recorded"
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


def _load_result(path: Path) -> ResultRecord:
    """A result file read within the limits of :mod:`benchmark.limits` (size, nesting); one-line errors."""
    from ..limits import load_json_file

    return ResultRecord.from_dict(load_json_file(path), str(path))


def compare(student_dir: str | Path, teacher_dir: str | Path) -> list[dict[str, Any]]:
    """:func:`compare_records` of two results directories; error when they share no task."""
    return compare_dirs(student_dir, teacher_dir)[0]


def compare_dirs(student_dir: str | Path, teacher_dir: str | Path) -> tuple[list[dict[str, Any]], list[str]]:
    """:func:`compare`'s rows and the :func:`run_differences` of the two results directories."""
    student, teacher = load_records(student_dir), load_records(teacher_dir)
    rows = compare_records(student, teacher)
    if not rows:
        raise BenchmarkError(f"{student_dir} and {teacher_dir} have no task in common")
    return rows, run_differences(student, teacher)


def _f(value: Any, fmt: str) -> str:
    return format(value, fmt) if isinstance(value, int | float) else "-"


def format_table(rows: list[dict[str, Any]]) -> str:
    """Text table of :func:`compare` rows."""
    header = (
        "task",
        "metric",
        "student",
        "teacher",
        "share %",
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
                _f(r["share"], ".1f"),
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


def to_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, indent=2)
