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


def test_gte_en_mlm_runs_only_with_remote_code_one_line(tmp_path, capsys):
    """Its architecture (model_type ``new``) is not in transformers: without --trust-remote-code the run is refused
    in one line, before anything is downloaded."""
    code = main(["run", "--model", "baseline:gte-en-mlm-base", "--output", str(tmp_path), "--tasks", "squad"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "Alibaba-NLP/gte-en-mlm-base" in err and "--trust-remote-code" in err


def test_local_new_config_without_its_code_is_one_line(tmp_path, capsys):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text('{"model_type": "new", "hidden_size": 32}')
    code = main(["run", "--model", str(tmp_path / "m"), "--output", str(tmp_path / "o"), "--tasks", "squad"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "unknown model_type 'new'" in err
