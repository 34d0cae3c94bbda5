"""Re-scoring checks the gold against the identities the task's spec pins (``gold:`` of its YAML), never against the
run's own record of it: a result that scored itself on other data (a training sample, the dev set as test), with
that file's true sha256 and predictions that match it, is refused; runs with ``--limit`` and pinned samples are
marked ``sample`` on the board."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchmark.data.loader import load_examples
from benchmark.evaluate.scoring import gold_as_predictions, score_predictions
from benchmark.leaderboard.submit import check_leaderboard, submit
from benchmark.results.files import file_sha256, typed_result, write_result
from benchmark.tasks.registry import get_task
from conftest import ROOT, fixture_path
from tests.benchmark.leaderboard.test_leaderboard import make_run
from tests.benchmark.leaderboard.test_tamper import run_cli, tree_sha256

pytestmark = pytest.mark.fixtures


def substitute(run: Path, split: str, data_file: str, *, limit: int | None = None) -> None:
    """Rescore ``run``'s conll2003 ``split`` on ``data_file`` of the shared samples, as a run pointed at it would
    have: its true sha256 and gold hash recorded, gold predictions (F1 100)."""
    spec = get_task("conll2003")
    path = run / "conll2003.json"
    record = json.loads(path.read_text())
    loaded = load_examples(spec, split, data_dir=fixture_path(), data_file=data_file, limit=limit)
    preds = {}
    for s in record["splits"]:
        if s == split:
            preds[s] = gold_as_predictions(loaded.examples)
            record["metrics"][s] = score_predictions(spec, loaded.examples, preds[s])
            record["n_examples"][s] = len(loaded.examples)
            record["dataset"]["sources"][s] = loaded.source
        else:
            other = load_examples(spec, s, data_dir=fixture_path(), limit=limit)
            preds[s] = gold_as_predictions(other.examples)
            record["metrics"][s] = score_predictions(spec, other.examples, preds[s])
            record["n_examples"][s] = len(other.examples)
            record["dataset"]["sources"][s] = other.source
    record["config"]["limit"] = limit
    write_result(path, typed_result(json.loads(json.dumps(record)), path), preds)


@pytest.fixture
def board(tmp_path: Path) -> tuple[Path, Path]:
    run = make_run(tmp_path / "runs", "org/m", tasks=("conll2003",))
    report = submit(run, tmp_path / "board", data_dir=fixture_path(), partial=True)
    assert report.ok, report.format_problems("submit", "")
    return tmp_path / "board", tmp_path / "runs"


@pytest.mark.parametrize(
    ("split", "data_file"),
    [
        ("test", "train_first2000.txt"),
        ("test", "eng.testa"),
        ("test", "test.txt"),
        ("validation", "eng.testb"),
    ],
)
def test_substituted_gold_is_refused(board, capsys, split, data_file):
    leaderboard, runs = board
    run = make_run(runs, "org/attacker", tasks=("conll2003",))
    substitute(run, split, data_file)
    assert json.loads((run / "conll2003.json").read_text())["metrics"][split]["score"] == 100.0
    before = tree_sha256(leaderboard)
    code, _, err = run_cli(
        capsys,
        [
            "submit",
            str(run),
            "--leaderboard",
            str(leaderboard),
            "--partial",
            "--data-dir",
            str(fixture_path()),
        ],
    )
    assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert f"{split} gold data ({data_file}) is not the task's {split} gold" in err
    assert f"benchmark/tasks/conll2003.yaml, gold.{split}" in err
    assert tree_sha256(leaderboard) == before
    # --unverified does not admit it either: the gold is at hand, and it is not the task's.
    code, _, err = run_cli(
        capsys,
        ["submit", str(run), "--leaderboard", str(leaderboard), "--partial", "--unverified", "--data-dir",
         str(fixture_path())],
    )  # fmt: skip
    assert code == 1 and "is not the task's" in err and tree_sha256(leaderboard) == before


def test_check_fails_on_an_entry_scored_on_substituted_gold(board, capsys):
    """Put on the board by hand (files, manifest hashes and views made consistent): --check re-scores it against
    the pinned gold and fails."""
    leaderboard, _ = board
    entry = leaderboard / "results" / "org__m"
    substitute(entry, "test", "train_first2000.txt")
    manifest = json.loads((entry / "submission.json").read_text())
    manifest["files"] = {name: file_sha256(entry / name) for name in manifest["files"]}
    (entry / "submission.json").write_text(json.dumps(manifest))
    assert run_cli(capsys, ["leaderboard", "--leaderboard", str(leaderboard)])[0] == 0
    report = check_leaderboard(leaderboard, data_dir=fixture_path())
    assert not report.ok
    assert any(
        "test gold data (train_first2000.txt) is not the task's test gold" in p for p in report.problems
    )


def test_limited_run_is_marked_sample(board):
    """make_run scores the first 12 sentences (--limit 12): gold of the pinned files, but a sample of them."""
    leaderboard, _ = board
    readme = (leaderboard / "README.md").read_text()
    row = next(line for line in readme.splitlines() if "(results/org__m/)" in line)
    assert "**sample**" in row
    assert (
        "- org/m: conll2003.test \\(first 12 examples\\), conll2003.validation \\(first 12 examples\\)"
        in readme
    )
    page = (leaderboard / "index.html").read_text()
    assert '<span class="flag">sample</span>' in page and "conll2003.test (first 12 examples)" in page


def test_full_split_run_is_not_marked(tmp_path):
    run = make_run(tmp_path / "runs", "org/full", tasks=("conll2003",))
    substitute(run, "test", "eng.testb")  # the whole official files, no --limit
    report = submit(run, tmp_path / "board", data_dir=fixture_path(), partial=True)
    assert report.ok, report.format_problems("submit", "")
    readme = (tmp_path / "board" / "README.md").read_text()
    row = next(line for line in readme.splitlines() if "(results/org__full/)" in line)
    assert "**sample**" not in row and "100.00" in row


def test_repository_board_marks_its_samples():
    """The committed board, as generated: the mini reproduction's GONERD gold (the spec's ``mini`` sample) is
    marked; the mini entries' conll2003 (the official dev and test files) is not."""
    readme = (ROOT / "leaderboard" / "README.md").read_text()
    marked = [
        line for line in readme.splitlines() if line.startswith("- repro-mini:") and "\\(mini\\)" in line
    ]
    assert len(marked) == 2 and not any("conll2003" in line for line in marked)
    assert (
        "- repro-mini:minilm-l6-bigbird4096: gonerd.test \\(mini\\), gonerd.validation \\(mini\\)" in readme
    )


def test_hand_edited_gonerd_score_fails_check_without_its_gold(tmp_path, capsys):
    """A committed mini entry with its GONERD test score edited and submission.json's hashes recomputed: its gold
    (the mini build) is not at hand, so --check fails instead of listing the edited score as verified."""
    from tests.benchmark.leaderboard.test_leaderboard import _score_plus, edit_json

    board = tmp_path / "board"
    entry = board / "results" / "repro-mini__minilm-l6-bigbird4096"
    shutil.copytree(ROOT / "leaderboard" / "results" / entry.name, entry)
    edit_json(entry / "gonerd.json", lambda d: _score_plus(d, 5.0, "test"))
    edit_json(
        entry / "submission.json",
        lambda d: d["files"].update({"gonerd.json": file_sha256(entry / "gonerd.json")}),
    )
    assert run_cli(capsys, ["leaderboard", "--leaderboard", str(board)])[0] == 0
    code, _, err = run_cli(
        capsys, ["leaderboard", "--leaderboard", str(board), "--check", "--data-dir", str(fixture_path())]
    )
    problems = [line for line in err.splitlines() if line.startswith("problem: ")]
    assert code == 1 and len(problems) == 2, err
    assert all(
        "results/repro-mini__minilm-l6-bigbird4096/gonerd." in p and "cannot be re-scored" in p
        for p in problems
    )
    mini = ROOT / "cache" / "leaderboard-gold" / "data"  # built by scripts/test.sh (the CI check)
    if (mini / "gonerd").is_dir():
        code, _, err = run_cli(
            capsys, ["leaderboard", "--leaderboard", str(board), "--check", "--data-dir", str(mini)]
        )
        assert code == 1 and "gonerd.json: test metrics do not match the saved predictions" in err, err
