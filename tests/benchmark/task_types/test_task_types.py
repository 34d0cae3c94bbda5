"""Generic checks over every registered task type and every registered task (discovered, not a pinned list): the
strategy of each task's type answers every question the harness asks, gold predictions score perfectly through
its scorers, its shape check and --allow-missing policy hold, and a new type is one registration away."""

from __future__ import annotations

import textwrap

import pytest
import torch

from benchmark import task_types
from benchmark.errors import BenchmarkError
from benchmark.features import Collator, Feature
from benchmark.scoring import gold_as_predictions, score_predictions
from benchmark.task_types.sequence import ClassificationType
from benchmark.tasks import registry
from benchmark.tasks.metric_names import registered_metrics
from tests.benchmark.task_types.test_unchanged_outputs import _synthetic_examples

TYPES = task_types.names()
SPECS = registry.all_tasks()
LEAVES = [(spec.name, spec) for spec in SPECS if not spec.subtasks] + [
    (f"{spec.name}/{sub.name}", sub) for spec in SPECS for sub in spec.subtasks
]
PERFECT = {"pearson": 100.0, "spearmanr": 100.0}


def test_builtin_types_are_registered():
    assert set(TYPES) >= {"classification", "regression", "token_classification", "extractive_qa"}


@pytest.mark.parametrize("name", TYPES)
def test_type_knows_its_head(name):
    impl = task_types.get(name)
    assert impl.name == name
    assert impl.auto_model_class().__name__ == impl.auto_class
    assert impl.head_supported("bert") and impl.head_suffix.startswith("For")
    assert not impl.head_supported("no-such-model-type")


def test_unknown_type_is_one_line():
    with pytest.raises(BenchmarkError, match=r"task_type 'nope' is not one of .*classification") as err:
        task_types.get("nope")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("name", "spec"), LEAVES, ids=[n for n, _ in LEAVES])
def test_every_task_has_a_registered_type_and_scorer(name, spec):
    impl = task_types.get(spec.task_type)
    assert impl.scorers(spec), f"{name}: no scorer registered for it"
    assert set(spec.metrics) <= registered_metrics(spec)
    assert impl.num_labels(spec) >= 1


@pytest.mark.parametrize(("name", "spec"), LEAVES, ids=[n for n, _ in LEAVES])
def test_gold_predictions_are_valid_and_score_perfectly(name, spec):
    impl = task_types.get(spec.task_type)
    examples = _synthetic_examples(spec)
    gold = gold_as_predictions(examples)
    for ex in examples:
        assert impl.example_class is type(ex) and task_types.for_example(ex).example_class is type(ex)
        assert not impl.gold_missing(ex)
        assert impl.shape_problem(spec, ex, gold[ex.id]) is None
        assert impl.shape_problem(spec, ex, {"not": "a prediction"})
    result = score_predictions(spec, examples, gold)
    assert result["score"] == pytest.approx(PERFECT.get(spec.primary_metric, 100.0))
    for metric in spec.metrics:
        assert result["metrics"][metric] is not None


@pytest.mark.parametrize(("name", "spec"), LEAVES, ids=[n for n, _ in LEAVES])
def test_allow_missing_follows_the_type(name, spec):
    impl = task_types.get(spec.task_type)
    examples = _synthetic_examples(spec)
    gold = gold_as_predictions(examples)
    del gold[examples[0].id]
    if impl.allows_missing:
        result = score_predictions(spec, examples, gold, allow_missing=True)
        assert result["missing"] == 1 and result["score"] < 100.0
    else:
        with pytest.raises(BenchmarkError, match="no official score for a missing prediction"):
            score_predictions(spec, examples, gold, allow_missing=True)


@pytest.mark.parametrize(("name", "spec"), LEAVES, ids=[n for n, _ in LEAVES])
def test_collated_labels_have_one_row_per_feature(name, spec):
    impl = task_types.get(spec.task_type)
    examples = _synthetic_examples(spec)[:2]
    labels = {
        "token_classification": lambda ex: [-100, *range(len(ex.tokens))][:4],
        "extractive_qa": lambda ex: (1, 2),
    }.get(spec.task_type, lambda ex: 0)
    features = [Feature(i, [5, 6, 7, 8], label=labels(ex)) for i, ex in enumerate(examples)]
    batch = Collator(0, task_type=spec.task_type)(features)
    own = impl.collate_labels(features, 4)
    assert own and set(own) <= set(batch)
    for key, tensor in own.items():
        assert tensor.shape[0] == len(features) and torch.equal(batch[key], tensor)


# ----------------------------------------------------------------------------- a new type is one registration


class _FakeChoice(ClassificationType):
    """A stand-in for a new type (e.g. multiple choice), defined and registered here and nowhere else."""

    name = "fake_choice"

    def collate_labels(self, features, width):
        return {"labels": torch.tensor([int(f.label) for f in features]), "fake": torch.ones(len(features))}


FAKE_YAML = """\
name: fake_task
description: A task of a type registered by the test alone.
version: "1"
task_type: fake_choice
context: short
max_length: 64
local: {format: glue_tsv, files: {validation: dev.tsv}, columns: {text: a, label: b}}
fields: {id_format: "{split}-{index}", text: a, label: b}
label_names: [neg, pos]
metrics: [accuracy, matthews_correlation]
primary_metric: matthews_correlation
eval_splits: [validation]
train_split: null
"""


@pytest.fixture
def fake_type():
    task_types.register(_FakeChoice)
    yield task_types.get("fake_choice")
    task_types.unregister("fake_choice")
    registry.set_include_paths([])


def test_a_new_type_is_one_registered_class(fake_type, tmp_path):
    (tmp_path / "fake_task.yaml").write_text(textwrap.dedent(FAKE_YAML))
    (spec,) = registry.set_include_paths([tmp_path])
    assert spec.task_type == "fake_choice" and "fake_choice" in task_types.names()
    examples = fake_type.rows_to_examples(
        spec, "validation", [{"a": "x", "b": "pos"}, {"a": "y", "b": "neg"}]
    )
    batch = Collator(0, task_type="fake_choice")([Feature(0, [1, 2], label=1), Feature(1, [3], label=0)])
    assert batch["fake"].tolist() == [1.0, 1.0] and batch["labels"].tolist() == [1, 0]
    result = score_predictions(spec, examples, gold_as_predictions(examples))
    assert result["metrics"] == {"accuracy": 100.0, "matthews_correlation": 100.0}
    assert result["score"] == 100.0


def test_an_unregistered_type_is_refused_naming_the_file(tmp_path):
    (tmp_path / "fake_task.yaml").write_text(textwrap.dedent(FAKE_YAML))
    with pytest.raises(BenchmarkError, match=r"fake_task\.yaml: task_type 'fake_choice' is not one of"):
        registry.set_include_paths([tmp_path])
