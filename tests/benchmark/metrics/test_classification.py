"""Classification/correlation metrics and GLUE scoring: hand-worked values, degenerate inputs, and (when
installed) agreement with sklearn/scipy on random data."""

from __future__ import annotations

import math
import random

import pytest

from benchmark.metrics import classification as cm
from benchmark.metrics import glue

# ---------------------------------------------------------------------------------------------------------------
# classification


def test_accuracy():
    assert cm.accuracy(["a", "b", "c", "a"], ["a", "b", "a", "a"]) == 75.0


def test_binary_f1_by_hand():
    # positive 1: TP 2 (idx 0, 4), FP 1 (idx 2), FN 1 (idx 1) -> F1 = 2*2 / (2*2 + 1 + 1) = 2/3
    gold, pred = [1, 1, 0, 0, 1], [1, 0, 1, 0, 1]
    assert cm.binary_f1(gold, pred, positive=1) == pytest.approx(200 / 3)
    # positive 0: TP 1 (idx 3), FP 1 (idx 1), FN 1 (idx 2) -> 2/4
    assert cm.binary_f1(gold, pred, positive=0) == pytest.approx(50.0)
    assert cm.binary_f1([0, 0], [0, 0], positive=1) == 0.0  # no positives anywhere: zero_division=0


def test_macro_f1_by_hand():
    # a: TP1 FP0 FN1 -> 2/3; b: TP1 FP2 FN0 -> 2/4; c: TP0 FP0 FN1 -> 0. mean = (2/3 + 1/2 + 0) / 3
    assert cm.macro_f1(["a", "a", "b", "c"], ["a", "b", "b", "b"]) == pytest.approx(100 * (2 / 3 + 1 / 2) / 3)


def test_mcc_binary_by_hand_and_degenerate():
    # TP 2, TN 2, FP 1, FN 1 -> (2*2 - 1*1) / sqrt(3*3*3*3) = 3/9
    assert cm.matthews_corrcoef([1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 1]) == pytest.approx(100 / 3)
    assert cm.matthews_corrcoef([1, 0, 1, 0], [0, 1, 0, 1]) == pytest.approx(-100.0)
    assert cm.matthews_corrcoef([1, 0, 1, 0], [1, 1, 1, 1]) == 0.0  # constant predictions -> 0, not NaN
    assert cm.matthews_corrcoef([1, 1], [1, 1]) == 0.0


def test_pearson_by_hand():
    # x centred [-1, 0, 1], y = [1, 2, 4] centred [-4/3, -1/3, 5/3]: r = 3 / (sqrt(2) * sqrt(42)/3) = 9/sqrt(84)
    assert cm.pearson([1, 2, 3], [1, 2, 4]) == pytest.approx(100 * 9 / math.sqrt(84))
    assert cm.pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-100.0)


def test_spearman_average_ranks_for_ties():
    # ranks x = [1, 2.5, 2.5, 4], y = [1, 3, 2, 4]; centred: [-1.5, 0, 0, 1.5] and [-1.5, .5, -.5, 1.5]
    # r = 4.5 / (sqrt(4.5) * sqrt(5)) = sqrt(0.9)
    assert cm.rankdata([1, 2, 2, 3]).tolist() == [1.0, 2.5, 2.5, 4.0]
    assert cm.spearman([1, 2, 2, 3], [1, 3, 2, 4]) == pytest.approx(100 * math.sqrt(0.9))
    assert cm.spearman([1, 2, 3, 4], [1, 8, 27, 64]) == pytest.approx(100.0)  # monotone, non-linear


def test_correlations_constant_input_return_zero():
    assert cm.pearson([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]) == 0.0
    assert cm.spearman([1.0, 2.0, 3.0], [5.0, 5.0, 5.0]) == 0.0


@pytest.mark.parametrize("fn", [cm.accuracy, cm.macro_f1, cm.matthews_corrcoef, cm.pearson, cm.spearman])
def test_length_mismatch_and_empty_raise(fn):
    with pytest.raises(ValueError):
        fn([1, 0], [1])
    with pytest.raises(ValueError):
        fn([], [])


def test_against_sklearn_and_scipy_on_random_data():
    metrics = pytest.importorskip("sklearn.metrics")
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(13)
    for _ in range(20):
        n = rng.randint(5, 60)
        gold = [rng.choice("abc") for _ in range(n)]
        pred = [rng.choice("abc") for _ in range(n)]
        assert cm.matthews_corrcoef(gold, pred) == pytest.approx(
            100 * metrics.matthews_corrcoef(gold, pred), abs=1e-9
        )
        assert cm.macro_f1(gold, pred) == pytest.approx(
            100 * metrics.f1_score(gold, pred, average="macro", zero_division=0), abs=1e-9
        )
        assert cm.binary_f1(gold, pred, "a") == pytest.approx(
            100 * metrics.f1_score(gold, pred, labels=["a"], average="micro", zero_division=0), abs=1e-9
        )
        x = [rng.randint(0, 5) / 1.0 for _ in range(n)]  # many ties
        y = [xi + rng.gauss(0, 2) for xi in x]
        assert cm.pearson(x, y) == pytest.approx(100 * stats.pearsonr(x, y)[0], abs=1e-9)
        assert cm.spearman(x, y) == pytest.approx(100 * stats.spearmanr(x, y)[0], abs=1e-9)


# ---------------------------------------------------------------------------------------------------------------
# GLUE


def test_subtask_metric_names():
    assert glue.SUBTASKS["cola"] == ("matthews_correlation",)
    assert glue.SUBTASKS["stsb"] == ("pearson", "spearmanr")
    assert glue.SUBTASKS["mrpc"] == glue.SUBTASKS["qqp"] == ("f1", "accuracy")
    assert set(glue.SUBTASKS) == {
        "cola", "sst2", "mrpc", "qqp", "stsb", "mnli_matched", "mnli_mismatched", "qnli", "rte", "wnli",
    }  # fmt: skip
    assert glue.LABELS["wnli"] == ("not_entailment", "entailment")  # id order differs from RTE/QNLI
    assert glue.LABELS["rte"] == ("entailment", "not_entailment")


def test_mrpc_f1_uses_equivalent_as_positive():
    gold = ["equivalent", "equivalent", "not_equivalent", "not_equivalent"]
    pred = ["equivalent", "not_equivalent", "not_equivalent", "not_equivalent"]
    # positive "equivalent": TP1 FP0 FN1 -> 2/3 (with "not_equivalent" as positive it would be 4/5)
    assert glue.score_subtask("mrpc", gold, pred) == pytest.approx({"f1": 200 / 3, "accuracy": 75.0})
    assert glue.score_subtask("mrpc", [1, 1, 0, 0], [1, 0, 0, 0]) == pytest.approx(
        {"f1": 200 / 3, "accuracy": 75.0}
    )


def test_qqp_cola_stsb_and_accuracy_tasks():
    qqp = glue.score_subtask("qqp", ["duplicate", "not_duplicate"], ["duplicate", "duplicate"])
    assert qqp == pytest.approx({"f1": 200 / 3, "accuracy": 50.0})  # TP1 FP1 FN0
    cola = glue.score_subtask("cola", ["acceptable"] * 3 + ["unacceptable"] * 3, ["acceptable"] * 6)
    assert cola == {"matthews_correlation": 0.0}
    stsb = glue.score_subtask("stsb", [0.0, 2.5, 5.0], [1.0, 2.0, 4.0])
    assert stsb["spearmanr"] == pytest.approx(100.0)
    # gold is 2.5 * ([1, 2, 3] - 1), so Pearson equals that of [1, 2, 3] vs [1, 2, 4] = 9/sqrt(84)
    assert stsb["pearson"] == pytest.approx(100 * 9 / math.sqrt(84))
    mnli = glue.score_subtask("mnli_matched", ["entailment", "neutral", "contradiction"], ["entailment"] * 3)
    assert mnli == pytest.approx({"accuracy": 100 / 3})


def test_score_subtask_rejects_unknown_labels_and_tasks():
    with pytest.raises(ValueError, match="not a rte label"):
        glue.score_subtask("rte", ["entailment"], ["not entailment"])
    with pytest.raises(ValueError, match="unknown GLUE subtask"):
        glue.score_subtask("mnli", ["entailment"], ["entailment"])
    with pytest.raises(ValueError):
        glue.score_subtask("sst2", ["positive"], [2])  # id out of range


def test_task_score_is_mean_of_metrics():
    assert glue.task_score("stsb", {"pearson": 87.6, "spearmanr": 86.5}) == pytest.approx(87.05)
    assert glue.task_score("mrpc", {"f1": 89.3, "accuracy": 85.4, "extra": 0.0}) == pytest.approx(87.35)
    with pytest.raises(ValueError, match="missing"):
        glue.task_score("qqp", {"f1": 72.1})


# BERT-Large's GLUE leaderboard row (Devlin et al., 2019, Table 1 / gluebenchmark.com): published score 80.5.
_BERT_LARGE = {
    "cola": {"matthews_correlation": 60.5},
    "sst2": {"accuracy": 94.9},
    "mrpc": {"f1": 89.3, "accuracy": 85.4},
    "stsb": {"pearson": 87.6, "spearmanr": 86.5},
    "qqp": {"f1": 72.1, "accuracy": 89.3},
    "mnli_matched": {"accuracy": 86.7},
    "mnli_mismatched": {"accuracy": 85.9},
    "qnli": {"accuracy": 92.7},
    "rte": {"accuracy": 70.1},
    "wnli": {"accuracy": 65.1},
}


def test_glue_score_reproduces_leaderboard_convention_with_wnli():
    # task scores: 60.5, 94.9, 87.35, 87.05, 80.7, MNLI (86.7+85.9)/2 = 86.3, 92.7, 70.1, 65.1 -> sum 724.7 / 9
    assert glue.glue_score(_BERT_LARGE, include_wnli=True) == pytest.approx(724.7 / 9)
    assert round(glue.glue_score(_BERT_LARGE, include_wnli=True), 1) == 80.5


def test_glue_score_default_excludes_wnli():
    # same without WNLI: (724.7 - 65.1) / 8
    assert glue.glue_score(_BERT_LARGE) == pytest.approx(659.6 / 8)
    without_wnli = {k: v for k, v in _BERT_LARGE.items() if k != "wnli"}
    assert glue.glue_score(without_wnli) == pytest.approx(659.6 / 8)
    with pytest.raises(ValueError, match="wnli"):
        glue.glue_score(without_wnli, include_wnli=True)


def test_glue_score_missing_or_unknown_subtask_raises():
    missing = {k: v for k, v in _BERT_LARGE.items() if k != "mnli_mismatched"}
    with pytest.raises(ValueError, match="mnli_mismatched"):
        glue.glue_score(missing)
    with pytest.raises(ValueError, match="unknown"):
        glue.glue_score({**_BERT_LARGE, "mnli": {"accuracy": 86.3}})
