"""The multiple-choice (SWAG-style) task type, one module (``benchmark/task_types/choice.py``): its examples are
encoded as ``[N, length]``, collated as ``[batch, N, width]``, predicted as an index and scored by accuracy, and a
user task of that type runs end to end (``benchmark run``) into a result that re-scores from its predictions. The
generic code it needed to ask the type about (padding, batching, timing) keeps the other types' behaviour."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from benchmark import task_types
from benchmark.cli import main
from benchmark.core.encoded import Feature
from benchmark.core.record import ResultRecord
from benchmark.data.loader import load_examples
from benchmark.encode.features import Collator, encode
from benchmark.errors import BenchmarkError
from benchmark.evaluate.scoring import gold_as_predictions, read_predictions, score_predictions
from benchmark.leaderboard.rescore import verify
from benchmark.results.files import load_result, predictions_path
from benchmark.task_types.choice import ChoiceExample, ChoiceFeature
from benchmark.tasks import registry
from benchmark.timing.inference import timing_batches
from benchmark.timing.protocol import _batch_size_and_len, count_tokens
from tiny_models import build_tiny_model

torch.set_num_threads(1)

SWAG_YAML = """\
name: swag_tiny
description: SWAG-style grounded commonsense inference on a made-up sample (which of 4 endings comes next).
version: "1"
task_type: multiple_choice
context: short
max_length: 64
local:
  format: jsonl
  files: {train: train.jsonl, validation: val.jsonl}
fields: {id_format: "{split}-{index}", context: sent1, question: sent2, endings: "ending0,ending1,ending2,ending3",
         label: label}
metrics: [accuracy]
primary_metric: accuracy
train_split: train
eval_splits: [validation]
budget: {epochs: 1, learning_rate: 5.0e-5, batch_size: 2}
"""

# Made-up SWAG-style rows: sent1 is the context, sent2 starts every ending, label the index of the right one.
SCENES = [
    ("A man is standing in a kitchen holding a knife.", "He",
     ["slices the tomato on the board.", "flies over the house.", "sings to the moon.", "swims in the sink."], 0),
    ("The girl kicks the ball across the field.", "Her teammate",
     ["eats the grass.", "stops the ball with his foot.", "reads a book.", "paints the goal."], 1),
    ("A woman pours water into a glass.", "She",
     ["throws the glass at a car.", "climbs into the glass.", "drinks the water slowly.", "burns the water."], 2),
    ("Two boys ride their bikes down a hill.", "They",
     ["turn into birds.", "eat the bikes.", "sleep on the road.", "reach the bottom and stop."], 3),
    ("A chef cracks eggs into a bowl.", "The chef",
     ["whisks the eggs with a fork.", "plants the bowl.", "mails the eggs.", "wears the bowl."], 0),
    ("A dog runs after a thrown stick.", "The dog",
     ["writes a letter.", "brings the stick back.", "drives away.", "turns off the lights."], 1),
]  # fmt: skip


def _row(scene: tuple[str, str, list[str], int], label: object = None) -> dict:
    sent1, sent2, endings, gold = scene
    row = {"sent1": sent1, "sent2": sent2, "label": gold if label is None else label}
    row.update({f"ending{i}": e for i, e in enumerate(endings)})
    return row


@pytest.fixture
def swag_tiny(tmp_path) -> tuple[Path, Path]:
    """(a user task folder holding ``swag_tiny.yaml``, the ``--data-dir`` with its JSONL files)."""
    tasks = tmp_path / "my_tasks"
    tasks.mkdir()
    (tasks / "swag_tiny.yaml").write_text(SWAG_YAML)
    data = tmp_path / "data" / "swag_tiny"
    data.mkdir(parents=True)
    (data / "train.jsonl").write_text("".join(json.dumps(_row(s)) + "\n" for s in SCENES * 2))
    (data / "val.jsonl").write_text("".join(json.dumps(_row(s)) + "\n" for s in SCENES))
    yield tasks, data.parent
    registry.set_include_paths([])


@pytest.fixture
def spec(swag_tiny):
    tasks, _ = swag_tiny
    (spec,) = registry.set_include_paths([tasks])
    return spec


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> Path:
    return build_tiny_model("bert", tmp_path_factory.mktemp("tiny") / "tiny", max_length=64)


@pytest.fixture(scope="module")
def tokenizer(tiny_bert):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_bert)


IMPL = task_types.get("multiple_choice")
NO_GLOBAL = SimpleNamespace(global_attention=False)


def _examples(spec, data_dir: Path, split: str = "validation") -> list[ChoiceExample]:
    return load_examples(spec, split, data_dir=data_dir).examples


# ----------------------------------------------------------------------------------------------- rows, examples


def test_the_type_is_registered_with_its_head_and_scorer(spec):
    assert "multiple_choice" in task_types.names() and spec.task_type == "multiple_choice"
    assert IMPL.auto_model_class().__name__ == "AutoModelForMultipleChoice"
    assert IMPL.head_supported("bert") and not IMPL.head_supported("no-such-model")
    assert [s.name for s in IMPL.scorers(spec)] == ["multiple_choice_accuracy"]


def test_rows_become_examples(spec, swag_tiny):
    examples = _examples(spec, swag_tiny[1])
    assert [ex.label for ex in examples] == [0, 1, 2, 3, 0, 1]
    first = examples[0]
    assert first.id == "validation-0" and first.context == SCENES[0][0] and first.question == "He"
    assert first.endings == tuple(SCENES[0][2])
    # one field holding the list of endings (HellaSwag), a digit-string label, -1 for an unlabelled row
    hella = SimpleNamespace(
        name="h", fields={"id_format": "{split}-{index}", "context": "ctx", "endings": "endings"}
    )
    rows = [
        {"ctx": "a", "endings": ["x", "y", "z"], "label": "2"},
        {"ctx": "b", "endings": ["x", "y"], "label": -1},
    ]
    got = IMPL.rows_to_examples(hella, "test", rows)
    assert [(ex.endings, ex.label) for ex in got] == [(("x", "y", "z"), 2), (("x", "y"), None)]
    assert IMPL.gold_missing(got[1]) and not IMPL.gold_missing(got[0])
    with pytest.raises(BenchmarkError, match=r"test-0: label 3 is not the index of one of its 3 endings"):
        IMPL.rows_to_examples(hella, "test", [{"ctx": "a", "endings": ["x", "y", "z"], "label": 3}])
    with pytest.raises(BenchmarkError, match="not a list of endings"):
        IMPL.rows_to_examples(hella, "test", [{"ctx": "a", "endings": "x y", "label": 0}])


def test_a_spec_without_endings_is_refused_naming_the_file(tmp_path):
    (tmp_path / "swag_tiny.yaml").write_text(
        SWAG_YAML.replace('endings: "ending0,ending1,ending2,ending3",', "")
    )
    with pytest.raises(BenchmarkError, match=r"swag_tiny\.yaml: .*fields\.endings is required"):
        registry.set_include_paths([tmp_path])


# ----------------------------------------------------------------------------------------------- encode, collate


def test_each_example_is_n_pairs_truncated_not_windowed(spec, swag_tiny, tokenizer):
    examples = _examples(spec, swag_tiny[1])
    encoded = encode(examples, tokenizer, spec, NO_GLOBAL, 64)
    assert len(encoded.features) == len(examples)  # one feature per example: no windows
    assert encoded.stats == {"examples": 6, "windows": 6, "windowed_examples": 0, "truncated_examples": 0}
    for i, (ex, f) in enumerate(zip(examples, encoded.features, strict=True)):
        assert isinstance(f, ChoiceFeature) and f.example_index == i and f.label == ex.label
        assert len(f.choices) == 4 and f.input_ids == []
        # every pair starts with the same context segment (up to the first [SEP]) and differs in its ending
        sep = tokenizer.sep_token_id
        contexts = {tuple(c.input_ids[: c.input_ids.index(sep) + 1]) for c in f.choices}
        assert len(contexts) == 1
        assert len({tuple(c.input_ids) for c in f.choices}) == 4
        assert IMPL.feature_width(f) == len(f) == max(len(c) for c in f.choices)
        assert IMPL.feature_tokens(f) == sum(len(c) for c in f.choices) > IMPL.feature_width(f)
    short = encode(examples, tokenizer, spec, NO_GLOBAL, 12)
    assert short.stats["truncated_examples"] == 6 and short.stats["windows"] == 6
    assert all(len(c) <= 12 for f in short.features for c in f.choices)
    unlabelled = encode(examples, tokenizer, spec, NO_GLOBAL, 64, with_labels=False)
    assert all(f.label is None for f in unlabelled.features)


def test_collation_is_batch_by_choices_by_width(spec, swag_tiny, tokenizer):
    encoded = encode(_examples(spec, swag_tiny[1]), tokenizer, spec, NO_GLOBAL, 64)
    features = encoded.features[:3]
    collator = Collator(tokenizer, task_type="multiple_choice")
    batch = collator(features)
    width = max(IMPL.feature_width(f) for f in features)
    assert batch["input_ids"].shape == (3, 4, width) and batch["attention_mask"].shape == (3, 4, width)
    assert batch["labels"].tolist() == [0, 1, 2]
    for r, f in enumerate(features):
        for c, choice in enumerate(f.choices):
            assert batch["input_ids"][r, c, : len(choice)].tolist() == choice.input_ids
            assert int(batch["attention_mask"][r, c].sum()) == len(choice)
    assert IMPL.batch_width(batch) == width
    assert "labels" not in collator(features, with_labels=False)
    fixed = Collator(tokenizer, task_type="multiple_choice", pad_to=width + 5)(features)
    assert fixed["input_ids"].shape == (3, 4, width + 5)
    real, positions = count_tokens(batch)
    assert real == sum(IMPL.feature_tokens(f) for f in features) and positions == 3 * 4 * width
    assert _batch_size_and_len(batch, 0) == (
        3,
        width,
    )  # timing: examples, and the sequence is the last dimension
    # the dry run counts what the model computes over: every choice of every feature at the batch's width
    from transformers import BertConfig

    from benchmark.run.dryrun import _positions, batch_positions

    sequences = [IMPL.feature_sequences(f) for f in features]
    assert sequences == [4, 4, 4]
    lengths = [IMPL.feature_width(f) for f in features]
    assert batch_positions(BertConfig(), [[0, 1, 2]], lengths, None, sequences) == [positions]
    assert _positions(BertConfig(), batch["input_ids"]) == positions


def test_left_padding_pads_every_choice_on_the_left(spec, swag_tiny, tokenizer, tiny_bert):
    from transformers import AutoTokenizer

    left = AutoTokenizer.from_pretrained(tiny_bert)
    left.padding_side = "left"
    features = encode(_examples(spec, swag_tiny[1]), tokenizer, spec, NO_GLOBAL, 64).features[:2]
    batch = Collator(left, task_type="multiple_choice")(features)
    width = batch["input_ids"].shape[-1]
    for r, f in enumerate(features):
        for c, choice in enumerate(f.choices):
            assert batch["input_ids"][r, c, width - len(choice) :].tolist() == choice.input_ids
            assert batch["attention_mask"][r, c].tolist() == [0] * (width - len(choice)) + [1] * len(choice)
    assert batch["labels"].tolist() == [0, 1]


def test_collation_refuses_what_it_cannot_shape(tokenizer):
    plain = Feature(0, [2, 5, 3], label=0)
    two = ChoiceFeature(0, [], label=0, choices=(Feature(0, [2, 5, 3]), Feature(0, [2, 6, 3])))
    three = ChoiceFeature(1, [], label=1, choices=(*two.choices, Feature(1, [2, 7, 3])))
    with pytest.raises(BenchmarkError, match=r"mixes examples of \[2, 3\] endings"):
        Collator(tokenizer, task_type="multiple_choice")([two, three])
    with pytest.raises(BenchmarkError, match="got a Feature, not a ChoiceFeature"):
        Collator(tokenizer, task_type="multiple_choice")([plain])
    with pytest.raises(BenchmarkError, match="Nystromformer"):
        Collator(tokenizer, task_type="multiple_choice", pad_to=8, additive_mask=True)([two])


def test_timing_batches_keep_the_choices(spec, swag_tiny, tokenizer):
    encoded = encode(_examples(spec, swag_tiny[1]), tokenizer, spec, NO_GLOBAL, 64)
    batches = timing_batches(encoded, Collator(tokenizer, task_type="multiple_choice"), 64)
    assert [tuple(b["input_ids"].shape) for b in batches] == [(6, 4, 64)]  # padded to the bucket, capped at L
    assert _batch_size_and_len(batches[0], 0) == (6, 64)


# ----------------------------------------------------------------------------------------------- merge, score


def test_merge_takes_the_argmax_and_scores_accuracy(spec, swag_tiny, tokenizer):
    examples = _examples(spec, swag_tiny[1])
    encoded = encode(examples, tokenizer, spec, NO_GLOBAL, 64)
    wanted = [0, 1, 2, 0, 0, 3]  # 4 of 6 right (examples 3 and 5 wrong)
    outputs = IMPL.extract_outputs(
        SimpleNamespace(logits=torch.nn.functional.one_hot(torch.tensor(wanted), 4).float()), encoded.features
    )
    assert [tuple(o.shape) for o in outputs] == [(4,)] * 6
    preds = IMPL.merge(spec, examples, encoded, outputs)
    assert preds == {ex.id: w for ex, w in zip(examples, wanted, strict=True)}
    result = score_predictions(spec, examples, preds)
    assert result["metrics"] == {"accuracy": pytest.approx(100 * 4 / 6)}
    assert result["score"] == pytest.approx(100 * 4 / 6)
    assert score_predictions(spec, examples, gold_as_predictions(examples))["score"] == 100.0
    assert [IMPL.gold_fingerprint(ex) for ex in examples] == [0, 1, 2, 3, 0, 1]


@pytest.mark.parametrize("bad", [4, -1, "1", True, 1.0, None, [1]])
def test_a_prediction_must_be_an_index_in_range(spec, swag_tiny, bad):
    examples = _examples(spec, swag_tiny[1])
    assert IMPL.shape_problem(spec, examples[0], 3) is None
    assert (
        IMPL.shape_problem(spec, examples[0], bad)
        == "are not the index (an int) of one of the example's endings"
    )
    preds = {**gold_as_predictions(examples), examples[0].id: bad}
    with pytest.raises(BenchmarkError, match="1 swag_tiny predictions are not the index"):
        score_predictions(spec, examples, preds)


# ----------------------------------------------------------------------------------------------- end to end


def test_run_end_to_end_rescores_from_its_predictions(swag_tiny, tiny_bert, tmp_path):
    tasks, data = swag_tiny
    model = tiny_bert
    out = tmp_path / "runs"
    argv = ["run", "--model", str(model), "--include-path", str(tasks), "--tasks", "swag_tiny", "--data-dir",
            str(data), "--output", str(out), "--epochs", "1", "--limit", "5", "--device", "cpu"]  # fmt: skip
    assert main(argv) == 0
    result = out / "tiny" / "swag_tiny.json"
    record = load_result(result)
    assert record["task"]["name"] == "swag_tiny" and record["n_examples"]["validation"] == 5
    assert record["training"]["swag_tiny"]["steps"] == 3  # 5 examples (--limit), batches of 2
    assert record["training"]["swag_tiny"]["padding_ratio"] >= 1.0
    assert record["windows"]["validation"]["windows"] == 5
    assert 1.0 <= record["windows"]["validation"]["padding_ratio"] < 4.0  # real tokens are every choice's
    timing = record["timing"]
    assert [s[:2] for s in timing["protocol"]["batch_shapes"]] == [[5, 4]]
    assert timing["batch_size"] == 5 and timing["seq_len"] == timing["protocol"]["batch_shapes"][0][2]
    assert list(timing["attention_paths"]) == [str(timing["seq_len"])]

    preds = read_predictions(predictions_path(result, "validation"))
    gold = [s[3] for s in SCENES[:5]]
    assert sorted(preds) == [f"validation-{i}" for i in range(5)]
    assert all(type(p) is int and 0 <= p < 4 for p in preds.values())
    accuracy = 100 * sum(preds[f"validation-{i}"] == g for i, g in enumerate(gold)) / 5
    assert record["metrics"]["validation"]["metrics"]["accuracy"] == pytest.approx(accuracy)
    assert record["metrics"]["validation"]["score"] == pytest.approx(accuracy)
    # the leaderboard's re-scoring accepts the recorded metrics, and refuses them once one prediction changes; it
    # re-scores gold the spec pins (gold: in the YAML, not hashed), whose identity is the type's gold fingerprint
    whole = load_examples(registry.get_task("swag_tiny"), "validation", data_dir=data)
    pin = whole.source["gold_sha256"]
    (tasks / "swag_tiny.yaml").write_text(
        SWAG_YAML + f"gold:\n  validation:\n    - {{gold_sha256: {pin}, regime: sample, name: made-up}}\n"
    )
    (spec,) = registry.set_include_paths([tasks])
    assert spec.spec_hash() == record["task"]["spec_hash"]
    verify(spec, ResultRecord.from_dict(record), "validation", preds, data)
    flipped = {**preds, "validation-0": (preds["validation-0"] + 1) % 4}
    with pytest.raises(BenchmarkError, match="metrics do not match the saved predictions"):
        verify(spec, ResultRecord.from_dict(record), "validation", flipped, data)


# ----------------------------------------------------------------------------------------------- other types


@pytest.mark.parametrize("name", ["classification", "regression", "token_classification", "extractive_qa"])
def test_one_sequence_types_keep_their_shape(name, tokenizer):
    """The shape questions the generic code now asks answer as before for the one-sequence types: a feature's
    width and tokens are its length, collation is the Collator's own padding into ``[batch, width]``."""
    impl = task_types.get(name)
    features = [
        Feature(0, [2, 5, 6, 3], token_type_ids=[0, 0, 0, 0]),
        Feature(1, [2, 7, 3], token_type_ids=[0, 0, 0]),
    ]
    assert [impl.feature_width(f) for f in features] == [impl.feature_tokens(f) for f in features] == [4, 3]
    assert [impl.feature_sequences(f) for f in features] == [1, 1]
    collator = Collator(tokenizer, task_type=name)
    batch, padded = collator(features, with_labels=False), collator.pad(features, with_labels=False)
    assert batch.keys() == padded.keys() == {"input_ids", "token_type_ids", "attention_mask"}
    assert all(torch.equal(batch[k], padded[k]) for k in batch)
    assert batch["input_ids"].shape == (2, 4) and impl.batch_width(batch) == 4
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 1, 0]]
