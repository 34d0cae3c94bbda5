"""``benchmark run --seeds`` end to end on a tiny random model: every seed's result and predictions kept under
``seeds/<seed>/``, the aggregate in ``<task>.json``, a rerun that skips the seeds already done, and ``benchmark
compare`` of two runs with its intervals and verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.results.files import load_record, predictions_path
from conftest import link_fixtures
from tiny_models import build_tiny_model

pytestmark = pytest.mark.fixtures

DATA_LINKS = {
    "conll2003/eng.train": "conll2003/eng.train.first300",
    "conll2003/eng.testa": "conll2003/eng.testa",
    "conll2003/eng.testb": "conll2003/eng.testb",
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return link_fixtures(tmp_path_factory.mktemp("data"), DATA_LINKS)


@pytest.fixture(scope="module")
def model(tmp_path_factory, one_torch_thread) -> Path:
    return build_tiny_model("bert", tmp_path_factory.mktemp("models") / "bert")


def _run(model: Path, output: Path, data_dir: Path, *extra: str) -> int:
    return main(
        ["run", "--model", str(model), "--output", str(output), "--data-dir", str(data_dir), "--limit", "12",
         "--epochs", "1", "--batch-size", "4", "--device", "cpu", "--tasks", "conll2003", "--max-length", "64",
         *extra]
    )  # fmt: skip


def test_seeds_kept_aggregated_and_resumed_per_seed(model, data_dir, tmp_path, capsys):
    out = tmp_path / "runs"
    assert _run(model, out, data_dir, "--seeds", "0") == 0
    seed0 = out / "bert" / "seeds" / "0" / "conll2003.json"
    before = seed0.stat().st_mtime_ns
    capsys.readouterr()
    assert _run(model, out, data_dir, "--seeds", "0,1") == 0
    err = capsys.readouterr().err
    assert f"conll2003: skipped (up to date) {seed0}" in err  # the done seed is not trained again
    assert seed0.stat().st_mtime_ns == before
    seeds = {s: load_record(out / "bert" / "seeds" / str(s) / "conll2003.json") for s in (0, 1)}
    for s, record in seeds.items():
        assert record.seed == s and record.config.seeds is None  # a seed's result is a plain run of it
        assert set(record.bootstrap) == {"validation", "test"}
        boot = record.bootstrap["test"]
        assert (boot.unit, boot.n, boot.resamples, len(boot.replicates)) == ("sentence", 12, 1000, 1000)
        assert boot.method == "chunk counts"
        for split in record.splits:
            assert predictions_path(out / "bert" / "seeds" / str(s) / "conll2003.json", split).is_file()
    top = load_record(out / "bert" / "conll2003.json")
    assert top.config.seeds == [0, 1] and top.seeds.seeds == [0, 1]
    assert top.seeds.files == {"0": "seeds/0/conll2003.json", "1": "seeds/1/conll2003.json"}
    scores = [seeds[s].metrics["test"].score for s in (0, 1)]
    stats = top.seeds.splits["test"].stats["f1"]
    assert stats.n == 2 and stats.mean == pytest.approx(sum(scores) / 2, abs=1e-9)
    assert (stats.min, stats.max) == pytest.approx((min(scores), max(scores)), abs=1e-9)
    assert stats.sd == pytest.approx(abs(scores[0] - scores[1]) / 2**0.5, abs=1e-9)
    interval = top.seeds.splits["test"].interval
    assert interval.low <= interval.high and interval.unit == "sentence" and interval.confidence == 0.95
    assert top.score() == pytest.approx(stats.mean) and top.n_seeds() == 2
    assert "precision" in top.seeds.splits["test"].stats  # every numeric metric, not the primary alone

    # compare two runs of the same model (the seeds of each): the same predictions are indistinguishable
    capsys.readouterr()
    assert main(["compare", "--student", str(out / "bert"), "--teacher", str(out / "bert"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    row = next(r for r in rows if r["task"] == "conll2003")
    assert row["verdict"] == "indistinguishable" and row["difference"] == pytest.approx(0.0)
    assert row["difference_interval"] == pytest.approx([0.0, 0.0]) and row["seeds"] == [2, 2]


def test_seeds_run_submitted_rescored_and_shown_as_mean_sd(model, data_dir, tmp_path):
    """A ``--seeds`` run on the leaderboard: every seed's predictions re-scored at submission and by ``--check``,
    the task shown as mean ± sd (n=2), apart from standard entries (it ran on 12 examples per split)."""
    from benchmark.leaderboard.submit import check_leaderboard, submit

    out, board = tmp_path / "runs", tmp_path / "board"
    assert _run(model, out, data_dir, "--seeds", "3,4") == 0
    report = submit(out / "bert", board, data_dir=data_dir, partial=True)
    assert report.ok, report.problems
    entry = board / "results" / "bert"
    for seed in (3, 4):
        assert (entry / "seeds" / str(seed) / "conll2003.json").is_file()
        assert (entry / "seeds" / str(seed) / "conll2003.test.predictions.jsonl.gz").is_file()
    readme = (board / "README.md").read_text()
    row = next(line for line in readme.splitlines() if "results/bert/" in line).replace("\\", "")
    assert "± " in row and "(n=2)" in row and "1 seed" not in row
    apart = readme.index("## Sample data or non-standard budgets")
    assert readme.index("results/bert/") > apart and "first 12 examples per split" in readme[apart:]
    assert check_leaderboard(board, data_dir=data_dir).ok

    # a seed's score edited on the board (manifest hash updated too): re-scoring that seed's predictions catches it
    from benchmark.results.files import file_sha256

    seed_file = entry / "seeds" / "4" / "conll2003.json"
    before = seed_file.read_bytes()
    data = json.loads(before)
    data["metrics"]["test"]["score"] += 1.0
    data["metrics"]["test"]["metrics"]["f1"] += 1.0
    seed_file.write_text(json.dumps(data))
    manifest = json.loads((entry / "submission.json").read_text())
    manifest["files"]["seeds/4/conll2003.json"] = file_sha256(seed_file)
    (entry / "submission.json").write_text(json.dumps(manifest))
    problems = check_leaderboard(board, data_dir=data_dir).problems
    assert any(
        "seeds/4/conll2003.json: test metrics do not match the saved predictions" in p for p in problems
    )
    seed_file.write_bytes(before)  # back as submitted; now the aggregate is edited: recomputed, it differs
    top = entry / "conll2003.json"
    data = json.loads(top.read_text())
    data["seeds"]["splits"]["test"]["stats"]["f1"]["mean"] += 1.0
    top.write_text(json.dumps(data))
    manifest["files"] |= {
        "seeds/4/conll2003.json": file_sha256(seed_file),
        "conll2003.json": file_sha256(top),
    }
    (entry / "submission.json").write_text(json.dumps(manifest))
    problems = check_leaderboard(board, data_dir=data_dir).problems
    assert any(
        "conll2003.json: the aggregate over seeds does not match the seeds' results" in p for p in problems
    )
