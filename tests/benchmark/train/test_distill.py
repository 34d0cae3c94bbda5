"""The task-distillation loss (:mod:`benchmark.train.distill`): the KL term per task type and the Trainer's mix."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from benchmark.train.distill import distilling_trainer, soft_loss


def _reference(student: torch.Tensor, teacher: torch.Tensor, t: float) -> torch.Tensor:
    """torch's own KL (batchmean over rows) times T^2."""
    return F.kl_div(F.log_softmax(student / t, -1), F.softmax(teacher / t, -1), reduction="batchmean") * t * t


def test_sequence_classification_is_the_batchmean_kl_times_t_squared():
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    got = soft_loss({"logits": s}, {"logits": t}, {}, "classification", 2.0)
    assert torch.allclose(got, _reference(s, t, 2.0), rtol=1e-4)
    assert soft_loss({"logits": s}, {"logits": s.clone()}, {}, "classification", 2.0).abs() < 1e-6


def test_token_classification_counts_only_the_tokens_the_gold_loss_counts():
    g = torch.Generator().manual_seed(1)
    s, t = torch.randn(2, 5, 4, generator=g), torch.randn(2, 5, 4, generator=g)
    labels = torch.tensor([[-100, 1, 2, -100, -100], [-100, 0, -100, -100, -100]])
    got = soft_loss({"logits": s}, {"logits": t}, {"labels": labels}, "token_classification", 1.0)
    keep = labels != -100
    assert torch.allclose(got, _reference(s[keep], t[keep], 1.0), rtol=1e-4)
    t2 = t.clone()
    t2[labels == -100] += 10 * torch.randn(
        t2[labels == -100].shape, generator=g
    )  # masked tokens do not count
    assert torch.allclose(
        soft_loss({"logits": s}, {"logits": t2}, {"labels": labels}, "token_classification", 1.0), got
    )


def test_qa_averages_start_and_end_and_ignores_padding():
    g = torch.Generator().manual_seed(2)
    s = {k: torch.randn(2, 6, generator=g) for k in ("start_logits", "end_logits")}
    t = {k: torch.randn(2, 6, generator=g) for k in ("start_logits", "end_logits")}
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]])
    got = soft_loss(s, t, {"attention_mask": mask}, "extractive_qa", 2.0)
    moved = {k: v.clone() for k, v in t.items()}
    for v in moved.values():
        v[1, 4:] += 50.0  # padding: no weight
    assert torch.allclose(soft_loss(s, moved, {"attention_mask": mask}, "extractive_qa", 2.0), got, rtol=1e-5)
    full = {"attention_mask": torch.ones_like(mask)}
    expected = (
        _reference(s["start_logits"], t["start_logits"], 2.0)
        + _reference(s["end_logits"], t["end_logits"], 2.0)
    ) / 2
    assert torch.allclose(soft_loss(s, t, full, "extractive_qa", 2.0), expected, rtol=1e-4)


class _Head(torch.nn.Module):
    def __init__(self, seed: int):
        super().__init__()
        torch.manual_seed(seed)
        self.linear = torch.nn.Linear(3, 2)

    def forward(self, x, labels=None):
        logits = self.linear(x)
        out = {"logits": logits}
        if labels is not None:
            out["loss"] = F.cross_entropy(logits, labels)
        return out


def test_the_trainer_mixes_alpha_kl_and_one_minus_alpha_gold_with_a_frozen_teacher():
    class Base:
        def __init__(self):
            pass

    student, teacher = _Head(0), _Head(1)
    teacher.train()
    inputs = {
        "x": torch.randn(4, 3, generator=torch.Generator().manual_seed(3)),
        "labels": torch.tensor([0, 1, 1, 0]),
    }
    gold = student(**inputs)["loss"]
    kl = soft_loss(student(**inputs), teacher(x=inputs["x"]), inputs, "classification", 2.0)
    for alpha in (0.0, 0.3, 1.0):
        trainer = distilling_trainer(Base, teacher, "classification", alpha, 2.0)()
        loss = trainer.compute_loss(student, dict(inputs))
        assert torch.allclose(loss, alpha * kl + (1 - alpha) * gold, rtol=1e-5)
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())
    loss.backward()
    assert teacher.linear.weight.grad is None and student.linear.weight.grad is not None


def test_regression_is_the_squared_error_to_the_teachers_value():
    s, t = torch.tensor([[0.5], [2.0]]), torch.tensor([[1.5], [2.0]])
    assert torch.allclose(soft_loss({"logits": s}, {"logits": t}, {}, "regression", 2.0), torch.tensor(0.5))
