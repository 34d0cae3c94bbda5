"""``benchmark run --dry-run``: what each task would cost, before any training.

Per task (per GLUE sub-task) it loads the spec, the tokenizer, the model's weights (not trained) and the data,
encodes every split exactly as the run would, and prints:

- training: examples, windows, real tokens, padded positions (with the padding Longformer and BigBird add inside
  the model, to a multiple of the attention window / block; over the length-grouped batches of
  :mod:`benchmark.encode.batching`, one epoch; with ``--batching random`` over a seeded random order like the
  Trainer's, an estimate) and optimiser steps (the Trainer's count over all epochs and processes);
- every evaluation split: examples, windows, real tokens and padded positions (the prediction batches);
- an estimated wall time on the current device, from a short calibration: a few timed training steps
  (forward, backward, AdamW step, in the run's dtype) and inference calls of the actual model on real batches of
  the task chosen at several widths (the longest, the median, a short one). A line ``time = a + b x positions``
  is fitted per kind and summed over every batch of the run (training epochs, predictions, the timing protocol).

The estimate ignores data loading, tokenisation, scoring and ``--compile``'s compilation time; on a machine shared
with other work it is as noisy as the calibration. Nothing is written.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import torch

from .. import distributed, task_types
from ..core import architectures
from ..core.record import Budget
from ..core.task_spec import TaskSpec
from ..data.loader import load_examples
from ..encode.batching import length_grouped_batches, random_batches
from ..encode.features import Collator, input_length
from ..model.model_source import ResolvedModel
from ..model.modeling import restore_attention_type
from ..model.precision import autocast, inference_context
from ..task_types.windowing import PREDICT_MAX_PAD_FRACTION, length_buckets
from ..timing.inference import timing_batches, timing_calls
from .config import RunConfig

CALIBRATION_BATCHES = 3  # distinct batch widths timed per kind
CALIBRATION_REPEATS = 2  # timed calls per calibration batch (after one untimed warm-up call)


def _pick(batches: Sequence[Sequence[int]], lengths: Sequence[int]) -> list[Sequence[int]]:
    """Up to CALIBRATION_BATCHES batches of distinct widths: the longest, the median and the 10th percentile."""
    if not batches:
        return []
    ranked = sorted(batches, key=lambda b: max(lengths[i] for i in b))
    picks = [ranked[-1], ranked[len(ranked) // 2], ranked[len(ranked) // 10]]
    out: list[Sequence[int]] = []
    for b in picks:
        if all(b is not o for o in out):
            out.append(b)
    return out[:CALIBRATION_BATCHES]


def _fit(samples: list[tuple[int, float]]) -> tuple[float, float]:
    """Least-squares ``seconds = a + b * positions`` (a, b >= 0); proportional when widths do not differ."""
    xs = [x for x, _ in samples]
    ys = [y for _, y in samples]
    n = len(samples)
    mx, my = sum(xs) / n, sum(ys) / n
    var = sum((x - mx) ** 2 for x in xs)
    if n < 2 or var == 0:
        return 0.0, my / mx if mx else 0.0
    b = sum((x - mx) * (y - my) for x, y in samples) / var
    a = my - b * mx
    if a < 0 or b < 0:
        return 0.0, sum(ys) / sum(xs)
    return a, b


def batch_positions(
    model,
    batches: Sequence[Sequence[int]],
    lengths: Sequence[int],
    fixed: int | None,
    sequences: Sequence[int] | None = None,
) -> list[int]:
    """Positions each batch costs: its sequences (one per feature, or ``sequences[i]`` for feature ``i``: N for
    multiple choice, :meth:`~benchmark.task_types.base.TaskType.feature_sequences`) x width (its longest input, or
    the fixed length), the width padded further inside the model where it does (Longformer to its attention
    window, BigBird to its block while block-sparse attention runs; :func:`architectures.computed_length`)."""
    return [
        (sum(sequences[i] for i in b) if sequences else len(b))
        * architectures.computed_length(model, max(fixed or 0, max(lengths[i] for i in b)))
        for b in batches
        if b
    ]


def _positions(model, input_ids: torch.Tensor) -> int:
    """Positions a collated batch costs inside the model (see :func:`batch_positions`): every sequence of it
    (``[batch, width]``, or ``[batch, choices, width]``) times the width the model computes over."""
    width = int(input_ids.shape[-1])
    return input_ids.numel() // max(width, 1) * architectures.computed_length(model, width)


def _timed(fn, repeats: int = CALIBRATION_REPEATS) -> float:
    fn()  # warm-up (allocator, kernels)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def calibrate_training(
    model, collator, features, batches, lengths, device, dtype, lr
) -> list[tuple[int, float]]:
    """(positions, seconds per optimiser step) for a few real training batches."""
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    samples = []
    for idx in _pick(batches, lengths):
        batch = {k: v.to(device) for k, v in collator([features[i] for i in idx]).items()}

        def step(batch=batch):
            with autocast(device, dtype):
                loss = model(**batch).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            _sync(device)

        samples.append((_positions(model, batch["input_ids"]), _timed(step)))
    model.eval()
    return samples


def calibrate_inference(
    model, info, collator, features, batches, lengths, device, dtype
) -> list[tuple[int, float]]:
    """(positions, seconds per forward call) for a few real prediction batches."""
    model.eval()
    samples = []
    for idx in _pick(batches, lengths):
        batch = {k: v.to(device) for k, v in collator([features[i] for i in idx], with_labels=False).items()}

        def call(batch=batch):
            restore_attention_type(model, info)
            with autocast(device, dtype), inference_context(device):
                model(**batch)
            _sync(device)

        with autocast(device, dtype):  # as the run predicts: the weights cast once (in the warm-up call)
            samples.append((_positions(model, batch["input_ids"]), _timed(call)))
    return samples


def _samples(samples: list[tuple[int, float]]) -> str:
    return ", ".join(f"{seconds:.3f} s at {positions:,} positions" for positions, seconds in samples)


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def _row(label: str, examples: int, windows: int, real: int, positions: int, extra: str = "") -> str:
    ratio = positions / real if real else 1.0
    return (
        f"  {label:<22} examples {examples:>8,}  windows {windows:>8,}  real tokens {real:>11,}  "
        f"padded positions {positions:>11,} ({ratio:.2f}x){extra}"
    )


def dry_run(
    spec: TaskSpec,
    resolved: ResolvedModel,
    cfg: RunConfig,
    *,
    budget: Budget,
    device: torch.device,
    out=None,
) -> float:
    """Print the cost preview of ``spec`` for ``resolved`` run as ``cfg`` says (see module docstring); returns
    the estimated seconds."""
    from ..encode.features import encode

    def say(line: str) -> None:
        if distributed.is_main_process():
            print(line, file=out, flush=True)

    data_dir, max_length = cfg.data_dir, cfg.max_length
    seed, dtype, compile_model, batching = cfg.seed, cfg.dtype, cfg.compile_model, cfg.batching
    world = distributed.world_size()
    total = 0.0
    say(
        f"{spec.name} ({spec.task_type}, {spec.context} context) on {device}, dtype {dtype}, "
        f"batch {budget.batch_size} x {world} process(es), {budget.epochs:g} epoch(s)"
        + (", --compile (compilation time not estimated)" if compile_model else "")
        + (", random training batches (padding estimated)" if batching == "random" else "")
    )
    for plan in cfg.plan(spec, budget):  # the run's plan
        sub, name = plan.spec, plan.prefix

        def fresh_model(sub=sub):
            """The model as the run loads it: seeded, so the head is the same fresh one each time."""
            return cfg.load_model(resolved, sub, device)

        model, tokenizer, info = fresh_model()
        length = input_length(sub, info, max_length)
        collator = Collator.for_model(tokenizer, info, sub.task_type)
        impl = task_types.get(sub.task_type)
        train_seconds = eval_seconds = 0.0
        if plan.train_split is not None and budget.epochs > 0:
            train = load_examples(sub, plan.train_split, data_dir=data_dir, limit=plan.train_limit)
            encoded = encode(train.examples, tokenizer, sub, info, length)
            features = [f for f in encoded.features if f.label is not None]
            lengths = [impl.feature_width(f) for f in features]
            sequences = [impl.feature_sequences(f) for f in features]
            batches = (length_grouped_batches if batching == "grouped" else random_batches)(
                lengths, budget.batch_size, seed=seed
            )
            widths = batch_positions(model, batches, lengths, info.fixed_length, sequences)
            positions = sum(widths)
            per_epoch = math.ceil(len(batches) / world)
            steps = math.ceil(budget.epochs * per_epoch)
            samples = calibrate_training(
                model, collator, features, batches, lengths, device, dtype, budget.learning_rate
            )
            fit = _fit(samples)
            say(f"  calibration, training steps: {_samples(samples)}")
            # Each process runs its share of the batches at once; an epoch costs the larger share.
            train_seconds = budget.epochs * sum(fit[0] + fit[1] * w for w in widths) / world
            say(
                _row(
                    f"{name}{plan.train_split} (train)",
                    encoded.n_examples,
                    len(features),
                    sum(impl.feature_tokens(f) for f in features),
                    positions,
                    f"  steps {steps:,}",
                )
            )
            # The calibration trained the weights a little: reload a fresh copy for the inference calibration.
            del model
            model, tokenizer, info = fresh_model()
        fit = None
        for split in plan.eval_splits:
            loaded = load_examples(sub, split, data_dir=data_dir, limit=plan.eval_limit)
            encoded = encode(loaded.examples, tokenizer, sub, info, length)
            lengths = [impl.feature_width(f) for f in encoded.features]
            sequences = [impl.feature_sequences(f) for f in encoded.features]
            batch_size = budget.eval_batch_size or budget.batch_size
            batches = length_buckets(
                lengths, batch_size, max_pad_fraction=None if collator.pad_to else PREDICT_MAX_PAD_FRACTION
            )
            widths = batch_positions(model, batches, lengths, info.fixed_length, sequences)
            positions = sum(widths)
            if fit is None and batches:
                samples = calibrate_inference(
                    model, info, collator, encoded.features, batches, lengths, device, dtype
                )
                fit = _fit(samples)
                say(f"  calibration, inference calls: {_samples(samples)}")
                # The timing protocol on its batches: the warm-up, the timed calls, on CPU the memory pass.
                timed = timing_batches(encoded, collator, length)
                if timed:
                    mean_width = sum(_positions(model, b["input_ids"]) for b in timed) / len(timed)
                    calls = timing_calls(len(timed), device)
                    eval_seconds += calls * (fit[0] + fit[1] * mean_width)
            if fit is not None:
                eval_seconds += sum(fit[0] + fit[1] * w for w in widths)
            tokens = sum(impl.feature_tokens(f) for f in encoded.features)
            say(_row(f"{name}{split}", encoded.n_examples, len(encoded.features), tokens, positions))
        del model
        total += train_seconds + eval_seconds
        say(
            f"  {name or ''}estimated wall time: training {_duration(train_seconds)}, "
            f"evaluation {_duration(eval_seconds)}"
        )
    say(f"  {spec.name} total (estimated): {_duration(total)}")
    return total
