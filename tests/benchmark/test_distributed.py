"""benchmark.distributed: the single-process fallback of every helper, the device rules under a launcher, and the
exchanges between real processes (two local processes over gloo, started here without a launcher)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from benchmark import distributed
from benchmark.errors import BenchmarkError
from conftest import ROOT

LAUNCH_VARS = (
    *distributed._WORLD_VARS,
    *distributed._RANK_VARS,
    *distributed._LOCAL_RANK_VARS,
    "ACCELERATE_USE_CPU",
    "MASTER_ADDR",
    distributed.WAIT_TIMEOUT_ENV,
)


@pytest.fixture
def single(monkeypatch):
    """No launcher in the environment."""
    for name in LAUNCH_VARS:
        monkeypatch.delenv(name, raising=False)


def test_single_process_fallback(single):
    assert distributed.world_size() == 1 and distributed.rank() == 0 and distributed.local_rank() == 0
    assert distributed.is_main_process() and not distributed.is_distributed()
    distributed.barrier()  # no-op
    assert distributed.mean(2.5) == 2.5 and distributed.mean(None) is None
    assert distributed.on_main(lambda a, b=0: a + b, 1, b=2) == 3
    with pytest.raises(BenchmarkError, match="boom"):
        distributed.on_main(_raise, BenchmarkError("boom"))
    with distributed.main_process_section("x") as main:
        assert main is True
    with pytest.raises(ValueError), distributed.main_process_section("x"):
        raise ValueError("propagates unchanged")
    assert distributed.setup_process("auto") == "auto" and distributed.setup_process("cpu") == "cpu"
    assert distributed.launch_warning() is None
    assert distributed.wait_timeout().total_seconds() == distributed.DEFAULT_WAIT_TIMEOUT_S
    assert distributed._state() is None  # no process group: nothing of accelerate's is set up


def test_single_process_path_imports_neither_torch_nor_accelerate(single):
    code = (
        "import sys\n"
        "from benchmark import distributed as d\n"
        "assert (d.world_size(), d.rank(), d.local_rank(), d.is_main_process()) == (1, 0, 0, True)\n"
        "d.barrier(); d.on_main(int)\n"
        "print(sorted({'torch', 'accelerate'} & set(sys.modules)))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in LAUNCH_VARS}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]"


def _raise(exc: BaseException) -> None:
    raise exc


def test_ranks_from_the_launcher_environment(single, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert (distributed.world_size(), distributed.rank(), distributed.local_rank()) == (4, 3, 1)
    assert distributed.is_distributed() and not distributed.is_main_process()
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name)
    monkeypatch.setenv(
        "OMPI_COMM_WORLD_SIZE", "2"
    )  # an MPI launch (what accelerate's --mpirun_hostfile uses)
    monkeypatch.setenv("OMPI_COMM_WORLD_RANK", "0")
    assert distributed.world_size() == 2 and distributed.is_main_process()
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(BenchmarkError, match="WORLD_SIZE"):
        distributed.world_size()


def test_wait_timeout_from_the_environment(single, monkeypatch):
    monkeypatch.setenv(distributed.WAIT_TIMEOUT_ENV, "90")
    assert distributed.wait_timeout().total_seconds() == 90
    monkeypatch.setenv(distributed.WAIT_TIMEOUT_ENV, "soon")
    with pytest.raises(BenchmarkError, match=distributed.WAIT_TIMEOUT_ENV):
        distributed.wait_timeout()


@pytest.mark.parametrize(
    "requested, world, local, force_cpu, gpus, expected",
    [
        ("auto", 1, 0, False, 0, "auto"),  # single process: unchanged (resolve_device decides)
        ("cuda:1", 1, 0, False, 2, "cuda:1"),
        ("auto", 1, 0, True, 2, "cpu"),  # accelerate launch --cpu: the Trainer trains on the CPU anyway
        ("auto", 2, 1, True, 2, "cpu"),
        ("auto", 2, 1, False, 0, "cpu"),  # several processes, no GPU
        ("cpu", 4, 3, False, 4, "cpu"),  # --device cpu: every process on the CPU (gloo)
        ("auto", 4, 3, False, 4, "cuda:3"),  # the GPU accelerate gives local rank 3
        ("cuda", 4, 3, False, 4, "cuda:3"),
        ("cuda:3", 4, 3, False, 4, "cuda:3"),
        ("auto", 4, 3, False, 2, "cuda:1"),  # more processes than GPUs: accelerate's local rank mod GPUs
    ],
)
def test_device_choice(requested, world, local, force_cpu, gpus, expected):
    got = distributed.device_choice(
        requested, world=world, local=local, force_cpu=force_cpu, cuda_devices=gpus
    )
    assert got == expected


@pytest.mark.parametrize(
    "requested, world, force_cpu, gpus, message",
    [
        ("cuda", 2, True, 2, "launched with --cpu"),
        ("cuda:0", 1, True, 2, "launched with --cpu"),
        ("cuda:0", 2, False, 2, "this one: cuda:1"),  # another process's GPU
        ("cuda", 2, False, 0, "CUDA is not available"),
    ],
)
def test_device_choice_refuses_to_fight_the_launcher(requested, world, force_cpu, gpus, message):
    with pytest.raises(BenchmarkError, match=message):
        distributed.device_choice(requested, world=world, local=1, force_cpu=force_cpu, cuda_devices=gpus)


def test_launch_warning_for_accelerate_cpu_with_several_processes(single, monkeypatch):
    # What `accelerate launch --cpu --num_processes 2` (no MPI) gives its single process.
    monkeypatch.setenv("ACCELERATE_USE_CPU", "True")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    assert "started a single process" in distributed.launch_warning()
    monkeypatch.delenv("MASTER_ADDR")  # --num_processes 1: nothing to warn about
    assert distributed.launch_warning() is None


# ------------------------------------------------------------------------------------------ two real processes
WORKER = r"""
import json, sys, time
from benchmark import distributed
from benchmark.errors import BenchmarkError

scenario, rank = sys.argv[1], distributed.rank()
out = {"rank": rank, "device": distributed.setup_process("cpu")}
# once joined, the ranks are accelerate's PartialState's
out["ranks"] = [distributed.world_size(), distributed.rank(), distributed.local_rank(), distributed.is_main_process()]
out["state"] = type(distributed._state()).__name__

def fail():
    raise BenchmarkError("boom on rank 0")

if scenario == "protocol":
    out["value"] = distributed.on_main(lambda: {"from": distributed.rank()}, label="value")
    out["mean"] = distributed.mean(float(rank), label="mean")
    try:
        distributed.on_main(fail, label="fails")
    except BenchmarkError as exc:
        out["error"] = [type(exc).__name__, str(exc)]
    with distributed.main_process_section("section") as main:
        out["main"] = main
    try:
        with distributed.main_process_section("section fails") as main:
            if main:
                raise KeyError("crash")
    except (RuntimeError, KeyError) as exc:
        out["crash"] = type(exc).__name__
    distributed.barrier("still in step")  # a failure on rank 0 leaves the processes in step
    try:
        distributed.barrier(f"label of rank {rank}")
    except RuntimeError as exc:
        out["out_of_step"] = str(exc)
elif scenario == "timeout":
    if rank == 0:
        time.sleep(60)  # a main process that never arrives
    started = time.monotonic()
    try:
        distributed.barrier("wait")
    except Exception as exc:
        out["waited"] = round(time.monotonic() - started, 1)
        out["timeout_error"] = type(exc).__name__
print(json.dumps(out), flush=True)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(scenario: str, *, timeout_s: int | None = None) -> list[subprocess.Popen]:
    port = str(_free_port())
    procs = []
    for rank in range(2):
        env = {
            **{k: v for k, v in os.environ.items() if k not in LAUNCH_VARS},
            "WORLD_SIZE": "2",
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "LOCAL_WORLD_SIZE": "2",
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": port,
            "OMP_NUM_THREADS": "1",
            "PYTHONPATH": str(ROOT),
        }
        if timeout_s:
            env[distributed.WAIT_TIMEOUT_ENV] = str(timeout_s)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", WORKER, scenario],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    return procs


def _result(proc: subprocess.Popen, timeout: float = 90) -> dict:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def test_two_processes_exchange_results_and_errors():
    main, other = (_result(p) for p in _start("protocol"))
    assert main["device"] == other["device"] == "cpu"
    assert main["state"] == other["state"] == "PartialState"
    assert main["ranks"] == [2, 0, 0, True] and other["ranks"] == [2, 1, 1, False]
    assert main["value"] == other["value"] == {"from": 0}  # rank 0's result reaches every process
    assert main["mean"] == other["mean"] == 0.5
    # rank 0's BenchmarkError: raised there, the same message on the other process (which cli does not reprint)
    assert main["error"] == ["BenchmarkError", "boom on rank 0"]
    assert other["error"] == ["MainProcessError", "boom on rank 0"]
    assert main["main"] is True and other["main"] is False
    assert (
        main["crash"] == "KeyError" and other["crash"] == "RuntimeError"
    )  # any other exception: RuntimeError
    for result in (main, other):  # different steps are detected on both sides, never mixed up
        assert "out of step" in result["out_of_step"] and "label of rank 1" in result["out_of_step"]


def test_a_main_process_that_never_arrives_does_not_hang_the_others():
    procs = _start("timeout", timeout_s=3)
    try:
        started = time.monotonic()
        other = _result(procs[1], timeout=60)
        assert time.monotonic() - started < 45
        assert other["timeout_error"] and other["waited"] < 30
    finally:
        for proc in procs:
            proc.kill()
            proc.communicate()
