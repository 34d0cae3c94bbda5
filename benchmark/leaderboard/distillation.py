"""A distilled student's ``distill_report.json`` on the leaderboard: its loss curve (every term over the steps).

``baselines distill`` writes the report beside the student's weights and ``benchmark run`` keeps a copy with the
results (:func:`benchmark.results.files.keep_distill_report`). Here it is read as untrusted data (a regular file within
:data:`gonerd.untrusted.MAX_CONFIG_BYTES`, as :func:`benchmark.model.recipe.read_recipe` reads it) and only the part the
board shows is checked and kept: ``objective`` (term -> weight), ``final_step`` and ``history`` (rows of ``step``,
``loss`` = the weighted sum, each term's unweighted loss, ``lr``...). Whether the report belongs to the results is
:mod:`.validate`'s business (its sha256 against the results' ``model.recipe.sha256``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gonerd import untrusted

from ..core.record import shown_text_problem
from ..errors import BenchmarkError
from ..model.recipe import DISTILL_REPORT

__all__ = ["DISTILL_REPORT_FILE", "DistillCurve", "read_curve", "report_problems", "shown_repr"]

DISTILL_REPORT_FILE = DISTILL_REPORT
MAX_REPORT_BYTES = untrusted.MAX_CONFIG_BYTES  # the limit read_recipe and keep_distill_report read it with
MAX_TERMS = 16  # terms of an objective (the board draws and lists each)
MAX_DEFECTS = 5  # defects listed one per line; the rest counted in one more line


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def report_problems(data: Any) -> list[str]:
    """What is wrong with the shape of a parsed report, one line per defect (without the file name; at most
    :data:`MAX_DEFECTS` lines and one that says there are more); empty when it is one the board can show."""

    if not isinstance(data, dict):
        return [f"not a JSON object (a {type(data).__name__})"]
    found: list[str] = []
    objective = data.get("objective")
    if "objective" not in data:
        found.append("no 'objective' (the loss terms and their weights)")
    elif not isinstance(objective, dict) or not objective:
        found.append(
            f"objective is {shown_repr(objective)}, not an object of term -> weight with at least one term"
        )
    else:
        if len(objective) > MAX_TERMS:
            found.append(f"objective has {len(objective)} terms (at most {MAX_TERMS})")
        for term, weight in objective.items():
            why = shown_text_problem(term) or (None if term.strip() else "is empty")
            if why:
                found.append(f"objective term {shown_repr(term)} {why}")
            elif term in ("step", "loss", "lr", "steps"):
                found.append(f"objective term {term!r} is a column of every history row, not a term")
            if not _number(weight):
                found.append(f"objective.{_key(term)} is {shown_repr(weight)}, not a finite number")
    if "final_step" not in data:
        found.append("no 'final_step'")
    elif not _int(data["final_step"]) or data["final_step"] < 0:
        found.append(f"final_step is {shown_repr(data['final_step'])}, not a non-negative integer")
    history = data.get("history")
    if "history" not in data:
        found.append("no 'history' (the rows of the loss curve)")
    elif not isinstance(history, list) or not history:
        found.append(f"history is {shown_repr(history)}, not a list of at least one row")
    else:
        found += _history_problems(history)
    if len(found) > MAX_DEFECTS:
        found = [*found[:MAX_DEFECTS], f"more defects (the first {MAX_DEFECTS} are listed)"]
    return found


def _history_problems(history: list[Any]) -> list[str]:
    found: list[str] = []
    previous: int | None = None
    for i, row in enumerate(history):
        where = f"history[{i}]"
        if not isinstance(row, dict):
            found.append(f"{where} is {shown_repr(row)}, not an object")
            continue
        step = row.get("step")
        if not _int(step):
            found.append(f"{where}.step is {shown_repr(step)}, not an integer")
        elif previous is not None and step <= previous:
            found.append(f"{where}.step {step} does not follow the previous row's {previous}")
        else:
            previous = step
        if "loss" not in row:
            found.append(f"{where} has no 'loss' (the weighted sum of the terms)")
        for key, value in row.items():
            if key != "step" and not _number(value):
                found.append(f"{where}.{_key(key)} is {shown_repr(value)}, not a finite number")
        if len(found) > MAX_DEFECTS:
            break
    return found


def _key(key: str) -> str:
    return key if key.isidentifier() and len(key) <= 40 else shown_repr(key)


def shown_repr(value: Any) -> str:
    """``repr`` of a value from the file, cut to one short line."""
    text = repr(value) if not isinstance(value, dict | list) else type(value).__name__
    text = text.encode("ascii", "backslashreplace").decode("ascii")
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True)
class DistillCurve:
    """The part of a valid report the board shows."""

    objective: dict[str, float]
    final_step: int
    history: list[dict[str, float]]

    @classmethod
    def from_dict(cls, data: Any) -> DistillCurve:
        """A report that passed :func:`report_problems`."""
        return cls(
            objective={str(k): float(v) for k, v in data["objective"].items()},
            final_step=int(data["final_step"]),
            history=[dict(row) for row in data["history"]],
        )

    def series(self, key: str) -> list[tuple[int, float]]:
        """(step, value) of every row that logged ``key`` (``loss`` or a term of the objective)."""
        return [(int(row["step"]), float(row[key])) for row in self.history if key in row]

    def tenths(self, key: str) -> tuple[float, float] | None:
        """Mean of ``key`` over the first and over the last tenth of the rows that logged it (at least one row
        each); None when no row did."""
        values = [value for _, value in self.series(key)]
        if not values:
            return None
        n = max(1, len(values) // 10)
        return math.fsum(values[:n]) / n, math.fsum(values[-n:]) / n


def read_curve(path: Path) -> DistillCurve | None:
    """The report at ``path`` when it is a valid one (None when missing, unreadable or malformed: ``benchmark
    leaderboard --check`` says why)."""
    from ..limits import load_json_file

    if not path.is_file() or path.is_symlink():
        return None
    try:
        data = load_json_file(path, path.name, limit=MAX_REPORT_BYTES)
    except BenchmarkError:
        return None
    return DistillCurve.from_dict(data) if not report_problems(data) else None
