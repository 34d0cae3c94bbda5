"""``baselines distill`` under ``accelerate launch`` with two real CPU processes (torchrun under accelerate's
multi-GPU launcher; on a machine without CUDA the processes train on CPU over gloo).

Each process draws its own batches and DDP averages the gradients, so two processes end with other weights than
one; only process 0 writes checkpoints, the student and the report.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from baselines.distill import _batch, distill
from conftest import ROOT, subprocess_env
from tiny_models import build_tiny_model, tiny_corpus

ARGS = dict(max_steps=4, batch_size=2, max_length=32, save_every=2, seed=1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_process_batches_differ_and_process_0_draws_the_single_process_batch(tmp_path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(build_tiny_model("bert", tmp_path / "m"))
    chunks = [[5 + i, 6 + i, 7 + i, 8 + i] for i in range(40)]
    single = _batch(chunks, tokenizer, 4, 1, 3, None)
    shard0 = _batch(chunks, tokenizer, 4, 1, 3, None, shard=0)
    shard1 = _batch(chunks, tokenizer, 4, 1, 3, None, shard=1)
    assert torch.equal(single["input_ids"], shard0["input_ids"]) and torch.equal(
        single["labels"], shard0["labels"]
    )
    assert not torch.equal(shard0["input_ids"], shard1["input_ids"])


def test_two_processes_distill_data_parallel(tmp_path):
    teacher = build_tiny_model(
        "bert", tmp_path / "teacher", task="masked_lm", max_length=64, num_hidden_layers=4
    )
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n\n".join(" ".join(tiny_corpus(400)[i : i + 20]) for i in range(0, 400, 20)))

    single = distill(teacher, 2, [corpus], tmp_path / "one", progress=False, **ARGS)
    assert single.settings["num_processes"] == 1

    out = tmp_path / "two"
    cmd = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        "--main_process_port", str(_free_port()),
        "-m", "baselines", "distill", "--teacher", str(teacher), "--student-layers", "2", "--corpus", str(corpus),
        "--out", str(out), "--max-steps", "4", "--batch-size", "2", "--max-length", "32", "--save-every", "2",
        "--seed", "1", "--no-progress",
    ]  # fmt: skip
    env = subprocess_env()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]

    report = json.loads((out / "distill_report.json").read_text())
    assert (
        report["settings"]["num_processes"] == 2 and report["final_step"] == 4 and len(report["history"]) == 4
    )
    newest = out / "checkpoints" / "checkpoint_1"
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["checkpoint_0", "checkpoint_1"]
    # accelerate's save_state: one model and optimizer (process 0), the RNG states of each process.
    assert {"model.safetensors", "optimizer.bin", "random_states_0.pkl", "random_states_1.pkl"} <= {
        p.name for p in newest.iterdir()
    }
    state = json.loads((newest / "state.json").read_text())
    assert state["step"] == 4 and state["student_layers"] == 2 and state["seed"] == 1
    assert state["teacher"]["path"] == str(Path(teacher).resolve())
    assert not list(out.glob("**/*.tmp*"))
    # Process 1's batches reached the weights: two processes end elsewhere than one with the same seed.
    one, two = load_file(tmp_path / "one" / "model.safetensors"), load_file(out / "model.safetensors")
    assert one.keys() == two.keys()
    assert any(not torch.allclose(one[k], two[k]) for k in one)
