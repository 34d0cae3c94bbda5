"""Bootstrap intervals over evaluation examples (:mod:`benchmark.evaluate.intervals`) and the paired comparison of two
runs (:func:`benchmark.leaderboard.compare.compare_records`): a run right much more often than another on the
same gold is ``better``, two runs wrong equally often on different examples are ``indistinguishable``.

Gold data: the real fixture samples (12 examples per split), predictions derived from it, never typed in."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmark.core.record import ResultRecord
from benchmark.evaluate import intervals
from benchmark.evaluate.scoring import score_predictions
from benchmark.leaderboard.compare import compare_records
from benchmark.tasks.registry import get_task
from tests.benchmark.leaderboard.test_leaderboard import _gold, perturbed

pytestmark = pytest.mark.fixtures


def _wrong_at(task: str, split: str, positions: set[int]) -> dict:
    """Gold predictions of ``split`` with the examples at ``positions`` made wrong."""
    spec = get_task(task)
    examples, _ = _gold(task, split)
    gold = perturbed(examples, 0, spec)
    wrong = perturbed(examples, 1, spec)
    return {ex.id: (wrong if i in positions else gold)[ex.id] for i, ex in enumerate(examples)}


def _record(task: str, predictions: dict[str, dict], seed: int = 42) -> ResultRecord:
    """A result record as ``benchmark run`` writes one, with its bootstrap replicates."""
    spec = get_task(task)
    metrics, boots, n = {}, {}, {}
    for split, preds in predictions.items():
        examples, _ = _gold(task, split)
        metrics[split] = json.loads(json.dumps(score_predictions(spec, examples, preds)))
        boots[split] = intervals.bootstrap_split(spec, examples, preds, score=metrics[split]["score"])
        n[split] = len(examples)
    return ResultRecord.from_dict(
        {
            "schema": "gonerd-bench/result/v1",
            "model": {"model_id": "m", "revision": None, "model_type": "bert", "n_params": 1},
            "harness": {"version": "0", "git_commit": None},
            "task": {"name": task, "version": "1", "spec_hash": "0" * 16, "task_type": spec.task_type,
                     "primary_metric": spec.primary_metric},
            "dataset": {}, "splits": list(predictions), "n_examples": n, "metrics": metrics,
            "windows": {}, "attention": {}, "timing": None, "hardware": {}, "seed": seed, "config": {},
            "config_hash": "0", "started_at": "t", "finished_at": "t", "bootstrap": boots,
        }
    )  # fmt: skip


def test_bootstrap_is_the_metric_recomputed_on_resampled_examples():
    """The per-example shortcuts give what the task's scorer gives on every resampled set."""
    for task, split, method in (
        ("conll2003", "test", "chunk counts"),
        ("squad", "validation", "example mean"),
    ):
        spec = get_task(task)
        examples, _ = _gold(task, split)
        preds = _wrong_at(task, split, {0, 4, 5, 9})
        found = intervals.bootstrap_split(spec, examples, preds, resamples=50)
        assert found["method"] == method and found["n"] == len(examples) == 12
        ordered = sorted(examples, key=lambda ex: ex.id)
        slow = intervals._rescored(spec, ordered, preds, intervals.draws(len(ordered), 50))
        np.testing.assert_allclose(found["replicates"], slow, atol=1e-3)
        again = intervals.bootstrap_split(spec, list(reversed(examples)), preds, resamples=50)
        assert again["replicates"] == found["replicates"]  # seeded, and drawn over the examples sorted by id
    assert intervals.unit_of(get_task("gonerd")) == "document" and intervals.unit_of(spec) == "question"


def test_a_run_right_much_more_often_is_better_and_equal_runs_are_indistinguishable():
    split = "validation"
    good = _record("squad", {split: _wrong_at("squad", split, {0})})
    poor = _record("squad", {split: _wrong_at("squad", split, set(range(0, 12, 2)) | {1, 3})})
    row = compare_records({"squad": good}, {"squad": poor})[0]
    assert row["difference"] > 0 and row["verdict"] == "better"
    low, high = row["difference_interval"]
    assert 0 < low <= row["difference"] <= high
    assert row["share_interval"][0] > 100
    assert compare_records({"squad": poor}, {"squad": good})[0]["verdict"] == "worse"
    # the same number of mistakes on different questions: the interval holds 0
    a = _record("squad", {split: _wrong_at("squad", split, {0, 5, 9})})
    b = _record("squad", {split: _wrong_at("squad", split, {2, 6, 11})})
    row = compare_records({"squad": a}, {"squad": b})[0]
    assert row["difference"] == pytest.approx(0.0, abs=1e-9) and row["verdict"] == "indistinguishable"
    assert row["difference_interval"][0] < 0 < row["difference_interval"][1]


def test_seeds_both_runs_have_are_averaged_and_spread_reported():
    split = "validation"
    runs_a = [_record("squad", {split: _wrong_at("squad", split, wrong)}, seed=s)
              for s, wrong in ((0, {0}), (1, {1, 2}), (2, {3}))]  # fmt: skip
    runs_b = [_record("squad", {split: _wrong_at("squad", split, wrong)}, seed=s)
              for s, wrong in ((0, {0, 1, 2, 3, 4, 5}), (1, {0, 1, 2, 3, 4, 5, 6}))]  # fmt: skip
    row = compare_records({"squad": runs_a[0]}, {"squad": runs_b[0]}, {"squad": runs_a}, {"squad": runs_b})[0]
    assert row["paired_seeds"] == [0, 1] and row["seeds"] == [2, 2]  # seed 2 of a is left out
    a_scores = [r.metrics[split].score for r in runs_a[:2]]
    b_scores = [r.metrics[split].score for r in runs_b]
    assert row["difference"] == pytest.approx(np.mean(a_scores) - np.mean(b_scores))
    assert row["sd_student"] == pytest.approx(np.std(a_scores, ddof=1))
    assert row["verdict"] == "better"


def test_no_interval_without_replicates_or_on_other_gold():
    split = "validation"
    a = _record("squad", {split: _wrong_at("squad", split, {0})})
    legacy = ResultRecord.from_dict({k: v for k, v in a.to_dict().items() if k != "bootstrap"})
    row = compare_records({"squad": a}, {"squad": legacy})[0]
    assert row["verdict"] is None and "no bootstrap replicates" in row["interval_note"]
    other = a.to_dict()
    other["bootstrap"][split]["ids_sha256"] = "0" * 64
    row = compare_records({"squad": a}, {"squad": ResultRecord.from_dict(other)})[0]
    assert row["verdict"] is None and "not scored on the same evaluation examples" in row["interval_note"]


def test_verdict_and_seed_statistics():
    assert intervals.verdict((0.1, 2.0)) == "better"
    assert intervals.verdict((-2.0, -0.1)) == "worse"
    assert intervals.verdict((-1.0, 1.0)) == intervals.verdict((0.0, 1.0)) == "indistinguishable"
    stats = intervals.metric_stats([1.0, 2.0, 4.0])
    assert (
        stats["n"] == 3 and stats["mean"] == pytest.approx(7 / 3) and (stats["min"], stats["max"]) == (1, 4)
    )
    assert stats["sd"] == pytest.approx(np.std([1.0, 2.0, 4.0], ddof=1))
    assert intervals.metric_stats([3.0])["sd"] is None


def test_glue_resampled_within_sub_tasks_is_the_glue_score_of_each_resampled_set():
    """GLUE's shortcut (weighted confusion counts, Pearson and Spearman) gives the official scorer's value on the
    same resampled sets, drawn within each sub-task."""
    spec = get_task("glue")
    examples, _ = _gold("glue", "validation")
    preds = perturbed(examples, 3, spec)
    found = intervals.bootstrap_split(spec, examples, preds, resamples=20)
    assert found["method"] == "sub-task statistics" and found["unit"] == "example"
    ordered = sorted(examples, key=lambda ex: ex.id)
    counts = np.zeros((20, len(ordered)), dtype=np.int32)
    for k, sub in enumerate(sorted(spec.subtasks, key=lambda s: s.name)):
        where = [i for i, ex in enumerate(ordered) if ex.id.startswith(sub.name + "-")]
        if where:
            counts[:, where] = intervals.draws(len(where), 20, [intervals.RNG_SEED, k])
    slow = intervals._rescored(spec, ordered, preds, counts)
    np.testing.assert_allclose(found["replicates"], slow, atol=1e-3)
    assert len(set(found["replicates"])) > 1  # the resampled sets differ


def test_compare_with_data_dir_resamples_results_written_before_replicates(tmp_path, capsys):
    """Results without bootstrap replicates (as the board's older entries): ``--data-dir`` re-scores their
    predictions against the recorded gold and resamples them, so the comparison gets its interval and verdict."""
    from benchmark.cli import main
    from benchmark.leaderboard.compare import compare_dirs
    from conftest import fixture_path
    from tests.benchmark.leaderboard.test_leaderboard import make_run

    good = make_run(tmp_path, "org/good", tasks=("conll2003",), every=0)
    poor = make_run(tmp_path, "org/poor", tasks=("conll2003",), every=2)
    rows, _ = compare_dirs(good, poor)
    assert rows[0]["verdict"] is None and "no bootstrap replicates" in rows[0]["interval_note"]
    rows, _ = compare_dirs(good, poor, data_dir=fixture_path())
    assert rows[0]["verdict"] == "better" and rows[0]["difference_interval"][0] > 0
    assert (
        main(["compare", "--student", str(poor), "--teacher", str(good), "--data-dir", str(fixture_path())])
        == 0
    )
    captured = capsys.readouterr()
    assert " worse " in captured.out.splitlines()[1]
    assert "a verdict of a run of one seed covers the sampling of evaluation examples" in captured.err
