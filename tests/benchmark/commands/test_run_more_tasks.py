"""``benchmark run`` end to end on the tasks test_run.py does not cover: GLUE (every sub-task, from the real
glue_data TSV samples), TriviaQA (rc.wikipedia layout with evidence files; long context, windowed) and arXiv (a
local copy in the Hub layout of ccdv/arxiv-classification, with MTEB cleaning). Tiny random models, so scores are
meaningless; the tests check the pipeline: result schema, splits and counts, windows, cleaning counts, the
predictions files, and that ``benchmark score`` re-computes each score from the saved predictions.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest
import torch

from benchmark.cli import main
from benchmark.metrics import glue
from benchmark.results.files import load_result, predictions_path
from benchmark.tasks.registry import get_task
from conftest import fixture_path
from tests.benchmark.data.test_hub import arxiv_folder
from tiny_models import build_tiny_model

torch.set_num_threads(1)
pytestmark = pytest.mark.fixtures

LIMIT = 8
# Rows of each dev.tsv sample in ../shared/fixtures/glue (SOURCES.md), capped at LIMIT.
GLUE_EXAMPLES = {
    "cola": 2,
    "sst2": 2,
    "mrpc": LIMIT,
    "qqp": 2,
    "stsb": LIMIT,
    "mnli_matched": 2,
    "mnli_mismatched": 2,
    "qnli": 2,
    "rte": LIMIT,
    "wnli": LIMIT,
}
ARCH_KWARGS = {
    "bert": {},
    "longformer": {"attention_window": 16},
    "bigbird": {"block_size": 8, "num_random_blocks": 2},  # block-sparse above 72 tokens
}
ATTENTION = {"longformer": "sliding_window+global", "bigbird": "block_sparse"}


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {kind: build_tiny_model(kind, root / kind, **kw) for kind, kw in ARCH_KWARGS.items()}


@pytest.fixture(scope="module")
def glue_dir(tmp_path_factory) -> Path:
    """glue_data layout: each sub-task's dev sample, which doubles as its train file (there is no train sample)."""
    root = tmp_path_factory.mktemp("data")
    for sub in get_task("glue").subtasks:
        dev = sub.local.files["validation"]
        source = fixture_path("glue", *dev.split("/"))
        for name in (dev, sub.local.files["train"]):
            link = root / "glue" / name
            if not link.exists():  # MNLI: one train file for both sub-tasks
                link.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(source, link)
    return root


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")  # keep the user's clean


def _run(model: Path, output: Path, data_dir: Path, *extra: str) -> int:
    return main(
        ["run", "--model", str(model), "--output", str(output), "--data-dir", str(data_dir), "--limit", str(LIMIT),
         "--epochs", "1", "--batch-size", "4", "--device", "cpu", *extra]
    )  # fmt: skip


def _predictions(result: Path, split: str) -> list[dict]:
    with gzip.open(predictions_path(result, split), "rt") as handle:
        return [json.loads(line) for line in handle]


def _score_cli(capsys, task: str, split: str, result: Path, data_dir: Path) -> dict:
    """``benchmark score`` on the predictions the run saved, against the same data and limit."""
    capsys.readouterr()
    code = main(
        ["score", "--task", task, "--split", split, "--predictions", str(predictions_path(result, split)),
         "--data-dir", str(data_dir), "--limit", str(LIMIT), "--json"]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def _check_common(record: dict, task: str, splits: list[str]) -> None:
    assert record["task"]["name"] == task and len(record["task"]["spec_hash"]) == 16
    assert record["splits"] == splits and list(record["metrics"]) == splits
    assert record["model"]["revision"].startswith("sha256:")
    assert record["timing"]["device"] == "cpu" and record["timing"]["n_batches"] >= 1
    assert record["config"]["limit"] == LIMIT and record["dataset"]["hub"] is None


def test_run_glue_every_subtask(models, glue_dir, tmp_path, capsys):
    out = tmp_path / "runs"
    assert _run(models["bert"], out, glue_dir, "--tasks", "glue", "--max-length", "64") == 0
    path = out / "bert" / "glue.json"
    record = load_result(path)
    _check_common(record, "glue", ["validation"])
    subtasks = [sub.name for sub in get_task("glue").subtasks]
    assert sorted(subtasks) == sorted(GLUE_EXAMPLES)  # every spec sub-task has a fixture sample
    total = sum(GLUE_EXAMPLES.values())
    assert record["n_examples"] == {"validation": total}

    scored = record["metrics"]["validation"]
    metrics = scored["metrics"]
    assert scored["num_examples"] == total and metrics["subtask_examples"] == GLUE_EXAMPLES
    assert set(metrics["subtasks"]) == set(subtasks)
    for name in subtasks:
        assert set(metrics["subtasks"][name]) == set(glue.SUBTASKS[name]), name
        assert all(isinstance(v, float) for v in metrics["subtasks"][name].values()), name
        assert record["windows"][f"{name}/validation"]["examples"] == GLUE_EXAMPLES[name]
        assert record["training"][name]["steps"] >= 1
        assert {f"{name}/train", f"{name}/validation"} <= set(record["dataset"]["sources"])
        assert record["dataset"]["stats"][f"{name}/validation"] == {"examples": GLUE_EXAMPLES[name]}
    assert isinstance(metrics["glue_score"], float) and metrics["glue_score"] == scored["score"]

    rows = _predictions(path, "validation")
    assert len(rows) == total and len({r["id"] for r in rows}) == total
    by_sub = {name: [r for r in rows if r["id"].startswith(name + "-")] for name in subtasks}
    assert {name: len(r) for name, r in by_sub.items()} == GLUE_EXAMPLES
    assert all(isinstance(r["prediction"], float) for r in by_sub["stsb"])  # regression
    for name in ("mnli_matched", "mnli_mismatched", "rte"):
        assert {r["prediction"] for r in by_sub[name]} <= set(glue.LABELS[name])

    rescored = _score_cli(capsys, "glue", "validation", path, glue_dir)
    assert rescored["score"] == scored["score"] and rescored["metrics"] == metrics
    assert rescored["num_examples"] == total


@pytest.mark.parametrize("kind", ["bert", "longformer", "bigbird"])
def test_run_triviaqa_windows_long_evidence(kind, models, tmp_path, capsys):
    data_dir = fixture_path()
    out = tmp_path / "runs"
    assert _run(models[kind], out, data_dir, "--tasks", "triviaqa", "--max-length", "128") == 0
    path = out / kind / "triviaqa.json"
    record = load_result(path)
    _check_common(record, "triviaqa", ["validation"])
    assert record["n_examples"] == {"validation": 1}  # the sample has one Wikipedia dev question
    windows = record["windows"]["validation"]
    assert windows["input_length"] == 128
    assert windows["windows"] > windows["examples"] == windows["windowed_examples"] == 1
    train = record["training"]["triviaqa"]
    assert train["steps"] >= 1 and train["windows"]["windows"] > train["windows"]["examples"] == 1
    if kind in ATTENTION:
        assert ATTENTION[kind] in record["attention"]["validation"]
    source = record["dataset"]["sources"]["validation"]
    assert "wikipedia-dev.json" in json.dumps(source) and "Andrew_Lloyd_Webber.txt" in json.dumps(source)

    rows = _predictions(path, "validation")
    assert [r["id"] for r in rows] == ["tc_33"] and isinstance(rows[0]["prediction"], str)

    rescored = _score_cli(capsys, "triviaqa", "validation", path, data_dir)
    assert rescored["score"] == record["metrics"]["validation"]["score"]
    assert rescored["metrics"] == record["metrics"]["validation"]["metrics"]


@pytest.mark.parametrize("kind", ["bert", "longformer"])
def test_run_arxiv_hub_folder_with_mteb_cleaning(kind, models, tmp_path, capsys, hf_cache):
    _, planted = arxiv_folder(tmp_path / "data" / "arxiv")
    data_dir = tmp_path / "data"
    out = tmp_path / "runs"
    assert _run(models[kind], out, data_dir, "--tasks", "arxiv", "--max-length", "256") == 0
    path = out / kind / "arxiv.json"
    record = load_result(path)
    splits = ["validation", "test"]
    _check_common(record, "arxiv", splits)
    assert record["n_examples"] == {"validation": LIMIT, "test": LIMIT}

    # Whole Wikipedia articles as papers: all longer than 256 tokens but one 13-word article in validation.
    for split, windowed in (("validation", LIMIT - 1), ("test", LIMIT)):
        windows = record["windows"][split]
        assert windows["examples"] == LIMIT and windows["windowed_examples"] == windowed
        assert windows["windows"] > 2 * LIMIT and windows["input_length"] == 256
    train = record["training"]["arxiv"]["windows"]
    assert train["examples"] == train["windowed_examples"] == LIMIT < train["windows"]
    if kind in ATTENTION:
        assert ATTENTION[kind] in record["attention"]["test"]

    # The MTEB cleaning counts of every split read, per rule, as planted.
    stats = record["dataset"]["stats"]
    assert set(stats) == {"train", "validation", "test"}
    for split in ("train", "validation", "test"):
        assert stats[split]["cleaning"] == "mteb"
        assert stats[split]["removed"]["train"] == planted["train"]
    assert stats["test"]["removed"]["test"] == planted["test"]
    assert stats["validation"]["removed"]["validation"]["kept"] == 8
    assert record["dataset"]["sources"]["test"]["kind"] == "hub_folder"

    for split in splits:
        rows = _predictions(path, split)
        assert [r["id"] for r in rows] == [f"{split}-{i}" for i in range(LIMIT)]
        assert {r["prediction"] for r in rows} <= set(get_task("arxiv").label_names)
        rescored = _score_cli(capsys, "arxiv", split, path, data_dir)
        assert rescored["score"] == record["metrics"][split]["score"]
        assert rescored["metrics"] == record["metrics"][split]["metrics"]
        assert rescored["stats"]["removed"] == stats[split]["removed"]
