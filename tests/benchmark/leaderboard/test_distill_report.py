"""A distilled student's ``distill_report.json`` (its loss curve) goes on the board with the results it made: it is
checked for shape and for being the very report the results' ``model.recipe`` records (sha256), copied and listed
in ``submission.json``, re-checked by ``benchmark leaderboard --check``, and shown in the README's "Distillation
loss" section and in ``plots/distillation_loss``.

Result directories are built by :func:`test_leaderboard.make_run` (metrics computed from predictions against the
real fixture gold data); the report is one ``baselines distill`` would write (the keys of
:class:`baselines.distill.DistillReport`), with a loss curve that falls."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from benchmark.leaderboard.submit import check_leaderboard
from benchmark.model.recipe import DISTILL_REPORT
from conftest import fixture_path
from tests.benchmark.leaderboard.test_leaderboard import edit_json, make_run
from tests.benchmark.leaderboard.test_tamper import one_line, run_cli, submit_refused, tree_sha256

STEPS = 40
OBJECTIVE = {"hidden": 1.0, "cos": 0.5}


def report_bytes(**change) -> bytes:
    """A ``distill_report.json`` as ``baselines distill`` writes it (``json.dumps(report.to_dict(), indent=2)``):
    every term falls over the steps; ``change`` replaces top-level keys."""
    history = []
    for step in range(1, STEPS + 1):
        hidden, cos = 4.0 / step, 0.5 / step
        history.append(
            {
                "step": step,
                "loss": hidden + 0.5 * cos,
                "hidden": hidden,
                "cos": cos,
                "lr": 5e-4 * (1 - step / STEPS),
            }
        )
    data = {
        "out": "students/mini-distilled",
        "teacher": "teachers/mini",
        "teacher_layers": 6,
        "student_layers": 3,
        "layer_map": [0, 2, 4],
        "kl_used": False,
        "start_step": 0,
        "final_step": STEPS,
        "resumed_from": None,
        "objective": OBJECTIVE,
        "teacher_has_mlm_head": False,
        "notes": ["no MLM term"],
        "history": history,
        "num_chunks": {"long": 10, "short": 10},
        "seconds": 12.5,
        "settings": {"seed": 0, "lr": 5e-4},
        **change,
    }
    return json.dumps(data, indent=2).encode()


def distilled_run(root: Path, model_id: str, report: bytes, *, recorded: bytes | None = None) -> Path:
    """A result directory of a distilled student: its results record the recipe of ``recorded`` (default: the
    report itself), as ``benchmark run`` records ``model.recipe`` (:func:`benchmark.model.recipe.read_recipe`), and
    ``report`` lies beside them as ``benchmark run`` keeps it."""
    run = make_run(root, model_id, tasks=("conll2003",))
    sha = hashlib.sha256(recorded if recorded is not None else report).hexdigest()
    recipe = {"kind": "distilled", "file": DISTILL_REPORT, "sha256": sha, "steps": STEPS}
    edit_json(run / "conll2003.json", lambda d: d["model"].update(recipe=recipe))
    (run / DISTILL_REPORT).write_bytes(report)
    return run


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A board holding the distilled student ``org/student`` with its report (submitted through the CLI)."""
    root = tmp_path_factory.mktemp("distill-report")
    run = distilled_run(root / "runs", "org/student", report_bytes())
    from benchmark.cli import main

    code = main(
        [
            "submit",
            str(run),
            "--leaderboard",
            str(root / "board"),
            "--partial",
            "--data-dir",
            str(fixture_path()),
        ]
    )
    assert code == 0
    return root


@pytest.fixture
def board(template: Path, tmp_path: Path) -> Path:
    shutil.copytree(template, tmp_path / "copy")
    return tmp_path / "copy" / "board"


def test_matching_report_lands_on_the_board_readme_and_plot(template):
    board = template / "board"
    entry = board / "results" / "org__student"
    report = template / "runs" / "org__student" / DISTILL_REPORT
    assert (entry / DISTILL_REPORT).read_bytes() == report.read_bytes()
    files = json.loads((entry / "submission.json").read_text())["files"]
    assert files[DISTILL_REPORT] == hashlib.sha256(report.read_bytes()).hexdigest()
    readme = (board / "README.md").read_text()
    section = readme.split("## Distillation loss", 1)[1].split("\n## ", 1)[0]
    line = next(x for x in section.splitlines() if x.startswith("- "))
    # 40 rows: the first tenth is steps 1-4, the last steps 37-40 (hidden = 4 / step)
    first = sum(4.0 / s for s in range(1, 5)) / 4
    last = sum(4.0 / s for s in range(37, 41)) / 4
    assert "[org/student](results/org__student/)" in line
    assert "objective hidden: 1, cos: 0.5" in line and f"{STEPS} steps, {STEPS} rows logged" in line
    assert f"hidden {first:.4g} → {last:.4g}" in line
    assert "](plots/distillation_loss.svg)" in section
    assert "![distillation loss](plots/distillation_loss.svg)" in readme
    svg = (board / "plots" / "distillation_loss.svg").read_text()
    assert "Each term, unweighted" in svg and "no distill_report.json submitted yet" not in svg
    assert (board / "plots" / "distillation_loss.png").read_bytes().startswith(b"\x89PNG")
    assert check_leaderboard(board, data_dir=fixture_path()).ok


def test_board_without_reports_says_so_and_a_stray_report_fails_check(tmp_path):
    from benchmark.leaderboard.submit import submit
    from benchmark.leaderboard.views import render_all

    run = make_run(tmp_path / "runs", "org/plain", tasks=("conll2003",))
    assert submit(run, tmp_path / "board", data_dir=fixture_path(), partial=True).ok
    rendered = render_all(tmp_path / "board")
    assert b"No entry has submitted a `distill_report.json` yet." in rendered["README.md"]
    assert b"Each term, unweighted" not in rendered["plots/distillation_loss.svg"]
    assert (tmp_path / "board" / "plots" / "distillation_loss.svg").read_bytes() == rendered[
        "plots/distillation_loss.svg"
    ]
    # a report put by hand beside results of no distilled student: a stray file to --check
    (tmp_path / "board" / "results" / "org__plain" / DISTILL_REPORT).write_bytes(report_bytes())
    problems = check_leaderboard(tmp_path / "board", rescore=False).problems
    prefix = "results/org__plain/distill_report.json: "
    assert prefix + "not listed in submission.json" in problems
    assert any(p.startswith(prefix + "not the report of the model these results") for p in problems)


def test_report_of_another_model_is_refused_and_nothing_copied(board, tmp_path, capsys):
    other = report_bytes(final_step=STEPS + 1)
    run = distilled_run(tmp_path / "runs", "org/second", report_bytes(), recorded=other)
    line = submit_refused(capsys, board, run, "--data-dir", str(fixture_path()))
    assert line.startswith(
        "benchmark submit: distill_report.json: not the report of the model these results were made with"
    )
    assert not (board / "results" / "org__second").exists()


def test_report_beside_results_of_no_distilled_student_is_refused(board, tmp_path, capsys):
    run = make_run(tmp_path / "runs", "org/second", tasks=("conll2003",))
    (run / DISTILL_REPORT).write_bytes(report_bytes())
    line = submit_refused(capsys, board, run, "--data-dir", str(fixture_path()))
    assert "distill_report.json: not the report of the model these results were made with" in line
    assert "kind None" in line


def _row_change(index: int, **change):
    def edit(data):
        data["history"][index].update(change)

    return edit


MALFORMED = {
    "string loss": (
        _row_change(3, loss="0.5"),
        "distill_report.json: history[3].loss is '0.5', not a finite number",
    ),
    "NaN term": (
        _row_change(7, cos=float("nan")),
        "distill_report.json: history[7].cos is nan, not a finite number",
    ),
    "float step": (_row_change(0, step=1.0), "distill_report.json: history[0].step is 1.0, not an integer"),
    "objective weight": (
        lambda d: d["objective"].update(cos="half"),
        "distill_report.json: objective.cos is 'half', not a finite number",
    ),
    "no final_step": (lambda d: d.pop("final_step"), "distill_report.json: no 'final_step'"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_report_is_refused_in_one_line(board, tmp_path, capsys, case):
    change, expected = MALFORMED[case]
    data = json.loads(report_bytes())
    change(data)
    bad = json.dumps(data, indent=2).encode()  # NaN written as JSON's non-standard NaN, which json reads back
    run = distilled_run(tmp_path / "runs", "org/second", bad)  # the recipe records this very file
    line = submit_refused(capsys, board, run, "--data-dir", str(fixture_path()))
    assert line == f"benchmark submit: {expected} (nothing was copied)"


def test_many_defects_are_listed_within_a_bound(tmp_path):
    from benchmark.leaderboard.distillation import MAX_DEFECTS, report_problems

    data = json.loads(report_bytes())
    for row in data["history"]:
        row["loss"] = "x"
    problems = report_problems(data)
    assert len(problems) == MAX_DEFECTS + 1 and problems[-1].startswith("more defects")


def test_hand_edited_report_on_the_board_fails_check(board, capsys):
    path = board / "results" / "org__student" / DISTILL_REPORT
    data = json.loads(path.read_text())
    data["history"][-1]["loss"] = 0.001  # a better-looking end of the curve
    path.write_text(json.dumps(data, indent=2))
    problems = check_leaderboard(board, rescore=False).problems
    prefix = "results/org__student/distill_report.json: "
    assert prefix + "changed since it was submitted (sha256 differs)" in problems
    assert any(p.startswith(prefix + "not the report of the model these results") for p in problems)
    code, _, err = run_cli(capsys, ["leaderboard", "--leaderboard", str(board), "--check", "--no-rescore"])
    assert code == 1 and "distill_report.json" in err


def test_update_must_keep_the_report(board, template, tmp_path, capsys):
    """An update of the entry without its report is refused: an update never drops a file of the board."""
    run = tmp_path / "runs" / "org__student"
    shutil.copytree(template / "runs" / "org__student", run)
    (run / DISTILL_REPORT).unlink()
    make_run(tmp_path / "runs", "org/student", tasks=("squad",))
    before = tree_sha256(board)
    code, _, err = run_cli(
        capsys,
        ["submit", str(run), "--leaderboard", str(board), "--partial", "--data-dir", str(fixture_path())],
    )
    assert code == 1 and tree_sha256(board) == before
    assert (
        "results/org__student/distill_report.json is on the leaderboard but not in this submission"
        in one_line(err)
    )
