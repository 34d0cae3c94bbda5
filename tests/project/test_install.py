"""gonerd-bench installs like a library: the wheel carries its data files, and installing it into an environment
that already has torch leaves that torch alone (pyproject.toml declares ranges; exact pins live in
requirements*.txt).

Slow (a fresh virtual environment, the local torch 2.13.0 CPU wheel, then the package's dependencies from the
index: a few minutes) and skipped when pip cannot reach an index. Never installs an unpinned torch: the PyPI
default is a multi-GB CUDA build.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT

TORCH = "torch==2.13.0"  # the only torch served locally (requirements.txt's pin)
pytestmark = pytest.mark.slow


def _pip(python: Path | str, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return subprocess.run(
        [str(python), "-m", "pip", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def _index_reachable() -> bool:
    try:
        done = _pip(sys.executable, "index", "versions", "transformers", timeout=60)
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    if not _index_reachable():
        pytest.skip(
            "pip cannot reach a package index (needed to build the wheel and resolve its dependencies)"
        )
    dist = tmp_path_factory.mktemp("dist")
    done = _pip(sys.executable, "wheel", "--no-deps", "--wheel-dir", str(dist), str(ROOT))
    assert done.returncode == 0, done.stderr[-2000:]
    (path,) = dist.glob("gonerd_bench-*.whl")
    return path


def test_wheel_carries_the_data_files_the_code_reads(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    tasks = {n for n in names if n.startswith("benchmark/tasks/") and n.endswith(".yaml")}
    assert len(tasks) == len(list((ROOT / "benchmark" / "tasks").glob("*.yaml"))) >= 7
    for needed in (
        "baselines/registry.yaml",
        "gonerd/seed_categories.json",
        "gonerd/README.md",
        "benchmark/leaderboard/page.html",
    ):
        assert needed in names, needed
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"gonerd", "benchmark", "baselines"}, top  # not benchmarks/ (scripts) or tests/
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    requires = [
        line
        for line in zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
        if line.startswith("Requires-Dist: torch")
    ]
    assert requires and "==" not in requires[0], requires  # a range, not a pin
    # the harness finds the baseline: plug-in through this entry point once installed (benchmark.model.model_source)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    declared = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[gonerd_bench.resolvers]\nbaselines = baselines.plugin:register" in declared, declared


def test_install_into_an_env_with_torch_leaves_torch_alone(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    done = _pip(python, "install", "--quiet", TORCH)
    assert done.returncode == 0, done.stderr[-2000:]
    report = tmp_path / "report.json"
    done = _pip(python, "install", "--dry-run", "--quiet", "--report", str(report), str(wheel))
    assert done.returncode == 0, done.stderr[-2000:]
    plan = {item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]}
    assert "gonerd-bench" in plan and "transformers" in plan
    assert "torch" not in plan and not any(name.startswith("nvidia-") for name in plan), sorted(plan)
    done = _pip(python, "install", "--quiet", str(wheel))
    assert done.returncode == 0, done.stderr[-2000:]
    version = subprocess.run(
        [str(python), "-c", "import torch; print(torch.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip().startswith("2.13.0")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    tasks = subprocess.run(
        [str(venv / "bin" / "benchmark"), "tasks"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert tasks.returncode == 0, tasks.stderr[-2000:]
    assert "conll2003" in tasks.stdout and "gonerd" in tasks.stdout
    helped = subprocess.run(
        [str(venv / "bin" / "gonerd"), "--help"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert helped.returncode == 0 and "usage" in helped.stdout.lower(), helped.stderr[-2000:]


def test_requirements_lowest_pins_the_declared_floors():
    """requirements-lowest.txt (the environment the lower bounds were tested in, docs/install.md) pins torch and each
    Hugging Face library at exactly the floor pyproject.toml declares, so raising a floor without retesting shows here."""
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    from packaging.requirements import Requirement
    from packaging.version import Version

    declared = {}
    for line in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]:
        req = Requirement(line)
        floors = [s.version for s in req.specifier if s.operator == ">="]
        declared[req.name.lower()] = floors[0] if floors else None
    pins = {}
    for line in (ROOT / "requirements-lowest.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.strip().lower()] = version.strip()
    for name in ("torch", "transformers", "tokenizers", "accelerate", "datasets", "huggingface-hub"):
        floor = declared[name]
        assert floor is not None, f"pyproject.toml declares no floor for {name}"
        assert Version(pins[name]) == Version(floor), (name, pins[name], floor)
