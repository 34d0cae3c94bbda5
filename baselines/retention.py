"""What the mini reproduction concludes, read from the result files of ``benchmark run``, ``benchmark speed`` and
``baselines distill`` (the report ``baselines reproduce mini --report`` prints and docs/baselines.md quotes).

Nothing here is computed from anything but those files, so the report can be regenerated from a finished work
folder at any time. Per comparison of two arms (and per split) it gives:

- the difference of the means over the seeds both arms have, with ``benchmark compare``'s 95% **paired bootstrap**
  interval over the same evaluation examples (sentences for CoNLL-2003, documents for GONERD) and its verdict
  (``better``, ``worse``, ``indistinguishable``): the sampling of the evaluation set;
- the per-seed differences and a 95% Student-t interval over them (``scipy.stats.t``, n - 1 degrees of freedom):
  the spread of fine-tuning. With 3 seeds the t quantile is 4.30, so only a steady difference clears it;
- the **conclusion**: ``better`` or ``worse`` only when both intervals exclude 0 on the same side, else
  ``inconclusive``; ``one seed`` when there is no spread to measure;
- for a student against its teacher, the share of the teacher's score with its paired interval.

Time ratios come from the ``paired`` section of ``speed.json`` (``benchmark speed --model A B ...``: the models
interleaved in one process), with their bootstrap intervals; never from latencies timed one after another.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from statistics import mean, stdev
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
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Pair:
    """Two arms compared: ``student`` minus ``teacher`` (any two result folders under the runs folder)."""

    label: str
    student: str  # result folder name under the runs folder (model slug)
    teacher: str


@dataclass(frozen=True)
class Arm:
    """The result folder of one arm and its results (every seed) per task, ``None`` where a task is missing."""

    slug: str
    runs: dict[str, list[Any]]  # task -> every seed's ResultRecord

    def scores(self, task: str, split: str) -> dict[int, float]:
        return {
            r.seed: r.metrics[split].score
            for r in self.runs.get(task, [])
            if split in r.metrics and r.metrics[split].score is not None
        }


def read_arm(runs: Path, slug: str) -> Arm:
    """Every task result (and every seed of a ``--seeds`` result) in ``runs/slug``; an absent folder has none."""
    from benchmark.errors import BenchmarkError
    from benchmark.leaderboard.compare import load_records, load_seed_records

    folder = runs / slug
    if not folder.is_dir():
        return Arm(slug, {})
    try:
        records = load_records(folder)
        return Arm(slug, load_seed_records(folder, records))
    except BenchmarkError as exc:
        if "no result files" in str(exc):
            return Arm(slug, {})
        raise BaselinesError(str(exc)) from None


def seed_interval(differences: list[float], confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """The Student-t interval of the mean of per-seed differences; ``None`` for fewer than two seeds."""
    from scipy import stats

    n = len(differences)
    if n < 2:
        return None
    half = stats.t.ppf((1 + confidence) / 2, n - 1) * stdev(differences) / math.sqrt(n)
    centre = mean(differences)
    return (centre - half, centre + half)


def conclusion(example_verdict: str | None, seeds: tuple[float, float] | None) -> str:
    """``better``/``worse`` when the example bootstrap's verdict and the interval over seeds agree; else
    ``inconclusive`` (``one seed`` without a spread over seeds; ``n/a`` without an interval)."""
    if example_verdict is None:
        return "n/a"
    if seeds is None:
        return f"{example_verdict} (one seed)" if example_verdict != "indistinguishable" else "inconclusive"
    side = "better" if seeds[0] > 0 else "worse" if seeds[1] < 0 else None
    return example_verdict if side == example_verdict else "inconclusive"


def compare_arms(student: Arm, teacher: Arm, task: str, split: str) -> dict[str, Any] | None:
    """The paired comparison of two arms on one task and split (see the module docstring); ``None`` when either
    lacks the task."""
    from benchmark.leaderboard.compare import paired_row

    s_runs, t_runs = student.runs.get(task), teacher.runs.get(task)
    if not s_runs or not t_runs:
        return None
    row, _ = paired_row(s_runs, t_runs, split)
    s, t = student.scores(task, split), teacher.scores(task, split)
    common = sorted(set(s) & set(t))
    per_seed = [s[k] - t[k] for k in common]
    seeds = seed_interval(per_seed)
    share = mean(s.values()) / mean(t.values()) * 100 if s and t and mean(t.values()) else None
    return {
        **row,
        "share": share,
        "per_seed": dict(zip(common, per_seed, strict=True)),
        "seed_interval": list(seeds) if seeds else None,
        "conclusion": conclusion(row["verdict"], seeds),
    }


def _interval(value: Any, fmt: str) -> str:
    return f"[{format(value[0], fmt)}, {format(value[1], fmt)}]" if value else "n/a"


def _num(value: float | None, fmt: str) -> str:
    return "n/a" if value is None else format(value, fmt)


def arms_table(arms: dict[str, Arm], task: str, splits: tuple[str, ...]) -> str:
    """Per arm: mean ± sd (n) of the primary metric on each split."""
    head = ["Arm", "model", *[f"{split} mean ± sd (n)" for split in splits]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, arm in arms.items():
        cells = []
        for split in splits:
            values = list(arm.scores(task, split).values())
            if not values:
                cells.append("n/a")
            elif len(values) == 1:
                cells.append(f"{values[0]:.2f} (1 seed)")
            else:
                cells.append(f"{mean(values):.2f} ± {stdev(values):.2f} ({len(values)})")
        lines.append(f"| {label} | {arm.slug} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def comparison_table(arms: dict[str, Arm], pairs: list[tuple[str, str]], task: str, split: str) -> str:
    """One row per pair ``(a, b)`` of arm labels: a minus b, both intervals, the verdict and the conclusion."""
    head = [
        "a − b",
        "difference",
        "95% paired bootstrap (examples)",
        "verdict",
        "per seed",
        "95% t over seeds",
        "a's share of b",
        "conclusion",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for a, b in pairs:
        row = compare_arms(arms[a], arms[b], task, split)
        if row is None:
            lines.append(f"| {a} − {b} | n/a | | | | | | not run |")
            continue
        per_seed = ", ".join(f"{d:+.2f}" for d in row["per_seed"].values()) or "n/a"
        share = (
            f"{row['share']:.1f}% {_interval(row['share_interval'], '.1f')}"
            if row["share"] is not None
            else "n/a"
        )
        lines.append(
            f"| {a} − {b} | {_num(row['difference'], '+.2f')} | {_interval(row['difference_interval'], '+.2f')} "
            f"| {row['verdict'] or 'n/a'} | {per_seed} | {_interval(row['seed_interval'], '+.2f')} | {share} "
            f"| **{row['conclusion']}** |"
        )
    return "\n".join(lines)


def read_json(path: Path) -> Any:
    """A result, speed or report file within :mod:`gonerd.untrusted`'s limits; one line naming it otherwise."""
    from gonerd import untrusted

    try:
        return untrusted.load_json(path, str(path), limit=64 * 2**20)
    except untrusted.Refused as exc:
        raise BaselinesError(
            f"{path}: not a readable JSON file ({str(exc).removeprefix(f'{path}: ')})"
        ) from None


def paired_times(runs: Path, slugs: dict[str, str]) -> str:
    """The paired timing of the arms (``benchmark speed --model A B ...``): per length and arm the median ms per
    example, its interquartile range and the ratio to the first model with its 95% bootstrap interval, from the
    ``paired`` section every arm's ``speed.json`` carries; the load around it and any attention note."""
    found = None
    for slug in slugs.values():
        path = runs / slug / "speed.json"
        if path.is_file():
            found = read_json(path)
            break
    if not isinstance(found, dict) or not isinstance(found.get("paired"), dict):
        return "No paired timing yet (`benchmark speed --model A B ...`)."
    paired = found["paired"]
    labels = {slug: label for label, slug in slugs.items()}
    lines = [
        "| length | arm | median ms / example | IQR ms | ratio to the first [95% CI] |",
        "|---|---|---|---|---|",
    ]
    for point in paired.get("lengths", []):
        if point.get("status") != "ok":
            lines.append(f"| {point.get('length')} | skipped: {point.get('reason')} | | | |")
            continue
        for model in point["models"]:
            name = Path(str(model["model"])).name
            ratio = model.get("ratio")
            shown = (
                "1 (reference)"
                if ratio is None
                else f"{ratio:.3f} {_interval([model['ratio_low'], model['ratio_high']], '.3f')}"
            )
            lines.append(
                f"| {point['length']:,} | {labels.get(name, name)} | {model['median_ms']:.1f} "
                f"| {model['q25_ms']:.1f}-{model['q75_ms']:.1f} | {shown} |"
            )
    load = found.get("load") or {}
    device = found.get("device", "?")
    lines += [
        "",
        f"Device {device} ({found.get('device_name', '?')}), {found.get('dtype', '?')}, "
        f"{paired.get('repetitions')} interleaved repetitions per model and length after {paired.get('warmup')} "
        f"warm-up passes; load average before {load.get('before')}, after {load.get('after')}"
        + (" (**busy machine**)" if load.get("busy") else "")
        + ".",
    ]
    lines += [f"{note}" for note in paired.get("notes") or []]
    return "\n".join(lines)


def loss_curves(runs: Path, slugs: dict[str, str]) -> str:
    """Per arm with a valid ``distill_report.json`` kept with its results (read as the leaderboard reads it:
    :func:`benchmark.leaderboard.distillation.read_curve`): objective, steps, and the mean of every term over the
    first and the last tenth of the rows that logged it."""
    from benchmark.leaderboard.distillation import DISTILL_REPORT_FILE, read_curve

    lines = ["| arm | objective | steps | term: first tenth → last tenth |", "|---|---|---|---|"]
    any_report = False
    for label, slug in slugs.items():
        curve = read_curve(runs / slug / DISTILL_REPORT_FILE)
        if curve is None or not curve.history:
            continue
        any_report = True
        cells = [
            f"{term} {tenths[0]:.3f} → {tenths[1]:.3f}"
            for term in ["loss", *curve.objective]
            if (tenths := curve.tenths(term)) is not None
        ]
        objective = ",".join(f"{t}:{w:g}" for t, w in curve.objective.items())
        lines.append(f"| {label} | {objective} | {curve.final_step} | {'; '.join(cells)} |")
    return "\n".join(lines) if any_report else "No distill_report.json kept with the results yet."


def paper_lines() -> list[str]:
    return [f"- {what}: {figure}" for what, figure in PAPER.items()]
