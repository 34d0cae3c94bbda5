"""``benchmark run`` under ``accelerate launch`` with two real CPU processes (a tiny BERT on the CoNLL-2003 sample).

accelerate 1.15 starts several CPU processes only with its multi-GPU launcher (torchrun under the hood; with
``--device cpu`` the processes train over gloo) or through MPI: ``accelerate launch --cpu --num_processes 2`` runs
ONE process, which the last test pins down. Each launch takes ~10-20 s on 2 cores.
"""

from __future__ import annotations

import gzip
import json
import math
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmark.results.files import load_result, predictions_path
from conftest import CONLL_LINKS, ROOT, link_fixtures, subprocess_env
from tiny_models import build_tiny_model

pytestmark = pytest.mark.fixtures

LIMIT, BATCH = 8, 4
LAUNCH_TIMEOUT_S = 180


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return link_fixtures(tmp_path_factory.mktemp("data"), CONLL_LINKS)


@pytest.fixture(scope="module")
def bert(tmp_path_factory) -> Path:
    return build_tiny_model("bert", tmp_path_factory.mktemp("models") / "bert")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _launch(launcher: list[str], model: Path, data_dir: Path, output: Path) -> subprocess.CompletedProcess:
    """``accelerate launch <launcher> -m benchmark.cli run ...`` in a subprocess, offline, one thread a process,
    on length-grouped batches (sharded whole, so two processes train on the batches one process trains on)."""
    cmd = [
        sys.executable, "-m", "accelerate.commands.launch", *launcher, "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port()),
        "-m", "benchmark.cli", "run", "--model", str(model), "--tasks", "conll2003", "--data-dir", str(data_dir),
        "--limit", str(LIMIT), "--epochs", "1", "--batch-size", str(BATCH), "--device", "cpu",
        "--output", str(output), "--batching", "grouped",
    ]  # fmt: skip
    env = subprocess_env()
    return subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=LAUNCH_TIMEOUT_S, check=False
    )


def _only_result(output: Path) -> Path:
    files = sorted(p.name for p in (output / "bert").iterdir())
    results = [name for name in files if name.endswith(".json") and name != "model.json"]
    assert results == ["conll2003.json"], files  # exactly one result file, no leftover temporary files
    assert not [name for name in files if name.startswith(".")], files
    return output / "bert" / "conll2003.json"


def test_two_processes_train_data_parallel_and_rank0_writes(bert, data_dir, tmp_path):
    output = tmp_path / "runs"
    done = _launch(["--multi_gpu", "--num_processes", "2"], bert, data_dir, output)
    assert done.returncode == 0, done.stderr[-4000:]
    path = _only_result(output)
    record = load_result(path)  # schema-valid
    training = record["training"]["conll2003"]
    # WORLD_SIZE=2 reached the Trainer: each process trains on half the windows, so an epoch takes half the steps
    assert training["num_processes"] == 2 and training["per_device_batch_size"] == BATCH
    assert training["total_batch_size"] == 2 * BATCH
    assert training["steps"] == math.ceil(training["train_windows"] / (2 * BATCH)) == 1
    assert record["config"]["num_processes"] == 2 and record["config"]["device"] == "cpu"
    assert record["timing"]["device"] == "cpu" and record["timing"]["n_batches"] >= 1  # rank 0 alone
    for split in ("validation", "test"):
        with gzip.open(predictions_path(path, split), "rt") as handle:
            rows = [json.loads(line) for line in handle]
        assert len(rows) == record["n_examples"][split] == LIMIT
        assert len({row["id"] for row in rows}) == LIMIT
    # only rank 0 reports: the result path once on stdout, each progress line once on stderr
    assert done.stdout.count(str(path)) == 1
    assert done.stderr.count("conll2003: running") == 1
    assert done.stderr.count("conll2003: fine-tuning on 8 examples") == 1
    # length-grouped batches are sharded whole: the two processes together train on exactly the batches a single
    # process trains on (same tokens, same padding), each window once
    from benchmark.cli import main

    single = tmp_path / "single"
    args = ["run", "--model", str(bert), "--tasks", "conll2003", "--data-dir", str(data_dir), "--limit", str(LIMIT),
            "--epochs", "1", "--batch-size", str(BATCH), "--device", "cpu", "--output", str(single),
            "--batching", "grouped"]  # fmt: skip
    assert main(args) == 0
    alone = load_result(single / "bert" / "conll2003.json")["training"]["conll2003"]
    assert alone["steps"] == 2 and training["batching"] == alone["batching"] == "length_grouped"
    assert (training["real_tokens"], training["padded_positions"]) == (
        alone["real_tokens"],
        alone["padded_positions"],
    )
    assert training["padding_ratio"] == alone["padding_ratio"]


def test_a_failure_on_rank0_stops_every_process(bert, data_dir, tmp_path):
    output = tmp_path / "runs"
    (output / "bert").mkdir(parents=True)
    owner = {"model_id": "someone-else", "revision": "sha256:0"}
    (output / "bert" / "model.json").write_text(json.dumps(owner))
    started = time.monotonic()
    done = _launch(["--multi_gpu", "--num_processes", "2"], bert, data_dir, output)
    assert done.returncode != 0
    assert time.monotonic() - started < 60  # rank 1 learns of rank 0's error at once (no timeout)
    assert done.stderr.count("holds results of another model") == 1  # printed by rank 0 only
    assert "exitcode  : 2" in done.stderr  # both processes ended with the CLI's error code
    assert sorted(p.name for p in (output / "bert").iterdir()) == ["model.json"]


def test_accelerate_cpu_flag_starts_a_single_process(bert, data_dir, tmp_path):
    output = tmp_path / "runs"
    done = _launch(["--cpu", "--num_processes", "2"], bert, data_dir, output)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "started a single process" in done.stderr
    record = load_result(_only_result(output))
    assert record["training"]["conll2003"]["num_processes"] == 1
    assert record["training"]["conll2003"]["steps"] == 2 and "num_processes" not in record["config"]
