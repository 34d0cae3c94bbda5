"""Issue #21 item 5: students of a ModernBERT teacher keep its local/global attention pattern, and `baselines
convert` refuses a model that already has long context."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from baselines.cli import main
from baselines.convert import long_context
from baselines.distill import distill, init_student, student_layer_map
from tiny_models import build_tiny_model, build_tokenizer, tiny_corpus

pytestmark = pytest.mark.usefixtures("one_torch_thread")
GLOBAL = "full_attention"


def build_tiny_modernbert(path, *, layers: int = 6, every: int = 3):
    """A tiny ModernBERT masked LM: ``layers`` layers, every ``every``-th global (from layer 0), local window 16."""
    from transformers import ModernBertConfig, ModernBertForMaskedLM

    tokenizer = build_tokenizer("bert", model_max_length=8192)
    config = ModernBertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=layers,
        num_attention_heads=2,
        global_attn_every_n_layers=every,
        local_attention=16,
        max_position_embeddings=8192,
        pad_token_id=tokenizer.pad_token_id,
        cls_token_id=tokenizer.cls_token_id,
        sep_token_id=tokenizer.sep_token_id,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
    )
    torch.manual_seed(0)
    ModernBertForMaskedLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def _layers(state: dict[str, torch.Tensor], index: int) -> dict[str, torch.Tensor]:
    prefix = f"model.layers.{index}."
    return {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}


@pytest.mark.parametrize(("every", "expected_map"), [(3, [0, 2, 4]), (2, [0, 1, 4])])
def test_student_copies_global_layers_from_global_layers(tmp_path, every, expected_map):
    teacher = build_tiny_modernbert(tmp_path / "teacher", every=every)
    t_config = json.loads((teacher / "config.json").read_text())
    t_kinds = t_config["layer_types"]
    student = init_student(teacher, 3, tmp_path / "student")
    s_config = json.loads((student / "config.json").read_text())
    s_kinds = s_config["layer_types"]
    # The student keeps the pattern: layer i global when i % every == 0.
    assert s_kinds == [GLOBAL if i % every == 0 else "sliding_attention" for i in range(3)]
    assert s_config["local_attention"] == 16 and s_config["num_hidden_layers"] == 3
    layer_map = json.loads((student / "student_init.json").read_text())["layer_map"]
    assert layer_map == expected_map and all(t_kinds[j] == s_kinds[i] for i, j in enumerate(layer_map))
    t_weights, s_weights = load_file(teacher / "model.safetensors"), load_file(student / "model.safetensors")
    t_globals = [j for j, kind in enumerate(t_kinds) if kind == GLOBAL]
    for i, kind in enumerate(s_kinds):
        if kind != GLOBAL:
            continue
        mine = _layers(s_weights, i)
        assert layer_map[i] in t_globals
        source = _layers(t_weights, layer_map[i])
        assert mine.keys() == source.keys() and len(mine) > 0
        assert all(torch.equal(mine[k], source[k]) for k in mine)


def test_modernbert_teacher_distils_with_every_term(tmp_path):
    teacher = build_tiny_modernbert(tmp_path / "teacher", every=2)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n\n".join(" ".join(tiny_corpus(200)[i : i + 20]) for i in range(0, 200, 20)))
    report = distill(
        teacher, 3, [corpus], tmp_path / "s", max_steps=2, batch_size=2, max_length=40, progress=False,
        objective="mlm:1,kl:1,cos:1,hidden:1,attention-relations:1",
    )  # fmt: skip
    assert report.layer_map == [0, 1, 4] and report.final_step == 2
    assert set(report.history[-1]) >= {"mlm", "kl", "cos", "hidden", "attention-relations"}
    config = json.loads((tmp_path / "s" / "config.json").read_text())
    assert config["layer_types"] == [GLOBAL, "sliding_attention", GLOBAL]


def test_plain_teachers_keep_the_distilbert_map():
    from transformers import BertConfig

    assert student_layer_map(BertConfig(num_hidden_layers=12), 6) == [0, 2, 4, 6, 8, 10]


def test_convert_refuses_a_model_with_long_context_in_one_line(tmp_path, capsys):
    modern = build_tiny_modernbert(tmp_path / "modern")
    long_bert = build_tiny_model("bert", tmp_path / "long-bert", max_length=4096)
    lf = build_tiny_model("longformer", tmp_path / "lf", max_length=64)
    cases = {
        modern: "ModernBERT: local and global attention layers",
        long_bert: "4096 position embeddings",
        lf: "Longformer: sliding-window attention",
    }
    capsys.readouterr()
    for source, reason in cases.items():
        out = tmp_path / f"out-{source.name}"
        assert main(["convert", "--from", str(source), "--to", "bigbird", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("baselines: error: ") and err.count("\n") == 1, err
        assert f"already has long context ({reason}): nothing to convert" in err
        assert not out.exists()
    assert long_context({"model_type": "bert", "max_position_embeddings": 512}) is None
    assert long_context({"model_type": "big_bird", "attention_type": "block_sparse"}).startswith("BigBird")
    assert long_context({"model_type": "roberta", "layer_types": ["full_attention", "sliding_attention"]})
