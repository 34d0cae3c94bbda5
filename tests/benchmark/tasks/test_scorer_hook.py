"""``scorer: module.function`` in a task YAML: the user's own scorer, beside the YAML, replaces the type's scorers
(called with the gold examples and the predictions); a missing or broken one is a one-line error naming the YAML.
Specs without the key keep their hash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.data.loader import load_examples
from benchmark.errors import BenchmarkError
from benchmark.evaluate.scoring import gold_as_predictions, score_predictions, write_predictions
from benchmark.tasks import registry

YAML = """\
name: my_cls
description: A user's sentiment data, scored by their own scorer.
version: "1"
task_type: classification
context: short
max_length: 64
local:
  files: {validation: dev.jsonl}
reader: my_reader.read
scorer: my_metrics.FUNCTION
fields: {id_format: "{split}-{index}", text: text, label: label}
label_names: [neg, pos]
metrics: [hits, accuracy]
primary_metric: hits
eval_splits: [validation]
train_split: null
"""
METRICS = """\
def score(examples, predictions):
    hits = sum(predictions.get(ex.id) == ex.label for ex in examples)
    return {"hits": 100.0 * hits / len(examples), "accuracy": 50.0, "n": len(examples)}


def lacking(examples, predictions):
    return {"accuracy": 1.0}


def broken(examples, predictions):
    raise ZeroDivisionError("division by zero\\nsecond line")


def not_a_dict(examples, predictions):
    return [1, 2]
"""
ROWS = [{"text": "good", "label": "pos"}, {"text": "bad", "label": "neg"}, {"text": "fine", "label": "pos"}]


def _folder(user_task_folder, function: str = "score", metrics: str | None = METRICS) -> tuple[Path, Path]:
    return user_task_folder(YAML.replace("FUNCTION", function), {"my_metrics": metrics}, {"dev.jsonl": ROWS})


def _score(user_task_folder, function: str, preds_of=gold_as_predictions) -> dict:
    tasks, data = _folder(user_task_folder, function)
    (spec,) = registry.set_include_paths([tasks])
    examples = load_examples(spec, "validation", data_dir=data).examples
    return score_predictions(spec, examples, preds_of(examples))


def test_the_scorer_hook_gives_the_metrics(user_task_folder):
    result = _score(user_task_folder, "score")
    assert result["metrics"] == {"hits": 100.0, "accuracy": 50.0, "n": 3}
    assert result["primary_metric"] == "hits" and result["score"] == 100.0


def test_the_scorer_sees_the_predictions(user_task_folder):
    result = _score(user_task_folder, "score", lambda exs: {ex.id: "neg" for ex in exs})
    assert result["score"] == pytest.approx(100 / 3)


def test_benchmark_score_uses_it(tmp_path, user_task_folder, capsys):
    tasks, data = _folder(user_task_folder)
    preds = write_predictions(tmp_path / "p.jsonl", {f"validation-{i}": "pos" for i in range(3)})
    argv = ["score", "--task", "my_cls", "--predictions", str(preds), "--include-path", str(tasks)]
    assert main([*argv, "--data-dir", str(data), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["metrics"]["hits"] == pytest.approx(200 / 3)


def test_editing_the_scorer_changes_the_spec_hash(user_task_folder):
    tasks, _ = _folder(user_task_folder)
    (first,) = registry.set_include_paths([tasks])
    assert first.scorer == "my_metrics.score" and first.scorer_sha256
    (tasks / "my_metrics.py").write_text(METRICS + "\n# edited\n")
    again = registry.load_spec_file(tasks / "my_cls.yaml")
    assert again.spec_hash() != first.spec_hash()


def test_a_missing_scorer_module_is_one_line_naming_the_yaml(user_task_folder):
    tasks, _ = _folder(user_task_folder, metrics=None)
    with pytest.raises(BenchmarkError) as err:
        registry.set_include_paths([tasks])
    message = str(err.value)
    assert "my_cls.yaml" in message and "scorer 'my_metrics.score' cannot be imported" in message
    assert "\n" not in message


def test_a_missing_scorer_function_is_one_line(user_task_folder):
    tasks, _ = _folder(user_task_folder, "nope")
    with pytest.raises(BenchmarkError, match=r"my_cls\.yaml: scorer 'my_metrics\.nope' cannot be imported"):
        registry.set_include_paths([tasks])


@pytest.mark.parametrize(
    ("function", "problem"),
    [
        ("broken", r"scorer my_metrics\.broken failed \(ZeroDivisionError: division by zero\)"),
        ("not_a_dict", r"scorer my_metrics\.not_a_dict returned a list, not a mapping of metrics"),
        ("lacking", r"scorer my_metrics\.lacking gave no hits"),
    ],
)
def test_a_broken_scorer_is_one_line_naming_the_yaml(user_task_folder, function, problem):
    with pytest.raises(BenchmarkError, match=problem) as err:
        _score(user_task_folder, function)
    assert "my_cls.yaml" in str(err.value) and "\n" not in str(err.value)


def test_the_cli_reports_a_broken_scorer_in_one_line(tmp_path, user_task_folder, capsys):
    tasks, data = _folder(user_task_folder, "broken")
    preds = write_predictions(tmp_path / "p.jsonl", {f"validation-{i}": "pos" for i in range(3)})
    argv = ["score", "--task", "my_cls", "--predictions", str(preds), "--include-path", str(tasks)]
    assert main([*argv, "--data-dir", str(data)]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "my_cls.yaml" in err and "Traceback" not in err


def test_package_specs_have_no_scorer_and_hash_without_the_key():
    from benchmark.core.task_spec import _hashed

    for spec in registry.all_tasks():
        assert spec.scorer is None and spec.scorer_sha256 is None
        hashed = _hashed(spec.to_dict())
        assert "scorer" not in hashed and "scorer_sha256" not in hashed
