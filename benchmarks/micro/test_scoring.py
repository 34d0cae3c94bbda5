"""Scoring: the harness's conlleval port (``benchmark score`` for NER) beside seqeval's default (conlleval-like)
mode on the same tags, and the official SQuAD v1.1 port, on the shared samples (CoNLL-2003: the first 1,000 validation sentences). The gold with every third
sentence's tags shifted (so scores are not trivially 100) is what is scored."""

from __future__ import annotations

import pytest

from benchmark.data.loader import load_examples
from benchmark.evaluate.scoring import gold_as_predictions, score_predictions
from benchmark.metrics import ner, squad
from benchmark.tasks.registry import get_task
from conftest import fixture_path

pytestmark = pytest.mark.fixtures


@pytest.fixture(scope="module")
def conll():
    spec = get_task("conll2003")
    examples = load_examples(spec, "validation", data_dir=fixture_path(), limit=1000).examples
    gold = [list(ex.tags) for ex in examples]
    pred = [tags[1:] + tags[:1] if i % 3 == 0 else tags for i, tags in enumerate(gold)]
    return spec, examples, gold, pred


@pytest.mark.parametrize("side", ["old", "new"])
def test_conll_f1(benchmark, conll, side):
    """old: seqeval.metrics.f1_score (the reference library); new: the harness's conlleval port."""
    seqeval = pytest.importorskip("seqeval.metrics")
    _, _, gold, pred = conll
    benchmark.group = f"NER F1, {len(gold)} CoNLL-2003 validation sentences"
    benchmark.extra_info.update(pair="NER F1: conlleval port vs seqeval", side=side)
    if side == "old":
        f1 = benchmark(lambda: 100 * seqeval.f1_score(gold, pred))
    else:
        f1 = benchmark(lambda: ner.conlleval(gold, pred)["f1"])
    assert f1 == pytest.approx(100 * seqeval.f1_score(gold, pred), abs=1e-6)


def test_score_predictions_conll(benchmark, conll):
    """All of ``benchmark score`` for NER after reading: validation, conlleval, per type, strict F1."""
    spec, examples, _, pred = conll
    preds = {ex.id: tags for ex, tags in zip(examples, pred, strict=True)}
    benchmark.group = "score_predictions"
    result = benchmark(lambda: score_predictions(spec, examples, preds))
    assert 0 < result["score"] < 100


def test_score_predictions_squad(benchmark):
    spec = get_task("squad")
    examples = load_examples(
        spec, "validation", data_dir=fixture_path(), data_file="dev-v1.1-sample.json"
    ).examples
    preds = gold_as_predictions(examples)
    for ex in examples[::4]:
        preds[ex.id] = ex.context[:20]
    benchmark.group = "score_predictions"
    result = benchmark(lambda: score_predictions(spec, examples, preds))
    official = squad.evaluate({ex.id: list(ex.answers) for ex in examples}, preds)
    assert result["metrics"]["f1"] == pytest.approx(official["f1"]) and 0 < result["score"] < 100
