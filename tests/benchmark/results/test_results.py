"""Result files (schema, atomic deterministic writes, ownership of an output dir) and budget resolution."""

from __future__ import annotations

import json

import pytest

from benchmark.core.record import SCHEMA
from benchmark.errors import BenchmarkError
from benchmark.results.files import (
    claim_output_dir,
    is_up_to_date,
    load_result,
    model_slug,
    predictions_bytes,
    predictions_path,
    read_predictions,
    typed_result,
    validate_result,
    write_result,
)
from benchmark.run.config import default_budget, read_config, resolve_budget


def _record(**changes):
    record = {
        "schema": SCHEMA,
        "model": {"model_id": "m", "revision": "sha256:ab", "model_type": "bert", "n_params": 10},
        "harness": {"version": "0.1.0", "git_commit": None},
        "task": {"name": "squad", "version": "1.0", "spec_hash": "h1", "task_type": "extractive_qa",
                 "primary_metric": "f1"},
        "dataset": {}, "splits": ["validation"], "n_examples": {"validation": 2},
        "metrics": {"validation": {"metrics": {"f1": 50.0}, "primary_metric": "f1", "score": 50.0}},
        "windows": {}, "attention": {}, "timing": None,
        "hardware": {}, "seed": 42, "config": {}, "config_hash": "c1",
        "started_at": "2026-01-01T00:00:00Z", "finished_at": "2026-01-01T00:01:00Z",
    }  # fmt: skip
    record.update(changes)
    return record


def test_write_then_load_roundtrip(tmp_path):
    path = tmp_path / "m" / "squad.json"
    preds = {"validation": {"q1": "Paris", "q2": ""}}
    write_result(path, typed_result(_record(), path), preds)
    assert load_result(path)["task"]["name"] == "squad"
    assert read_predictions(predictions_path(path, "validation")) == preds["validation"]
    assert not list(path.parent.glob("*.tmp")), "no temporary files left behind"


def test_predictions_gzip_is_deterministic():
    preds = {"a": ["B-PER", "O"], "b": ["O"]}
    assert predictions_bytes(preds) == predictions_bytes(dict(preds))
    assert predictions_bytes(preds)[4:8] == b"\x00\x00\x00\x00"  # gzip mtime field


def test_validate_reports_missing_and_wrong_keys():
    assert validate_result(_record()) == []
    bad = _record(seed="42")
    del bad["timing"]
    del bad["task"]["spec_hash"]
    problems = validate_result(bad)
    assert "missing key 'timing'" in problems
    assert "seed must be an integer, got '42'" in problems
    assert "missing key 'task.spec_hash'" in problems
    assert validate_result(_record(schema="other/v9"))


def test_load_result_errors_are_one_line(tmp_path):
    broken = tmp_path / "x.json"
    broken.write_text("{")
    with pytest.raises(BenchmarkError, match=r"x\.json: invalid JSON"):
        load_result(broken)
    broken.write_text(json.dumps({"schema": SCHEMA}))
    with pytest.raises(BenchmarkError, match="not a valid"):
        load_result(broken)


def test_up_to_date_needs_same_spec_config_and_revision(tmp_path):
    path = tmp_path / "squad.json"
    write_result(path, typed_result(_record(), path), {"validation": {"q": "x"}})
    assert is_up_to_date(path, spec_hash="h1", cfg_hash="c1", revision="sha256:ab")
    assert not is_up_to_date(path, spec_hash="h2", cfg_hash="c1", revision="sha256:ab")
    assert not is_up_to_date(path, spec_hash="h1", cfg_hash="c2", revision="sha256:ab")
    assert not is_up_to_date(path, spec_hash="h1", cfg_hash="c1", revision="sha256:cd")
    predictions_path(path, "validation").unlink()
    assert not is_up_to_date(path, spec_hash="h1", cfg_hash="c1", revision="sha256:ab")


def test_output_dir_of_another_model_is_refused(tmp_path):
    claim_output_dir(tmp_path, "tiny", {"model_id": "/a/tiny", "revision": "sha256:1"})
    claim_output_dir(tmp_path, "tiny", {"model_id": "/a/tiny", "revision": "sha256:1"})  # same model: fine
    with pytest.raises(BenchmarkError, match="another model"):
        claim_output_dir(tmp_path, "tiny", {"model_id": "/b/tiny", "revision": "sha256:2"})
    with pytest.raises(BenchmarkError, match="pass its parent"):
        claim_output_dir(tmp_path / "tiny", "other", {"model_id": "/c/other", "revision": "sha256:3"})


def test_model_slug():
    assert model_slug("org/my-model") == "org__my-model"
    assert model_slug("/tmp/some dir/bert tiny") == "bert-tiny"


def test_budget_precedence_defaults_file_flags(tmp_path):
    assert resolve_budget("glue").epochs == default_budget("glue").epochs == 3
    assert resolve_budget("glue").learning_rate == 2e-5
    cfg_file = tmp_path / "budget.yaml"
    cfg_file.write_text("epochs: 2\ntasks:\n  squad: {epochs: 1, max_train_examples: 100}\n")
    cfg = read_config(cfg_file)
    assert resolve_budget("glue", config=cfg).epochs == 2
    squad = resolve_budget("squad", config=cfg)
    assert (squad.epochs, squad.max_train_examples) == (1, 100)
    assert resolve_budget("squad", config=cfg, overrides={"epochs": 4, "learning_rate": None}).epochs == 4


def test_budget_config_errors(tmp_path):
    bad = tmp_path / "b.yaml"
    bad.write_text("epoch: 2\n")
    with pytest.raises(BenchmarkError, match="unknown budget key"):
        read_config(bad)
    bad.write_text("batch_size: 0\n")
    with pytest.raises(BenchmarkError, match="batch_size must be a positive integer"):
        read_config(bad)
    with pytest.raises(BenchmarkError, match="no such file"):
        read_config(tmp_path / "missing.yaml")


def test_non_finite_numbers_are_never_written(tmp_path):
    path = tmp_path / "m" / "squad.json"
    diverged = _record(
        training={"squad": {"loss": float("nan")}}, metrics={"validation": {"score": float("inf")}}
    )
    with pytest.raises(BenchmarkError, match=r"metrics\.validation\.score=inf.*training\.squad\.loss=nan"):
        typed_result(diverged, path)
    with pytest.raises(BenchmarkError, match="prediction of 'q2' is not a finite number"):
        write_result(path, typed_result(_record(), path), {"validation": {"q1": 1.0, "q2": float("nan")}})
    assert not path.parent.exists() or not list(path.parent.iterdir())  # nothing half-written


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("learning_rate: .nan\n", "learning_rate must be a finite number >= 0, got nan"),
        ("tasks:\n  squad: {epochs: .inf}\n", r"tasks\.squad: epochs must be a finite number >= 0, got inf"),
        ('{"warmup_ratio": Infinity}', "warmup_ratio must be a finite number"),
        ("epochs: true\n", "epochs must be a number >= 0, got True"),
        ("batch_size: true\n", "batch_size must be a positive integer, got True"),
        (
            "tasks:\n  glue/rte: {epochs: 1}\n",
            r"tasks\.glue/rte: unknown task; known tasks: arxiv, conll2003",
        ),
        ("tasks:\n  squad: [1, 2]\n", r"tasks\.squad must map budget keys to values"),
    ],
)
def test_budget_config_refuses_non_finite_and_unknown(tmp_path, text, match):
    bad = tmp_path / ("b.json" if text.startswith("{") else "b.yaml")
    bad.write_text(text)
    with pytest.raises(BenchmarkError, match=match):
        read_config(bad)


def test_budget_flags_are_named_and_finite(tmp_path):
    for flag, value in (("learning_rate", float("nan")), ("epochs", float("inf")), ("batch_size", 0)):
        with pytest.raises(BenchmarkError, match=f"^--{flag.replace('_', '-')} must be"):
            resolve_budget("squad", overrides={flag: value})
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"\xff\xfe\x00budget")
    with pytest.raises(BenchmarkError, match=r"b\.yaml: not a text file \(byte 0 is not UTF-8\)"):
        read_config(binary)


def test_a_hostile_result_file_is_one_error_not_a_recursion(tmp_path):
    deep = tmp_path / "conll2003.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(BenchmarkError, match="nested deeper than"):
        load_result(deep)
    # a rerun of `benchmark run` finds it in its output folder: not up to date, so the task runs again
    assert is_up_to_date(deep, spec_hash="x", cfg_hash="y", revision="z") is False
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(BenchmarkError, match="not an object"):
        load_result(tmp_path / "list.json")
    with pytest.raises(BenchmarkError, match="no such result file"):
        load_result(tmp_path / "absent.json")
