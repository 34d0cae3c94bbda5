"""The leaderboard's views of seeds and regimes: ``1 seed`` and mean ± sd (n), entries run on a sample or a
non-standard budget in a table apart from standard ones, the teacher share with its interval, and the
quality-vs-time picture over the tasks entries share. Records: the board's own (the mini reproduction)."""

from __future__ import annotations

import dataclasses
import json

from benchmark.core.record import Budget, ResultRecord
from benchmark.leaderboard import plots
from benchmark.leaderboard.entries import Cost, Entry
from benchmark.leaderboard.views import NONSTANDARD, STANDARD, cell_text, render_html, render_markdown
from benchmark.run.config import default_budget
from conftest import ROOT

TASKS = ["conll2003", "gonerd", "squad"]
BOARD = ROOT / "leaderboard" / "results" / "repro-mini__minilm-l6-bigbird4096"


def _record(task: str) -> ResultRecord:
    """The board's result of ``task`` as a run of one seed (the teacher's CoNLL-2003 result aggregates 3)."""
    record = ResultRecord.from_dict(json.loads((BOARD / f"{task}.json").read_text()))
    return dataclasses.replace(record, seeds=None)


def _standard(record: ResultRecord) -> ResultRecord:
    """The record as if run on the task's standard data and budget."""
    budget = Budget(**default_budget(record.task.name).to_dict())
    return dataclasses.replace(record, config=dataclasses.replace(record.config, budget=budget, limit=None))


def _entry(slug: str, records: dict[str, ResultRecord]) -> Entry:
    model = dataclasses.replace(next(iter(records.values())).model, model_id=f"org/{slug}")
    return Entry(slug=slug, model=model, records=records, seed_records={t: [r] for t, r in records.items()})


def _with_seeds(record: ResultRecord, scores: list[float]) -> ResultRecord:
    """The record as the aggregate of a --seeds run with these headline scores."""
    from benchmark.evaluate.intervals import metric_stats

    split = record.headline_split()
    data = record.to_dict()
    data["seeds"] = {
        "seeds": list(range(len(scores))),
        "files": {str(i): f"seeds/{i}/{record.task.name}.json" for i in range(len(scores))},
        "scores": {str(i): {split: s} for i, s in enumerate(scores)},
        "splits": {split: {"stats": {record.task.primary_metric: metric_stats(scores)}}},
    }
    return ResultRecord.from_dict(data)


def test_sample_and_nonstandard_budget_entries_stand_apart_with_the_reason():
    mini = _entry("mini", {"conll2003": _record("conll2003")})
    full = _entry("full", {"conll2003": _standard(_record("conll2003"))})
    assert full.nonstandard() == []
    assert mini.nonstandard() == ["conll2003: epochs 6 (default 3), batch_size 16 (default 32)"]
    limited = dataclasses.replace(
        full.records["conll2003"], config=dataclasses.replace(full.records["conll2003"].config, limit=300)
    )
    assert _entry("x", {"conll2003": limited}).nonstandard() == [
        "conll2003: first 300 examples per split (--limit)"
    ]
    md = render_markdown([mini, full], TASKS)
    standard, apart = md.index(f"## {STANDARD}"), md.index(f"## {NONSTANDARD}")
    assert standard < md.index("results/full/") < apart < md.index("results/mini/")
    assert "epochs 6 \\(default 3\\)" in md[apart:]
    page = render_html([mini, full], TASKS)
    assert page.index('id="leaderboard"') < page.index('data-slug="full"') < page.index('id="apart"')
    assert page.index('id="apart"') < page.index('data-slug="mini"')
    only_mini = render_markdown([mini], TASKS)
    assert "No entry yet." in only_mini[only_mini.index(STANDARD) : only_mini.index(NONSTANDARD)]


def test_one_seed_is_marked_and_several_read_mean_sd_n():
    single = _entry("single", {"conll2003": _standard(_record("conll2003"))})
    seeded = _entry("seeded", {"conll2003": _with_seeds(_standard(_record("conll2003")), [50.0, 52.0, 54.0])})
    md = render_markdown([single, seeded], TASKS)
    single_row = next(line for line in md.splitlines() if "results/single/" in line)
    seeded_row = next(line for line in md.splitlines() if "results/seeded/" in line)
    assert "**1 seed**" in single_row and "1 seed" not in seeded_row
    assert "52.00 ± 2.00 \\(n=3\\)" in seeded_row
    assert seeded.score("conll2003") == 52.0  # the board ranks by the mean
    assert 'data-value="52.0"' in render_html([seeded], TASKS)


def test_teacher_share_carries_its_interval():
    entry = _entry("s", {"conll2003": _record("conll2003")})
    entry.teacher_share, entry.teacher_share_interval = 93.04, [90.11, 95.87]
    assert cell_text("share", entry, entry.teacher_share, TASKS) == "93.0% [90.1, 95.9]"
    entry.teacher_share_interval = None
    assert cell_text("share", entry, entry.teacher_share, TASKS) == "93.0%"


def test_quality_vs_time_uses_the_tasks_entries_share(monkeypatch):
    # timed = a cost at 512 tokens from speed.json; a record without one is not drawn
    monkeypatch.setattr(Entry, "cost", lambda self, length: Cost(None if self.slug == "untimed" else 10.0))
    untimed = _entry("untimed", {"conll2003": _record("conll2003")})
    conll, gonerd = _record("conll2003"), _record("gonerd")
    both = [_entry(f"both{i}", {"conll2003": conll, "gonerd": gonerd}) for i in range(2)]
    one = _entry("one", {"conll2003": conll})
    shared, group = plots.shared_tasks([*both, one, untimed], TASKS)
    assert shared == ["conll2003"] and {e.slug for e in group} == {"both0", "both1", "one"}
    shared, group = plots.shared_tasks(both, TASKS)
    assert shared == ["conll2003", "gonerd"] and len(group) == 2
    assert plots.shared_tasks([one, _entry("g", {"gonerd": gonerd})], TASKS) == ([], [])
    titles: list[str] = []
    real = plots._figure
    monkeypatch.setattr(
        plots, "_figure", lambda draw: real(lambda ax: (draw(ax), titles.append(ax.get_title())))
    )
    plots.quality_vs_time(both, TASKS)
    assert "conll2003, gonerd" in titles[0] and "2 entries" in titles[0]


def test_submitted_teacher_share_carries_its_paired_interval_and_replicates_are_rescored(tmp_path):
    """Student and teacher submitted with their bootstrap replicates: the board's % of teacher carries its 95%
    paired interval; replicates that do not follow from the predictions are refused at submission."""
    from baselines.registry import resolve
    from benchmark.leaderboard.entries import load_entries
    from benchmark.leaderboard.submit import submit
    from conftest import fixture_path
    from tests.benchmark.leaderboard.test_leaderboard import edit_json, make_run

    runs, board = tmp_path / "runs", tmp_path / "board"
    tasks = ("conll2003", "squad")
    teacher = make_run(runs, resolve("longformer").hub_id, tasks=tasks, every=0, bootstrap=True)
    student = make_run(runs, resolve("distil-longformer").hub_id, tasks=tasks, every=3, bootstrap=True)
    for run in (teacher, student):
        assert submit(run, board, data_dir=fixture_path(), partial=True).ok
    entry = next(e for e in load_entries(board) if e.teacher_slug)
    low, high = entry.teacher_share_interval
    assert low <= entry.teacher_share <= high < 100.0  # every third example wrong: below the teacher
    row = next(
        line for line in (board / "README.md").read_text().splitlines() if f"results/{entry.slug}/" in line
    )
    assert f"% [{low:.1f}, {high:.1f}]" in row.replace("\\", "")

    other = make_run(tmp_path / "other", "org/forged", tasks=("squad",), every=3, bootstrap=True)
    edit_json(other / "squad.json", lambda d: d["bootstrap"]["validation"]["replicates"].__setitem__(0, 99.0))
    report = submit(other, board, data_dir=fixture_path(), partial=True)
    assert not report.ok and any("bootstrap replicates do not match" in p for p in report.problems)
