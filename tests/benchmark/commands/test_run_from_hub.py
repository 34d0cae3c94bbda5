"""``benchmark run`` on its default data path: the task's Hub dataset at the revision its spec pins.

The Hub is the stub of ``tests/hub_server.py`` on 127.0.0.1 serving ``rajpurkar/squad`` in its Hub schema (card
``configs`` + Parquet under ``plain_text/``, rows from the real SQuAD v1.1 dev sample) in two commits: the one the
spec pins, and a later ``main`` with other questions. ``benchmark run`` runs in a fresh process with ``HF_ENDPOINT``
pointed at the stub and an empty ``HF_HOME``, so every row it scores came through the stub.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.data import local
from benchmark.results.files import load_result, predictions_path
from benchmark.tasks.registry import get_task
from conftest import fixture_path
from hub_server import StubHub, stub_env
from tests.benchmark.data.test_hub import SQUAD_FEATURES, write_hub_folder
from tiny_models import build_tiny_model

pytestmark = pytest.mark.fixtures


def _repo_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_run_reads_the_pinned_hub_revision(tmp_path):
    spec = get_task("squad")
    rows = local.read_squad_json(fixture_path("squad", "dev-v1.1-sample.json"))
    pinned_splits = {"train": rows[:6], "validation": rows[6:12]}
    later_splits = {"train": rows[12:18], "validation": rows[18:24]}
    pinned = write_hub_folder(tmp_path / "pinned", "plain_text", SQUAD_FEATURES, pinned_splits, "plain_text")
    later = write_hub_folder(tmp_path / "later", "plain_text", SQUAD_FEATURES, later_splits, "plain_text")
    model = build_tiny_model("bert", tmp_path / "model")
    with StubHub() as stub:
        repo = stub.seed_repo(spec.hub.path, repo_type="dataset")
        stub.add_commit(repo, _repo_files(pinned), summary="the pinned data", oid=spec.hub.revision)
        stub.add_commit(repo, _repo_files(later), summary="newer data on main")
        assert repo.branches["main"] != spec.hub.revision

        env = stub_env(stub, tmp_path / "hf-home")
        out = tmp_path / "out"
        proc = subprocess.run(
            [sys.executable, "-m", "benchmark.cli", "run", "--model", str(model), "--tasks", "squad",
             "--limit", "4", "--epochs", "1", "--batch-size", "4", "--device", "cpu", "--output", str(out)],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-4000:]
        served = {(commit, path) for r, commit, path in stub.downloads if r == spec.hub.path}

    record = load_result(out / "model" / "squad.json")
    source = record["dataset"]["sources"]["validation"]
    assert source["kind"] == "hub" and source["path"] == spec.hub.path
    assert source["revision"] == spec.hub.revision and source["config"] == "plain_text"
    assert record["dataset"]["sources"]["train"]["revision"] == spec.hub.revision
    with gzip.open(predictions_path(out / "model" / "squad.json", "validation"), "rt") as handle:
        ids = [json.loads(line)["id"] for line in handle]
    assert ids == [
        r["id"] for r in pinned_splits["validation"][:4]
    ]  # the pinned commit's questions, not main's
    parquet = {path for _, path in served if path.endswith(".parquet")}
    assert parquet == {
        "plain_text/train-00000-of-00001.parquet",
        "plain_text/validation-00000-of-00001.parquet",
    }
    assert {commit for commit, path in served if path in parquet} == {spec.hub.revision}
