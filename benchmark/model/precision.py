"""How ``benchmark run`` executes a model: numeric precision, attention implementation, ``torch.compile``.

- ``--dtype`` (default ``float32``, for comparability with published fine-tuning numbers, which are fp32 or were
  checked against fp32): ``bfloat16`` / ``float16`` train in mixed precision through the Trainer's own options
  (``TrainingArguments(bf16=True)`` / ``fp16=True``; on CPU the Trainer's bf16 is ``torch.autocast``) and run
  inference (predictions and the timing protocol) under ``torch.autocast`` in that dtype. Weights stay float32,
  so a bf16 run differs from an fp32 run only by the matmul precision. Inference under autocast runs without
  gradients but outside inference mode (:func:`inference_context`), so autocast casts each weight once per
  evaluation, not once per batch. float16 on CPU is refused (autocast on CPU does not support it well, and no
  CPU is faster in it).
- ``--attn-implementation`` (default: what transformers picks, e.g. ``sdpa`` where the architecture supports it)
  is passed to ``from_pretrained``; an architecture that cannot use it (Longformer, BigBird, Nystromformer:
  their attention is their own) loads with its default and a warning line says so, once.
- ``--compile`` compiles the model with ``torch.compile`` for training (``TrainingArguments(torch_compile=True)``)
  and inference. Efficient-attention architectures whose attention is data-dependent Python (BigBird's sticky
  switch, Longformer's chunking, Nystromformer's fixed length) are not compiled; a warning line says so, once.

Every result records what actually ran in its ``execution`` section (:func:`execution_record`); results written
before these options existed have no such section and ran float32, uncompiled, with transformers' default
attention (:meth:`benchmark.core.record.ResultRecord.execution_or_legacy`).
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

import torch

from ..core import architectures
from ..errors import BenchmarkError

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
DEFAULT_DTYPE = "float32"
ATTN_IMPLEMENTATIONS = ("eager", "sdpa", "flash_attention_2", "flash_attention_3", "flex_attention")
_warned: set[str] = set()


def warn_once(message: str) -> None:
    """One ``warning:`` line on stderr per distinct message and process."""
    if message in _warned:
        return
    _warned.add(message)
    from .. import distributed

    if distributed.is_main_process():
        print(f"warning: {message}", file=sys.stderr, flush=True)


def check_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """The torch dtype for ``--dtype``; one-line error for an unknown name or float16 on CPU."""
    if dtype not in DTYPES:
        raise BenchmarkError(f"--dtype {dtype}: not one of {', '.join(DTYPES)}")
    if dtype == "float16" and device.type == "cpu":
        raise BenchmarkError("--dtype float16 is not supported on CPU; use bfloat16 (or float32)")
    if dtype == "bfloat16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise BenchmarkError(f"--dtype bfloat16: {device} does not support bfloat16; use float16")
    if dtype == "bfloat16" and device.type == "cpu" and not cpu_has_bf16():
        warn_once(
            "--dtype bfloat16: this CPU has no native bfloat16 instructions (AVX-512 BF16 / AMX); autocast "
            "emulates them and is usually slower than float32 here"
        )
    return DTYPES[dtype]


def cpu_has_bf16() -> bool:
    """Whether the CPU computes bfloat16 natively (AVX-512 BF16 or AMX); True when torch cannot tell."""
    cpu = torch.cpu
    checks = [getattr(cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    checks = [check for check in checks if check is not None]
    return not checks or any(check() for check in checks)


def check_attn_implementation(name: str | None) -> str | None:
    if name is not None and name not in ATTN_IMPLEMENTATIONS:
        raise BenchmarkError(f"--attn-implementation {name}: not one of {', '.join(ATTN_IMPLEMENTATIONS)}")
    return name


def autocast(device: torch.device, dtype: str):
    """``torch.autocast`` in ``dtype`` on ``device`` (a no-op context for float32)."""
    if dtype == DEFAULT_DTYPE:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=DTYPES[dtype])


@contextlib.contextmanager
def inference_context(device: torch.device):
    """Gradient-free context for inference on ``device``: ``torch.inference_mode()``, except under autocast on
    that device type, where it is ``torch.no_grad()`` with inference mode off (also inside an enclosing one).
    Autocast keeps its lower-precision copy of each float32 weight (its cast cache, until the outermost autocast
    exits) only outside inference mode (torch 2.13, pytorch#158232): under ``inference_mode`` a bf16 forward casts
    every linear weight and bias again on every call. Enter the autocast first."""
    if not torch.is_autocast_enabled(device.type):
        with torch.inference_mode():
            yield
        return
    with torch.inference_mode(False), torch.no_grad():
        yield


def trainer_precision(dtype: str) -> dict[str, bool]:
    """``TrainingArguments`` keywords for mixed-precision training in ``dtype``."""
    return {"bf16": dtype == "bfloat16", "fp16": dtype == "float16"}


def can_compile(model_type: str) -> bool:
    """Whether ``--compile`` applies to this architecture (warns once when it does not)."""
    if architectures.get(model_type).own_attention:  # its attention is its own code
        warn_once(
            f"--compile: {model_type} is not compiled (its attention is data-dependent Python); ran eager"
        )
        return False
    return True


def compiled(model: torch.nn.Module) -> torch.nn.Module:
    """``torch.compile(model, dynamic=True)`` (input lengths vary from batch to batch)."""
    return torch.compile(model, dynamic=True)


def attn_implementation_of(model: Any) -> str | None:
    """The attention implementation the loaded model actually uses (``config._attn_implementation``)."""
    config = getattr(model, "config", None)
    return getattr(config, "_attn_implementation", None) or None


def execution_record(
    *,
    dtype: str,
    attn_implementation: str | None,
    requested_attn: str | None,
    compiled: bool,
    batching: str = "length_grouped",
) -> dict[str, Any]:
    """The result's ``execution`` section (``batching``: a value of ``benchmark.encode.batching.BATCHING_CHOICES``)."""
    return {
        "dtype": dtype,
        "mixed_precision": "autocast" if dtype != DEFAULT_DTYPE else None,
        "attn_implementation": attn_implementation,
        "requested_attn_implementation": requested_attn,
        "compiled": compiled,
        "batching": batching,
    }
