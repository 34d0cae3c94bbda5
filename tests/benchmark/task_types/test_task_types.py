"""Generic checks over every registered task type and every registered task (discovered, not a pinned list): the
strategy of each task's type answers every question the harness asks, gold predictions score perfectly through
its scorers, its shape check and --allow-missing policy hold, and a new type is one registration away."""

from __future__ import annotations

import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from benchmark import task_types
from benchmark.core.encoded import Feature
from benchmark.encode.features import Collator, encode, input_length
from benchmark.errors import BenchmarkError
from benchmark.evaluate.predict import run_model
from benchmark.evaluate.scoring import gold_as_predictions, score_predictions
from benchmark.model.modeling import load_model_for_task
from benchmark.task_types.sequence import ClassificationType
from benchmark.tasks import registry
from benchmark.tasks.metric_names import registered_metrics
from tests.benchmark.task_types.test_unchanged_outputs import _synthetic_examples
from tiny_models import build_tiny_model, build_tokenizer

TYPES = task_types.names()
SPECS = registry.all_tasks()
LEAVES = [(spec.name, spec) for spec in SPECS if not spec.subtasks] + [
    (f"{spec.name}/{sub.name}", sub) for spec in SPECS for sub in spec.subtasks
]
PERFECT = {"pearson": 100.0, "spearmanr": 100.0}
# The types whose feature is one sequence, padded into one batch row (the default TaskType.collate); a type with a
# shape of its own (multiple choice: [batch, choices, width]) tests its collation in its own test file.
ONE_SEQUENCE = [t for t in TYPES if type(task_types.get(t)).collate is task_types.TaskType.collate]


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
    batch = Collator(build_tokenizer("bert"), task_type=spec.task_type)(features)
    own = impl.collate_labels(features, 4)
    assert own and set(own) <= set(batch)
    for key, tensor in own.items():
        assert tensor.shape[0] == len(features) and torch.equal(batch[key], tensor)


def _label_for(task_type: str, n: int, r: int):
    """A label of ``task_type`` for an ``n``-token feature (row ``r``), every position distinct."""
    return {
        "token_classification": lambda: [-100, *(r + i for i in range(n - 2)), -100],
        "extractive_qa": lambda: (1, n - 2),
        "regression": lambda: float(r),
    }.get(task_type, lambda: r % 2)()


@pytest.mark.parametrize("kind", ["bert", "longformer"])
def test_the_tokenizer_pads_with_its_own_pad_token_and_types(kind):
    tok = build_tokenizer(kind)
    types = [[0, 0, 1], [0, 1, 1, 1, 1]] if kind == "bert" else [None, None]
    features = [Feature(0, [7, 8, 9], types[0], (0,)), Feature(1, [7, 8, 9, 10, 11], types[1], (0,))]
    batch = Collator(tok, task_type="classification", pad_to=8)(features)
    pad = tok.pad_token_id
    assert pad == (0 if kind == "bert" else 1)
    assert batch["input_ids"].tolist() == [[7, 8, 9] + [pad] * 5, [7, 8, 9, 10, 11] + [pad] * 3]
    assert batch["attention_mask"].tolist() == [[1] * 3 + [0] * 5, [1] * 5 + [0] * 3]
    assert batch["global_attention_mask"].tolist() == [[1] + [0] * 7] * 2
    assert ("token_type_ids" in batch) == (kind == "bert")
    if kind == "bert":
        assert batch["token_type_ids"].tolist() == [[0, 0, 1] + [0] * 5, [0, 1, 1, 1, 1] + [0] * 3]
    assert all(t.dtype == torch.long for t in batch.values())
    additive = Collator(tok, pad_to=8, additive_mask=True)(features, with_labels=False)["attention_mask"]
    assert additive.shape == (2, 1, 1, 8) and additive.dtype == torch.float32
    assert (additive[:, 0, 0] == 0).tolist() == (batch["attention_mask"] == 1).tolist()


@pytest.mark.parametrize("task_type", ONE_SEQUENCE)
def test_left_padding_moves_labels_global_mask_and_outputs_with_the_tokens(task_type):
    """A tokenizer that pads on the left: the Collator's extras follow the tokens, and the task type reads each
    feature's outputs back from where its tokens are."""
    right, left = build_tokenizer("bert"), build_tokenizer("bert")
    left.padding_side = "left"
    lengths = (4, 7, 5)
    features = [
        Feature(r, list(range(20 + 10 * r, 20 + 10 * r + n)), [0] * n, (0, 2), _label_for(task_type, n, r))
        for r, n in enumerate(lengths)
    ]
    impl = task_types.get(task_type)
    by_side = {t.padding_side: Collator(t, task_type=task_type)(features) for t in (right, left)}
    assert set(by_side) == {"right", "left"}
    width = max(lengths)
    for r, n in enumerate(lengths):
        content = {side: slice(0, n) if side == "right" else slice(width - n, width) for side in by_side}
        pads = {side: slice(n, width) if side == "right" else slice(0, width - n) for side in by_side}
        for side, batch in by_side.items():
            assert batch["input_ids"][r, content[side]].tolist() == features[r].input_ids
            assert set(batch["input_ids"][r, pads[side]].tolist()) <= {right.pad_token_id}
            assert batch["attention_mask"][r, content[side]].tolist() == [1] * n
            assert int(batch["attention_mask"][r].sum()) == n
            glob = batch["global_attention_mask"][r]
            assert glob[content[side]].tolist()[:3] == [1, 0, 1] and int(glob.sum()) == 2
        for key, tensor in by_side["right"].items():
            moved = by_side["left"][key]
            if key in ("start_positions", "end_positions"):  # positions point at the same token
                ids = {side: by_side[side]["input_ids"][r] for side in by_side}
                assert int(moved[r]) == int(tensor[r]) + width - n
                assert ids["left"][int(moved[r])] == ids["right"][int(tensor[r])]
            elif key in ("labels",) and tensor.dim() == 2:  # per-token labels stay on their tokens
                assert moved[r, content["left"]].tolist() == tensor[r, content["right"]].tolist()
                assert set(moved[r, pads["left"]].tolist()) <= {-100}
            elif key == "labels":
                assert moved[r].tolist() == tensor[r].tolist()
    # outputs that echo the input ids at every position come back as the feature's own ids, whichever the side
    for side, batch in by_side.items():
        ids = batch["input_ids"]
        per_token = task_type == "token_classification"  # argmax of one-hot logits = the id
        logits = torch.nn.functional.one_hot(ids, 64).float() if per_token else ids.float()
        output = SimpleNamespace(logits=logits, start_logits=ids.float(), end_logits=ids.float())
        got = impl.extract_outputs(output, features, side)
        for r, f in enumerate(features):
            value = got[r][0] if isinstance(got[r], tuple) else got[r]
            if task_type in ("classification", "regression"):
                assert value.tolist() == ids[r].tolist()  # one output per feature, nothing trimmed
            else:
                assert value.tolist() == f.input_ids


ONE_PER_TYPE = {spec.task_type: spec for _, spec in reversed(LEAVES)}  # the first task of each type


@pytest.fixture(scope="module")
def tiny_longformer(tmp_path_factory) -> Path:
    return build_tiny_model("longformer", tmp_path_factory.mktemp("longformer"), max_length=64, seed=0)


@pytest.mark.parametrize("task_type", ["token_classification", "extractive_qa"])
def test_left_padding_gives_the_same_losses_and_outputs(task_type, tiny_longformer):
    """End to end on a model whose positions ignore the padding (Longformer counts them from the pad token):
    the same training loss and window outputs whichever side the tokenizer pads on. (Per-token heads only:
    a sequence head pools a fixed position, Longformer's the first token, so it needs the padding on the side
    its tokenizer has; a model whose tokenizer pads on the left pools elsewhere, e.g. XLNet the last token.)"""
    spec = ONE_PER_TYPE[task_type]
    model, tokenizer, info = load_model_for_task(str(tiny_longformer), spec)
    examples = _synthetic_examples(spec)
    features = encode(examples, tokenizer, spec, info, input_length(spec, info)).features
    by_length = sorted(features, key=len)
    mixed = by_length[:2] + by_length[-2:]  # a training batch with padding
    assert len(mixed[0]) < len(mixed[-1])
    got = {}
    for side in ("right", "left"):
        tokenizer.padding_side = side
        collator = Collator.for_model(tokenizer, info, spec.task_type)
        with torch.inference_mode():
            loss = model(**collator(mixed)).loss
        outputs, _, _ = run_model(model, info, features, collator, batch_size=3, device=torch.device("cpu"))
        got[side] = (loss, outputs)
    assert torch.allclose(got["left"][0], got["right"][0], atol=1e-5)
    for left, right in zip(got["left"][1], got["right"][1], strict=True):
        for a, b in zip(*((o if isinstance(o, tuple) else (o,)) for o in (left, right)), strict=True):
            assert a.shape == b.shape and torch.allclose(a.float(), b.float(), atol=1e-4)


def test_a_tokenizer_without_a_pad_token_is_one_line():
    tok = build_tokenizer("bert")
    tok.pad_token = None
    assert tok.pad_token_id is None
    with pytest.raises(BenchmarkError, match="has no padding token") as err:
        Collator(tok)
    assert "\n" not in str(err.value)


# ----------------------------------------------------------------------------- a new type is one registration


class _FakeChoice(ClassificationType):
    """A stand-in for a new type (e.g. multiple choice), defined and registered here and nowhere else."""

    name = "fake_choice"

    def collate_labels(self, features, width, padding_side="right"):
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
    batch = Collator(build_tokenizer("bert"), task_type="fake_choice")(
        [Feature(0, [1, 2], label=1), Feature(1, [3], label=0)]
    )
    assert batch["fake"].tolist() == [1.0, 1.0] and batch["labels"].tolist() == [1, 0]
    result = score_predictions(spec, examples, gold_as_predictions(examples))
    assert result["metrics"] == {"accuracy": 100.0, "matthews_correlation": 100.0}
    assert result["score"] == 100.0


def test_an_unregistered_type_is_refused_naming_the_file(tmp_path):
    (tmp_path / "fake_task.yaml").write_text(textwrap.dedent(FAKE_YAML))
    with pytest.raises(BenchmarkError, match=r"fake_task\.yaml: task_type 'fake_choice' is not one of"):
        registry.set_include_paths([tmp_path])
