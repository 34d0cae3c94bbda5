"""The task YAML key ``classifier_pooling``: checked when the spec loads, hashed only when set (arXiv asks for
``mean``; the other tasks keep the hash they had)."""

from __future__ import annotations

import pytest

from benchmark.errors import BenchmarkError
from benchmark.tasks.registry import TASKS_DIR, get_task, load_spec_file


def _spec_with(tmp_path, name: str, old: str, new: str):
    text = (TASKS_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / f"{name}.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return load_spec_file(path)


def test_arxiv_asks_for_mean_pooling_and_the_key_is_hashed(tmp_path):
    assert get_task("arxiv").classifier_pooling == "mean"
    cls = _spec_with(tmp_path, "arxiv", "classifier_pooling: mean", "classifier_pooling: cls")
    assert cls.classifier_pooling == "cls" and cls.spec_hash() != get_task("arxiv").spec_hash()
    assert get_task("conll2003").classifier_pooling is None


@pytest.mark.parametrize(
    ("name", "old", "new", "message"),
    [
        ("arxiv", "classifier_pooling: mean", "classifier_pooling: max", "classifier_pooling must be 'cls' or 'mean'"),
        ("arxiv", "classifier_pooling: mean", "classifier_pooling: 3", "classifier_pooling must be a text"),
        ("conll2003", "primary_metric: f1", "primary_metric: f1\nclassifier_pooling: mean",
         "classifier_pooling applies to classification and regression tasks only"),
    ],
)  # fmt: skip
def test_bad_pooling_is_one_line(tmp_path, name, old, new, message):
    with pytest.raises(BenchmarkError) as err:
        _spec_with(tmp_path, name, old, new)
    assert message in str(err.value) and "\n" not in str(err.value)
