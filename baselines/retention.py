"""Retention of students against their teachers, read from the result files of ``benchmark run`` and
``benchmark speed`` (the table ``baselines reproduce mini --report`` prints and docs/baselines.md quotes).

Retention is the student's primary metric divided by its teacher's, per task and split; the time ratio is the
student's median latency per example over the teacher's at one input length (``speed.json``), both timed on the
same device in the same plan. Nothing here is computed from anything but those files, so the table can be
regenerated from a finished work folder at any time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baselines.errors import BaselinesError

# The paper's headline figures (Brown et al., "Efficient Transformer Knowledge Distillation: A Performance Review",
# EMNLP 2023 Industry): best retention of teacher quality and best inference-time reduction over its students
# (6 of 12 layers). Quoted, never measured here.
PAPER = {
    "short tasks": "up to 98.6%",
    "long QA": "up to 94.6%",
    "long NER": "up to 98.8%",
    "inference time": "cut by up to 57.8% (ratio >= 0.422)",
}


@dataclass(frozen=True)
class Pair:
    """A student (or converted teacher) and the model it is compared with."""

    label: str
    student: str  # result folder name under the runs folder (model slug)
    teacher: str


def _read(path: Path) -> Any:
    """A result or speed file within :mod:`gonerd.untrusted`'s limits (regular file, size, depth, digits)."""
    from gonerd import untrusted

    try:
        return untrusted.load_json(path, str(path), limit=64 * 2**20)
    except untrusted.Refused as exc:  # the callers name the file and what it should have been
        raise ValueError(str(exc).removeprefix(f"{path}: ")) from None


def read_score(runs: Path, slug: str, task: str, split: str) -> float | None:
    """The primary metric of ``task`` on ``split`` recorded by ``benchmark run`` in ``runs/slug``; None if absent."""
    path = runs / slug / f"{task}.json"
    if not path.is_file():
        return None
    try:
        record = _read(path)
        score = record["metrics"][split]["score"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BaselinesError(f"{path}: not a readable result file ({exc})") from None
    return float(score) if isinstance(score, (int, float)) else None


def read_latency(runs: Path, slug: str, length: int) -> float | None:
    """Median ms per example at ``length`` tokens from ``runs/slug/speed.json``; None if absent or not timed."""
    path = runs / slug / "speed.json"
    if not path.is_file():
        return None
    try:
        record = _read(path)
        for point in record["lengths"]:
            if point.get("length") == length and point.get("status") == "ok":
                return float(point["timing"]["latency_ms_per_example_median"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BaselinesError(f"{path}: not a readable speed file ({exc})") from None
    return None


def _ratio(num: float | None, den: float | None) -> float | None:
    return None if num is None or den is None or den == 0 else num / den


def _cell(value: float | None, fmt: str) -> str:
    return "n/a" if value is None else format(value, fmt)


def retention_table(
    runs: Path,
    pairs: list[Pair],
    tasks: list[str],
    *,
    split: str = "test",
    lengths: tuple[int, ...] = (512, 4096),
) -> str:
    """A Markdown table: per pair, each task's scores (student / teacher) and retention, and the time ratio."""
    head = ["Model", "compared with"]
    for task in tasks:
        head += [f"{task} F1 ({split})", f"{task} retention"]
    head += [f"time ratio @{length:,}" for length in lengths]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for pair in pairs:
        row = [pair.label, pair.teacher]
        for task in tasks:
            s, t = read_score(runs, pair.student, task, split), read_score(runs, pair.teacher, task, split)
            row += [f"{_cell(s, '.1f')} / {_cell(t, '.1f')}", _cell(_ratio(s, t), ".1%")]
        for length in lengths:
            ratio = _ratio(read_latency(runs, pair.student, length), read_latency(runs, pair.teacher, length))
            row.append(_cell(ratio, ".2f"))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def paper_lines() -> list[str]:
    return [f"- {what}: {figure}" for what, figure in PAPER.items()]
