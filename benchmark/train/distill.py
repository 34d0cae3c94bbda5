"""Task-specific distillation (``benchmark run --teacher TEACHER_RUN``): TinyBERT's second stage / DistilBERT's
task distillation inside the ordinary fine-tuning.

``TEACHER_RUN`` is the output folder of an earlier ``benchmark run --save-models`` of the teacher
(``OUTPUT/<slug>``, holding ``<task>.json`` and ``models/<task>/<subtask>/``; ``OUTPUT`` itself is accepted when it
holds one model's folder). For every (sub)task the teacher has a fine-tuned model for, the student's loss is::

    alpha * KL(softmax(teacher / T) || softmax(student / T)) * T**2 + (1 - alpha) * gold loss

over the task head's logits: per example (sequence classification; regression, one number, has no distribution
to soften: its term is the mean squared error to the teacher's value, as TinyBERT does for STS-B), per token where
the gold loss counts
(token classification: labels != -100), start and end logits averaged (extractive QA; padding masked out). The
teacher runs in eval mode without gradients on the same batch. Teacher and student must share the tokenizer
(same vocabulary: this first version compares the vocabularies, it does not map between tokenizers) and the
task's label names; otherwise the run is refused in one line before anything trains. A task the teacher run has
no model for runs without the teacher (one line says so) and its result records no ``distillation``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import BenchmarkError

LABEL_KEYS = ("labels", "start_positions", "end_positions")


@dataclass(frozen=True)
class Teacher:
    """One task's teacher: the run folder, the fine-tuned model of each sub-task it has, and its identity."""

    run_dir: Path
    models: dict[str, Path]  # sub-task name -> saved fine-tuned model folder
    model_id: str | None
    revision: str | None

    def record(self, alpha: float, temperature: float) -> dict[str, Any]:
        """The result's ``config.distillation``."""
        return {
            "teacher_run": str(self.run_dir),
            "teacher_model_id": self.model_id,
            "teacher_revision": self.revision,
            "alpha": alpha,
            "temperature": temperature,
            "subtasks": sorted(self.models),
        }


def teacher_run_dir(path: str | Path) -> Path:
    """The teacher's ``OUTPUT/<slug>`` folder from ``--teacher``: the folder itself, or the one model folder in
    it; a one-line error otherwise."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise BenchmarkError(f"--teacher {path}: no such directory")
    if (root / "models").is_dir():
        return root.resolve()
    inner = [p for p in sorted(root.iterdir()) if (p / "models").is_dir()]
    if len(inner) == 1:
        return inner[0].resolve()
    raise BenchmarkError(
        f"--teacher {path}: no models/ folder (pass the output folder of a `benchmark run --save-models` of the "
        "teacher, OUTPUT/<slug>)"
        if not inner
        else f"--teacher {path}: holds {len(inner)} models' runs; pass one of them (OUTPUT/<slug>)"
    )


def find_teacher(run_dir: Path, spec: Any, seed: int) -> Teacher | None:
    """``spec``'s teacher in ``run_dir`` (None when the run saved no model for any of its sub-tasks). A
    ``--seeds`` teacher run saved one model per seed: the student's seed is used when the teacher has it, else
    the teacher's first."""
    models: dict[str, Path] = {}
    base = run_dir / "models" / spec.name
    for sub in spec.subtasks or (spec,):
        direct = base / sub.name
        seeded = sorted(base.glob(f"seed-*/{sub.name}"), key=lambda p: p.parent.name)
        mine = base / f"seed-{seed}" / sub.name
        for candidate in (direct, mine, *seeded):
            if (candidate / "config.json").is_file():
                models[sub.name] = candidate
                break
    if not models:
        return None
    result = run_dir / f"{spec.name}.json"
    if not result.is_file():
        raise BenchmarkError(
            f"--teacher {run_dir}: models/{spec.name} has no result {result.name} beside it (the teacher's "
            "model id and revision are read from it)"
        )
    from ..results.files import load_result

    model = load_result(result)["model"]
    return Teacher(run_dir, models, model.get("model_id"), model.get("revision"))


def check_teacher(teacher: Teacher, spec: Any, student_tokenizer: Any, *, trust_remote_code: bool) -> None:
    """Refuse (one line) a teacher whose model cannot teach ``spec``'s student: a head without the task's label
    names, or a vocabulary other than the student's."""
    from ..model.modeling import check_model_for_task

    for sub in spec.subtasks or (spec,):
        path = teacher.models.get(sub.name)
        if path is None:
            continue
        try:
            _, tokenizer, _, _ = check_model_for_task(
                str(path), sub, trust_remote_code=trust_remote_code, eval_only=True
            )
        except (
            BenchmarkError
        ) as exc:  # the head's labels are checked as --eval-only checks a fine-tuned model's
            text = str(exc).removeprefix("--eval-only: ")
            raise BenchmarkError(f"--teacher {teacher.run_dir}: {sub.name}: {text}") from None
        if tokenizer.get_vocab() != student_tokenizer.get_vocab():
            raise BenchmarkError(
                f"--teacher {teacher.run_dir}: {sub.name}: the teacher's vocabulary ({len(tokenizer)} tokens) "
                f"differs from the student's ({len(student_tokenizer)}); task distillation needs the same tokenizer"
            )


def _kl(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean over rows of KL(softmax(teacher/T) || softmax(student/T)) * T**2 (rows: the last dimension)."""
    if student.numel() == 0:
        return student.sum() * 0.0
    log_p = F.log_softmax(student.float() / temperature, dim=-1)
    log_q = F.log_softmax(teacher.float() / temperature, dim=-1)
    kl = (log_q.exp() * (log_q - log_p)).sum(-1)
    return kl.mean() * temperature**2


def soft_loss(
    student: Any, teacher: Any, inputs: dict[str, torch.Tensor], task_type: str, temperature: float
) -> torch.Tensor:
    """The KL term over the task head's logits of ``student`` and ``teacher`` outputs (see the module docstring)."""
    if task_type == "extractive_qa":
        mask = inputs.get("attention_mask")
        terms = []
        for key in ("start_logits", "end_logits"):
            s, t = student[key], teacher[key]
            if mask is not None:
                pad = mask[:, : s.shape[1]] == 0
                s, t = s.masked_fill(pad, -1e4), t.masked_fill(pad, -1e4)
            terms.append(_kl(s, t, temperature))
        return (terms[0] + terms[1]) / 2
    s, t = student["logits"], teacher["logits"]
    if (
        task_type == "regression"
    ):  # one number (STS-B): no distribution to soften; the teacher's value, by MSE
        return F.mse_loss(s.float(), t.float())
    if task_type == "token_classification":
        keep = inputs["labels"] != -100
        return _kl(s[keep], t[keep], temperature)
    return _kl(s, t, temperature)


def distilling_trainer(
    base: type, teacher: torch.nn.Module, task_type: str, alpha: float, temperature: float
):
    """``base`` (a ``Trainer`` class) whose ``compute_loss`` mixes the teacher's soft labels with the gold loss."""
    teacher.eval()
    for parameter in teacher.parameters():
        parameter.requires_grad_(False)

    class DistillingTrainer(base):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            outputs = model(**inputs)
            gold = outputs["loss"]
            with torch.no_grad():
                if next(teacher.parameters()).device != gold.device:
                    teacher.to(gold.device)
                taught = teacher(**{k: v for k, v in inputs.items() if k not in LABEL_KEYS})
            loss = alpha * soft_loss(outputs, taught, inputs, task_type, temperature) + (1 - alpha) * gold
            return (loss, outputs) if return_outputs else loss

    return DistillingTrainer
