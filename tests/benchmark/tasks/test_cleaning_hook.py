"""``cleaning: module.function`` in a task YAML: the user's own cleaning rules, beside the YAML, drop rows when a
split loads (train is read too, for rules across splits) and their counts go into the loading stats; a missing
or broken one is a one-line error naming the YAML. Specs without the key keep their hash, and arXiv's
``fields.cleaning: mteb`` still names the built-in MTEB rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.data.loader import load_examples
from benchmark.errors import BenchmarkError
from benchmark.tasks import registry

YAML = """\
name: my_clean
description: A user's sentiment data with their own cleaning rules.
version: "1"
task_type: classification
context: short
max_length: 64
local:
  files: {train: train.jsonl, validation: dev.jsonl}
reader: my_reader.read
cleaning: my_rules.FUNCTION
fields: {id_format: "{split}-{index}", text: text, label: label}
label_names: [neg, pos]
metrics: [accuracy]
primary_metric: accuracy
eval_splits: [validation]
"""
RULES = """\
def clean(splits):
    kept, counts = {}, {}
    train = {row["text"] for row in splits.get("train", [])}
    for split, rows in splits.items():
        empty = [r for r in rows if not r["text"].strip()]
        rows = [r for r in rows if r["text"].strip()]
        leaked = [r for r in rows if split != "train" and r["text"] in train]
        kept[split] = [r for r in rows if split == "train" or r["text"] not in train]
        counts[split] = {"empty": len(empty), "leak": len(leaked), "kept": len(kept[split])}
    return kept, counts


def broken(splits):
    raise KeyError("text")


def wrong_shape(splits):
    return list(splits)
"""
TRAIN = [{"text": "good", "label": "pos"}, {"text": " ", "label": "neg"}, {"text": "bad", "label": "neg"}]
DEV = [{"text": "good", "label": "pos"}, {"text": "", "label": "neg"}, {"text": "fine", "label": "pos"}]


def _folder(user_task_folder, function: str = "clean", rules: str | None = RULES) -> tuple[Path, Path]:
    files = {"train.jsonl": TRAIN, "dev.jsonl": DEV}
    return user_task_folder(YAML.replace("FUNCTION", function), {"my_rules": rules}, files)


def test_cleaning_drops_rows_across_splits_and_records_the_counts(user_task_folder):
    tasks, data = _folder(user_task_folder)
    registry.set_include_paths([tasks])
    spec = registry.get_task("my_clean")
    loaded = load_examples(spec, "validation", data_dir=data)
    assert [ex.text for ex in loaded.examples] == ["fine"]  # "" is empty, "good" is also in train
    assert loaded.stats["cleaning"] == "my_rules.clean"
    assert loaded.stats["removed"]["validation"] == {"empty": 1, "leak": 1, "kept": 1}
    assert loaded.source["leak_reference"]["files"]  # the train file the leak rule read
    train = load_examples(spec, "train", data_dir=data)
    assert [ex.text for ex in train.examples] == ["good", "bad"]
    assert train.stats["removed"] == {"train": {"empty": 1, "leak": 0, "kept": 2}}


def test_the_cleaning_module_is_hashed_and_arxiv_keeps_its_hash(user_task_folder):
    tasks, _ = _folder(user_task_folder)
    registry.set_include_paths([tasks])
    before = registry.get_task("my_clean").spec_hash()
    (tasks / "my_rules.py").write_text(RULES + "\n# a changed rule\n")
    registry.set_include_paths([tasks])
    assert registry.get_task("my_clean").spec_hash() != before
    arxiv = registry.get_task("arxiv")  # its hash is pinned in tests/benchmark/tasks/test_registry.py
    assert arxiv.cleaning is None and arxiv.fields["cleaning"] == "mteb"


@pytest.mark.parametrize(
    ("function", "rules", "message"),
    [
        (
            "missing",
            RULES,
            "cleaning 'my_rules.missing' cannot be imported: module 'my_rules' has no 'missing'",
        ),
        ("clean", None, "cleaning 'my_rules.clean' cannot be imported: no module 'my_rules'"),
    ],
)
def test_a_missing_cleaning_is_one_line_naming_the_yaml_when_loaded(
    user_task_folder, function, rules, message
):
    tasks, _ = _folder(user_task_folder, function, rules)
    with pytest.raises(BenchmarkError) as err:
        registry.set_include_paths([tasks])
    text = str(err.value)
    assert "my_clean.yaml" in text and message in text and "\n" not in text


@pytest.mark.parametrize(
    ("function", "message"),
    [("broken", "failed (KeyError: 'text')"), ("wrong_shape", "must return ({split: kept rows}")],
)
def test_a_failing_cleaning_is_one_line_naming_the_yaml_when_run(user_task_folder, function, message):
    tasks, data = _folder(user_task_folder, function)
    registry.set_include_paths([tasks])
    with pytest.raises(BenchmarkError) as err:
        load_examples(registry.get_task("my_clean"), "validation", data_dir=data)
    text = str(err.value)
    assert "my_clean.yaml" in text and "cleaning my_rules." in text and message in text and "\n" not in text
