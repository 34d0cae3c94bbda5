"""Leaderboard plots (matplotlib, Agg) as PNG and SVG bytes; the same entries always give the same bytes
(fixed ``svg.hashsalt``, no date or software metadata). Strings from submissions are drawn as plain text
(``parse_math=False``), never as mathtext."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from .compare import compare_records
from .entries import COST_LENGTHS, Entry, regimes
from .references import PAPER_LABEL, TASK_REFERENCE, headline

PLOTS = ("quality_vs_time", "time_vs_length", "student_vs_teacher", "distillation_loss")
RC = {"svg.hashsalt": "gonerd-bench", "svg.fonttype": "path", "font.size": 9, "figure.dpi": 100}


def _figure(
    draw: Callable[[Any], None], *, panels: int = 1, size: tuple[float, float] = (7.0, 4.2)
) -> dict[str, bytes]:
    """``draw(ax)`` (``draw(axes)``, a row of ``panels`` axes, when there are several) as PNG and SVG bytes."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    with matplotlib.rc_context(RC):
        fig, ax = plt.subplots(1, panels, figsize=size)
        try:
            draw(ax)
            fig.tight_layout()
            out = {}
            for fmt, meta in (("png", {"Software": None}), ("svg", {"Date": None, "Creator": None})):
                buffer = io.BytesIO()
                fig.savefig(buffer, format=fmt, metadata=meta)
                out[fmt] = buffer.getvalue()
        finally:
            plt.close(fig)
    return out


def _legend(ax: Any, **kwargs: Any) -> None:
    """A legend whose labels (names and devices from submissions) are shown as text: never parsed as mathtext
    (``$...$`` would be, and a malformed one fails every later rendering)."""
    for text in ax.legend(**kwargs).get_texts():
        text.set_parse_math(False)


def _empty(ax: Any, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def pareto_front(points: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """Points (time, quality, label) no other point beats on both: less or equal time and higher quality."""
    front: list[tuple[float, float, str]] = []
    for point in sorted(points, key=lambda p: (p[0], -p[1], p[2])):
        if not front or point[1] > front[-1][1]:
            front.append(point)
    return front


def shared_tasks(entries: list[Entry], tasks: list[str]) -> tuple[list[str], list[Entry]]:
    """The tasks to average for the quality-vs-time picture and the timed entries that have them all: the task set
    most timed entries share (ties: more tasks, then the set that comes first in ``tasks``' order), so the
    picture shows something whenever two timed entries share a task; ``([], [])`` when none do."""
    timed = [
        e for e in entries if e.cost(COST_LENGTHS[0]).value and any(e.score(t) is not None for t in tasks)
    ]
    have = {e.slug: frozenset(t for t in tasks if e.score(t) is not None) for e in timed}
    candidates = {s for s in have.values()} | {a & b for a in have.values() for b in have.values()}
    best: tuple[int, int, tuple[int, ...]] | None = None
    chosen: frozenset[str] = frozenset()
    for option in (c for c in candidates if c):
        count = sum(option <= got for got in have.values())
        key = (count, len(option), tuple(-tasks.index(t) for t in sorted(option, key=tasks.index)))
        if count >= 2 and (best is None or key > best):
            best, chosen = key, option
    if not chosen:
        return [], []
    ordered = [t for t in tasks if t in chosen]
    return ordered, [e for e in timed if chosen <= have[e.slug]]


def quality_vs_time(entries: list[Entry], tasks: list[str]) -> dict[str, bytes]:
    # one regime at a time (standard data and budgets first), so that sample runs are never drawn against them
    group: list[Entry] = []
    shared: list[str] = []
    regime = ""
    for heading, members in regimes(entries):
        shared, group = shared_tasks(members, tasks)
        if group:
            regime = heading.split(" (")[0]
            break
    length = COST_LENGTHS[0]
    points = [
        (cost, e.average(shared), e.label)
        for e in group
        if (cost := e.cost(length).value) and e.average(shared) is not None
    ]

    def draw(ax: Any) -> None:
        if not points:
            _empty(ax, "no two entries with timing share a task yet")
            return
        front = pareto_front(points)  # type: ignore[arg-type]
        ax.scatter([p[0] for p in points], [p[1] for p in points], color="tab:blue", zorder=3)
        ax.step(
            [p[0] for p in front], [p[1] for p in front], where="post", color="tab:red", label="Pareto front"
        )
        for x, y, label in points:
            ax.annotate(
                label, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7, parse_math=False
            )
        ax.set_xscale("log")
        ax.set_xlabel(
            f"inference time, ms per 1,000 tokens at {length} tokens (benchmark speed, fixed protocol; log scale)"
        )
        ax.set_ylabel(f"mean primary metric over {', '.join(shared)} (0-100)")
        ax.set_title(
            f"Quality vs inference time over the tasks {len(group)} entries share: {', '.join(shared)}\n"
            f"({regime.lower()})",
            fontsize=8,
        )
        _legend(ax, loc="best")

    return _figure(draw)


def speed_points(entry: Entry) -> list[tuple[int, float]]:
    """(length, median ms per example) of every measured length of the entry's speed.json (fixed protocol: a
    variable-protocol file's lengths are the longest a sequence could be, not what each example had)."""
    return entry.speed.points() if entry.speed is not None and entry.speed.fixed else []


def time_vs_length(entries: list[Entry]) -> dict[str, bytes]:
    curves = [(e.label, e.speed.device if e.speed else "", speed_points(e)) for e in entries]
    curves = [c for c in curves if c[2]]

    def draw(ax: Any) -> None:
        if not curves:
            _empty(ax, "no speed.json submitted yet (benchmark speed --output DIR)")
            return
        for name, device, points in curves:
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=f"{name} ({device})")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("sequence length (tokens)")
        ax.set_ylabel("ms per example (median)")
        ax.set_title("Inference time vs sequence length")
        _legend(ax, fontsize=7)

    return _figure(draw)


def student_vs_teacher(entries: list[Entry]) -> dict[str, bytes]:
    by_slug = {e.slug: e for e in entries}
    pairs = [(e, by_slug[e.teacher_slug]) for e in entries if e.teacher_slug in by_slug]

    def draw(ax: Any) -> None:
        if not pairs:
            _empty(ax, "no distilled student with its teacher on the leaderboard yet")
            return
        tasks = sorted({r["task"] for s, t in pairs for r in compare_records(s.records, t.records)[:-1]})
        width = 0.8 / len(pairs)
        for i, (student, teacher) in enumerate(pairs):
            shares = {r["task"]: r["share"] for r in compare_records(student.records, teacher.records)[:-1]}
            xs = [j + i * width for j, t in enumerate(tasks) if shares.get(t) is not None]
            ys = [shares[t] for t in tasks if shares.get(t) is not None]
            ax.bar(xs, ys, width=width, label=f"{student.label} / {teacher.label}")
        for j, task in enumerate(tasks):
            if task in TASK_REFERENCE:
                ref = headline(TASK_REFERENCE[task])
                ax.hlines(ref, j - 0.1, j + 0.8, colors="k", linestyles="dashed", linewidth=1)
        ax.axhline(100, color="0.6", linewidth=0.8)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(tasks))], tasks)
        ax.set_ylabel("student's share of teacher's score (%)")
        ax.set_title(f"Student vs teacher per task (dashed: best retention {PAPER_LABEL})", fontsize=8)
        _legend(ax, fontsize=7, loc="lower left")

    return _figure(draw)


# Points drawn per line of the distillation plot (evenly spaced rows, the first and the last included).
MAX_CURVE_POINTS = 500
LINESTYLES = ("-", "--", ":", "-.")


def thinned(points: list[tuple[int, float]], most: int = MAX_CURVE_POINTS) -> list[tuple[int, float]]:
    """At most ``most`` of ``points``, evenly spaced, the first and the last included (a long run's curve would
    otherwise put every logged row in the SVG)."""
    if len(points) <= most:
        return points
    last = len(points) - 1
    picked = sorted({round(i * last / (most - 1)) for i in range(most)})
    return [points[i] for i in picked]


def _xy(points: list[tuple[int, float]]) -> tuple[list[int], list[float]]:
    return [p[0] for p in points], [p[1] for p in points]


def _marker(points: list[tuple[int, float]]) -> str | None:
    """A dot for a curve of one logged row (a line through one point draws nothing)."""
    return "o" if len(points) == 1 else None


def distillation_loss(entries: list[Entry]) -> dict[str, bytes]:
    """Every distilled student's loss curve from its ``distill_report.json``: the total (weighted) loss against
    the step, one line per entry, and beside it each term of its objective, unweighted."""
    curves = [(e, e.distill) for e in entries if e.distill is not None]

    def draw(axes: Any) -> None:
        if not curves:
            _empty(axes, "no distill_report.json submitted yet (benchmark run keeps a distilled student's)")
            return
        total, terms = axes
        for i, (entry, curve) in enumerate(curves):
            color = f"C{i % 10}"
            points = thinned(curve.series("loss"))
            total.plot(*_xy(points), color=color, marker=_marker(points), label=entry.label)
            for j, term in enumerate(curve.objective):
                points = thinned(curve.series(term))
                if points:
                    terms.plot(
                        *_xy(points),
                        color=color,
                        marker=_marker(points),
                        linestyle=LINESTYLES[j % len(LINESTYLES)],
                        label=f"{entry.label}: {term}",
                    )
        for ax, title in (
            (total, "Total loss (weighted sum of the terms)"),
            (terms, "Each term, unweighted"),
        ):
            values = [y for line in ax.get_lines() for y in line.get_ydata()]
            if values and min(values) > 0:
                ax.set_yscale("log")
            ax.set_xlabel("step")
            ax.set_ylabel("loss" + (" (log scale)" if ax.get_yscale() == "log" else ""))
            ax.set_title(title, fontsize=8)
            if values:
                _legend(ax, fontsize=6)

    return _figure(draw, panels=2 if curves else 1, size=(9.0, 4.2) if curves else (7.0, 4.2))


def render_plots(entries: list[Entry], tasks: list[str]) -> dict[str, bytes]:
    """``{"plots/<name>.<png|svg>": bytes}`` for every plot in :data:`PLOTS`."""
    figures = {
        "quality_vs_time": quality_vs_time(entries, tasks),
        "time_vs_length": time_vs_length(entries),
        "student_vs_teacher": student_vs_teacher(entries),
        "distillation_loss": distillation_loss(entries),
    }
    return {f"plots/{name}.{fmt}": data for name, fig in figures.items() for fmt, data in sorted(fig.items())}
