"""Fine-tuning a model on a task's training windows with the transformers ``Trainer``.

Seeded (``transformers.set_seed`` and ``TrainingArguments.seed``), linear schedule with warm-up, AdamW with weight
decay, no intermediate checkpoints. Under ``accelerate launch`` / ``torchrun`` the Trainer trains data-parallel (DDP)
over the processes: ``budget.batch_size`` is per process, so each epoch takes ``1 / num_processes`` of the steps;
the summary records the processes the Trainer saw and the loss averaged over them, and only the main process saves.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from .. import distributed, task_types
from ..core.encoded import EncodedSplit, Feature
from ..core.record import Budget, Model, TrainingRun
from ..encode.features import Collator
from ..errors import DivergedError


class FeatureDataset(torch.utils.data.Dataset):
    """Features as a map-style dataset (the Trainer's collator pads them)."""

    def __init__(self, features: list[Feature]):
        self.features = features

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, i: int) -> Feature:
        return self.features[i]


class CountingCollator:
    """The task's collator, counting the positions and real tokens of every batch it pads (for the summary's
    ``padding_ratio``)."""

    def __init__(self, collator: Collator):
        self.collator = collator
        self.positions = 0
        self.real = 0

    def __call__(self, features: list[Feature]) -> dict[str, torch.Tensor]:
        batch = self.collator(features)
        self.positions += int(batch["input_ids"].numel())
        tokens = task_types.get(self.collator.task_type).feature_tokens
        self.real += sum(tokens(f) for f in features)
        return batch


def _trainer_class(task_type: str):
    """``Trainer`` drawing its training batches from :class:`benchmark.encode.batching.LengthGroupedSampler` (over the
    widths ``task_type`` gives the features)."""
    from transformers import Trainer

    from ..encode.batching import LengthGroupedSampler

    class LengthGroupedTrainer(Trainer):
        def _get_train_sampler(self, *args, **kwargs):
            width = task_types.get(task_type).feature_width
            return LengthGroupedSampler(
                [width(f) for f in self.train_dataset.features],
                self.args.per_device_train_batch_size,
                seed=self.args.seed,
            )

    return LengthGroupedTrainer


def finetune(
    model: torch.nn.Module,
    tokenizer: Any,
    task_type: str,
    train: EncodedSplit,
    budget: Budget,
    *,
    seed: int,
    device: torch.device,
    info: Model | None = None,
    save_to: Path | None = None,
    dtype: str = "float32",
    compile_model: bool = False,
    group_by_length: bool = True,
    teacher: torch.nn.Module | None = None,
    distill_alpha: float = 0.5,
    distill_temperature: float = 2.0,
) -> TrainingRun:
    """Train ``model`` in place on ``train``'s windows for ``budget``; returns its :class:`~benchmark.core.record.TrainingRun`.

    ``info`` selects the architecture's collation (Nyströmformer). ``budget.epochs == 0`` (or no training windows)
    leaves the model untouched. ``save_to``: also write the
    fine-tuned model and tokenizer there (``save_pretrained``). ``dtype``: mixed precision through the Trainer's
    ``bf16`` / ``fp16`` options (:mod:`benchmark.model.precision`); ``compile_model``: ``torch_compile``.
    ``group_by_length``: length-grouped batches (:mod:`benchmark.encode.batching`); False draws the Trainer's random
    batches (``benchmark run --batching random``). ``teacher``: a fine-tuned model of the same task whose soft
    labels join the gold loss (:mod:`benchmark.train.distill`, ``distill_alpha`` and ``distill_temperature``).
    """
    from transformers import Trainer, TrainingArguments, set_seed

    from ..model.precision import trainer_precision

    features = [f for f in train.features if f.label is not None]
    summary = TrainingRun.made(  # every key of a result's training section but its windows (the run adds them)
        train_examples=train.n_examples,
        train_windows=len(features),
        steps=0,
        epochs=budget.epochs,
        seconds=0.0,
        final_loss=None,
        saved_to=None,
        num_processes=distributed.world_size(),  # processes the Trainer trained on (WORLD_SIZE under a launcher)
        per_device_batch_size=None,
        total_batch_size=None,  # per device x processes x gradient accumulation
        # model positions (padding included) per real token over every training batch of every process (the
        # batches the collator padded; Nystromformer pads every batch to its fixed length), over all epochs
        padding_ratio=None,
        padded_positions=None,
        real_tokens=None,
        batching="length_grouped" if group_by_length else "random",
        megabatch_factor=None,  # length-grouped: batches per sorted mega-batch (benchmark.encode.batching)
    )
    if group_by_length:
        from ..encode.batching import MEGABATCH_FACTOR

        summary.megabatch_factor = MEGABATCH_FACTOR
    if budget.epochs == 0 or not features:
        return summary
    set_seed(seed)
    collator = CountingCollator(
        Collator.for_model(tokenizer, info, task_type)
        if info is not None
        else Collator(tokenizer, task_type=task_type)
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gonerd-bench-train-") as scratch:
        args = TrainingArguments(
            output_dir=scratch,
            num_train_epochs=budget.epochs,
            learning_rate=budget.learning_rate,
            warmup_steps=budget.warmup_ratio,  # a float < 1 is a ratio of the total steps
            weight_decay=budget.weight_decay,
            per_device_train_batch_size=budget.batch_size,
            lr_scheduler_type="linear",
            seed=seed,
            data_seed=seed,
            save_strategy="no",
            eval_strategy="no",
            logging_strategy="no",  # the final training loss is in the summary
            logging_nan_inf_filter=False,  # a NaN loss must show (the filter reports a diverged run as 0.0)
            report_to="none",
            remove_unused_columns=False,
            use_cpu=device.type == "cpu",
            dataloader_num_workers=0,
            disable_tqdm=False,
            torch_compile=compile_model,
            **trainer_precision(dtype),
        )
        transformers_logger = logging.getLogger("transformers.trainer")
        level = transformers_logger.level
        transformers_logger.setLevel(logging.WARNING)
        try:
            trainer_class = _trainer_class(task_type) if group_by_length else Trainer
            if teacher is not None:
                from .distill import distilling_trainer

                trainer_class = distilling_trainer(
                    trainer_class, teacher, task_type, distill_alpha, distill_temperature
                )
            trainer = trainer_class(
                model=model, args=args, train_dataset=FeatureDataset(features), data_collator=collator
            )
            result = trainer.train()
        finally:
            transformers_logger.setLevel(level)
        summary.steps = int(result.global_step)
        summary.num_processes = int(args.world_size)
        summary.per_device_batch_size = int(args.per_device_train_batch_size)
        summary.total_batch_size = int(
            args.train_batch_size * args.gradient_accumulation_steps * args.world_size
        )
        loss = float(result.training_loss) if result.training_loss is not None else None
        summary.final_loss = distributed.mean(loss, label="training loss")  # each process saw its own shard
        if summary.final_loss is not None and not math.isfinite(summary.final_loss):
            raise DivergedError(
                f"training diverged: the training loss is {summary.final_loss} after {summary.steps} steps "
                "(NaN weights, or a learning rate too high?); no result written for this task"
            )
        # Mean positions / mean real tokens over the processes = their sums' ratio.
        positions = distributed.mean(float(collator.positions), label="training positions")
        real = distributed.mean(float(collator.real), label="training tokens")
        summary.padding_ratio = round(positions / real, 4) if real else None
        summary.padded_positions = round(positions * summary.num_processes)
        summary.real_tokens = round(real * summary.num_processes)
        if save_to is not None:
            trainer.save_model(str(save_to))  # writes on the main process only
            if distributed.is_main_process():
                save_to.mkdir(parents=True, exist_ok=True)
                tokenizer.save_pretrained(str(save_to))
            summary.saved_to = str(save_to)
    summary.seconds = round(time.perf_counter() - started, 3)
    model.eval()
    model.to(device)
    return summary
