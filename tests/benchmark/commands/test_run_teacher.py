"""``benchmark run --teacher``: task-specific distillation from a teacher's ``--save-models`` run (tiny random
models, the CoNLL sample; :mod:`benchmark.train.distill`)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from benchmark.cli import main
from benchmark.errors import BenchmarkError
from benchmark.results.files import load_result
from benchmark.tasks.registry import get_task
from benchmark.train.distill import find_teacher
from conftest import fixture_path, link_fixtures
from tiny_models import build_tiny_model

torch.set_num_threads(1)
pytestmark = pytest.mark.fixtures

LINKS = {
    "conll2003/eng.train": "conll2003/eng.train.first300",
    "conll2003/eng.testa": "conll2003/eng.testa",
    "conll2003/eng.testb": "conll2003/eng.testb",
}


@pytest.fixture(scope="module")
def data_dirs(tmp_path_factory) -> tuple[Path, Path]:
    """The CoNLL sample, and the same with every gold tag of the training file replaced by ``O``."""
    true = link_fixtures(tmp_path_factory.mktemp("data"), LINKS)
    wrong = link_fixtures(
        tmp_path_factory.mktemp("wrong"), {k: v for k, v in LINKS.items() if "train" not in k}
    )
    lines = fixture_path("conll2003/eng.train.first300").read_text().splitlines()
    relabelled = [
        " ".join([*line.split()[:-1], "O"]) if line.strip() and "DOCSTART" not in line else line
        for line in lines
    ]
    assert relabelled != lines
    (wrong / "conll2003" / "eng.train").write_text("\n".join(relabelled) + "\n")
    return true, wrong


@pytest.fixture(scope="module")
def teacher_run(tmp_path_factory, data_dirs) -> Path:
    root = tmp_path_factory.mktemp("teacher")
    model = build_tiny_model("bert", root / "teacher", seed=1)
    assert _run(model, root / "runs", data_dirs[0], "--save-models") == 0
    return root / "runs" / "teacher"


def _run(model: Path, output: Path, data_dir: Path, *extra: str) -> int:
    return main(
        ["run", "--model", str(model), "--output", str(output), "--data-dir", str(data_dir), "--tasks", "conll2003",
         "--limit", "8", "--epochs", "1", "--batch-size", "4", "--device", "cpu", "--max-length", "64", *extra]
    )  # fmt: skip


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(run / "models" / "conll2003" / "conll2003" / "model.safetensors")


def test_student_learns_from_the_teachers_soft_labels(teacher_run, data_dirs, tmp_path):
    student = build_tiny_model("bert", tmp_path / "student", seed=2)
    true, wrong = data_dirs
    assert _run(student, tmp_path / "plain", true, "--save-models") == 0
    alpha1 = ("--teacher", str(teacher_run), "--distill-alpha", "1", "--save-models")
    assert _run(student, tmp_path / "taught", true, *alpha1) == 0
    assert _run(student, tmp_path / "taught-wrong", wrong, *alpha1) == 0
    plain = load_result(tmp_path / "plain" / "student" / "conll2003.json")
    taught = load_result(tmp_path / "taught" / "student" / "conll2003.json")  # schema-checked
    teacher = load_result(teacher_run / "conll2003.json")
    assert "distillation" not in plain["config"]
    assert taught["config"]["distillation"] == {
        "teacher_run": str(teacher_run.resolve()),
        "teacher_model_id": "teacher",
        "teacher_revision": teacher["model"]["revision"],
        "alpha": 1.0,
        "temperature": 2.0,
        "subtasks": ["conll2003"],
    }
    assert taught["config_hash"] != plain["config_hash"]
    plain_loss = plain["training"]["conll2003"]["final_loss"]
    taught_loss = taught["training"]["conll2003"]["final_loss"]
    assert abs(taught_loss - plain_loss) > 1e-3 * abs(plain_loss)  # the KL term, not the gold loss
    # alpha = 1: the gold labels do not matter; all-O labels give the same student as the true ones ...
    same, other = _weights(tmp_path / "taught" / "student"), _weights(tmp_path / "taught-wrong" / "student")
    assert all(torch.allclose(same[k], other[k], rtol=1e-5, atol=1e-7) for k in same)
    # ... while the plain run moved elsewhere
    plain_weights = _weights(tmp_path / "plain" / "student")
    assert any((plain_weights[k] - same[k]).abs().max() > 1e-4 for k in same)


def test_a_teacher_with_another_vocabulary_is_refused(data_dirs, tmp_path, capsys):
    teacher = build_tiny_model("bert", tmp_path / "other", seed=1, vocab_size=300)
    assert _run(teacher, tmp_path / "t", data_dirs[0], "--save-models") == 0
    student = build_tiny_model("bert", tmp_path / "student", seed=2)
    capsys.readouterr()
    assert _run(student, tmp_path / "s", data_dirs[0], "--teacher", str(tmp_path / "t" / "other")) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "--teacher" in err and "vocabulary" in err and "same tokenizer" in err
    assert not (tmp_path / "s" / "student" / "conll2003.json").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--distill-alpha", "1.5"), "--distill-alpha must be between 0 and 1, got 1.5"),
        (("--distill-temperature", "0"), "--distill-temperature must be above 0, got 0.0"),
        (("--teacher", "/nonexistent/teacher"), "--teacher /nonexistent/teacher: no such directory"),
    ],
)
def test_bad_distillation_flags_are_one_line(extra, message, data_dirs, tmp_path, capsys):
    student = build_tiny_model("bert", tmp_path / "student", seed=2)
    capsys.readouterr()
    assert _run(student, tmp_path / "s", data_dirs[0], *extra) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_a_task_without_a_teacher_model_has_no_teacher(tmp_path):
    (tmp_path / "models" / "squad").mkdir(parents=True)
    assert find_teacher(tmp_path, get_task("conll2003"), 42) is None


def test_qa_is_distilled_and_a_task_without_a_teacher_model_trains_alone(tmp_path, capsys):
    """The teacher saved a SQuAD model only: SQuAD learns from its start and end logits, CoNLL without a teacher."""
    squad = {
        "squad/train-v1.1.json": "squad/dev-v1.1-sample.json",
        "squad/dev-v1.1.json": "squad/dev-v1.1-sample.json",
    }
    data = link_fixtures(tmp_path / "data", {**LINKS, **squad})
    teacher = build_tiny_model("bert", tmp_path / "qa-teacher", seed=1)
    student = build_tiny_model("bert", tmp_path / "student", seed=2)
    common = ("--limit", "8", "--epochs", "1", "--batch-size", "4", "--device", "cpu", "--max-length", "64")
    base = ["run", "--data-dir", str(data), *common]
    assert (
        main(
            [
                *base,
                "--model",
                str(teacher),
                "--tasks",
                "squad",
                "--output",
                str(tmp_path / "t"),
                "--save-models",
            ]
        )
        == 0
    )
    capsys.readouterr()
    taught = [
        "--teacher",
        str(tmp_path / "t"),
        "--distill-temperature",
        "3",
    ]  # OUTPUT holding one model's run
    assert (
        main(
            [
                *base,
                "--model",
                str(student),
                "--tasks",
                "conll2003,squad",
                "--output",
                str(tmp_path / "s"),
                *taught,
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert (
        "conll2003: the teacher run" in err
        and "has no fine-tuned model for it; runs without a teacher" in err
    )
    squad = load_result(tmp_path / "s" / "student" / "squad.json")
    conll = load_result(tmp_path / "s" / "student" / "conll2003.json")
    assert squad["config"]["distillation"]["temperature"] == 3.0
    assert squad["config"]["distillation"]["teacher_model_id"] == "qa-teacher"
    assert "distillation" not in conll["config"]
    plain = tmp_path / "plain"
    assert main([*base, "--model", str(student), "--tasks", "squad", "--output", str(plain)]) == 0
    plain_loss = load_result(plain / "student" / "squad.json")["training"]["squad"]["final_loss"]
    taught_loss = squad["training"]["squad"]["final_loss"]
    assert abs(taught_loss - plain_loss) > 1e-3 * abs(plain_loss)


def test_a_teacher_with_other_label_names_is_refused(teacher_run, data_dirs, tmp_path, capsys):
    run = tmp_path / "teacher"
    shutil.copytree(teacher_run, run)
    config_file = run / "models" / "conll2003" / "conll2003" / "config.json"
    config = json.loads(config_file.read_text())
    config["id2label"] = {k: v.replace("PER", "PERSON") for k, v in config["id2label"].items()}
    config["label2id"] = {v: int(k) for k, v in config["id2label"].items()}
    config_file.write_text(json.dumps(config))
    student = build_tiny_model("bert", tmp_path / "student", seed=2)
    capsys.readouterr()
    assert _run(student, tmp_path / "s", data_dirs[0], "--teacher", str(run)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"--teacher {run.resolve()}: conll2003:" in err and "PERSON" in err and "--eval-only" not in err, (
        err
    )


def test_a_seeds_teacher_run_teaches_each_seed_with_its_own_model(tmp_path):
    from tests.benchmark.leaderboard.test_leaderboard import make_run

    run = make_run(tmp_path, "teacher", tasks=("conll2003",))  # OUTPUT/<slug> with a valid conll2003.json
    for seed in (0, 1):
        folder = run / "models" / "conll2003" / f"seed-{seed}" / "conll2003"
        folder.mkdir(parents=True)
        (folder / "config.json").write_text("{}")
    spec = get_task("conll2003")
    assert find_teacher(run, spec, 1).models == {"conll2003": run / "models/conll2003/seed-1/conll2003"}
    assert find_teacher(run, spec, 7).models == {"conll2003": run / "models/conll2003/seed-0/conll2003"}
    assert find_teacher(run, spec, 1).model_id == "teacher"
    (run / "conll2003.json").unlink()
    with pytest.raises(BenchmarkError, match=r"models/conll2003 has no result conll2003.json beside it"):
        find_teacher(run, spec, 1)


def test_glue_subtasks_learn_from_the_teacher_models_there_are(tmp_path, capsys):
    """GLUE: sequence classification (SST-2) and regression (STS-B) are distilled; sub-tasks whose teacher model
    is gone train alone, and the result lists the distilled ones."""
    data = tmp_path / "data"  # glue_data layout: each sub-task's dev sample doubles as its train file
    for sub in get_task("glue").subtasks:
        dev = sub.local.files["validation"]
        for name in (dev, sub.local.files["train"]):
            if not (data / "glue" / name).exists():  # MNLI: one train file for both sub-tasks
                link_fixtures(data, {f"glue/{name}": f"glue/{dev}"})
    teacher = build_tiny_model("bert", tmp_path / "glue-teacher", seed=1)
    student = build_tiny_model("bert", tmp_path / "student", seed=2)
    common = ["run", "--data-dir", str(data), "--tasks", "glue", "--limit", "8", "--epochs", "1", "--batch-size", "4",
              "--device", "cpu", "--max-length", "64"]  # fmt: skip
    assert main([*common, "--model", str(teacher), "--output", str(tmp_path / "t"), "--save-models"]) == 0
    models = tmp_path / "t" / "glue-teacher" / "models" / "glue"
    for folder in models.iterdir():
        if folder.name not in ("sst2", "stsb"):
            shutil.rmtree(folder)
    capsys.readouterr()
    taught = ["--teacher", str(tmp_path / "t" / "glue-teacher")]
    assert main([*common, "--model", str(student), "--output", str(tmp_path / "s"), *taught]) == 0
    err = capsys.readouterr().err
    assert "mrpc: the teacher run has no fine-tuned model for it; trains without a teacher" in err
    assert "sst2: distilling from" in err and "stsb: distilling from" in err
    record = load_result(tmp_path / "s" / "student" / "glue.json")
    assert record["config"]["distillation"]["subtasks"] == ["sst2", "stsb"]
    assert all(math.isfinite(run["final_loss"]) for run in record["training"].values())
