"""``benchmark run --model baseline:modern --dry-run`` offline: each model's plan from the registry, the architecture
table and transformers' head mappings, with nothing downloaded and nothing written."""

from __future__ import annotations

import pytest
from huggingface_hub import constants

from baselines.registry import select
from benchmark.cli import main
from benchmark.tasks.registry import all_tasks


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


def _plan(capsys, *args: str) -> str:
    capsys.readouterr()
    assert main(["run", "--dry-run", *args]) == 0
    return capsys.readouterr().out


def test_modern_group_plans_every_model_offline(offline, tmp_path, capsys, monkeypatch):
    import huggingface_hub

    def no_download(*args, **kwargs):
        raise AssertionError("the plan downloaded something")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", no_download)
    out = _plan(capsys, "--model", "baseline:modern", "--output", str(tmp_path / "runs"))
    tasks = [spec.name for spec in all_tasks()]
    for entry in select("modern"):
        block = out.split(f"baseline:{entry.name}: {entry.hub_id}@", 1)[1].split("\nbaseline:", 1)[0]
        assert f"{entry.layers} layers" in block and f"{entry.max_length:,} positions" in block
        for task in tasks:
            assert f"\n  {task}: " in block, (entry.name, task)
        assert f"baseline:{entry.name}: HF_HUB_OFFLINE is set" in out
    assert not (tmp_path / "runs").exists()  # nothing written

    modern = out.split("baseline:modernbert-base: ", 1)[1].split("\nbaseline:modernbert-base: HF_HUB", 1)[0]
    assert "attention local+global (window 128, every 3rd layer global) (full up to 65 tokens)" in modern
    assert "squad: extractive_qa: transformers ModernBertForQuestionAnswering" in modern
    assert "arxiv: classification: transformers ModernBertForSequenceClassification" in modern
    assert "pooling mean;" in modern  # arxiv asks for mean pooling and ModernBERT's head can do it
    euro = out.split("baseline:eurobert-210m: ", 1)[1].split("\nbaseline:eurobert-210m: HF_HUB", 1)[0]
    assert "squad: extractive_qa: generic GenericEuroBertForQuestionAnswering" in euro
    assert "conll2003: token_classification: transformers EuroBertForTokenClassification" in euro
    assert "native transformers classes" in euro
    gte = out.split("baseline:gte-en-mlm-base: ", 1)[1].split("\nbaseline:gte-en-mlm-base: HF_HUB", 1)[0]
    assert "remote code (needs --trust-remote-code)" in gte


def test_plan_follows_flags(offline, capsys):
    out = _plan(
        capsys,
        "--model",
        "baseline:ettin-encoder-17m",
        "--tasks",
        "gonerd",
        "--max-length",
        "1024",
        "--epochs",
        "2",
    )
    assert (
        "gonerd: token_classification: transformers ModernBertForTokenClassification; inputs of 1,024" in out
    )
    assert "budget epochs=2 " in out and "squad" not in out
