"""Issue #22: ``baselines distill`` is a function of its arguments. A teacher without a masked-LM head gets a fresh
head drawn from the seed (transformers left part of it as uninitialised memory), and a run killed with SIGKILL,
then rerun, ends with the weights and report of a run never interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from baselines.distill import distill, initialise_new_parameters, load_teacher
from conftest import ROOT, subprocess_env
from tiny_models import build_tiny_model, tiny_corpus

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ARGS = dict(batch_size=2, max_length=32, progress=False, seed=5)


@pytest.fixture(scope="module")
def bare_teacher(tmp_path_factory):
    """A Longformer encoder without a masked-LM head (what ``baselines convert`` writes from all-MiniLM-L6-v2):
    transformers 5.23 leaves its fresh ``lm_head.bias`` as uninitialised memory. Dropout 0.1, so the RNG matters."""
    return build_tiny_model(
        "longformer", tmp_path_factory.mktemp("t") / "lf", max_length=64, num_hidden_layers=4
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("c") / "corpus.txt"
    path.write_text("\n\n".join(" ".join(tiny_corpus(400)[i : i + 20]) for i in range(0, 400, 20)))
    return path


def _same_weights(a, b) -> bool:
    one, two = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    return one.keys() == two.keys() and all(torch.equal(one[k], two[k]) for k in one)


def test_fresh_head_is_drawn_from_the_seed_only(bare_teacher):
    """The head's values depend on the seed, not on what the global RNG or memory held before loading."""
    torch.manual_seed(123)
    garbage = torch.full((1 << 16,), 3.0e38)  # freed right away: memory a fresh tensor may be given
    del garbage
    one, missing = load_teacher(bare_teacher, seed=0)
    torch.manual_seed(456)
    two, _ = load_teacher(bare_teacher, seed=0)
    other, _ = load_teacher(bare_teacher, seed=1)
    assert "lm_head.bias" in missing and "lm_head.dense.weight" in missing
    a, b, c = one.state_dict(), two.state_dict(), other.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert torch.equal(a["lm_head.bias"], torch.zeros_like(a["lm_head.bias"]))
    assert not torch.equal(a["lm_head.dense.weight"], c["lm_head.dense.weight"])  # the seed does matter
    # Weights the checkpoint holds are the checkpoint's, whatever the seed.
    assert torch.equal(a["longformer.encoder.layer.0.attention.self.query.weight"],
                       c["longformer.encoder.layer.0.attention.self.query.weight"])  # fmt: skip


def test_a_new_parameter_tied_to_a_loaded_one_is_left_alone(tmp_path):
    from transformers import AutoModelForMaskedLM

    model = AutoModelForMaskedLM.from_pretrained(build_tiny_model("bert", tmp_path / "b", task="masked_lm"))
    params = dict(model.named_parameters())
    embeddings = params["bert.embeddings.word_embeddings.weight"].clone()
    dense = params["cls.predictions.transform.dense.weight"].clone()
    names = ["cls.predictions.decoder.weight", "cls.predictions.transform.dense.weight"]  # decoder: tied
    assert initialise_new_parameters(model, names, seed=0) == ["cls.predictions.transform.dense.weight"]
    assert torch.equal(params["bert.embeddings.word_embeddings.weight"], embeddings)
    assert not torch.equal(params["cls.predictions.transform.dense.weight"], dense)


def test_two_runs_with_the_same_arguments_write_the_same_weights(tmp_path, bare_teacher, corpus):
    # The MLM term trains the fresh head (asked for: a teacher without a head gets none by default).
    kwargs = dict(max_steps=3, save_every=3, objective="mlm:2,cos:1", **ARGS)
    first = distill(bare_teacher, 2, [corpus], tmp_path / "a", **kwargs)
    second = distill(bare_teacher, 2, [corpus], tmp_path / "b", **kwargs)
    assert (tmp_path / "a" / "model.safetensors").read_bytes() == (
        tmp_path / "b" / "model.safetensors"
    ).read_bytes()
    assert first.history == second.history
    assert all(abs(r["loss"]) < 1e3 for r in first.history), first.history  # not 4.1e10 from a garbage bias


# Runs `baselines distill` with each step from STOP_AFTER + 1 on sleeping first: the test kills it there.
_SLOW_AFTER = """
import sys, time
import baselines.distill as d
real, stop = d._batch, int(sys.argv[1])
def slow(*args, **kwargs):
    if args[4] > stop:
        time.sleep(600)
    return real(*args, **kwargs)
d._batch = slow
from baselines.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_killed_with_sigkill_then_rerun_ends_as_an_uninterrupted_run(tmp_path, bare_teacher, corpus):
    kwargs = dict(max_steps=6, save_every=2, keep_checkpoints=1, **ARGS)
    whole = distill(bare_teacher, 2, [corpus], tmp_path / "whole", **kwargs)

    out = tmp_path / "killed"
    argv = ["distill", "--teacher", str(bare_teacher), "--student-layers", "2", "--corpus", str(corpus)]
    argv += [
        "--out",
        str(out),
        "--max-steps",
        "6",
        "--save-every",
        "2",
        "--batch-size",
        "2",
        "--max-length",
        "32",
    ]
    argv += ["--seed", "5", "--keep-checkpoints", "1", "--no-progress"]
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_AFTER, "4", *argv], cwd=ROOT, env=subprocess_env(),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        done = out / "checkpoints" / "checkpoint_1" / "state.json"  # step 4: the run now sleeps in step 5
        while not done.exists():
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "no checkpoint of step 4 within 240 s"
            time.sleep(0.05)
        time.sleep(0.2)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "model.safetensors").exists()
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["checkpoint_1"]  # keep_checkpoints=1

    resumed = distill(bare_teacher, 2, [corpus], out, **kwargs)
    assert resumed.start_step == 4 and resumed.resumed_from.endswith("checkpoint_1")
    assert _same_weights(tmp_path / "whole", out)
    saved = json.loads((out / "distill_report.json").read_text())
    assert saved["history"] == whole.history and [r["step"] for r in saved["history"]] == [1, 2, 3, 4, 5, 6]


def test_a_save_cut_off_keeps_the_last_complete_checkpoint(tmp_path, bare_teacher, corpus, monkeypatch):
    """With one checkpoint kept, the old one is deleted only after the new one is complete (accelerate's
    total_limit deleted it first); a run cut off inside its first save starts over instead of refusing."""
    import baselines.distill as distill_module

    real_save = distill_module._quiet_save
    calls = []

    def cut_in_second_save(accelerator):
        calls.append(1)
        folder = real_save(accelerator)
        if len(calls) == 2:
            raise KeyboardInterrupt  # after the weights, before state.json
        return folder

    kwargs = dict(max_steps=4, save_every=2, keep_checkpoints=1, **ARGS)
    out = tmp_path / "out"
    monkeypatch.setattr(distill_module, "_quiet_save", cut_in_second_save)
    with pytest.raises(KeyboardInterrupt):
        distill(bare_teacher, 1, [corpus], out, **kwargs)
    monkeypatch.setattr(distill_module, "_quiet_save", real_save)
    folders = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert (
        folders == ["checkpoint_0", "checkpoint_1"]
        and (out / "checkpoints" / "checkpoint_0" / "state.json").exists()
    )
    resumed = distill(bare_teacher, 1, [corpus], out, **kwargs)
    assert resumed.start_step == 2 and resumed.final_step == 4

    first_save = tmp_path / "first"
    (first_save / "checkpoints" / "checkpoint_0").mkdir(parents=True)
    (first_save / "checkpoints" / "checkpoint_0" / "model.safetensors").write_bytes(b"half")
    restarted = distill(bare_teacher, 1, [corpus], first_save, **kwargs)
    assert restarted.start_step == 0 and restarted.resumed_from is None
    assert _same_weights(out, first_save)
