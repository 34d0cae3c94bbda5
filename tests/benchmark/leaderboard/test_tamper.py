"""A hostile submitter cannot put a score on the leaderboard that its predictions do not earn.

Every tamper case goes through the command line (``benchmark submit`` / ``leaderboard --check`` / ``compare`` /
``score``) and asserts the exit code, that the message is one line without a traceback, and that the sha256 of
every file of the leaderboard folder is unchanged. Result directories are built as ``benchmark run`` writes them
(:func:`test_leaderboard.make_run`, metrics computed from predictions against the real fixture gold data)."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from benchmark import limits
from benchmark.cli import main
from benchmark.core.record import ResultRecord, SpeedLength, SpeedRecord, Timing
from benchmark.leaderboard.submit import check_leaderboard, submit
from conftest import ROOT, fixture_path
from tests.benchmark.leaderboard.test_leaderboard import LIMIT, _score_plus, edit_json, make_run, write_speed

DEEP = 100_000  # nesting of the hostile JSON (far beyond the stated limit and Python's recursion limit)


def tree_sha256(root: Path) -> str:
    """sha256 over every file under ``root`` (relative path and bytes) and every folder name."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        if path.is_file():
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A leaderboard holding ``org/m`` with conll2003 (re-scored when submitted)."""
    root = tmp_path_factory.mktemp("tamper")
    run = make_run(root / "runs", "org/m", tasks=("conll2003",))
    report = submit(run, root / "board", data_dir=fixture_path(), partial=True)
    assert report.ok, report.format_problems("submit", "")
    return root


@pytest.fixture
def board(template: Path, tmp_path: Path) -> tuple[Path, Path]:
    shutil.copytree(template, tmp_path / "copy")
    return tmp_path / "copy" / "board", tmp_path / "copy" / "runs"


def run_cli(capsys, args: list[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def submit_refused(capsys, leaderboard: Path, run: Path, *extra: str) -> str:
    """``benchmark submit`` refuses ``run``: exit 1, one line on stderr, the board unchanged; returns the line."""
    before = tree_sha256(leaderboard)
    code, _, err = run_cli(
        capsys, ["submit", str(run), "--leaderboard", str(leaderboard), "--partial", *extra]
    )
    assert code == 1, err
    assert tree_sha256(leaderboard) == before
    return one_line(err)


def _data() -> list[str]:
    return ["--data-dir", str(fixture_path())]


def _set_source(split: str, **change):
    def edit(record):
        record["dataset"]["sources"][split]["files"][0].update(change)

    return edit


# ------------------------------------------------------------------------------------------- section 1 cases
TAMPER = {
    # case: (change to the submitted run, with --data-dir?, expected part of the message)
    "hand-edited score, no --data-dir": (
        lambda r: edit_json(r / "conll2003.json", lambda d: _score_plus(d, 0.5, "test")),
        False,
        "gold data not at hand for conll2003.test, conll2003.validation",
    ),
    "hand-edited score, --data-dir": (
        lambda r: edit_json(r / "conll2003.json", lambda d: _score_plus(d, 0.5, "test")),
        True,
        "test metrics do not match the saved predictions: score recorded",
    ),
    "zeroed sha256, --data-dir": (
        lambda r: edit_json(r / "conll2003.json", _set_source("test", sha256="0" * 64)),
        True,
        "test gold file eng.testb in --data-dir",
    ),
    "zeroed sha256, no --data-dir": (
        lambda r: edit_json(r / "conll2003.json", _set_source("test", sha256="0" * 64)),
        False,
        "gold data not at hand for conll2003.test",
    ),
    "zeroed gold_sha256, --data-dir": (
        lambda r: edit_json(
            r / "conll2003.json", lambda d: d["dataset"]["sources"]["test"].update(gold_sha256="0" * 64)
        ),
        True,
        "the run recorded " + "0" * 64,
    ),
    "../eng.testa, --data-dir": (
        lambda r: edit_json(r / "conll2003.json", _set_source("test", path="../eng.testa")),
        True,
        "test data file '../eng.testa' is outside the data folder",
    ),
    "/etc/passwd, --data-dir": (
        lambda r: edit_json(r / "conll2003.json", _set_source("validation", path="/etc/passwd")),
        True,
        "validation data file '/etc/passwd' is outside the data folder",
    ),
    "/etc/passwd, no --data-dir": (
        lambda r: edit_json(r / "conll2003.json", _set_source("validation", path="/etc/passwd")),
        False,
        "validation data file '/etc/passwd' is outside the data folder",
    ),
    "test predictions swapped with validation": (
        lambda r: _swap(
            r / "conll2003.test.predictions.jsonl.gz",
            r / "conll2003.validation.predictions.jsonl.gz",
            one=True,
        ),
        True,
        "test predictions do not fit the gold data: predictions lack 12 of 12 conll2003 ids",
    ),
    "too many predictions": (
        lambda r: _add_prediction(r / "conll2003.test.predictions.jsonl.gz"),
        True,
        f"more predictions than the {LIMIT} examples of the split",
    ),
    "too many predictions and n_examples raised to match": (
        lambda r: (
            _add_prediction(r / "conll2003.test.predictions.jsonl.gz"),
            edit_json(r / "conll2003.json", lambda d: d["n_examples"].update(test=LIMIT + 1)),
        ),
        True,
        f"n_examples.test is {LIMIT + 1}, but the gold split has {LIMIT} examples",
    ),
    "deeply nested prediction": (
        lambda r: _write_gz(r / "conll2003.test.predictions.jsonl.gz", b"[" * DEEP + b"]" * DEEP + b"\n"),
        True,
        f"JSON nested deeper than {limits.MAX_JSON_DEPTH} levels",
    ),
    "deeply nested result file": (
        lambda r: (r / "conll2003.json").write_text("[" * DEEP + "]" * DEEP),
        True,
        f"conll2003.json: JSON nested deeper than {limits.MAX_JSON_DEPTH} levels",
    ),
    "misspelt key at the top level": (
        lambda r: edit_json(r / "conll2003.json", lambda d: d.update(exection={"dtype": "float32"})),
        True,
        "conll2003.json: unknown key 'exection' (did you mean 'execution'?)",
    ),
    "misspelt optional key nested": (
        lambda r: edit_json(r / "conll2003.json", lambda d: d["config"].update(dtpye="bfloat16")),
        True,
        "conll2003.json: unknown key 'config.dtpye' (did you mean 'dtype'?)",
    ),
    "misspelt key in speed.json": (
        lambda r: write_speed(r, lambda d: d["lengths"][0].update(reasn="x")),
        True,
        "speed.json: unknown key 'lengths[0].reasn' (did you mean 'reason'?)",
    ),
    "one line over the line limit": (
        lambda r: _write_gz(
            r / "conll2003.test.predictions.jsonl.gz", b" " * (limits.MAX_PREDICTION_LINE_BYTES + 10)
        ),
        True,
        f"line longer than {limits.MAX_PREDICTION_LINE_BYTES // 2**20} MiB",
    ),
}


def _write_gz(path: Path, data: bytes) -> None:
    path.write_bytes(gzip.compress(data, mtime=0))


def _add_prediction(path: Path) -> None:
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    first = json.loads(lines[0])
    lines.append(json.dumps({"id": first["id"] + "-extra", "prediction": first["prediction"]}))
    _write_gz(path, ("\n".join(lines) + "\n").encode())


def _swap(a: Path, b: Path, *, one: bool = False) -> None:
    """Swap two predictions files (``one``: copy ``b`` over ``a`` only, so one file is wrong)."""
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    if not one:
        b.write_bytes(data_a)


@pytest.mark.parametrize("case", sorted(TAMPER))
def test_tampered_submission_is_refused_in_one_line(board, capsys, case):
    leaderboard, runs = board
    run = make_run(runs, "org/attacker", tasks=("conll2003",), every=2)
    mutate, with_data, expected = TAMPER[case]
    mutate(run)
    line = submit_refused(capsys, leaderboard, run, *(_data() if with_data else []))
    assert expected in line and "nothing was copied" in line


def test_zeroed_sha256_names_the_file_and_both_hashes(board, capsys):
    leaderboard, runs = board
    run = make_run(runs, "org/attacker", tasks=("conll2003",), every=2)
    edit_json(run / "conll2003.json", _set_source("test", sha256="0" * 64))
    line = submit_refused(capsys, leaderboard, run, *_data())
    real = hashlib.sha256(fixture_path("conll2003", "eng.testb").read_bytes()).hexdigest()
    assert f"eng.testb in --data-dir {fixture_path()} has sha256 {real}; the run recorded {'0' * 64}" in line


def test_predictions_swapped_between_two_tasks_are_refused(board, capsys):
    """conll2003 and squad predictions swapped (12 each, so the counts agree): both files are named."""
    leaderboard, runs = board
    run = make_run(runs, "org/attacker", tasks=("conll2003", "squad"), every=2)
    _swap(run / "conll2003.validation.predictions.jsonl.gz", run / "squad.validation.predictions.jsonl.gz")
    before = tree_sha256(leaderboard)
    code, _, err = run_cli(
        capsys, ["submit", str(run), "--leaderboard", str(leaderboard), "--partial", *_data()]
    )
    assert code == 1 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 3 and lines[-1] == "benchmark submit: 2 problems (nothing was copied)"
    assert (
        "conll2003.json: validation predictions do not fit the gold data: predictions lack 12 of 12"
        in lines[0]
    )
    assert (
        "squad.json: validation predictions do not fit the gold data: predictions lack 12 of 12" in lines[1]
    )
    assert tree_sha256(leaderboard) == before


def test_gzip_bomb_stops_at_the_stated_size(board, capsys, monkeypatch):
    """Blank lines decompress without limit per line; the total cap stops the stream (lowered here to 1 MiB so
    the test stays fast; the same code path holds the real 512 MiB)."""
    import tracemalloc

    leaderboard, runs = board
    monkeypatch.setattr(limits, "MAX_PREDICTIONS_BYTES", 2**20)
    run = make_run(runs, "org/attacker", tasks=("conll2003",), every=2)
    _write_gz(run / "conll2003.test.predictions.jsonl.gz", b"\n" * (8 * 2**20))
    assert (run / "conll2003.test.predictions.jsonl.gz").stat().st_size < 2**16
    tracemalloc.start()
    line = submit_refused(capsys, leaderboard, run, *_data())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "more than 1 MiB when decompressed (the limit)" in line
    assert peak < 64 * 2**20  # streamed: the 8 MiB were never held at once


def test_an_update_cannot_overwrite_scores_on_the_board(board, capsys):
    leaderboard, runs = board
    entry = leaderboard / "results" / "org__m"
    kept = (entry / "conll2003.json").read_bytes()
    later = make_run(runs.parent / "later", "org/m", tasks=("squad",))
    folder = runs / "org__m"
    for path in later.glob("squad*"):
        shutil.copyfile(path, folder / path.name)
    edit_json(folder / "conll2003.json", lambda d: _score_plus(d, 5.0, "test"))
    line = submit_refused(capsys, leaderboard, folder, *_data())
    assert "conll2003.json: test metrics do not match the saved predictions" in line
    # Without the gold data, even --unverified cannot change a result already on the board.
    line = submit_refused(capsys, leaderboard, folder, "--unverified")
    assert "conll2003.test, conll2003.validation: differ from the results on the leaderboard" in line
    line = submit_refused(capsys, leaderboard, folder)
    assert "conll2003.test, conll2003.validation: differ from the results on the leaderboard" in line
    assert (entry / "conll2003.json").read_bytes() == kept


def test_update_with_unchanged_results_keeps_them_verified(board, capsys):
    """An update adding a task unverified carries byte-identical earlier results, still verified."""
    leaderboard, runs = board
    later = make_run(runs.parent / "later", "org/m", tasks=("squad",))
    folder = runs / "org__m"
    for path in later.glob("squad*"):
        shutil.copyfile(path, folder / path.name)
    code, out, err = run_cli(
        capsys, ["submit", str(folder), "--leaderboard", str(leaderboard), "--partial", "--unverified"]
    )
    assert code == 0, err
    saved = json.loads((leaderboard / "results" / "org__m" / "submission.json").read_text())
    assert saved["unverified"] == ["squad.validation"]
    assert "entry marked unverified: squad.validation" in out
    # The same folder with the gold data re-scores squad: the mark goes, it is not a duplicate.
    code, _, err = run_cli(
        capsys, ["submit", str(folder), "--leaderboard", str(leaderboard), "--partial", *_data()]
    )
    assert code == 0, err
    saved = json.loads((leaderboard / "results" / "org__m" / "submission.json").read_text())
    assert saved["unverified"] == []


# ------------------------------------------------------------------------------------------------ --unverified
def test_unverified_entry_is_marked_everywhere_and_listed_by_check(board, capsys, monkeypatch):
    leaderboard, runs = board
    run = make_run(runs, "org/unchecked", tasks=("conll2003",), every=2)
    code, out, err = run_cli(
        capsys, ["submit", str(run), "--leaderboard", str(leaderboard), "--partial", "--unverified"]
    )
    assert code == 0, err
    saved = json.loads((leaderboard / "results" / "org__unchecked" / "submission.json").read_text())
    assert saved["unverified"] == ["conll2003.test", "conll2003.validation"]
    readme = (leaderboard / "README.md").read_text()
    row = next(line for line in readme.splitlines() if "org/unchecked" in line and line.startswith("|"))
    assert "**unverified**" in row
    assert "- org/unchecked: conll2003.test, conll2003.validation" in readme
    other = next(line for line in readme.splitlines() if "(results/org__m/)" in line)
    assert "unverified" not in other
    page = (leaderboard / "index.html").read_text()
    assert '<span class="flag">unverified</span></td>' in page
    assert page.count('<span class="flag">unverified</span>') == 2  # the row and the explanation
    # Without the gold data: the entry marked unverified is listed; the verified one, which cannot be re-scored
    # now, fails the check (a verified score is one --check re-scores).
    code, out, err = run_cli(capsys, ["leaderboard", "--leaderboard", str(leaderboard), "--check"])
    assert code == 1
    assert (
        "results/org__unchecked: marked unverified on the board: conll2003.test, conll2003.validation" in out
    )
    assert "results/org__unchecked: conll2003.test: not re-scored (the run read local files" in out
    problems = [line for line in err.splitlines() if line.startswith("problem: ")]
    assert len(problems) == 2 and all(
        "results/org__m/conll2003." in p and "cannot be re-scored" in p and "not marked unverified" in p
        for p in problems
    ), err
    code, out, err = run_cli(
        capsys, ["leaderboard", "--leaderboard", str(leaderboard), "--check", "--no-rescore"]
    )
    assert code == 0, err
    assert "results/org__m: conll2003.test: not re-scored (--no-rescore)" in out
    # With the gold data, --check re-scores the unverified entry too (it holds true scores: no problem).
    assert check_leaderboard(leaderboard, data_dir=fixture_path()).ok


def test_plots_legends_mark_unverified_entries(monkeypatch):
    """The labels drawn in every plot carry "(unverified)" for such an entry (SVG text is drawn as paths, so
    the axes are inspected while drawing)."""
    from benchmark.leaderboard import plots
    from benchmark.leaderboard.entries import Entry

    drawn: list[str] = []

    def capture(draw):
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots()
        draw(ax)
        legend = ax.get_legend()
        drawn.extend(t.get_text() for t in (legend.get_texts() if legend else []))
        drawn.extend(t.get_text() for t in ax.texts)
        plt.close(fig)
        return {}

    monkeypatch.setattr(plots, "_figure", capture)
    record = ResultRecord.from_dict(json.loads(_one_record().read_text()))
    speed = SpeedRecord.from_dict(
        json.loads(next(_one_record().parent.parent.rglob("speed.json")).read_text())
    )
    speed.lengths = [
        SpeedLength(length=512, status="ok", timing=Timing(device="", latency_ms_per_example_median=2.0))
    ]
    speed.device = ""
    a, b = (dataclasses.replace(record.model, model_id=name) for name in ("org/a", "org/b"))
    marked = Entry("a", a, {"conll2003": record}, speed=speed, unverified=["conll2003.test"])
    clean = Entry("b", b, {"conll2003": record}, speed=speed)
    plots.quality_vs_time([marked, clean], ["conll2003"])
    plots.time_vs_length([marked, clean])
    marked.teacher_slug = "b"
    plots.student_vs_teacher([marked, clean])
    assert "org/a (unverified)" in drawn  # quality vs time annotation
    assert "org/a (unverified) ()" in drawn  # time vs length legend
    assert "org/a (unverified) / org/b" in drawn  # student vs teacher legend
    assert "org/b" in drawn and not any(t.startswith("org/b (unverified)") for t in drawn)


def _one_record() -> Path:
    return ROOT / "leaderboard" / "results" / "repro-mini__minilm-l6-bigbird4096" / "conll2003.json"


# ------------------------------------------------------------------------------------------- leaderboard --check
def test_check_fails_on_a_score_edited_on_the_board(board, capsys):
    """Someone with write access edits a score, its manifest hash and the views: only re-scoring can tell."""
    from benchmark.results.files import file_sha256

    leaderboard, _ = board
    entry = leaderboard / "results" / "org__m"
    edit_json(entry / "conll2003.json", lambda d: _score_plus(d, 1.0, "test"))
    edit_json(
        entry / "submission.json",
        lambda d: d["files"].update({"conll2003.json": file_sha256(entry / "conll2003.json")}),
    )
    assert run_cli(capsys, ["leaderboard", "--leaderboard", str(leaderboard)])[0] == 0
    before = tree_sha256(leaderboard)
    code, _, err = run_cli(capsys, ["leaderboard", "--leaderboard", str(leaderboard), "--check", *_data()])
    assert code == 1
    assert "conll2003.json: test metrics do not match the saved predictions" in one_line(err)
    code, _, err = run_cli(capsys, ["leaderboard", "--leaderboard", str(leaderboard), "--check"])
    # Gold not at hand: a verified entry that cannot be re-scored fails the check (it was only listed before).
    assert code == 1 and "results/org__m/conll2003.test: cannot be re-scored" in err
    assert tree_sha256(leaderboard) == before


def test_check_and_compare_refuse_a_misspelt_key_in_one_line(board, capsys):
    """A key no record declares, in a file on the board: ``--check`` names the file and the key path, in one line
    each; ``compare`` refuses the result in one line; the views leave the invalid result out."""
    leaderboard, runs = board
    entry = leaderboard / "results" / "org__m"
    submitted = (entry / "submission.json").read_bytes()
    edit_json(entry / "submission.json", lambda d: d.update(partail=True))
    code, _, err = run_cli(capsys, ["leaderboard", "--leaderboard", str(leaderboard), "--check"])
    assert code == 1 and one_line(err) == (
        "benchmark leaderboard --check: results/org__m/submission.json: not a valid gonerd-bench/submission/v1 "
        "file: unknown key 'partail' (did you mean 'partial'?) (the leaderboard is not valid)"
    )
    (entry / "submission.json").write_bytes(submitted)
    edit_json(entry / "conll2003.json", lambda d: d["task"].update(spec_hsah=d["task"].pop("spec_hash")))
    code, _, err = run_cli(capsys, ["leaderboard", "--leaderboard", str(leaderboard), "--check"])
    assert code == 1 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert "problem: results/org__m/conll2003.json: missing key 'task.spec_hash'" in lines
    assert "problem: README.md: stale; run `benchmark leaderboard`" in lines  # the views leave it out
    assert (
        "problem: results/org__m/conll2003.json: unknown key 'task.spec_hsah' (did you mean 'spec_hash'?)"
        in lines
    )
    code, _, err = run_cli(capsys, ["compare", "--student", str(entry), "--teacher", str(runs / "org__m")])
    assert code == 2 and one_line(err).endswith(
        "conll2003.json: not a valid gonerd-bench/result/v1 result: missing key 'task.spec_hash'; "
        "unknown key 'task.spec_hsah' (did you mean 'spec_hash'?)"
    )


def test_check_and_compare_refuse_deep_json_in_one_line(board, capsys):
    leaderboard, runs = board
    entry = leaderboard / "results" / "org__m"
    (entry / "conll2003.json").write_text("[" * DEEP + "]" * DEEP)
    code, _, err = run_cli(capsys, ["leaderboard", "--leaderboard", str(leaderboard), "--check"])
    assert code == 1 and "Traceback" not in err
    assert f"conll2003.json: JSON nested deeper than {limits.MAX_JSON_DEPTH} levels" in err
    assert run_cli(capsys, ["leaderboard", "--leaderboard", str(leaderboard)])[0] == 0  # views still render
    code, _, err = run_cli(capsys, ["compare", "--student", str(entry), "--teacher", str(runs / "org__m")])
    assert code == 2 and f"JSON nested deeper than {limits.MAX_JSON_DEPTH} levels" in one_line(err)


def test_score_refuses_deep_predictions_in_one_line(tmp_path, capsys):
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": "test-0", "prediction": ' + "[" * DEEP + "]" * DEEP + "}\n")
    code, _, err = run_cli(
        capsys, ["score", "--task", "conll2003", "--split", "test", "--predictions", str(path), *_data()]
    )
    assert code == 2 and f"p.jsonl:1: JSON nested deeper than {limits.MAX_JSON_DEPTH} levels" in one_line(err)


def test_the_repository_leaderboard_checks(capsys):
    """The committed board with the shared samples alone: every conll2003 split is re-scored against the official
    gold the spec pins; no entry is marked unverified (the stray first entry left the board); the mini
    reproduction's GONERD gold is a build the samples do not hold, so those splits, which are not marked
    unverified, fail the check until it is given (scripts/test.sh builds it and passes it: the CI check)."""
    code, out, err = run_cli(
        capsys, ["leaderboard", "--leaderboard", str(ROOT / "leaderboard"), "--check", *_data()]
    )
    problems = [line for line in err.splitlines() if line.startswith("problem: ")]
    assert code == 1 and len(problems) == 2 * 2, err  # 2 repro-mini entries with GONERD x validation, test
    assert all(
        "results/repro-mini__" in p and "/gonerd." in p and "cannot be re-scored" in p and "gonerd" in p
        for p in problems
    ), err
    assert "conll2003" not in out + err  # re-scored, nothing to say
    assert "marked unverified" not in out
