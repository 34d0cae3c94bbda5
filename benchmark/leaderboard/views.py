"""Render the leaderboard views in memory: ``README.md``, ``index.html`` and the plots, as ``{path: bytes}``.

Every string that comes from a submission is escaped (:func:`md_escape`, :func:`html.escape`). Ordering is
deterministic (by average score, then slug), so regenerating gives identical bytes.
"""

from __future__ import annotations

import html
import re
import string
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from . import RESULTS
from .entries import COST_LENGTHS, NONSTANDARD, STANDARD, Cost, Entry, load_entries, regimes
from .plots import PLOTS, render_plots
from .references import PAPER, PAPER_LABEL, markdown_lines

MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()|~<>&])")
MD_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}


def md_escape(text: Any) -> str:
    """Markdown-safe single-line text: Markdown punctuation, pipes, brackets and HTML characters escaped."""
    flat = " ".join(str(text).split())
    return MD_SPECIAL.sub(lambda m: MD_ENTITIES.get(m.group(1), "\\" + m.group(1)), flat)


def _num(value: float | None, fmt: str = ".2f") -> str:
    return format(value, fmt) if value is not None else "—"


def _params(n: Any) -> str:
    return f"{n / 1e6:.1f}M" if isinstance(n, int | float) and not isinstance(n, bool) else "—"


def columns(tasks: list[str]) -> list[tuple[str, str, Callable[[Entry], Any]]]:
    """(key, header, value getter) of every table column; the key is what ``?sort=`` takes in index.html."""
    cols: list[tuple[str, str, Callable[[Entry], Any]]] = [("model", "Model", lambda e: e.name)]
    cols += [(t, t, lambda e, t=t: e.score(t)) for t in tasks]
    cols += [
        ("average", "Average", lambda e: e.average(tasks)),
        *[
            (
                "time" if n == COST_LENGTHS[0] else f"time{n}",
                f"ms/1k tok @{n} (fixed)",
                lambda e, n=n: e.cost(n),
            )
            for n in COST_LENGTHS
        ],
        ("memory", "Peak MiB", lambda e: e.peak_memory_mb()),
        ("device", "Device", lambda e: e.devices()),
        ("params", "Params", lambda e: e.model.n_params),
        ("context", "Context", lambda e: e.model.max_positions),
        ("share", "% of teacher", lambda e: e.teacher_share),
    ]
    return cols


def cell_text(key: str, entry: Entry, value: Any, tasks: list[str]) -> str:
    """What a cell shows: a task of a ``--seeds`` result as ``mean ± sd (n=N)``, the teacher share with its 95%
    paired bootstrap interval; everything else as :func:`_display`."""
    if key in tasks and key in entry.records:
        stats = entry.records[key].seed_stats()
        if stats is not None and stats.n > 1 and stats.sd is not None:
            return f"{stats.mean:.2f} ± {stats.sd:.2f} (n={stats.n})"
    if key == "share" and value is not None and entry.teacher_share_interval:
        low, high = entry.teacher_share_interval
        return f"{value:.1f}% [{low:.1f}, {high:.1f}]"
    return _display(key, value)


def _display(key: str, value: Any) -> str:
    if isinstance(value, Cost):
        return _num(value.value) if value.value is not None else f"— ({value.reason})"
    if key in ("model", "device"):
        return str(value or "—")
    if key == "params":
        return _params(value)
    if key == "context":
        return str(value) if isinstance(value, int) else "—"
    if key == "share":
        return _num(value, ".1f") + ("%" if value is not None else "")
    return _num(value if isinstance(value, int | float) else None)


def ordered(entries: list[Entry], tasks: list[str]) -> list[Entry]:
    """Complete entries first, by average (high to low), then the rest; ties by slug."""
    return sorted(entries, key=lambda e: (e.average(tasks) is None, -(e.average(tasks) or 0.0), e.slug))


def _flags(entry: Entry) -> list[str]:
    flags = ["remote code"] if entry.remote_code() else []
    flags += _dtype_flags(entry)
    flags += _batching_flags(entry)
    flags += ["task-distilled"] if _task_distilled(entry) else []
    flags += ["partial"] if entry.partial else []
    flags += ["1 seed"] if entry.records and entry.n_seeds() == 1 else []
    flags += ["sample"] if entry.samples else []
    return [*flags, "unverified"] if entry.unverified else flags


def _task_distilled(entry: Entry) -> bool:
    """Whether any result's student learnt from a fine-tuned teacher at task time (``benchmark run --teacher``):
    such a row is not a plain fine-tuning of the model."""
    return any(
        r.config is not None and getattr(r.config, "distillation", None) is not None
        for r in entry.records.values()
    )


def _dtype_flags(entry: Entry) -> list[str]:
    """Labels for results that did not run in float32 (or mixed dtypes across tasks), so a bf16 row is never
    compared silently with fp32 ones; files without an ``execution`` section ran float32 (execution_or_legacy)."""
    dtypes = sorted({r.execution_or_legacy().dtype for r in entry.records.values()})
    if dtypes in ([], ["float32"]):
        return []
    return [" + ".join(dtypes) if len(dtypes) > 1 else dtypes[0]]


BATCHING_LABELS = {"length_grouped": "grouped", "random": "random"}


def _batching_flags(entry: Entry) -> list[str]:
    """Label ``grouped batches`` (or ``grouped + random batches``) for results trained on length-grouped batches
    (``benchmark run --batching grouped``, the default until 2026-12-05), as the dtype is labelled: grouping cost
    about 1 F1 on CoNLL-2003 at batch 32 (docs/speed-and-statistics.md), so such a row is not read against
    random-batch ones unawares. Files written before ``execution.batching`` existed are read from their training
    sections (:meth:`~benchmark.core.record.ResultRecord.batching`); an evaluation-only result has none."""
    kinds = sorted({b for r in entry.records.values() if (b := r.batching()) is not None})
    if kinds in ([], ["random"]):
        return []
    return [" + ".join(BATCHING_LABELS.get(kind, kind) for kind in kinds) + " batches"]


def _markdown_table(entries: list[Entry], tasks: list[str], cols: list) -> list[str]:
    lines = [
        "| " + " | ".join(h for _, h, _ in cols) + " |",
        "|" + "|".join(":--" if k in ("model", "device") else "--:" for k, _, _ in cols) + "|",
    ]
    for entry in ordered(entries, tasks):
        cells = []
        for key, _, getter in cols:
            text = md_escape(cell_text(key, entry, getter(entry), tasks))
            if key == "model":
                flags = "".join(f" **{f}**" for f in _flags(entry))
                text = f"[{text}]({RESULTS}/{entry.slug}/){flags}"
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def time_protocol(entries: list[Entry]) -> list[str]:
    """The protocol of the time columns, stated under the table (the batch sizes, threads and dtypes are the
    entries' own, read from their speed.json)."""
    speeds = [e.speed for e in entries if e.speed is not None and e.speed.fixed]
    batches = ", ".join(str(b) for b in sorted({s.batch_size for s in speeds})) or "—"
    threads = ", ".join(sorted({str(s.hardware.torch_num_threads) for s in speeds})) or "—"
    dtypes = ", ".join(sorted({s.dtype for s in speeds})) or "—"
    lengths = " and ".join(f"{n:,}" for n in COST_LENGTHS)
    return [
        "*Time columns* (fixed protocol): from the entry's `speed.json` (`benchmark speed`, not the task runs):",
        f"batches of synthetic sequences of exactly {lengths} real tokens, no padding, the median ms per example",
        "over the timed calls after warm-up, times 1,000 / the length; on the device listed (here: batch",
        f"{batches}; {threads} CPU threads; {dtypes}). Not from the variable-length protocol (`benchmark speed",
        '--protocol variable`), which such a column would name. "—" gives the reason: no speed.json submitted,',
        "the model takes fewer tokens (max N), or that length was not measured.",
    ]


def render_markdown(entries: list[Entry], tasks: list[str]) -> str:
    cols = columns(tasks)
    lines = [
        "# gonerd-bench leaderboard",
        "",
        "<!-- generated by `benchmark leaderboard`; do not edit by hand -->",
        "",
        "Primary metric (0-100) of each task on its test split where scored, else validation. *Average*: mean of",
        f"the {len(tasks)} tasks (complete entries only). *ms/1k tok @512* / *@4096 (fixed)*: inference time per 1,000",
        "tokens at a fixed input length (protocol under the table); *Peak MiB*: largest peak memory over the",
        "tasks' runs; both on the listed device. *% of teacher*: a distilled student's mean per-task share of",
        "its teacher's score. **remote code**: loading needs `trust_remote_code`.",
        "Every score was recomputed from the submitted predictions against gold data its task's spec pins (identified",
        "by sha256), except where an entry is marked **unverified**: the scores listed under the table could not",
        "be re-scored (gold data not at hand: `benchmark submit --unverified`, or a result that recorded no sha256",
        "of its gold data) and rest on the submitter's word. **sample**: some scores (listed under the table) were",
        "scored on a sample of the task's data (a run with `--limit`, or a sample the task's spec pins, such as the",
        "mini reproduction's GONERD build), not on the split the task defines; not comparable with full-split scores.",
        "Devices, timings and revisions are shown as submitted (they cannot be verified).",
        "**bfloat16** / **float16**: ran in that mixed precision (others: float32); not directly comparable.",
        "A score of several seeds (`benchmark run --seeds`) is *mean ± sd (n=seeds)*; **1 seed**: every score rests",
        "on one fine-tuning (a difference of a point or two is then no finding). *% of teacher* carries its 95%",
        "paired bootstrap interval over evaluation examples where both entries recorded bootstrap replicates.",
        "Entries run on a sample of the data (`--limit`) or with a budget other than the task's default (e.g. the",
        "mini reproduction) are listed in a table of their own, apart from those on the standard data and budgets.",
    ]
    for heading, group in regimes(entries):
        lines += ["", f"## {heading}", ""]
        if not group:
            lines.append("No entry yet.")
            continue
        lines += _markdown_table(group, tasks, cols)
        if heading == NONSTANDARD:
            lines += ["", "Why each is apart:", ""]
            lines += [
                f"- {md_escape(e.name)}: {md_escape('; '.join(e.nonstandard()))}"
                for e in ordered(group, tasks)
            ]
    lines += ["", *time_protocol(entries)]
    marked = [e for e in ordered(entries, tasks) if e.unverified]
    if marked:
        lines += ["", "**unverified** (not re-scored):", ""]
        lines += [f"- {md_escape(e.name)}: {md_escape(', '.join(e.unverified))}" for e in marked]
    sampled = [e for e in ordered(entries, tasks) if e.samples]
    if sampled:
        lines += ["", "**sample** (scored on a sample of the task's data):", ""]
        lines += [f"- {md_escape(e.name)}: {md_escape(', '.join(e.samples))}" for e in sampled]
    lines += ["", *distillation_lines(entries, tasks)]
    lines += ["", "## Plots", ""]
    lines += [f"![{name.replace('_', ' ')}](plots/{name}.svg)" for name in PLOTS]
    lines += ["", "## Reference: published headline figures", "", f"From {PAPER}:", "", *markdown_lines(), ""]
    return "\n".join(lines)


def _loss(value: float) -> str:
    return format(value, ".4g")


def distillation_lines(entries: list[Entry], tasks: list[str]) -> list[str]:
    """The README's section on the distilled students' loss curves (their ``distill_report.json``): per entry its
    objective, its steps and each term's mean over the first and the last tenth of the logged rows."""
    lines = [
        "## Distillation loss",
        "",
        "From a distilled student's `distill_report.json` (written by `baselines distill`, kept with its results by",
        "`benchmark run`, submitted with them and checked to be the very report whose sha256 the results' model",
        "recipe records): its objective (term: weight), the steps it trained, and the mean of the total loss (the",
        "weighted sum) and of each term (unweighted) over the first and the last tenth of the logged rows (at least",
        "one row each). Curves: [distillation loss](plots/distillation_loss.svg).",
        "",
    ]
    shown = [(e, e.distill) for e in ordered(entries, tasks) if e.distill is not None]
    if not shown:
        return [*lines, "No entry has submitted a `distill_report.json` yet."]
    for entry, curve in shown:
        objective = ", ".join(f"{term}: {weight:g}" for term, weight in curve.objective.items())
        means = []
        for key in ("loss", *curve.objective):
            pair = curve.tenths(key)
            means.append(f"{key} {_loss(pair[0])} → {_loss(pair[1])}" if pair else f"{key} —")
        lines.append(
            f"- [{md_escape(entry.name)}]({RESULTS}/{entry.slug}/): objective {md_escape(objective)}; "
            f"{curve.final_step:,} steps, {len(curve.history):,} rows logged; first → last tenth: "
            f"{md_escape('; '.join(means))}"
        )
    return lines


# The page: HTML skeleton, CSS and the sorting script, shipped as package data; ``$name`` fields are filled in.
PAGE_TEMPLATE = "page.html"


@cache
def page_template() -> string.Template:
    """The leaderboard page's template (``benchmark/leaderboard/page.html``)."""
    text = resources.files(__package__).joinpath(PAGE_TEMPLATE).read_text(encoding="utf-8")
    return string.Template(text)


def _html_value(key: str, value: Any) -> str:
    if isinstance(value, Cost):
        value = value.value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(float(value))
    return "" if value is None else str(value)


def _html_row(entry: Entry, cols: list, tasks: list[str]) -> str:
    esc = html.escape
    cells = []
    for key, _, getter in cols:
        value = getter(entry)
        attr = f' data-value="{esc(_html_value(key, value))}"'
        if key == "model":
            flags = "".join(f'<span class="flag">{esc(f)}</span>' for f in _flags(entry))
            link = f"{RESULTS}/{entry.slug}/"
            cells.append(f'<td{attr}><a href="{esc(link)}">{esc(entry.name)}</a>{flags}</td>')
        else:
            cls = "" if key == "device" else ' class="num"'
            cells.append(f"<td{cls}{attr}>{esc(cell_text(key, entry, value, tasks))}</td>")
    return f'<tr data-slug="{esc(entry.slug)}">' + "".join(cells) + "</tr>"


def render_html(entries: list[Entry], tasks: list[str]) -> str:
    esc = html.escape
    cols = columns(tasks)
    head = "".join(
        f'<th data-key="{esc(k)}" title="sort by {esc(h)} (click again to reverse)">{esc(h)}</th>'
        for k, h, _ in cols
    )
    tables = []
    for heading, group in regimes(entries):
        tables.append(f"<h2>{esc(heading)}</h2>")
        if not group:
            tables.append("<p>No entry yet.</p>")
            continue
        ident = ' id="leaderboard"' if heading == STANDARD else ' id="apart"'
        rows = "\n".join(_html_row(entry, cols, tasks) for entry in ordered(group, tasks))
        tables.append(
            f'<table class="board"{ident}><thead><tr>{head}</tr></thead><tbody>\n{rows}\n</tbody></table>'
        )
        if heading == NONSTANDARD:
            why = "".join(
                f"<li>{esc(e.name)}: {esc('; '.join(e.nonstandard()))}</li>" for e in ordered(group, tasks)
            )
            tables.append(f"<p>Why each is apart:</p><ul>{why}</ul>")
    refs = "".join(f"<li>{esc(line.removeprefix('- ').replace('**', ''))}</li>" for line in markdown_lines())
    plots = "".join(
        f'<figure><img src="plots/{n}.svg" alt="{esc(n.replace("_", " "))}"></figure>' for n in PLOTS
    )
    marked = "".join(
        f"<li>{esc(e.name)}: {esc(', '.join(e.unverified))}</li>"
        for e in ordered(entries, tasks)
        if e.unverified
    )
    unverified = f"<p><b>unverified</b> (not re-scored):</p><ul>{marked}</ul>\n" if marked else ""
    sampled = "".join(
        f"<li>{esc(e.name)}: {esc(', '.join(e.samples))}</li>" for e in ordered(entries, tasks) if e.samples
    )
    if sampled:  # shown with the unverified list (the page template has one place for both)
        unverified += f"<p><b>sample</b> (scored on a sample of the task's data):</p><ul>{sampled}</ul>\n"
    return page_template().substitute(
        tables="\n".join(tables),
        time_protocol=f"<p>{esc(' '.join(time_protocol(entries)).replace('*', '').replace('`', ''))}</p>\n",
        unverified=unverified,
        plots=plots,
        paper=esc(PAPER),
        paper_label=esc(PAPER_LABEL),
        references=refs,
    )


def render_all(leaderboard: str | Path) -> dict[str, bytes]:
    """Every generated file of the leaderboard directory, ``{relative path: bytes}``."""
    from ..tasks.registry import task_names

    tasks = task_names()
    entries = load_entries(leaderboard)
    out = {
        "README.md": render_markdown(entries, tasks).encode("utf-8"),
        "index.html": render_html(entries, tasks).encode("utf-8"),
    }
    out.update(render_plots(entries, tasks))
    return out


def stale_files(leaderboard: str | Path, rendered: dict[str, bytes] | None = None) -> list[str]:
    """Generated files that are missing or differ from a fresh rendering, plus unexpected files in plots/."""
    root = Path(leaderboard)
    rendered = rendered if rendered is not None else render_all(root)
    stale = [name for name, data in sorted(rendered.items()) if not _same(root / name, data)]
    extra = (
        sorted(f"plots/{p.name}" for p in (root / "plots").glob("*") if f"plots/{p.name}" not in rendered)
        if (root / "plots").is_dir()
        else []
    )
    return stale + [f"{name} (not generated)" for name in extra]


def _same(path: Path, data: bytes) -> bool:
    try:
        return path.read_bytes() == data
    except OSError:
        return False


def write_all(leaderboard: str | Path) -> list[str]:
    """Regenerate the views on disk, all or none (:func:`.staging.change_board`); returns the files that
    changed."""
    from .staging import change_board, write_bytes

    root = Path(leaderboard)
    rendered = render_all(root)
    changed = [name for name, data in sorted(rendered.items()) if not _same(root / name, data)]
    if changed:
        change_board(root, lambda staged: [write_bytes(staged / name, rendered[name]) for name in changed])
    return changed
