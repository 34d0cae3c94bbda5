"""Hostile files in a submission and in ``benchmark score`` input (issue 22): a FIFO in the folder (submit used to
wait on it for ever), 5,000-digit integers (Python's int-string limit) in every kind of file, a split named like
a path, and a gzip of newlines (minutes of empty lines before). Each: exit non-zero, one line, no traceback,
the board unchanged, in seconds."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmark import limits
from conftest import ROOT, subprocess_env
from tests.benchmark.leaderboard import test_tamper
from tests.benchmark.leaderboard.test_leaderboard import make_run, write_speed
from tests.benchmark.leaderboard.test_tamper import _data, one_line, run_cli, submit_refused, tree_sha256

HUGE = "9" * 5000


# test_tamper's fixtures: a leaderboard holding ``org/m`` with conll2003, and a copy of it for each test
template, board = test_tamper.template, test_tamper.board


def _huge(path: Path, key: str) -> None:
    """Replace the value of the first ``"key": <int>`` in a JSON file by a 5,000-digit integer."""
    data = json.loads(path.read_text())
    marker = -(10**17) + 7  # a number that appears nowhere else
    node = data
    *parents, last = key.split(".")
    for part in parents:
        node = node[part]
    node[last] = marker
    path.write_text(json.dumps(data).replace(str(marker), HUGE))


def _cli(argv: list[str], timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "benchmark", *argv],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=timeout,  # the bug was a wait for ever: a hang fails here instead of stalling the suite
        check=False,
    )


@pytest.mark.parametrize(
    "name",
    ["stray.fifo", "conll2003.test.predictions.jsonl.gz", "speed.json"],
    ids=["extra", "predictions", "speed"],
)
def test_a_fifo_in_the_submission_folder_is_refused_at_once(board, name):
    leaderboard, runs = board
    run = make_run(runs, "org/fifo", tasks=("conll2003",))
    (run / name).unlink(missing_ok=True)
    os.mkfifo(run / name)
    before = tree_sha256(leaderboard)
    start = time.perf_counter()
    done = _cli(["submit", str(run), "--leaderboard", str(leaderboard), "--partial", *_data()])
    assert time.perf_counter() - start < 120
    assert done.returncode == 1, done.stderr[-2000:]
    line = one_line(done.stderr)
    assert f"{name}: a FIFO (named pipe), not a regular file; refused" in line
    assert tree_sha256(leaderboard) == before


@pytest.mark.parametrize(
    ("file", "key"),
    [
        ("conll2003.json", "seed"),
        ("model.json", "model_id"),
        ("speed.json", "batch_size"),
    ],
    ids=["result", "model", "speed"],
)
def test_a_5000_digit_integer_is_one_line(board, capsys, file, key):
    leaderboard, runs = board
    run = make_run(runs, "org/digits", tasks=("conll2003",))
    if file == "speed.json":
        write_speed(run, lambda data: None)
    _huge(run / file, key)
    line = submit_refused(capsys, leaderboard, run, *_data())
    assert f"{file}: a number of 5,000 digits, more than the 4,300 an integer may have; refused" in line


def test_a_5000_digit_integer_in_predictions_is_one_line(board, capsys):
    leaderboard, runs = board
    run = make_run(runs, "org/digits", tasks=("conll2003",))
    path = run / "conll2003.test.predictions.jsonl.gz"
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    lines[0] = json.dumps({"id": json.loads(lines[0])["id"], "prediction": 7}).replace("7}", HUGE + "}")
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    line = submit_refused(capsys, leaderboard, run, *_data())
    assert "conll2003.test.predictions.jsonl.gz:1: a number of 5,000 digits" in line


def test_a_5000_digit_integer_in_submission_json_is_one_line(board, capsys):
    leaderboard, _ = board
    manifest = leaderboard / "results" / "org__m" / "submission.json"
    manifest.write_text(manifest.read_text().replace('"schema": ', f'"extra": {HUGE}, "schema": ', 1))
    code, _, err = run_cli(capsys, ["leaderboard", "--leaderboard", str(leaderboard), "--check"])
    assert code == 1 and "Traceback" not in err
    assert "submission.json: a number of 5,000 digits" in err


def test_score_input_with_a_5000_digit_integer_is_one_line(tmp_path, capsys):
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": "test-0", "prediction": ' + HUGE + "}\n")
    code, _, err = run_cli(
        capsys, ["score", "--task", "conll2003", "--split", "test", "--predictions", str(path), *_data()]
    )
    assert code == 2 and "p.jsonl:1: a number of 5,000 digits" in one_line(err)


def test_a_split_named_like_a_path_is_one_line(board, capsys):
    leaderboard, runs = board
    run = make_run(runs, "org/split", tasks=("conll2003",))
    data = json.loads((run / "conll2003.json").read_text())
    for key in ("metrics", "n_examples"):
        data[key]["../../x"] = data[key].pop("test")
    data["splits"] = ["../../x"]
    (run / "conll2003.json").write_text(json.dumps(data))
    line = submit_refused(capsys, leaderboard, run, *_data())
    assert "conll2003.json: split name '../../x' must be letters, digits and '_'" in line


def test_a_gzip_of_newlines_is_refused_in_seconds(tmp_path, capsys):
    """611 KB of gzip held 600 MB of newlines and took 292 s to refuse; the line cap stops it at
    MAX_PREDICTION_LINES lines, whatever the bytes."""
    path = tmp_path / "p.jsonl.gz"
    with gzip.open(path, "wb") as fh:
        for _ in range(limits.MAX_PREDICTION_LINES // 2**20 + 1):
            fh.write(b"\n" * 2**20)
    assert path.stat().st_size < 2**20
    start = time.perf_counter()
    code, _, err = run_cli(
        capsys, ["score", "--task", "conll2003", "--split", "test", "--predictions", str(path), *_data()]
    )
    assert time.perf_counter() - start < 30
    assert code == 2
    assert f"more than {limits.MAX_PREDICTION_LINES:,} lines (the limit); refused" in one_line(err)


def test_a_fifo_as_the_predictions_file_of_score_is_refused(tmp_path):
    path = tmp_path / "p.jsonl"
    os.mkfifo(path)
    done = _cli(["score", "--task", "conll2003", "--split", "test", "--predictions", str(path), *_data()])
    assert done.returncode == 2
    assert "a FIFO (named pipe), not a regular file; refused" in one_line(done.stderr)


def test_a_fifo_on_the_board_is_named_by_check_without_waiting(board):
    leaderboard, _ = board
    os.mkfifo(leaderboard / "results" / "org__m" / "stray")
    done = _cli(["leaderboard", "--leaderboard", str(leaderboard), "--check", *_data()])
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "results/org__m/stray: a FIFO (named pipe), not a regular file; refused" in done.stderr
