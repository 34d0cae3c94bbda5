"""The leaderboard marks entries whose students learnt from a teacher at task time (``benchmark run --teacher``)."""

from __future__ import annotations

import pytest

from benchmark.leaderboard.entries import Entry
from benchmark.leaderboard.views import render_html, render_markdown
from benchmark.results.files import load_record
from tests.benchmark.leaderboard.test_leaderboard import edit_json, make_run

pytestmark = pytest.mark.fixtures

DISTILLATION = {
    "teacher_run": "runs/teacher",
    "teacher_model_id": "teacher",
    "teacher_revision": "sha256:" + "0" * 64,
    "alpha": 0.5,
    "temperature": 2.0,
    "subtasks": ["conll2003"],
}


def _entry(run, slug: str) -> Entry:
    record = load_record(run / "conll2003.json")  # typed: config.distillation is a known section
    return Entry(slug=slug, model=record.model, records={"conll2003": record})


def test_task_distilled_flag(tmp_path):
    plain = make_run(tmp_path, "plain-student", tasks=("conll2003",))
    taught = make_run(tmp_path, "taught-student", tasks=("conll2003",))
    edit_json(taught / "conll2003.json", lambda d: d["config"].update(distillation=DISTILLATION))
    entries = [_entry(plain, "plain-student"), _entry(taught, "taught-student")]
    assert entries[1].records["conll2003"].config.distillation.alpha == 0.5
    md = render_markdown(entries, ["conll2003"])
    rows = {
        name: next(line for line in md.splitlines() if name in line)
        for name in ("plain-student", "taught-student")
    }
    assert "**task-distilled**" in rows["taught-student"]
    assert "task-distilled" not in rows["plain-student"]
    assert '<span class="flag">task-distilled</span>' in render_html(entries, ["conll2003"])
