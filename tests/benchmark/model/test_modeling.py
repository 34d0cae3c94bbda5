"""Model loading: one-line errors for user mistakes, heads from the spec, architecture quirks."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from benchmark.core.architectures import attention_path
from benchmark.errors import BenchmarkError
from benchmark.model.modeling import (
    check_model_for_task,
    content_sha256,
    load_model_for_task,
    restore_attention_type,
)
from benchmark.tasks.registry import get_task
from tiny_models import build_tiny_model

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def conll():
    return get_task("conll2003")


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    return build_tiny_model("bert", tmp_path_factory.mktemp("bert"), task="base")


def test_head_gets_spec_labels_and_info(bert_dir, conll):
    model, tokenizer, info = load_model_for_task(str(bert_dir), conll)
    assert model.config.id2label == dict(enumerate(conll.label_names))
    assert model.config.num_labels == len(conll.label_names)
    assert not model.training
    assert info.model_type == "bert" and info.max_positions == 512
    assert info.revision.startswith("sha256:") and len(info.revision) == 7 + 64
    assert info.n_params == sum(p.numel() for p in model.parameters())
    assert tokenizer.is_fast


def test_content_hash_changes_with_weights(tmp_path, bert_dir):
    copy = tmp_path / "copy"
    shutil.copytree(bert_dir, copy)
    assert content_sha256(copy) == content_sha256(bert_dir)
    weights = next(copy.glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:-1] + b"\x00")
    assert content_sha256(copy) != content_sha256(bert_dir)


def test_roberta_style_positions_lose_two(tmp_path, conll):
    path = build_tiny_model("roberta", tmp_path / "rb", max_length=128)
    _, _, info = load_model_for_task(str(path), conll)
    assert info.max_positions == 128


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda d: d.mkdir(), "no config.json"),
        (lambda d: None, "not a model"),
    ],
)
def test_not_a_model(tmp_path, conll, setup, message):
    target = tmp_path / "nothing"
    setup(target)
    with pytest.raises(BenchmarkError, match=message):
        check_model_for_task(str(target), conll)


def test_missing_tokenizer_and_fallback(tmp_path, bert_dir, conll):
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(bert_dir / name, bare / name)
    with pytest.raises(BenchmarkError, match=r"no usable tokenizer.*--tokenizer"):
        check_model_for_task(str(bare), conll)
    _, tokenizer, _, _ = check_model_for_task(str(bare), conll, tokenizer_from=str(bert_dir))
    assert len(tokenizer) > 0
    with pytest.raises(BenchmarkError, match="--tokenizer"):
        check_model_for_task(str(bare), conll, tokenizer_from=str(tmp_path / "nope"))


def test_tokenizer_larger_than_embeddings(tmp_path, bert_dir, conll):
    small = tmp_path / "small"
    shutil.copytree(bert_dir, small)
    cfg = json.loads((small / "config.json").read_text())
    cfg["vocab_size"] = 10
    (small / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(BenchmarkError, match="do not match"):
        check_model_for_task(str(small), conll)


def test_architecture_without_the_head(tmp_path, conll):
    from transformers import ReformerConfig

    path = tmp_path / "reformer"
    ReformerConfig().save_pretrained(path)
    with pytest.raises(BenchmarkError, match="reformer models have no token classification head"):
        check_model_for_task(str(path), conll)


def test_remote_code_needs_permission(tmp_path, conll):
    path = tmp_path / "custom"
    path.mkdir()
    (path / "config.json").write_text(
        json.dumps({"model_type": "my_encoder", "auto_map": {"AutoConfig": "modeling.MyConfig"}})
    )
    with pytest.raises(BenchmarkError, match="--trust-remote-code"):
        check_model_for_task(str(path), conll)


def test_eval_only_requires_matching_head(tmp_path, bert_dir, conll):
    with pytest.raises(BenchmarkError, match="no ForTokenClassification head"):
        check_model_for_task(str(bert_dir), conll, eval_only=True)
    wrong = build_tiny_model(
        "bert", tmp_path / "wrong", task="token_classification", num_labels=2, id2label={0: "O", 1: "X"}
    )
    with pytest.raises(BenchmarkError, match="predicts labels"):
        check_model_for_task(str(wrong), conll, eval_only=True)
    right = build_tiny_model(
        "bert",
        tmp_path / "right",
        task="token_classification",
        num_labels=len(conll.label_names),
        id2label=dict(enumerate(conll.label_names)),
    )
    model, _, _ = load_model_for_task(str(right), conll, eval_only=True)
    assert tuple(model.config.id2label[i] for i in range(model.config.num_labels)) == conll.label_names


def test_bigbird_attention_path_and_sticky_fallback_undone(tmp_path):
    squad = get_task("squad")
    path = build_tiny_model("bigbird", tmp_path / "bb", block_size=8, num_random_blocks=2)
    model, _, info = load_model_for_task(str(path), squad)
    limit = (5 + 2 * 2) * 8
    assert attention_path(model, limit) == "original_full"
    assert attention_path(model, limit + 1) == "block_sparse"
    with torch.inference_mode():
        model(
            input_ids=torch.ones((1, 20), dtype=torch.long)
        )  # short: transformers switches to full attention
    assert model.bert.attention_type == "original_full"
    restore_attention_type(model, info)
    assert model.bert.attention_type == "block_sparse"


def test_nystromformer_with_landmarks_is_fixed_length(tmp_path, conll):
    path = build_tiny_model("nystromformer", tmp_path / "ny", num_landmarks=8, segment_means_seq_len=64)
    _, _, info = load_model_for_task(str(path), conll)
    assert info.fixed_length == 64 and info.max_positions == 64
    full = build_tiny_model("nystromformer", tmp_path / "ny_full", max_length=128)  # landmarks == segment len
    _, _, info_full = load_model_for_task(str(full), conll)
    assert info_full.fixed_length is None
