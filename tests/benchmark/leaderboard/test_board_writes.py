"""A submission can neither break the board nor leave it half-written: a full disk or a read-only folder is one line
and nothing changes; strings are drawn as text (matplotlib mathtext never parses them) and the new board is
rendered and checked in staging before it is swapped in; what the board shows from a submission is bounded and
plain; a copy of another entry, the same run with other files, another model's speed.json, a missing evaluation
split, a stray file in the board's root and a model name ending in a newline are refused or flagged."""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

import pytest

from benchmark.leaderboard import staging
from benchmark.leaderboard.submit import check_leaderboard
from tests.benchmark.leaderboard.test_leaderboard import edit_json, make_run, write_speed
from tests.benchmark.leaderboard.test_tamper import (
    _data,
    board,  # noqa: F401  (fixture: a board holding org/m's conll2003, re-scored)
    one_line,
    run_cli,
    submit_refused,
    template,  # noqa: F401
    tree_sha256,
)

pytestmark = pytest.mark.fixtures


def _full_disk_after(monkeypatch, limit: int, error: int = errno.ENOSPC) -> None:
    """Every write through the board's single write path fails once ``limit`` bytes have been written."""
    written = [0]

    def write(handle, chunk: bytes) -> None:
        if written[0] + len(chunk) > limit:
            handle.write(chunk[: max(0, limit - written[0])])
            written[0] = limit
            raise OSError(
                error, "No space left on device" if error == errno.ENOSPC else "Read-only file system"
            )
        written[0] += len(chunk)
        handle.write(chunk)

    write.written = written  # type: ignore[attr-defined]
    monkeypatch.setattr(staging, "_write_chunk", write)


def _no_leftovers(leaderboard: Path) -> None:
    """No staging or replaced copy of the board is left beside it."""
    assert sorted(p.name for p in leaderboard.parent.iterdir() if p.name.startswith(".board")) == []


def test_full_disk_during_submit_changes_nothing(board, capsys, monkeypatch):  # noqa: F811
    """The disk fills at several points of the submission (a share of the bytes a successful one writes)."""
    leaderboard, runs = board
    run = make_run(runs, "org/second", tasks=("conll2003",), every=2)
    probe = leaderboard.parent / "probe"
    shutil.copytree(leaderboard, probe)
    _full_disk_after(monkeypatch, 10**12)
    code, _, err = run_cli(capsys, ["submit", str(run), "--leaderboard", str(probe), "--partial", *_data()])
    assert code == 0, err
    total = staging._write_chunk.written[0]  # type: ignore[attr-defined]
    assert total > sum(
        p.stat().st_size for p in leaderboard.rglob("*") if p.is_file()
    )  # the whole board staged
    for share in (0.0, 0.01, 0.3, 0.7, 0.99):
        _full_disk_after(monkeypatch, int(total * share))
        line = submit_refused(capsys, leaderboard, run, *_data())
        assert "cannot write the leaderboard" in line and "No space left on device (ENOSPC)" in line
        _no_leftovers(leaderboard)
    monkeypatch.undo()
    assert check_leaderboard(leaderboard, data_dir=_data()[1]).ok
    code, _, err = run_cli(
        capsys, ["submit", str(run), "--leaderboard", str(leaderboard), "--partial", *_data()]
    )
    assert code == 0, err  # with room on the disk the same submission goes in whole
    assert check_leaderboard(leaderboard, data_dir=_data()[1]).ok


def test_read_only_board_is_one_line(board, capsys, monkeypatch):  # noqa: F811
    """Tests run as root, where chmod does not stop writes: the read-only file system is simulated."""
    leaderboard, runs = board
    run = make_run(runs, "org/second", tasks=("conll2003",), every=2)
    _full_disk_after(monkeypatch, 0, errno.EROFS)
    line = submit_refused(capsys, leaderboard, run, *_data())
    assert "Read-only file system (EROFS)" in line
    monkeypatch.setattr(staging.os, "access", lambda path, mode: Path(path) != leaderboard.absolute())
    line = submit_refused(capsys, leaderboard, run, *_data())
    assert f"{leaderboard.absolute()} is not writable" in line
    _no_leftovers(leaderboard)


def test_full_disk_during_regeneration_changes_nothing(board, capsys, monkeypatch):  # noqa: F811
    leaderboard, _ = board
    (leaderboard / "README.md").write_text("stale\n")
    before = tree_sha256(leaderboard)
    _full_disk_after(monkeypatch, 10_000)
    code, _, err = run_cli(capsys, ["leaderboard", "--leaderboard", str(leaderboard)])
    assert code == 2 and "No space left on device" in one_line(err)
    assert tree_sha256(leaderboard) == before
    _no_leftovers(leaderboard)


def test_mathtext_in_a_device_name_is_drawn_as_text(board, capsys):  # noqa: F811
    """A malformed ``$...$`` once made every later `benchmark leaderboard` end in a ParseSyntaxException."""
    leaderboard, runs = board
    run = make_run(runs, "org/second", tasks=("conll2003",), every=2)
    write_speed(run, lambda d: d.update(device="$\\frac{$", device_name="$x^{$"))
    code, _, err = run_cli(
        capsys, ["submit", str(run), "--leaderboard", str(leaderboard), "--partial", *_data()]
    )
    assert code == 0, err
    code, out, err = run_cli(capsys, ["leaderboard", "--leaderboard", str(leaderboard), "--check", *_data()])
    assert code == 0, err
    code, out, err = run_cli(capsys, ["leaderboard", "--leaderboard", str(leaderboard)])
    assert code == 0 and "already up to date" in out


def test_a_board_that_cannot_be_rendered_refuses_the_submission(board, capsys, monkeypatch):  # noqa: F811
    from benchmark.leaderboard import views

    leaderboard, runs = board
    run = make_run(runs, "org/second", tasks=("conll2003",), every=2)

    def broken(entries, tasks):
        raise ValueError("Expected end of text, found '$'\nmore")

    monkeypatch.setattr(views, "render_plots", broken)
    line = submit_refused(capsys, leaderboard, run, *_data())
    assert "cannot be regenerated with this submission (ValueError: Expected end of text, found '$')" in line
    _no_leftovers(leaderboard)


SHOWN = {
    "20 MB device name": ("x" * 20_000_000, "is 20,000,000 characters long (at most 200)"),
    "right-to-left override": ("cpu \u202egnp.exe", "contains the control or formatting character U+202E"),
    "bare URL": ("see https://evil.example", "contains a URL"),
    "www link": ("www.evil.example", "contains a URL"),
    "mention": ("ping @octocat", "contains an @mention"),
    "newline": ("cpu\nline", "contains the control or formatting character U+000A"),
}


@pytest.mark.parametrize("case", sorted(SHOWN))
def test_strings_the_board_shows_are_bounded_and_plain(board, capsys, case):  # noqa: F811
    leaderboard, runs = board
    value, expected = SHOWN[case]
    run = make_run(runs, "org/second", tasks=("conll2003",), every=2)
    edit_json(run / "conll2003.json", lambda d: d["timing"].update(device_name=value))
    line = submit_refused(capsys, leaderboard, run, *_data())
    assert f"conll2003.json: timing.device_name {expected}" in line and len(line) < 1000
    run = make_run(runs, "org/third", tasks=("conll2003",), every=2)
    write_speed(run, lambda d: d.update(device_name=value))
    line = submit_refused(capsys, leaderboard, run, *_data())
    assert f"speed.json: device_name {expected}" in line and len(line) < 1000


def test_a_cpu_name_with_an_at_sign_is_fine(board, capsys):  # noqa: F811
    leaderboard, runs = board
    run = make_run(runs, "org/second", tasks=("conll2003",), every=2)
    write_speed(run, lambda d: d.update(device_name="Intel(R) Xeon(R) CPU @ 2.20GHz"))
    code, _, err = run_cli(
        capsys, ["submit", str(run), "--leaderboard", str(leaderboard), "--partial", *_data()]
    )
    assert code == 0, err


def test_another_models_predictions_under_a_new_name_are_refused(board, capsys):  # noqa: F811
    leaderboard, runs = board
    copy = runs / "evil__copycat"
    shutil.copytree(runs / "org__m", copy)
    edit_json(copy / "model.json", lambda d: d.update(model_id="evil/copycat"))
    edit_json(copy / "conll2003.json", lambda d: d["model"].update(model_id="evil/copycat"))
    line = submit_refused(capsys, leaderboard, copy, *_data())
    assert "is identical to those of results/org__m/ (another model's entry)" in line


def test_ok_if_listed_with_different_predictions_fails(board, capsys):  # noqa: F811
    """The same run (model, config, spec) resubmitted with other predictions is not 'already listed'."""
    leaderboard, runs = board
    other = make_run(runs.parent / "other", "org/m", tasks=("conll2003",), every=2)
    line = submit_refused(capsys, leaderboard, other, "--ok-if-listed", *_data())
    assert (
        "the same run (model, task, config and spec hash) as org__m/conll2003.json, with different files"
        in line
    )
    code, out, _ = run_cli(
        capsys,
        [
            "submit",
            str(runs / "org__m"),
            "--leaderboard",
            str(leaderboard),
            "--partial",
            "--ok-if-listed",
            *_data(),
        ],
    )
    assert code == 0 and "already on the leaderboard" in out  # the very same files: still fine


def test_another_models_speed_json_is_refused(board, capsys):  # noqa: F811
    leaderboard, runs = board
    run = make_run(runs, "org/second", tasks=("conll2003",), every=2)
    write_speed(run, lambda d: d["model"].update(revision="sha256:" + "cd" * 32))
    line = submit_refused(capsys, leaderboard, run, *_data())
    assert "speed.json: measured model revision 'sha256:cdcd" in line and "the speed of another model" in line
    write_speed(run, lambda d: d["model"].update(model_type="longformer"))
    line = submit_refused(capsys, leaderboard, run, *_data())
    assert "speed.json: measured a 'longformer' model, the results are of bert" in line


def test_a_result_without_its_test_split_is_refused(board, capsys):  # noqa: F811
    leaderboard, runs = board
    run = make_run(runs, "org/second", tasks=("conll2003",), every=2)

    def drop_test(data):
        data["splits"] = ["validation"]
        for key in ("metrics", "n_examples"):
            data[key].pop("test")
        data["dataset"]["sources"].pop("test")

    edit_json(run / "conll2003.json", drop_test)
    (run / "conll2003.test.predictions.jsonl.gz").unlink()
    line = submit_refused(capsys, leaderboard, run, *_data())
    assert "conll2003.json: no test split (the task evaluates validation, test)" in line


def test_model_name_ending_in_a_newline_is_refused(board, capsys):  # noqa: F811
    leaderboard, runs = board
    run = make_run(runs, "org/second", tasks=("conll2003",), every=2)
    edit_json(run / "model.json", lambda d: d.update(model_id="org/second\n"))
    edit_json(run / "conll2003.json", lambda d: d["model"].update(model_id="org/second\n"))
    line = submit_refused(capsys, leaderboard, run, *_data())
    assert "model name 'org/second\\n' is not a Hub id" in line


def test_check_flags_a_stray_file_in_the_boards_root(board, capsys):  # noqa: F811
    leaderboard, _ = board
    (leaderboard / "notes.txt").write_text("hello\n")
    code, _, err = run_cli(capsys, ["leaderboard", "--leaderboard", str(leaderboard), "--check", *_data()])
    assert code == 1 and "notes.txt: not part of a leaderboard" in one_line(err)
    assert json.loads((leaderboard / "results" / "org__m" / "submission.json").read_text())["files"]
