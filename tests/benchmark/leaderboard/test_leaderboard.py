"""``benchmark submit`` / ``leaderboard`` / ``compare``: submissions are all-or-nothing with every problem listed,
views are deterministic and escaped, ``--check`` catches stale views and edited files.

Result directories are built exactly as ``benchmark run`` writes them, with metrics computed by
:func:`benchmark.evaluate.scoring.score_predictions` from predictions derived from the real fixture gold data (every third
example made wrong), never typed in."""

from __future__ import annotations

import dataclasses
import json
import shutil
from functools import cache
from pathlib import Path
from typing import Any

from benchmark.core.examples import ClassificationExample, QAExample
from benchmark.core.record import SCHEMA
from benchmark.data.loader import load_examples
from benchmark.evaluate.scoring import gold_as_predictions, score_predictions
from benchmark.results.files import atomic_write_bytes, config_hash, harness_info, typed_result, write_result
from benchmark.tasks.registry import get_task
from conftest import ROOT, fixture_path

LIMIT = 12
# Tasks with gold samples in ../shared/fixtures (and the file to read where it is not the spec's).
DATA_FILES = {
    "conll2003": None,
    "squad": "dev-v1.1-sample.json",
    "hotpotqa": "hotpot_dev_distractor_sample.json",
    "triviaqa": None,
    "glue": None,
}
SPLITS = {"conll2003": ("validation", "test")}


@cache
def _gold(task: str, split: str) -> tuple[list[Any], dict[str, Any]]:
    spec = get_task(task)
    loaded = load_examples(spec, split, data_dir=fixture_path(), data_file=DATA_FILES[task], limit=LIMIT)
    sources = (
        {f"{sub}/{split}": src for sub, src in loaded.source.items()}
        if spec.subtasks
        else {split: loaded.source}
    )
    return loaded.examples, sources


def perturbed(examples: list[Any], every: int, spec: Any) -> dict[str, Any]:
    """Gold predictions with every ``every``-th example wrong (0: all gold)."""
    preds = gold_as_predictions(examples)
    for i, ex in enumerate(examples):
        if not every or i % every:
            continue
        if isinstance(ex, QAExample):
            preds[ex.id] = "zzz"
        elif isinstance(ex, ClassificationExample):
            sub = next((s for s in spec.subtasks if ex.id.startswith(s.name + "-")), spec)
            preds[ex.id] = (
                0.0 if sub.task_type == "regression" else next(n for n in sub.label_names if n != ex.label)
            )
        else:
            preds[ex.id] = ["O"] * len(preds[ex.id])
    return preds


def make_run(
    root: Path,
    model_id: str,
    *,
    tasks: tuple[str, ...] = tuple(DATA_FILES),
    every: int = 3,
    latency: float = 10.0,
    memory: float = 500.0,
    seed: int = 42,
    bootstrap: bool = False,
) -> Path:
    """``root/<slug>/`` with model.json and one result + predictions per task; returns the directory.
    ``bootstrap``: the results record their bootstrap replicates, as ``benchmark run`` writes them now."""
    from benchmark.leaderboard.validate import safe_slug

    directory = root / (safe_slug(model_id) or "hostile-model")
    model = {
        "model_id": model_id,
        "revision": "sha256:" + "ab" * 32,
        "model_type": "bert",
        "max_positions": 512,
        "n_params": 4_000_000,
        "needs_remote_code": False,
    }
    owner = {"model_id": model_id, "revision": model["revision"], "created_at": "2026-11-24T10:00:00Z"}
    atomic_write_bytes(directory / "model.json", (json.dumps(owner) + "\n").encode())
    for task in tasks:
        spec = get_task(task)
        metrics, predictions, n_examples, sources = {}, {}, {}, {}
        for split in SPLITS.get(task, ("validation",)):
            examples, source = _gold(task, split)
            predictions[split] = perturbed(examples, every, spec)
            metrics[split] = score_predictions(spec, examples, predictions[split])
            n_examples[split] = len(examples)
            sources.update(source)
        config = {"limit": LIMIT, "seed": seed, "data_dir": str(fixture_path()), "eval_only": True}
        record = {
            "schema": SCHEMA,
            "model": model,
            "harness": harness_info(),
            "task": {
                "name": task,
                "version": spec.version,
                "spec_hash": spec.spec_hash(),
                "task_type": spec.task_type,
                "context": spec.context,
                "primary_metric": spec.primary_metric,
            },
            "dataset": {"hub": None, "sources": sources},
            "splits": list(predictions),
            "n_examples": n_examples,
            "metrics": metrics,
            "windows": {},
            "attention": {},
            "timing": {
                "device": "cpu",
                "device_name": "test CPU",
                "latency_ms_per_example_median": latency,
                "peak_memory_mb": memory,
            },
            "hardware": {"device": "cpu"},
            "seed": seed,
            "config": config,
            "config_hash": config_hash(config),
            "started_at": "2026-11-24T10:00:00Z",
            "finished_at": "2026-11-24T10:01:00Z",
        }
        if bootstrap:
            from benchmark.evaluate.intervals import bootstrap_split

            record["bootstrap"] = {
                split: bootstrap_split(spec, _gold(task, split)[0], predictions[split], resamples=200)
                for split in predictions
            }
        path = directory / f"{task}.json"
        write_result(path, typed_result(json.loads(json.dumps(record)), path), predictions)
    return directory


def write_speed(run: Path, change) -> None:
    """A committed speed.json (``benchmark speed --output``), changed by ``change(data)``, into ``run``."""
    data = json.loads(sorted((ROOT / "leaderboard" / "results").glob("*/speed.json"))[0].read_text())
    data["model"].update(revision="sha256:" + "ab" * 32, model_type="bert")  # make_run's model
    change(data)
    (run / "speed.json").write_text(json.dumps(data))


def edit_json(path: Path, change) -> None:
    """Apply ``change(data)`` to a JSON file in place."""
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes (to prove nothing changed)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------------------------------------ fixtures
import pytest  # noqa: E402

from benchmark.cli import main  # noqa: E402
from benchmark.leaderboard.compare import compare  # noqa: E402
from benchmark.leaderboard.entries import Entry  # noqa: E402
from benchmark.leaderboard.plots import pareto_front  # noqa: E402
from benchmark.leaderboard.submit import check_leaderboard, submit  # noqa: E402
from benchmark.leaderboard.views import md_escape, render_all, render_html, render_markdown, write_all  # noqa: E402


@pytest.fixture(scope="module")
def board_template(tmp_path_factory) -> Path:
    """A leaderboard with one valid entry, built once (submitting re-scores it against the gold data)."""
    root = tmp_path_factory.mktemp("template")
    first = make_run(root / "runs", "org/first-model")
    report = submit(first, root / "board", data_dir=fixture_path(), partial=True)
    assert report.ok, report.format()
    return root


@pytest.fixture
def board(board_template: Path, tmp_path: Path) -> tuple[Path, Path]:
    """(leaderboard with one valid entry, the runs directory it came from), a fresh copy per test."""
    import shutil

    shutil.copytree(board_template, tmp_path / "copy")
    return tmp_path / "copy" / "board", tmp_path / "copy" / "runs"


# ------------------------------------------------------------------------------------------------------- submit
def test_valid_submission_copies_and_regenerates(board):
    leaderboard, runs = board
    entry = leaderboard / "results" / "org__first-model"
    submitted = sorted(p.name for p in (runs / "org__first-model").iterdir())
    assert sorted(p.name for p in entry.iterdir()) == sorted([*submitted, "submission.json"])
    manifest = json.loads((entry / "submission.json").read_text())
    assert manifest["partial"] is True and "conll2003.test.predictions.jsonl.gz" in manifest["files"]
    readme = (leaderboard / "README.md").read_text()
    assert "org/first\\-model" not in readme and "[org/first-model](results/org__first-model/)" in readme
    assert "**partial**" in readme
    for name in ("index.html", "plots/quality_vs_time.svg", "plots/student_vs_teacher.png"):
        assert (leaderboard / name).stat().st_size > 0
    assert check_leaderboard(leaderboard, data_dir=fixture_path()).ok


def test_missing_tasks_need_partial(tmp_path):
    run = make_run(tmp_path / "runs", "org/m", tasks=("conll2003",))
    report = submit(run, tmp_path / "board")
    assert not report.ok
    assert any(
        p.startswith("missing tasks: ") and "gonerd" in p and "--partial" in p for p in report.problems
    )
    assert not (tmp_path / "board").exists()


def _set_model_id(run: Path, model_id: str) -> None:
    def change(data):
        data["model"]["model_id"] = model_id

    edit_json(run / "model.json", lambda d: d.update(model_id=model_id))
    for path in run.glob("*.json"):
        if path.name != "model.json":
            edit_json(path, change)


def _score_plus(data, delta=1.0, split="validation"):
    scored = data["metrics"][split]
    scored["score"] += delta
    scored["metrics"][scored["primary_metric"]] += delta


BAD = {
    "invalid JSON": (lambda r: (r / "squad.json").write_text("{not json"), "squad.json: invalid JSON"),
    "missing field": (
        lambda r: edit_json(r / "squad.json", lambda d: d.pop("config_hash")),
        "missing key 'config_hash'",
    ),
    "unknown task": (lambda r: (r / "imdb.json").write_text("{}"), "unknown task 'imdb'"),
    "negative latency": (  # the shape of a result is the typed record's (benchmark.core.record), named by key path
        lambda r: edit_json(r / "squad.json", lambda d: d["timing"].update(latency_ms_per_example_median=-1)),
        "squad.json: timing.latency_ms_per_example_median must be a non-negative number, got -1",
    ),
    "score out of range": (
        lambda r: edit_json(r / "squad.json", lambda d: _score_plus(d, 150.0)),
        "is outside 0..100",
    ),
    "old spec hash": (
        lambda r: edit_json(r / "conll2003.json", lambda d: d["task"].update(spec_hash="0123456789abcdef")),
        "is not the current one",
    ),
    "dataset revision": (
        lambda r: edit_json(
            r / "squad.json",
            lambda d: d["dataset"].update(
                hub={**dataclasses.asdict(get_task("squad").hub), "revision": "0" * 40}
            ),
        ),
        "dataset revision '0000000000000000000000000000000000000000' is not the spec's",
    ),
    "hand-edited score": (
        lambda r: edit_json(r / "conll2003.json", lambda d: _score_plus(d, 0.5, "test")),
        "test metrics do not match the saved predictions: score recorded",
    ),
    "missing predictions": (
        lambda r: (r / "glue.validation.predictions.jsonl.gz").unlink(),
        "glue.validation.predictions.jsonl.gz: predictions file missing",
    ),
    "script in name": (lambda r: _set_model_id(r, "org/<script>alert(1)</script>"), "is not a Hub id"),
    "pipe in name": (lambda r: _set_model_id(r, "org/a|b"), "is not a Hub id"),
    "path in name": (lambda r: _set_model_id(r, "../../etc/model"), "contains '..'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_submission_is_refused_and_board_untouched(board, case):
    leaderboard, runs = board
    run = make_run(runs, "org/second-model", every=2)
    mutate, expected = BAD[case]
    mutate(run)
    before = snapshot(leaderboard)
    report = submit(run, leaderboard, data_dir=fixture_path(), partial=True)
    assert not report.ok
    assert any(expected in p for p in report.problems), report.problems
    assert snapshot(leaderboard) == before


def test_every_problem_is_listed(board):
    leaderboard, runs = board
    run = make_run(runs, "org/second-model", every=2)
    for case in ("missing field", "unknown task", "old spec hash", "missing predictions"):
        BAD[case][0](run)
    report = submit(run, leaderboard, partial=True)
    for case in ("missing field", "unknown task", "old spec hash", "missing predictions"):
        assert any(BAD[case][1] in p for p in report.problems), case


def test_duplicate_run_is_refused(board):
    leaderboard, runs = board
    before = snapshot(leaderboard)
    report = submit(runs / "org__first-model", leaderboard, partial=True)
    assert any("duplicate of org__first-model/conll2003.json" in p for p in report.problems)
    assert snapshot(leaderboard) == before


def test_resubmitting_a_model_with_a_new_task_updates_its_entry(tmp_path):
    leaderboard = tmp_path / "board"
    first = make_run(tmp_path / "runs", "org/m", tasks=("conll2003",))
    assert submit(first, leaderboard, data_dir=fixture_path(), partial=True).ok
    entry = leaderboard / "results" / "org__m"
    kept = (entry / "conll2003.json").read_bytes()
    # Only the new task: refused, since replacing the folder would drop conll2003.
    only_new = make_run(tmp_path / "later", "org/m", tasks=("squad",))
    before = snapshot(leaderboard)
    report = submit(only_new, leaderboard, data_dir=fixture_path(), partial=True)
    assert any(
        "conll2003.json is on the leaderboard but not in this submission" in p for p in report.problems
    )
    assert snapshot(leaderboard) == before
    # The earlier run carried over plus the new task: an update, not a duplicate.
    for path in only_new.glob("squad*"):
        shutil.copyfile(path, first / path.name)
    report = submit(first, leaderboard, data_dir=fixture_path(), partial=True)
    assert report.ok, report.format()
    assert (entry / "conll2003.json").read_bytes() == kept and (entry / "squad.json").is_file()
    assert "squad.json" in json.loads((entry / "submission.json").read_text())["files"]
    # The same folder again adds nothing: a duplicate.
    again = submit(first, leaderboard, partial=True)
    assert any("nothing new" in p for p in again.problems) and again.already_listed
    # A resumed script may resubmit: --ok-if-listed makes exactly that a success, and changes nothing.
    before = snapshot(leaderboard)
    args = [
        "submit",
        str(first),
        "--leaderboard",
        str(leaderboard),
        "--partial",
        "--data-dir",
        str(fixture_path()),
    ]
    assert main([*args, "--ok-if-listed"]) == 0
    assert main(args) == 1
    other = ["submit", str(only_new), "--leaderboard", str(leaderboard), "--partial", "--ok-if-listed"]
    assert main(other) == 1  # any other problem still fails
    assert snapshot(leaderboard) == before


def test_main_submit_exit_codes(board, capsys):
    leaderboard, runs = board
    run = make_run(runs, "org/third", every=4)
    args = ["submit", str(run), "--leaderboard", str(leaderboard), "--partial"]
    assert main([*args, "--data-dir", str(fixture_path())]) == 0
    assert "submitted" in capsys.readouterr().out
    assert main(args) == 1
    assert "nothing was copied" in capsys.readouterr().err


# -------------------------------------------------------------------------------------------------------- views
def _student_teacher(tmp_path: Path) -> Path:
    from baselines.registry import resolve

    runs, leaderboard = tmp_path / "runs", tmp_path / "board"
    teacher = make_run(runs, resolve("longformer").hub_id, every=0, latency=10.0, memory=800.0)
    student = make_run(runs, resolve("distil-longformer").hub_id, every=3, latency=4.0, memory=600.0)
    lengths = [
        {"length": n, "status": "ok", "timing": {"device": "cpu", "latency_ms_per_example_median": n / 100}}
        for n in (512, 1024)
    ]
    write_speed(student, lambda d: d.update(device="cpu", lengths=lengths))
    for run in (teacher, student):
        assert submit(run, leaderboard, data_dir=fixture_path(), partial=True).ok
    return leaderboard


def test_regeneration_is_idempotent_and_deterministic(tmp_path):
    leaderboard = _student_teacher(tmp_path)
    before = snapshot(leaderboard)
    assert write_all(leaderboard) == []
    assert snapshot(leaderboard) == before
    again = render_all(leaderboard)
    assert again == render_all(leaderboard)
    assert b"% of teacher" in again["README.md"]
    svg = again["plots/student_vs_teacher.svg"]
    assert b"<dc:date>" not in svg and len(svg) > 5000


def test_teacher_share_in_views(tmp_path):
    leaderboard = _student_teacher(tmp_path)
    readme = (leaderboard / "README.md").read_text()
    student_rows = [
        line for line in readme.splitlines() if "distil\\-longformer" in line or "distil-longformer" in line
    ]
    assert student_rows and "%" in student_rows[0].split("|")[-2]


def test_check_detects_stale_and_edited_files(tmp_path, capsys):
    leaderboard = _student_teacher(tmp_path)
    assert main(["leaderboard", "--leaderboard", str(leaderboard), "--check", "--no-rescore"]) == 0
    readme = leaderboard / "README.md"
    readme.write_text(readme.read_text() + "\nedited\n")
    assert main(["leaderboard", "--leaderboard", str(leaderboard), "--check", "--no-rescore"]) == 1
    assert "README.md: stale" in capsys.readouterr().err
    assert main(["leaderboard", "--leaderboard", str(leaderboard)]) == 0
    assert check_leaderboard(leaderboard, rescore=False).ok
    result = next((leaderboard / "results").glob("*/squad.json"))
    edit_json(result, lambda d: _score_plus(d, 1.0))
    problems = check_leaderboard(leaderboard, rescore=False).problems
    assert any("squad.json: changed since it was submitted" in p for p in problems)


def _hostile_entry(name: str) -> Entry:
    """An entry put on the board by hand (submit would refuse the name): the views must still escape it."""
    from benchmark.core.record import Model

    return Entry(
        slug="hostile", model=Model(model_id=name, revision=None, model_type="bert", n_params=1), records={}
    )


def test_strings_are_escaped_in_markdown_and_html():
    name = "a|b [x](javascript:alert(1)) `c` <script>alert(1)</script>"
    entry = _hostile_entry(name)
    tasks = ["conll2003"]
    md = render_markdown([entry], tasks)
    row = next(line for line in md.splitlines() if "alert" in line)
    assert "<script>" not in md and "&lt;script&gt;" in row
    assert row.count("|") - row.count("\\|") == len(tasks) + 10  # pipes of the table only (two time columns)
    assert "](javascript" not in md
    page = render_html([entry], tasks)
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert md_escape("x|y") == "x\\|y"


def test_pareto_front():
    points = [(1.0, 50.0, "a"), (2.0, 40.0, "b"), (3.0, 70.0, "c"), (3.0, 60.0, "d"), (5.0, 70.0, "e")]
    assert [p[2] for p in pareto_front(points)] == ["a", "c"]


# ------------------------------------------------------------------------------------------------------ compare
def test_compare_share_and_time_change(tmp_path, capsys):
    runs = tmp_path / "runs"
    teacher = make_run(runs, "org/teacher", tasks=("conll2003", "squad"), every=0, latency=10.0, memory=800.0)
    student = make_run(runs, "org/student", tasks=("conll2003", "squad"), every=3, latency=4.0, memory=600.0)
    rows = compare(student, teacher)
    assert [r["task"] for r in rows] == ["conll2003", "squad", "average"]
    for row in rows[:2]:
        assert row["teacher"] == 100.0  # gold predictions
        assert row["student"] < 100.0
        assert row["share"] == pytest.approx(row["student"])  # x / 100 * 100
        assert row["time_ratio"] == pytest.approx(0.4) and row["time_change_pct"] == pytest.approx(-60.0)
        assert row["memory_change_pct"] == pytest.approx(-25.0)
    assert rows[2]["share"] == pytest.approx((rows[0]["share"] + rows[1]["share"]) / 2)
    assert main(["compare", "--student", str(student), "--teacher", str(teacher), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(rows))
