"""One plug-in surface (:mod:`benchmark.core.plugins`): readers, QA layouts, scorers and aggregations registered by name
and named in a task's YAML, for built-in and user tasks alike. An unknown name is one line naming the file, the
key and the known names; a suite of sub-tasks other than GLUE runs end to end with ``aggregate: mean``."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
import torch

from benchmark.cli import main
from benchmark.core import plugins
from benchmark.data.loader import load_examples
from benchmark.errors import BenchmarkError
from benchmark.evaluate.scoring import gold_as_predictions, score_predictions
from benchmark.results.files import load_result, predictions_path
from benchmark.tasks import registry
from tiny_models import build_tiny_model

torch.set_num_threads(1)

NER_YAML = """\
name: my_tags
description: Tagged words.
version: "1"
task_type: token_classification
context: short
max_length: 64
local: {format: conll, files: {validation: dev.conll}}
fields: {id_format: "{split}-{index}", tokens: tokens, tags: ner_tags}
label_names: [O, B-X, I-X]
metrics: [f1]
primary_metric: f1
eval_splits: [validation]
train_split: null
"""
QA_YAML = """\
name: my_qa
description: Questions.
version: "1"
task_type: extractive_qa
context: short
max_length: 64
local: {format: squad_json, files: {validation: dev.json}}
fields: {layout: squad, id_format: "{id}"}
metrics: [f1]
primary_metric: f1
eval_splits: [validation]
train_split: null
"""
# A suite of two sub-tasks, neither GLUE's: one read from CSV, one from JSON Lines, combined by their mean.
SUITE_YAML = """\
name: mini_suite
description: Two small classification sub-tasks scored as one number.
version: "1"
task_type: classification
context: short
max_length: 64
local: {format: csv}
metrics: [mean]
primary_metric: mean
aggregate: mean
train_split: train
eval_splits: [validation]
budget: {epochs: 1, batch_size: 4}
subtasks:
  - name: polarity
    task_type: classification
    local: {files: {train: polarity/train.csv, validation: polarity/dev.csv}}
    fields: {id_format: "polarity-{index}", text: sentence, label: label}
    label_names: [neg, pos]
    metrics: [accuracy, f1]
    primary_metric: accuracy
  - name: topic
    task_type: classification
    local: {format: jsonl, files: {train: topic/train.jsonl, validation: topic/dev.jsonl}}
    fields: {id_format: "{task}-{id}", text: text, label: topic}
    label_names: [sport, politics, science]
    metrics: [macro_f1, accuracy]
    primary_metric: macro_f1
"""
POLARITY = [("good fun", "pos"), ("dull and slow", "neg"), ("loved it", "pos"), ("bad acting", "neg")]
TOPICS = [("the match ended in a draw", "sport"), ("parliament voted today", "politics"),
          ("cells divide by mitosis", "science"), ("the striker scored twice", "sport"),
          ("a new tax law passed", "politics"), ("stars fuse hydrogen", "science")]  # fmt: skip


@pytest.fixture(autouse=True)
def _forget_user_tasks():
    yield
    registry.set_include_paths([])


def _cli_error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(text)
    return folder


# --------------------------------------------------------------------------------------------- unknown names
@pytest.mark.parametrize(
    ("yaml_text", "edit", "message"),
    [
        (NER_YAML, ("format: conll", "format: parquet"),
         "local.format 'parquet' is not one of conll, csv, glue_tsv, hotpotqa_json, hub_folder, jsonl, squad_json, "
         "triviaqa_rc (or give reader: module.function)"),
        (NER_YAML, ("primary_metric: f1", "primary_metric: f1\nscorer: seqeval"),
         "scorer 'seqeval' is not one of "),
        (NER_YAML, ("primary_metric: f1", "primary_metric: f1\nscorer: accuracy"),
         "scorer 'accuracy' scores classification tasks, not token_classification"),
        (QA_YAML, ("layout: squad", "layout: natural_questions"),
         "fields.layout 'natural_questions' is not one of hotpotqa, squad, triviaqa"),
        (SUITE_YAML, ("aggregate: mean", "aggregate: median"), "aggregate 'median' is not one of mean"),
        (SUITE_YAML, ("aggregate: mean\n", ""), "a task with subtasks needs aggregate: NAME (one of mean)"),
        (SUITE_YAML, ("metrics: [mean]\nprimary_metric: mean", "metrics: [glue_score]\nprimary_metric: glue_score"),
         "metrics ['glue_score'] are not reported for this task (registered: mean)"),
        (NER_YAML, ("primary_metric: f1", "primary_metric: f1\naggregate: mean"),
         "aggregate applies to a task with subtasks only"),
        (SUITE_YAML, ('id_format: "{task}-{id}"', 'id_format: "{id}"'),
         "subtask topic: fields.id_format must start with 'topic-' or '{task}-'"),
    ],
)  # fmt: skip
def test_an_unknown_name_is_one_line_naming_the_file_the_key_and_the_choices(
    tmp_path, capsys, yaml_text, edit, message
):
    name = re.search(r"name: (\w+)", yaml_text).group(1)
    folder = _write(tmp_path / "tasks", name, yaml_text.replace(*edit))
    assert edit[0] in yaml_text
    err = _cli_error(capsys, ["tasks", "--include-path", str(folder)])
    assert message in err and str(folder / f"{name}.yaml") in err


def test_every_registry_lists_the_built_ins():
    assert set(plugins.READERS.names()) >= {"conll", "csv", "jsonl", "glue_tsv", "hub_folder", "squad_json"}
    assert plugins.QA_LAYOUTS.names() == ("hotpotqa", "squad", "triviaqa")
    assert {"conlleval", "strict", "accuracy", "f1", "pearson", "squad"} <= set(plugins.SCORERS.names())
    assert {a.reports for a in plugins.AGGREGATIONS.get("mean")} == {
        frozenset({"mean"}),
        frozenset({"glue_score"}),
    }


def test_glue_takes_its_aggregation_from_its_yaml():
    glue = registry.get_task("glue")
    assert glue.aggregate == "mean" and glue.metrics == ("glue_score",)
    (chosen,) = [a for a in plugins.aggregations(glue) if a.reports & set(glue.metrics)]
    assert chosen.reports == {"glue_score"} and chosen.combine.__module__ == "benchmark.metrics.glue"


# --------------------------------------------------------------------------------------------- by name
def test_a_registered_scorer_named_by_the_yaml_replaces_the_types(tmp_path):
    text = NER_YAML.replace(
        "metrics: [f1]\nprimary_metric: f1", "metrics: [strict_f1]\nprimary_metric: strict_f1"
    )
    folder = _write(tmp_path / "tasks", "my_tags", text + "scorer: strict\n")
    data = tmp_path / "data" / "my_tags"
    data.mkdir(parents=True)
    (data / "dev.conll").write_text("a B-X\nb I-X\nc O\n\nd O\n")
    (spec,) = registry.set_include_paths([folder])
    assert spec.scorer == "strict" and spec.scorer_sha256 is None
    examples = load_examples(spec, "validation", data_dir=data.parent).examples
    result = score_predictions(spec, examples, {ex.id: ["O"] * len(ex.tokens) for ex in examples})
    assert (
        result["metrics"] == {"strict_f1": 0.0} and result["score"] == 0.0
    )  # the strict scorer's keys alone
    assert score_predictions(spec, examples, gold_as_predictions(examples))["score"] == 100.0


def test_a_reader_registered_in_process_is_named_by_local_format(tmp_path):
    @plugins.register_reader("pipes", preflight=True)
    def read_pipes(spec, path, role, task_dir):
        rows = [line.split("|") for line in path.read_text().splitlines() if line]
        return plugins.ReadResult(
            [{"tokens": w.split(), "ner_tags": t.split()} for w, t in rows], {"pipes": 1}
        )

    try:
        folder = _write(tmp_path / "tasks", "my_tags", NER_YAML.replace("format: conll", "format: pipes"))
        data = tmp_path / "data" / "my_tags"
        data.mkdir(parents=True)
        (data / "dev.conll").write_text("x y|B-X I-X\nz|O\n")
        (spec,) = registry.set_include_paths([folder])
        loaded = load_examples(spec, "validation", data_dir=data.parent)
        assert [ex.tags for ex in loaded.examples] == [("B-X", "I-X"), ("O",)]
        assert loaded.source["format"] == "pipes" and loaded.source["pipes"] == 1
    finally:
        plugins.READERS.remove("pipes")
    with pytest.raises(BenchmarkError, match=r"local\.format 'pipes' is not one of"):
        registry.load_spec_file(folder / "my_tags.yaml")


# --------------------------------------------------------------------------------------------- a suite
@pytest.fixture
def mini_suite(tmp_path) -> tuple[Path, Path]:
    folder = _write(tmp_path / "tasks", "mini_suite", SUITE_YAML)
    data = tmp_path / "data" / "mini_suite"
    for split, rows in (("train", POLARITY * 2), ("dev", POLARITY)):
        path = data / "polarity" / f"{split}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("sentence,label\n" + "".join(f"{t},{lab}\n" for t, lab in rows))
    for split, rows in (("train", TOPICS * 2), ("dev", TOPICS)):
        path = data / "topic" / f"{split}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "".join(json.dumps({"id": i, "text": t, "topic": c}) + "\n" for i, (t, c) in enumerate(rows))
        )
    return folder, data.parent


def test_a_suite_other_than_glue_scores_its_mean(mini_suite):
    folder, data = mini_suite
    (spec,) = registry.set_include_paths([folder])
    assert [s.suite for s in spec.subtasks] == ["mini_suite", "mini_suite"]  # files under DIR/mini_suite/
    loaded = load_examples(spec, "validation", data_dir=data)
    assert loaded.stats["subtasks"] == {"polarity": len(POLARITY), "topic": len(TOPICS)}
    preds = gold_as_predictions(loaded.examples)
    preds["topic-0"] = "politics"  # one topic wrong
    result = score_predictions(spec, loaded.examples, preds)
    per = result["metrics"]["subtasks"]
    assert per["polarity"]["accuracy"] == 100.0 and per["polarity"]["f1"] == 100.0
    assert per["topic"]["accuracy"] == pytest.approx(500 / 6)
    assert result["score"] == pytest.approx((100.0 + per["topic"]["macro_f1"]) / 2) and result["score"] < 100
    only_polarity = [ex for ex in loaded.examples if ex.id.startswith("polarity-")]
    partial = score_predictions(spec, only_polarity, gold_as_predictions(only_polarity))
    assert partial["score"] is None and "missing subtask(s) ['topic']" in partial["metrics"]["mean_missing"]


def test_a_suite_other_than_glue_runs_end_to_end(mini_suite, tmp_path, capsys):
    folder, data = mini_suite
    model = build_tiny_model("bert", tmp_path / "tiny")
    out = tmp_path / "runs"
    argv = ["run", "--model", str(model), "--include-path", str(folder), "--tasks", "mini_suite", "--data-dir",
            str(data), "--output", str(out), "--epochs", "1", "--limit", "4", "--device", "cpu"]  # fmt: skip
    assert main(argv) == 0
    record = load_result(out / "tiny" / "mini_suite.json")
    scored = record["metrics"]["validation"]
    per = scored["metrics"]["subtasks"]
    assert set(per) == {"polarity", "topic"} and scored["metrics"]["subtask_examples"] == {
        "polarity": 4,
        "topic": 4,
    }
    assert scored["primary_metric"] == "mean"
    assert scored["score"] == pytest.approx((per["polarity"]["accuracy"] + per["topic"]["macro_f1"]) / 2)
    assert set(record["training"]) == {"polarity", "topic"}  # each sub-task fine-tuned its own copy
    with gzip.open(predictions_path(out / "tiny" / "mini_suite.json", "validation"), "rt") as fh:
        ids = [json.loads(line)["id"] for line in fh]
    assert sorted(ids) == sorted([f"polarity-{i}" for i in range(4)] + [f"topic-{i}" for i in range(4)])
    # benchmark score re-scores the predictions file to the same number
    capsys.readouterr()
    argv = ["score", "--include-path", str(folder), "--task", "mini_suite", "--predictions",
            str(predictions_path(out / "tiny" / "mini_suite.json", "validation")), "--data-dir", str(data),
            "--limit", "4", "--json"]  # fmt: skip
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["score"] == pytest.approx(scored["score"])
