"""Hostile files and flags for ``benchmark run`` / ``speed`` through the real command line (issue 22): a FIFO
where a data file goes, a ``--config`` with duplicate keys or an alias bomb, a model folder whose ``config.json``
is 100,000 levels deep or holds a 5,000-digit number, a 1,000-character ``--model-name``, a batch size that
cannot be allocated, and a model with NaN weights. Each is one line on stderr, no traceback, a non-zero exit,
and (except where a model had to run to find it) within seconds; nothing is written for a refused task.

The data are the tiny CoNLL files of :mod:`tests.benchmark.commands.test_run_bad_input`, the model a tiny BERT.
"""

from __future__ import annotations

import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.benchmark.commands.test_run_bad_input import POSITIONS, _cli, _run_argv, _write_data
from tiny_models import build_tiny_model

DEEP = 100_000
BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)  # 10**9 strings once expanded; 10 lines of YAML


def _fifo_testb(tmp: Path, model: Path):
    data = _write_data(tmp / "data")
    (data / "conll2003" / "eng.testb").unlink()
    os.mkfifo(data / "conll2003" / "eng.testb")  # nobody ever writes to it: reading it would wait for ever
    return _run_argv(model, data, tmp / "runs"), [str(data / "conll2003" / "eng.testb"), "FIFO"]


def _config(text: str, *names: str):
    def make(tmp: Path, model: Path):
        (tmp / "run.yaml").write_text(text)
        argv = _run_argv(model, _write_data(tmp / "data"), tmp / "runs", "--config", tmp / "run.yaml")
        return argv, [f"--config {tmp / 'run.yaml'}", *names]

    return make


def _model_config(change):
    def make(tmp: Path, model: Path):
        shutil.copytree(model, tmp / "model")
        (tmp / "model" / "config.json").write_text(change((tmp / "model" / "config.json").read_text()))
        return _run_argv(tmp / "model", _write_data(tmp / "data"), tmp / "runs"), [
            str(tmp / "model" / "config.json")
        ]

    return make


def _model_name(tmp: Path, model: Path):
    argv = _run_argv(model, _write_data(tmp / "data"), tmp / "runs", "--model-name", "m" * 1000)
    return argv, ["--model-name", "1,000 characters"]


CASES = {
    "fifo_as_eng_testb": _fifo_testb,
    "config_duplicate_key": _config("epochs: 1\nlearning_rate: 1e-4\nepochs: 3\n", "duplicate key 'epochs'"),
    "config_alias_bomb_under_a_known_key": _config(BOMB + "epochs: *i\n", "aliases"),
    "config_json_100000_deep": _model_config(lambda text: "[" * DEEP + "]" * DEEP),
    "config_json_5000_digits": _model_config(
        lambda text: text.replace('"hidden_size": 32', '"hidden_size": ' + "9" * 5000)
    ),
    "model_name_1000_characters": _model_name,
}


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return build_tiny_model("bert", tmp_path_factory.mktemp("models") / "bert", max_length=POSITIONS)


@pytest.fixture(scope="module")
def outcomes(model, tmp_path_factory):
    jobs = {case: make(tmp_path_factory.mktemp(case), model) for case, make in CASES.items()}

    def timed(argv):
        start = time.perf_counter()
        return _cli(argv), time.perf_counter() - start

    with ThreadPoolExecutor(max_workers=min(3, os.cpu_count() or 1)) as pool:
        done = {case: pool.submit(timed, argv) for case, (argv, _) in jobs.items()}
    return {case: (*done[case].result(), names) for case, (_, names) in jobs.items()}


def test_the_tiny_model_config_has_the_field_the_cases_change(model):
    assert '"hidden_size": 32' in (model / "config.json").read_text()


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_input_is_one_line_in_seconds(case, outcomes):
    done, seconds, names = outcomes[case]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, (done.returncode, done.stderr[-3000:])
    assert lines[0].startswith("benchmark: error: ") and len(lines[0]) < 600, lines[0][:600]
    for name in names:
        assert name in lines[0], (name, lines[0])
    assert seconds < 120  # a Python start with torch; the FIFO never blocks, the bomb is never expanded


def test_speed_with_a_batch_that_cannot_be_allocated_is_one_line(model, tmp_path):
    done = _cli(
        ["speed", "--model", model, "--lengths", "16", "--batch-size", str(10**12), "--device", "cpu"]
    )
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    lines = [
        line for line in done.stderr.splitlines() if line.startswith("benchmark")
    ]  # (weight-loading bars)
    assert done.returncode == 1 and len(lines) == 1, done.stderr[-3000:]
    assert "out of memory on cpu (batch 1,000,000,000,000 x 16 tokens)" in lines[0]
    assert "smaller --batch-size" in lines[0]


def _nan_copy(model: Path, to: Path) -> Path:
    from transformers import AutoModel

    shutil.copytree(model, to)
    net = AutoModel.from_pretrained(to)
    return _fill_nan(net, to)


def _fill_nan(net, to: Path) -> Path:
    import torch

    with torch.no_grad():
        for param in net.parameters():
            param.fill_(float("nan"))
    net.save_pretrained(to)
    return to


@pytest.mark.parametrize("extra", [[], ["--eval-only"]], ids=["trained", "eval-only"])
def test_a_model_with_nan_weights_is_an_error_and_writes_nothing(model, tmp_path, extra):
    """The Trainer's NaN filter used to record such a run as ``final_loss: 0.0`` with exit 0."""
    if extra:  # --eval-only needs a token-classification head with the task's labels
        from transformers import AutoModelForTokenClassification

        from benchmark.tasks.registry import get_task

        labels = get_task("conll2003").label_names
        head = build_tiny_model(
            "bert", tmp_path / "head", task="token_classification", num_labels=len(labels),
            id2label=dict(enumerate(labels)), max_length=POSITIONS,
        )  # fmt: skip
        nan = _fill_nan(AutoModelForTokenClassification.from_pretrained(head), head)
    else:
        nan = _nan_copy(model, tmp_path / "nan")
    done = _cli(_run_argv(nan, _write_data(tmp_path / "data"), tmp_path / "runs", *extra))
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("benchmark: error: ")]
    assert done.returncode == 2 and len(errors) == 1, done.stderr[-3000:]
    assert "NaN" in errors[0] or "nan" in errors[0]
    assert "no result written" in errors[0]
    assert not list((tmp_path / "runs").rglob("conll2003*"))  # no result, no predictions
    if not extra:
        assert "training diverged" in errors[0]


def test_nan_check_sees_every_output_tensor():
    import torch
    from transformers.modeling_outputs import TokenClassifierOutput

    from benchmark.errors import DivergedError
    from benchmark.evaluate.predict import _refuse_nan

    _refuse_nan(TokenClassifierOutput(logits=torch.zeros(2, 3)))
    with pytest.raises(DivergedError):
        _refuse_nan(TokenClassifierOutput(logits=torch.tensor([[0.0, float("nan")]])))
