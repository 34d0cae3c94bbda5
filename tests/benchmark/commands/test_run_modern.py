"""``benchmark run`` end to end through all seven tasks on tiny random models of today's long-context encoders:
ModernBERT (local + global layers), EuroBERT (no QA head in transformers; its config carries the Hub's ``auto_map``,
which the harness does not run) and GTE (no QA head either). Scores of random weights are meaningless; the test
checks that every task type runs, which head ran (transformers' own or the generic one over ``AutoModel``), the
pooling arXiv asks for, the attention path and that the generic head's predictions re-score to the same numbers.
One command per architecture, every task at ``--limit 4``: marked slow.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.results.files import load_result, predictions_path
from benchmark.tasks.registry import all_tasks, get_task
from conftest import fixture_path, link_fixtures
from tests.benchmark.data.test_hub import arxiv_folder, gonerd_folder
from tiny_models import build_tiny_model

pytestmark = [pytest.mark.fixtures, pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]

LIMIT = 4
LINKS = {
    "conll2003/eng.train": "conll2003/eng.train.first300",
    "conll2003/eng.testa": "conll2003/eng.testa",
    "conll2003/eng.testb": "conll2003/eng.testb",
    "squad/train-v1.1.json": "squad/dev-v1.1-sample.json",
    "squad/dev-v1.1.json": "squad/dev-v1.1-sample.json",
    "hotpotqa/hotpot_train_v1.1.json": "hotpotqa/hotpot_dev_distractor_sample.json",
    "hotpotqa/hotpot_dev_distractor_v1.json": "hotpotqa/hotpot_dev_distractor_sample.json",
}
QA_TASKS = ("squad", "hotpotqa", "triviaqa")
# kind -> (the class transformers runs for token classification, its QA head: None = the generic one)
EXPECTED = {
    "modernbert": ("ModernBertForTokenClassification", "ModernBertForQuestionAnswering"),
    "eurobert": ("EuroBertForTokenClassification", None),
    "gte": ("GteForTokenClassification", None),
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """Every task's data in one ``--data-dir``: the shared samples (GLUE's dev files double as training files),
    the TriviaQA rc layout, and GONERD / arXiv copies in their Hub layout."""
    root = link_fixtures(tmp_path_factory.mktemp("data"), LINKS)
    for sub in get_task("glue").subtasks:
        dev = sub.local.files["validation"]
        for name in (dev, sub.local.files["train"]):
            link = root / "glue" / name
            if not link.exists():  # MNLI: one train file for both sub-tasks
                link.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(fixture_path("glue", *dev.split("/")), link)
    os.symlink(fixture_path("triviaqa"), root / "triviaqa")
    gonerd_folder(root / "gonerd", n_articles=3)
    arxiv_folder(root / "arxiv")
    return root


@pytest.fixture(autouse=True)
def hf_cache(tmp_path, monkeypatch):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")  # keep the user's clean


def _model(kind: str, root: Path) -> Path:
    path = build_tiny_model(kind, root / kind, max_length=512)
    if kind == "eurobert":  # as on the Hub: remote code transformers already has natively
        config = json.loads((path / "config.json").read_text())
        config["auto_map"] = {"AutoModel": "modeling_eurobert.EuroBertModel"}
        (path / "config.json").write_text(json.dumps(config))
    return path


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_all_seven_tasks(kind, data_dir, tmp_path, capsys):
    model = _model(kind, tmp_path / "models")
    out = tmp_path / "runs"
    code = main(
        ["run", "--model", str(model), "--output", str(out), "--data-dir", str(data_dir), "--limit", str(LIMIT),
         "--epochs", "1", "--batch-size", "4", "--max-length", "128", "--device", "cpu"]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    tasks = [spec.name for spec in all_tasks()]
    assert len(tasks) == 7
    token_class, qa_class = EXPECTED[kind]
    for task in tasks:
        record = load_result(out / kind / f"{task}.json")  # schema-checked
        info = record["model"]
        assert info["model_type"] == kind and info["needs_remote_code"] is False, task
        assert info["unpadded"] is False  # sdpa / eager on CPU: padded batches
        assert all(isinstance(m["score"], float) for m in record["metrics"].values()), task
        assert record["training"] and record["windows"]
        if task in QA_TASKS:
            assert info["head"] == ("transformers" if qa_class else "generic"), task
            assert info["model_class"] == (
                qa_class or f"Generic{token_class.split('For')[0]}ForQuestionAnswering"
            )
        elif task in ("conll2003", "gonerd"):
            assert info["head"] == "transformers" and info["model_class"] == token_class
        else:  # glue, arxiv: sequence classification (and regression for STS-B)
            assert info["head"] == "transformers" and info["model_class"].endswith(
                "ForSequenceClassification"
            )
    arxiv = load_result(out / kind / "arxiv.json")["model"]["pooling"]
    # arXiv asks for mean pooling: ModernBERT's and EuroBERT's heads can; GTE's (BERT's pooler) cannot
    assert arxiv == ("cls" if kind == "gte" else "mean")
    assert load_result(out / kind / "conll2003.json")["model"]["pooling"] is None
    if kind == "gte":
        assert "asks for mean pooling; gte models' classification head pools one fixed way" in captured.err
    paths = {p for split in load_result(out / kind / "squad.json")["attention"].values() for p in split}
    assert paths == (
        {"local+global (window 16, every 3rd layer global)"} if kind == "modernbert" else {"full"}
    )

    # the generic head's predictions are what the score says (benchmark score re-computes it from the file)
    squad = load_result(out / kind / "squad.json")
    code = main(
        ["score", "--task", "squad", "--split", "validation", "--json", "--limit", str(LIMIT),
         "--predictions", str(predictions_path(out / kind / "squad.json", "validation")), "--data-dir", str(data_dir)]
    )  # fmt: skip
    rescored = json.loads(capsys.readouterr().out)
    assert code == 0 and rescored["score"] == squad["metrics"]["validation"]["score"]
