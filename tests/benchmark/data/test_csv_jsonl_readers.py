"""The built-in ``csv`` and ``jsonl`` readers (``local.format``): a user task of either format loads its files
into examples with no code of its own, records the files it read, and a malformed file is one line naming it."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from benchmark.data.loader import check_available, load_examples
from benchmark.errors import BenchmarkError
from benchmark.tasks import registry

YAML = """\
name: reviews
description: Short product reviews, positive or negative.
version: "1"
task_type: classification
context: short
max_length: 64
local:
  format: FORMAT
  files: {train: train.EXT, validation: dev.EXT}
fields: {id_format: "{split}-{index}", text: review, label: stars}
label_names: [neg, pos]
metrics: [accuracy, f1]
primary_metric: accuracy
"""
ROWS = [
    {"review": "Great, works as promised", "stars": "pos"},
    {"review": 'Broke after a day, "sturdy" it is not', "stars": "neg"},
    {"review": "Fine, I guess", "stars": "1"},  # a label id works too
]


@pytest.fixture(autouse=True)
def _forget_user_tasks():
    yield
    registry.set_include_paths([])


def _task(tmp_path: Path, fmt: str, ext: str, dev_text: str, yaml_text: str = YAML) -> tuple[object, Path]:
    tasks = tmp_path / "tasks"
    tasks.mkdir(exist_ok=True)
    (tasks / "reviews.yaml").write_text(yaml_text.replace("FORMAT", fmt).replace("EXT", ext))
    data = tmp_path / "data"
    (data / "reviews").mkdir(parents=True, exist_ok=True)
    (data / "reviews" / f"dev.{ext}").write_text(dev_text, encoding="utf-8")
    (data / "reviews" / f"train.{ext}").write_text(dev_text, encoding="utf-8")
    (spec,) = registry.set_include_paths([tasks])
    return spec, data


def _csv_text(rows: list[dict]) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["review", "stars"])
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def test_csv_rows_become_examples(tmp_path):
    spec, data = _task(tmp_path, "csv", "csv", _csv_text(ROWS))
    loaded = load_examples(spec, "validation", data_dir=data)
    assert [ex.id for ex in loaded.examples] == ["validation-0", "validation-1", "validation-2"]
    assert [ex.text for ex in loaded.examples] == [r["review"] for r in ROWS]  # quoted commas and quotes kept
    assert [ex.label for ex in loaded.examples] == ["pos", "neg", "pos"]
    assert loaded.source["format"] == "csv" and loaded.source["files"][0]["path"] == "dev.csv"
    check_available(spec, ["train", "validation"], data)  # read whole before any model loads


def test_csv_without_a_header_names_columns_by_number(tmp_path):
    yaml_text = YAML.replace("  format: FORMAT\n", "  format: FORMAT\n  header: false\n").replace(
        "text: review, label: stars", 'text: "1", label: "0"'
    )
    spec, data = _task(tmp_path, "csv", "csv", "pos,Lovely\nneg,Awful\n", yaml_text)
    examples = load_examples(spec, "validation", data_dir=data).examples
    assert [(ex.text, ex.label) for ex in examples] == [("Lovely", "pos"), ("Awful", "neg")]


def test_jsonl_rows_become_examples(tmp_path):
    rows = [{**row, "extra": [1, 2]} for row in ROWS]
    text = "\n".join(json.dumps(r) for r in rows) + "\n\n"  # a trailing blank line is skipped
    spec, data = _task(tmp_path, "jsonl", "jsonl", text)
    loaded = load_examples(spec, "validation", data_dir=data)
    assert [(ex.text, ex.label) for ex in loaded.examples] == [
        ("Great, works as promised", "pos"),
        ('Broke after a day, "sturdy" it is not', "neg"),
        ("Fine, I guess", "pos"),
    ]
    assert loaded.source["format"] == "jsonl" and len(loaded.source["gold_sha256"]) == 64


@pytest.mark.parametrize(
    ("fmt", "text", "message"),
    [
        ("csv", "review,stars\ngood,pos,extra\n", r"dev\.csv:2: 3 fields, expected 2"),
        ("csv", "review,review\na,b\n", r"dev\.csv:1: the header line names a column twice"),
        ("csv", "", r"dev\.csv: empty file; expected a CSV file"),
        (
            "csv",
            "text,stars\ngood,pos\n",
            r"reviews validation: local\.format csv: row 0 of .* lacks field\(s\) review",
        ),
        ("jsonl", '{"review": "a", "stars": "pos"}\n[1, 2]\n', r"dev\.jsonl:2: a JSON list, not an object"),
        ("jsonl", '{"review": "a", "stars": "pos"}\n{"review": \n', r"dev\.jsonl:2"),
        ("jsonl", "\n\n", r"dev\.jsonl: empty file; expected a JSON Lines file"),
        ("jsonl", '{"review": "a", "stars": "meh"}\n', r"label 'meh' is not one of neg, pos"),
    ],
)
def test_a_malformed_file_is_one_line_naming_it(tmp_path, fmt, text, message):
    spec, data = _task(tmp_path, fmt, fmt, text)
    with pytest.raises(BenchmarkError, match=message) as info:
        load_examples(spec, "validation", data_dir=data)
    assert "\n" not in str(info.value)


def test_a_binary_file_is_refused_in_one_line(tmp_path):
    spec, data = _task(tmp_path, "csv", "csv", "")
    (data / "reviews" / "dev.csv").write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(BenchmarkError, match=r"dev\.csv: not a UTF-8 text file .* expected a CSV file"):
        load_examples(spec, "validation", data_dir=data)


def test_jsonl_rows_may_hold_lists_for_token_classification(tmp_path):
    """A token-classification task reads JSON Lines rows with lists (tokens, tags) just as well."""
    yaml_text = textwrap.dedent("""\
        name: tagged
        description: Tagged words.
        version: "1"
        task_type: token_classification
        context: short
        max_length: 64
        local: {format: jsonl, files: {validation: dev.jsonl}}
        fields: {id_format: "{doc}", tokens: words, tags: tags}
        label_names: [O, B-X, I-X]
        metrics: [f1]
        primary_metric: f1
        eval_splits: [validation]
        train_split: null
        """)
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "tagged.yaml").write_text(yaml_text)
    (tmp_path / "data" / "tagged").mkdir(parents=True)
    rows = [{"doc": "d1", "words": ["a", "b", "c"], "tags": ["B-X", "I-X", "O"]}]
    (tmp_path / "data" / "tagged" / "dev.jsonl").write_text(json.dumps(rows[0]) + "\n")
    (spec,) = registry.set_include_paths([tmp_path / "tasks"])
    (example,) = load_examples(spec, "validation", data_dir=tmp_path / "data").examples
    assert example.id == "d1" and example.tokens == ("a", "b", "c") and example.tags == ("B-X", "I-X", "O")
