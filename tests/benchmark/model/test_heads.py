"""benchmark.model.heads: the generic span, token and sequence heads over ``AutoModel`` train, save and reload like
transformers heads (identical outputs after a save_pretrained/from_pretrained round trip), load a masked-LM
checkpoint's encoder, and are chosen only where transformers has no head of the kind."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoConfig, AutoModelForMaskedLM

from benchmark.logs import quiet_transformers
from benchmark.model import heads
from tiny_models import tiny_config

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TASKS = {"extractive_qa": "ForQuestionAnswering", "token_classification": "ForTokenClassification",
         "classification": "ForSequenceClassification", "regression": "ForSequenceClassification"}  # fmt: skip


def test_generic_only_where_transformers_has_no_head():
    assert heads.head_kind("modernbert", "extractive_qa") == "transformers"
    for model_type in ("eurobert", "gte", "nomic_bert"):
        assert heads.head_kind(model_type, "extractive_qa") == "generic"
        assert heads.head_kind(model_type, "token_classification") == "transformers"
        assert heads.head_kind(model_type, "classification") == "transformers"
    assert (
        heads.head_kind("reformer", "token_classification") is None
    )  # no generic heads for its own attention
    assert heads.head_kind("bert", "extractive_qa") == "transformers"


def _config(kind: str, **extra):
    if kind == "nomic_bert":  # not a tests/tiny_models kind: its config directly
        sizes = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
        return AutoConfig.for_model(kind, vocab_size=120, pad_token_id=1, max_position_embeddings=64, **sizes)
    return tiny_config(kind, vocab_size=120, pad_token_id=1, max_length=64, **extra)


def _batch(labels: str):
    torch.manual_seed(1)
    ids = torch.randint(5, 120, (2, 12))
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    extra = {
        "extractive_qa": {"start_positions": torch.tensor([1, 3]), "end_positions": torch.tensor([2, 20])},
        "token_classification": {"labels": torch.randint(0, 3, (2, 12))},
        "classification": {"labels": torch.tensor([0, 2])},
        "regression": {"labels": torch.tensor([0.5, 2.0])},
    }[labels]
    return {"input_ids": ids, "attention_mask": mask}, extra


def _outputs(model, inputs):
    out = model(**inputs)
    return out.start_logits if hasattr(out, "start_logits") else out.logits


CASES = [(kind, task) for kind in ("eurobert", "gte") for task in TASKS] + [("nomic_bert", "extractive_qa")]


@pytest.mark.parametrize(("kind", "task_type"), CASES)
def test_generic_head_trains_saves_and_reloads(kind, task_type, tmp_path):
    config = _config(kind)
    config.num_labels = {"extractive_qa": 2, "regression": 1}.get(task_type, 3)
    if task_type == "classification":
        config.classifier_pooling = "mean"
    torch.manual_seed(0)
    mlm = AutoModelForMaskedLM.from_config(config)
    mlm.save_pretrained(tmp_path / "mlm")
    cls = heads.generic_class(config.model_type, TASKS[task_type])
    assert cls.__name__ == f"Generic{type(mlm.base_model).__name__.removesuffix('Model')}{TASKS[task_type]}"
    with quiet_transformers():
        model = cls.from_pretrained(tmp_path / "mlm", num_labels=config.num_labels)
    # the encoder's weights come from the masked-LM checkpoint
    name, weight = next((n, p) for n, p in mlm.named_parameters() if ".layers.0." in n)
    assert torch.equal(dict(model.named_parameters())[name], weight)

    inputs, labels = _batch(task_type)
    model.train()
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = model(**inputs, **labels).loss
    loss.backward()
    head = next(p for n, p in model.named_parameters() if n.startswith(("qa_outputs", "classifier")))
    assert head.grad is not None and bool(head.grad.abs().sum() > 0)
    before = head.detach().clone()
    optimiser.step()
    assert not torch.equal(before, head.detach())

    model.eval()
    model.save_pretrained(tmp_path / "trained")
    saved = AutoConfig.from_pretrained(tmp_path / "trained")
    assert saved.architectures == [cls.__name__] and saved.model_type == config.model_type
    again = heads.head_class(saved, task_type).from_pretrained(tmp_path / "trained")
    assert type(again) is cls and not again.training
    mine, theirs = model.state_dict(), again.state_dict()
    assert mine.keys() == theirs.keys() and all(torch.equal(mine[k], theirs[k]) for k in mine)  # bit for bit
    with (
        torch.inference_mode()
    ):  # same weights, same outputs (kernels may differ in the last bits: tolerance)
        torch.testing.assert_close(_outputs(model, inputs), _outputs(again, inputs), rtol=1e-5, atol=1e-5)


def test_mean_pooling_ignores_padding():
    hidden = torch.arange(24, dtype=torch.float32).view(2, 3, 4)
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    pooled = heads.pool(hidden, mask, "mean")
    assert torch.equal(pooled[1], hidden[1, :2].mean(dim=0)) and torch.equal(pooled[0], hidden[0].mean(dim=0))
    assert torch.equal(heads.pool(hidden, mask, "cls"), hidden[:, 0])


def test_harness_loads_the_generic_head_and_reloads_it_for_eval_only(tmp_path):
    from benchmark.model.modeling import load_model_for_task
    from benchmark.tasks.registry import get_task
    from tiny_models import build_tiny_model

    path = build_tiny_model("eurobert", tmp_path / "base", task="question_answering")
    squad = get_task("squad")
    with quiet_transformers():
        model, tokenizer, info = load_model_for_task(str(path), squad)
    assert info.head == "generic" and info.model_class == "GenericEuroBertForQuestionAnswering"
    assert info.pooling is None and info.unpadded is False and not info.needs_remote_code
    model.save_pretrained(tmp_path / "tuned")
    tokenizer.save_pretrained(tmp_path / "tuned")
    with quiet_transformers():
        again, _, info = load_model_for_task(str(tmp_path / "tuned"), squad, eval_only=True)
    assert type(again) is type(model) and info.head == "generic"
    mine, theirs = model.state_dict(), again.state_dict()
    assert all(torch.equal(mine[k], theirs[k]) for k in mine)
