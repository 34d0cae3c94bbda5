"""Which device a measurement runs on, and what that device is.

Every inference-cost figure is only meaningful next to the hardware it was measured on: :func:`hardware_info`
returns the record that :mod:`benchmark.timing.speed` stores beside each cost curve.
"""

from __future__ import annotations

import os
import platform
from typing import Any

import torch

from ..errors import BenchmarkError

SUPPORTED_DEVICES = "auto, cpu, cuda, cuda:N"


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """The :class:`torch.device` to measure on.

    ``None`` or ``"auto"`` picks ``cuda`` (the current CUDA device) when one is available, else ``cpu``.
    ``"cpu"``, ``"cuda"`` and ``"cuda:N"`` are accepted; anything else, a CUDA device on a machine without CUDA,
    or a CUDA index beyond the devices present raises a one-line :class:`BenchmarkError`.
    """
    if name is None or (isinstance(name, str) and name.strip().lower() == "auto"):
        return (
            torch.device("cuda", torch.cuda.current_device())
            if torch.cuda.is_available()
            else torch.device("cpu")
        )
    try:
        device = name if isinstance(name, torch.device) else torch.device(str(name).strip().lower())
    except (RuntimeError, ValueError):
        raise BenchmarkError(f"--device {name!r} is not a device (use {SUPPORTED_DEVICES})") from None
    if device.type == "cpu":
        return torch.device("cpu")
    if device.type != "cuda":
        raise BenchmarkError(
            f"--device {name!r}: {device.type} is not supported for measurements (use {SUPPORTED_DEVICES})"
        )
    if not torch.cuda.is_available():
        raise BenchmarkError(f"--device {name!r}: CUDA is not available on this machine (use cpu or auto)")
    index = torch.cuda.current_device() if device.index is None else device.index
    count = torch.cuda.device_count()
    if index >= count:
        raise BenchmarkError(
            f"--device {name!r}: there are only {count} CUDA device(s) (cuda:0..cuda:{count - 1})"
        )
    return torch.device("cuda", index)


def cpu_model_name() -> str:
    """The processor model: ``model name`` from ``/proc/cpuinfo`` on Linux, else :func:`platform.processor`,
    else the machine architecture."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Processor", "cpu model") and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def device_name(device: torch.device) -> str:
    """Human-readable name of ``device``: the GPU name for CUDA, the processor model for CPU."""
    if device.type == "cuda":
        return str(torch.cuda.get_device_name(device))
    return cpu_model_name()


def _cpu_capability() -> str | None:
    try:
        return str(torch.backends.cpu.get_cpu_capability())
    except (AttributeError, RuntimeError):
        return None


def _cpu_native_bf16() -> bool:
    from ..model.precision import cpu_has_bf16

    return cpu_has_bf16()


def _total_ram_bytes() -> int | None:
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except ImportError:
        try:
            return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            return None


def _physical_cores() -> int | None:
    try:
        import psutil

        return psutil.cpu_count(logical=False)
    except ImportError:
        return None


def _load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def hardware_info(device: torch.device | str) -> dict[str, Any]:
    """What a cost figure was measured on, as a JSON-ready dict.

    Keys: ``device`` (e.g. ``"cpu"``, ``"cuda:0"``), ``device_type``, ``device_name`` (GPU name or processor
    model), ``cpu_model``, ``cpu_cores_logical``, ``cpu_cores_physical``, ``torch_num_threads`` (intra-op
    threads torch uses on CPU), ``memory_total_mb`` (GPU memory for CUDA, system RAM for CPU), ``ram_total_mb``,
    ``torch_version``, ``cuda_version`` (CUDA version torch was built with; ``None`` for a CPU-only build), ``cudnn_version`` (CUDA devices only),
    ``transformers_version``, ``python_version``, ``platform``, ``load_average`` (1/5/15-minute system load
    when this is called: CPU timings on a busy machine are slower and noisier), ``cpu_capability`` (the CPU
    kernels torch dispatches to: ``AVX2``, ``AVX512``, ...) and ``cpu_native_bf16`` (whether the CPU computes
    bfloat16 natively, AVX-512 BF16 or AMX: without it bf16 autocast is emulated and slower than float32).
    """
    import transformers

    device = torch.device(device) if isinstance(device, str) else device
    ram = _total_ram_bytes()
    info: dict[str, Any] = {
        "device": str(device),
        "device_type": device.type,
        "device_name": device_name(device),
        "cpu_model": cpu_model_name(),
        "cpu_cores_logical": os.cpu_count(),
        "cpu_cores_physical": _physical_cores(),
        "torch_num_threads": torch.get_num_threads(),
        "memory_total_mb": round(ram / 2**20, 1) if ram else None,
        "ram_total_mb": round(ram / 2**20, 1) if ram else None,
        "torch_version": torch.__version__,
        "cuda_version": torch.version.cuda,
        "cudnn_version": None,
        "transformers_version": transformers.__version__,
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "load_average": _load_average(),
        "cpu_capability": _cpu_capability(),
        "cpu_native_bf16": _cpu_native_bf16(),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info["memory_total_mb"] = round(int(props.total_memory) / 2**20, 1)
        info["cudnn_version"] = (
            torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
        )
    return info
