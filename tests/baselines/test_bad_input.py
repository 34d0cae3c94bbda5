"""Bad input to `baselines convert` and `baselines distill` (issue 10, section 3): one line naming the file or
flag, exit status 2, no traceback, nothing written or changed on disk."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import torch

from baselines.cli import main
from tiny_models import build_tiny_model, tiny_corpus

torch.set_num_threads(2)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    bert = build_tiny_model("bert", root / "bert", task="masked_lm", max_length=64, num_hidden_layers=2)
    other = build_tiny_model(
        "bert", root / "other", task="masked_lm", max_length=64, num_hidden_layers=2, seed=7
    )
    truncated = root / "truncated"
    shutil.copytree(bert, truncated)
    weights = truncated / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 3])
    no_tokenizer = root / "no-tokenizer"
    no_tokenizer.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(Path(bert) / name, no_tokenizer / name)
    return {"bert": Path(bert), "other": Path(other), "truncated": truncated, "no_tokenizer": no_tokenizer}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    words = tiny_corpus(400)
    path.write_text("\n\n".join(" ".join(words[i : i + 20]) for i in range(0, 400, 20)), encoding="utf-8")
    return path


def hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def run(capsys, *argv) -> tuple[int, str]:
    capsys.readouterr()  # drop anything earlier (progress bars of building the tiny models)
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return code, lines[0]


def distill_args(teacher: Path, corpus: Path, out: Path, *extra) -> list[str]:
    args = [
        "distill", "--teacher", teacher, "--student-layers", "1", "--corpus", corpus, "--out", out,
        "--max-steps", "2", "--batch-size", "2", "--save-every", "2", "--no-progress", *extra,
    ]  # fmt: skip
    return [str(a) for a in args]


def test_convert_max_length_below_the_source_positions(models, tmp_path, capsys):
    out = tmp_path / "lf"
    code, err = run(
        capsys, "convert", "--from", models["bert"], "--to", "longformer", "--max-length", "16",
        "--attention-window", "8", "--out", out,
    )  # fmt: skip
    assert code == 2 and "--max-length 16 is below the 64 positions" in err and str(models["bert"]) in err
    assert list(tmp_path.iterdir()) == []


def test_convert_truncated_safetensors(models, tmp_path, capsys):
    before = hashes(models["truncated"])
    code, err = run(
        capsys, "convert", "--from", models["truncated"], "--to", "longformer", "--max-length", "128",
        "--attention-window", "32", "--out", tmp_path / "lf",
    )  # fmt: skip
    assert code == 2 and f"cannot load the model in {models['truncated']}" in err
    assert list(tmp_path.iterdir()) == [] and hashes(models["truncated"]) == before


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("binary-corpus", "is not UTF-8 text"),
        ("max-length-8", "--max-length 8 leaves no room for text in the short chunks"),
        ("no-tokenizer", "has no tokenizer"),
        ("lr-nan", "--lr must be a finite number, got nan"),
        ("lr-inf", "--lr must be a finite number, got inf"),
    ],
)
def test_distill_bad_input(models, corpus, tmp_path, capsys, case, message):
    teacher, extra = models["bert"], ["--max-length", "32"]
    if case == "binary-corpus":
        corpus = tmp_path / "binary.txt"
        corpus.write_bytes(bytes(range(256)) * 8)
    elif case == "max-length-8":
        extra = ["--max-length", "8"]
    elif case == "no-tokenizer":
        teacher = models["no_tokenizer"]
    else:
        extra += ["--lr", case.split("-")[1]]
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    # --overwrite: even then, nothing of the old output is removed before every input has been checked
    code, err = run(capsys, *distill_args(teacher, corpus, out, *extra, "--overwrite"))
    assert code == 2 and message in err
    if case == "binary-corpus":
        assert str(corpus) in err
    if case == "no-tokenizer":
        assert str(teacher) in err
    assert hashes(out) == {"keep.txt": hashlib.sha256(b"mine").hexdigest()}


def test_distill_out_that_is_a_file(models, corpus, tmp_path, capsys):
    out = tmp_path / "out.txt"
    out.write_text("not a folder")
    code, err = run(capsys, *distill_args(models["bert"], corpus, out, "--max-length", "32"))
    assert code == 2 and f"--out {out} exists and is not a directory" in err
    assert out.read_text() == "not a folder"


def test_distill_resume_refuses_another_teacher_or_seed(models, corpus, tmp_path, capsys):
    teacher, out = tmp_path / "teacher", tmp_path / "student"
    shutil.copytree(models["bert"], teacher)
    assert main(distill_args(teacher, corpus, out, "--max-length", "32", "--seed", "1")) == 0
    before = hashes(out)
    more = ["--max-length", "32", "--max-steps", "4"]
    code, err = run(capsys, *distill_args(models["other"], corpus, out, *more, "--seed", "1"))
    assert code == 2 and f"was made with another teacher ({teacher.resolve()})" in err
    code, err = run(capsys, *distill_args(teacher, corpus, out, *more, "--seed", "2"))
    assert code == 2 and "was made with seed 1, not 2" in err
    # the same path holding other weights is another teacher too
    saved = (teacher / "model.safetensors").read_bytes()
    shutil.copy(models["other"] / "model.safetensors", teacher / "model.safetensors")
    code, err = run(capsys, *distill_args(teacher, corpus, out, *more, "--seed", "1"))
    assert code == 2 and "another teacher (other weights)" in err
    assert hashes(out) == before
    damaged = tmp_path / "damaged"
    shutil.copytree(out, damaged)
    (damaged / "checkpoints" / "checkpoint_0" / "optimizer.bin").write_bytes(b"not a torch file")
    (teacher / "model.safetensors").write_bytes(saved)
    code, err = run(capsys, *distill_args(teacher, corpus, damaged, *more, "--seed", "1"))
    assert code == 2 and "checkpoints/checkpoint_0 is damaged" in err  # one line: run() checks
    # the same teacher and seed resume
    assert main(distill_args(teacher, corpus, out, *more, "--seed", "1")) == 0
    assert (out / "checkpoints" / "checkpoint_1" / "state.json").is_file()
