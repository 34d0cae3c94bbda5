"""Which process this is under ``accelerate launch`` / ``torchrun``, and the few collective steps ``benchmark run``
needs. Without a launcher (no ``WORLD_SIZE``) every helper is the single-process no-op.

How ``benchmark run`` uses several processes (see docs/benchmark.md, "Several processes"):

- every process loads the data and the model, and the ``Trainer`` fine-tunes data-parallel (DDP) over all of them;
- everything else runs on the main process (global rank 0) alone: claiming the output directory, prediction,
  scoring, timing (single-process, so its figures compare with a plain run) and writing result files, while the
  other processes wait for it;
- each such step is one exchange (:func:`on_main`, :func:`main_process_section`): rank 0 reports success or its
  error, so when it fails the other processes fail at once with the same message instead of waiting. Every
  exchange carries a label, and processes that reach different steps fail with "out of step" instead of mixing
  them up. A process that crashes outright is taken down with the others by the launcher (torchrun's agent).

Ranks: before this process joins the process group (and always for a single process) they are read from the
launcher's environment, the variables accelerate reads, without importing torch; once :func:`setup_process` joined
through accelerate's ``PartialState``, they are its ``num_processes``, ``process_index``, ``local_process_index``
and ``is_main_process``. :func:`barrier` stays a labelled exchange rather than ``wait_for_everyone``: it has to
outwait rank 0's long steps (the exchange group's timeout, not the training group's) and catch processes out of
step.

The exchanges use their own gloo group with a long timeout (``GONERD_BENCH_WAIT_TIMEOUT`` seconds, default 6 h),
since the other processes may wait through a long evaluation on rank 0; the training process group keeps the
Trainer's default timeout (30 min). Nothing here imports torch until a helper needs it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, TypeVar

from .errors import BenchmarkError

T = TypeVar("T")

WAIT_TIMEOUT_ENV = "GONERD_BENCH_WAIT_TIMEOUT"
DEFAULT_WAIT_TIMEOUT_S = 6 * 3600
TRAIN_TIMEOUT_S = 1800  # TrainingArguments.ddp_timeout's default

# The variables accelerate reads too (torchrun sets the first of each; MPI launchers the others).
_WORLD_VARS = ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
_RANK_VARS = ("RANK", "PMI_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK")
_LOCAL_RANK_VARS = (
    "LOCAL_RANK",
    "MPI_LOCALRANKID",
    "OMPI_COMM_WORLD_LOCAL_RANK",
    "MV2_COMM_WORLD_LOCAL_RANK",
)

_group: Any = None  # the gloo group of the exchanges, once set up
_step = 0  # exchanges so far in this process (part of every exchange's label)


class MainProcessError(BenchmarkError):
    """Raised on the other processes when the main process failed a step it ran alone (same message)."""


def _env_int(names: tuple[str, ...], default: int) -> int:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            try:
                return int(value)
            except ValueError:
                raise BenchmarkError(f"environment variable {name}={value!r} is not an integer") from None
    return default


def _initialized() -> bool:
    if "torch" not in sys.modules:
        return False
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def _state() -> Any:
    """accelerate's ``PartialState`` once the process group is up (torch and accelerate are loaded by then), else
    ``None``: the single-process path never imports either."""
    if not _initialized():
        return None
    from accelerate import PartialState

    return PartialState()


def world_size() -> int:
    """Number of processes: ``PartialState().num_processes`` once the process group is set up, else from the
    launcher's environment (``WORLD_SIZE``, or the MPI equivalents accelerate reads); 1 without a launcher."""
    state = _state()
    return state.num_processes if state is not None else max(1, _env_int(_WORLD_VARS, 1))


def rank() -> int:
    """Global rank of this process (``PartialState().process_index``; 0 without a launcher)."""
    state = _state()
    return state.process_index if state is not None else _env_int(_RANK_VARS, 0)


def local_rank() -> int:
    """Rank of this process on its machine (``PartialState().local_process_index``; 0 without a launcher)."""
    state = _state()
    return state.local_process_index if state is not None else _env_int(_LOCAL_RANK_VARS, 0)


def is_distributed() -> bool:
    return world_size() > 1


def is_main_process() -> bool:
    """True for global rank 0, the only process that writes files and logs progress."""
    state = _state()
    return state.is_main_process if state is not None else rank() == 0


def accelerate_forces_cpu() -> bool:
    """``accelerate launch --cpu`` (``ACCELERATE_USE_CPU``): the Trainer will train on the CPU whatever we ask."""
    return os.environ.get("ACCELERATE_USE_CPU", "").strip().lower() in ("1", "true", "yes", "on")


def wait_timeout() -> timedelta:
    """How long the other processes wait for one step of the main process (``GONERD_BENCH_WAIT_TIMEOUT``)."""
    value = os.environ.get(WAIT_TIMEOUT_ENV, "").strip()
    if not value:
        return timedelta(seconds=DEFAULT_WAIT_TIMEOUT_S)
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if seconds <= 0:
        raise BenchmarkError(f"{WAIT_TIMEOUT_ENV}={value!r}: expected a positive number of seconds")
    return timedelta(seconds=seconds)


def device_choice(
    requested: str,
    *,
    world: int,
    local: int,
    force_cpu: bool,
    cuda_devices: int,
) -> str:
    """What ``--device requested`` means for this process, without touching any device.

    Single process: as given, except ``auto`` -> ``cpu`` under ``accelerate launch --cpu``. Several processes: the
    launcher places them, so ``auto``/``cuda`` -> ``cuda:<local rank mod GPUs>`` (what accelerate picks) or
    ``cpu`` (``--cpu`` or no GPU), and ``cpu`` stays ``cpu`` (every process trains on the CPU over gloo). A
    device that contradicts the launcher (a GPU under ``--cpu``, or another process's GPU) is a one-line error.
    """
    name = str(requested).strip().lower()
    if name.startswith("cuda") and force_cpu:
        raise BenchmarkError(
            f"--device {requested}: accelerate was launched with --cpu; drop --device or pass --device cpu"
        )
    if name == "auto" and force_cpu:
        return "cpu"
    if world <= 1 or name == "cpu":
        return requested if name != "auto" else "auto"
    if name == "auto" and cuda_devices == 0:
        return "cpu"
    if name == "auto" or name.startswith("cuda"):
        if cuda_devices == 0:
            raise BenchmarkError(f"--device {requested}: CUDA is not available on this machine")
        mine = f"cuda:{local % cuda_devices}"
        if name not in ("auto", "cuda", mine):
            raise BenchmarkError(
                f"--device {requested}: with {world} processes each one uses the GPU the launcher gives it "
                f"(this one: {mine}); pass --device auto or cuda and choose GPUs with accelerate launch --gpu_ids "
                "or CUDA_VISIBLE_DEVICES"
            )
        return mine
    return requested


def launch_warning() -> str | None:
    """A hint when accelerate was asked for several CPU processes but started one: ``accelerate launch --cpu
    --num_processes N`` starts N processes only through MPI (``--mpirun_hostfile``); otherwise it runs one."""
    if world_size() == 1 and accelerate_forces_cpu() and os.environ.get("MASTER_ADDR"):
        return (
            "accelerate launch --cpu started a single process (accelerate starts several CPU processes only "
            "through MPI, --mpirun_hostfile); for data-parallel fine-tuning on CPUs use "
            "accelerate launch --multi_gpu --num_processes N ... --device cpu"
        )
    return None


def setup_process(device: str = "auto") -> str:
    """The device this process should use for ``--device device`` (see :func:`device_choice`); with several
    processes, also joins the process group (through accelerate's ``PartialState``, as the Trainer would, with
    the Trainer's default timeout) and the exchange group, and silences progress bars on the other processes.
    Idempotent."""
    import torch

    world = world_size()
    choice = device_choice(
        device,
        world=world,
        local=local_rank(),
        force_cpu=accelerate_forces_cpu(),
        cuda_devices=torch.cuda.device_count() if torch.cuda.is_available() else 0,
    )
    if world > 1:
        _join(cpu=choice == "cpu")
    return choice


def _join(*, cpu: bool) -> Any:
    """Join the default process group (unless someone did) and create the exchange group."""
    global _group
    if _group is not None:
        return _group
    import torch.distributed as dist

    if not dist.is_initialized():
        from accelerate import PartialState

        PartialState(cpu=cpu, timeout=timedelta(seconds=TRAIN_TIMEOUT_S))
    _group = dist.new_group(backend="gloo", timeout=wait_timeout())
    # Tear the groups down before the interpreter does: gloo's worker threads destroyed at exit abort the process
    # ("terminate called without an active exception") now and then.
    atexit.register(_leave)
    if not is_main_process():
        _quiet_progress_bars()
    return _group


def _leave() -> None:
    global _group
    _group = None
    state = _state()
    if state is not None:
        with contextlib.suppress(Exception):
            state.destroy_process_group()


def _quiet_progress_bars() -> None:
    with contextlib.suppress(ImportError):
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    with contextlib.suppress(ImportError):
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    if "datasets" in sys.modules:
        with contextlib.suppress(ImportError, AttributeError):
            sys.modules["datasets"].disable_progress_bars()


def _exchange(label: str, payload: Any) -> list[Any]:
    """Every process's ``payload`` for the step ``label``, in rank order; processes at different steps all raise
    RuntimeError (so they stop, and the launcher ends the run) instead of reading each other's data."""
    global _step
    import torch.distributed as dist

    group = _group if _group is not None else _join(cpu=accelerate_forces_cpu())
    _step += 1
    mine = f"#{_step} {label}"
    gathered: list[Any] = [None] * world_size()
    dist.all_gather_object(gathered, (mine, payload), group=group)
    labels = [item[0] for item in gathered]
    if len(set(labels)) > 1:
        steps = "; ".join(f"rank {r}: {lab}" for r, lab in enumerate(labels))
        raise RuntimeError(f"benchmark processes are out of step ({steps})")
    return [item[1] for item in gathered]


def barrier(label: str = "barrier") -> None:
    """Wait until every process gets here (no-op for a single process)."""
    if is_distributed():
        _exchange(label, None)


def mean(value: float | None, label: str = "mean") -> float | None:
    """Mean of ``value`` over the processes (None values are left out; None if all are None)."""
    if not is_distributed():
        return value
    values = [v for v in _exchange(label, value) if v is not None]
    return sum(values) / len(values) if values else None


def _failure(exc: BaseException) -> tuple[bool, str]:
    if isinstance(exc, BenchmarkError):
        return True, str(exc)
    return False, f"{type(exc).__name__}: {exc}"


def _raise_remote(failure: tuple[bool, str]) -> None:
    benchmark_error, message = failure
    if benchmark_error:
        raise MainProcessError(message)
    raise RuntimeError(f"the main process (rank 0) failed: {message}")


def on_main(fn: Callable[..., T], *args: Any, label: str | None = None, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` on the main process only; every process returns its result (pickled over) or
    raises its error: the same :class:`BenchmarkError` message as :class:`MainProcessError` on the others, or a
    RuntimeError for any other exception. ``label`` names the step (default: ``fn``'s name)."""
    if not is_distributed():
        return fn(*args, **kwargs)
    label = label or getattr(fn, "__qualname__", "step")
    if is_main_process():
        try:
            value = fn(*args, **kwargs)
        except BaseException as exc:
            _exchange(label, (_failure(exc), None))
            raise
        _exchange(label, (None, value))
        return value
    failure, value = _exchange(label, None)[0]
    if failure is not None:
        _raise_remote(failure)
    return value


@contextlib.contextmanager
def main_process_section(label: str) -> Iterator[bool]:
    """``with main_process_section("evaluate x") as main: if main: ...``: the block is meant for the main process
    (``main`` is False elsewhere); on leaving it the processes exchange whether the main process failed, and
    the others raise like :func:`on_main`. A no-op wrapper (``main`` True) for a single process."""
    if not is_distributed():
        yield True
        return
    if not is_main_process():
        yield False
        failure = _exchange(label, None)[0]
        if failure is not None:
            _raise_remote(failure)
        return
    try:
        yield True
    except BaseException as exc:
        _exchange(label, _failure(exc))
        raise
    _exchange(label, None)
