"""bf16 inference under autocast casts each float32 weight once per evaluation, not once per batch.

Autocast keeps its bf16 copy of a weight (its cast cache) only outside inference mode (torch 2.13,
pytorch#158232); ``benchmark run``'s predictions, timing protocol and dry-run calibration therefore run without
gradients but outside inference mode under autocast (:func:`benchmark.model.precision.inference_context`). Counted from
the profiler's ``aten::_to_copy`` events on weight-shaped inputs, so no float kernel's values matter."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch

from benchmark.encode.features import Collator, encode, input_length
from benchmark.evaluate.predict import run_model
from benchmark.model.modeling import load_model_for_task
from benchmark.model.precision import autocast, inference_context
from benchmark.tasks.registry import get_task
from benchmark.timing.inference import time_inference, timing_batches
from tests.benchmark.task_types.test_unchanged_outputs import _synthetic_examples
from tiny_models import build_tiny_model

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> tuple:
    path = build_tiny_model("bert", Path(tmp_path_factory.mktemp("bert")), max_length=64, seed=0)
    spec = get_task("conll2003")
    model, tokenizer, info = load_model_for_task(str(path), spec)
    encoded = encode(_synthetic_examples(spec), tokenizer, spec, info, input_length(spec, info))
    return spec, model, tokenizer, info, encoded


def _weight_casts(fn) -> Counter:
    """``aten::_to_copy`` calls (dtype casts) per input shape while ``fn`` runs."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], record_shapes=True) as prof:
        fn()
    casts = Counter(tuple(e.input_shapes[0]) for e in prof.events() if e.name == "aten::_to_copy")
    return casts


def _linear_shapes(model) -> Counter:
    return Counter(tuple(m.weight.shape) for m in model.modules() if isinstance(m, torch.nn.Linear))


def test_inference_context_is_inference_mode_without_autocast_and_no_grad_under_it():
    with inference_context(CPU):
        assert torch.is_inference_mode_enabled()
    with torch.inference_mode(), autocast(CPU, "bfloat16"), inference_context(CPU):
        assert not torch.is_inference_mode_enabled() and not torch.is_grad_enabled()
    with autocast(CPU, "float32"), inference_context(CPU):  # float32 runs no autocast
        assert torch.is_inference_mode_enabled()


def test_bf16_predictions_cast_each_weight_once_not_once_per_batch(loaded):
    spec, model, tokenizer, info, encoded = loaded
    collator = Collator.for_model(tokenizer, info, spec.task_type)
    batches = []

    def predict():
        with autocast(CPU, "bfloat16"):  # as benchmark run predicts (benchmark.run.pipeline._run_task)
            _, paths, _ = run_model(model, info, encoded.features, collator, batch_size=1, device=CPU)
        batches.append(sum(p["batches"] for p in paths.values()))

    casts = _weight_casts(predict)
    assert batches[0] >= 4
    for shape, n in _linear_shapes(model).items():
        assert casts[shape] == n, (shape, casts[shape], n, batches[0])  # per batch: n x batches


def test_bf16_timing_casts_each_weight_once_in_the_warm_up(loaded):
    spec, model, tokenizer, info, encoded = loaded
    collator = Collator.for_model(tokenizer, info, spec.task_type)
    reports = []
    casts = _weight_casts(
        lambda: reports.append(
            time_inference(model, info, timing_batches(encoded, collator, 64), CPU, "bfloat16")
        )
    )
    assert reports[0]["dtype"] == "bfloat16" and reports[0]["iterations"] >= 4
    # one cast per weight over the warm-up, the timed calls and the memory pass (before: one every call)
    for shape, n in _linear_shapes(model).items():
        assert casts[shape] == n, (shape, casts[shape], n)
