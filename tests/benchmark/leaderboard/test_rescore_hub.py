"""Re-scoring a result whose gold came from the Hub: the split is read again at the spec's pinned revision through
the ``datasets`` cache (offline once cached) and identified by the ``gold_sha256`` the run recorded.

The Hub is the stub of ``tests/hub_server.py`` serving ``rajpurkar/squad`` (rows from the real SQuAD v1.1 dev
sample) at the pinned revision; each step runs in a fresh process, since the Hub endpoint and offline mode are
read when the libraries are imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.data import local
from benchmark.tasks.registry import get_task
from conftest import ROOT, fixture_path
from hub_server import StubHub, stub_env
from tests.benchmark.commands.test_run_from_hub import _repo_files
from tests.benchmark.data.test_hub import SQUAD_FEATURES, write_hub_folder

pytestmark = pytest.mark.fixtures

STEP = """
import json, sys
from benchmark.errors import BenchmarkError
from benchmark.leaderboard.rescore import GoldUnavailable, verify
from benchmark.tasks.registry import get_task
spec, (mode, path) = get_task("squad"), sys.argv[1:]
if mode == "run":  # what benchmark run records: the Hub source of the split and the scores
    from benchmark.data.loader import load_examples
    from benchmark.evaluate.scoring import gold_as_predictions, score_predictions
    loaded = load_examples(spec, "validation", limit=4)
    preds = gold_as_predictions(loaded.examples)
    preds[loaded.examples[0].id] = "zzz"
    from pathlib import Path  # a result as the leaderboard reads it: a committed one, these sections replaced
    record = json.loads(sorted(Path("leaderboard/results").glob("*/conll2003.json"))[0].read_text())
    record = {k: v for k, v in record.items() if k not in ("seeds", "bootstrap")}  # one run, its own predictions
    record.update(config={"limit": 4}, dataset={"sources": {"validation": loaded.source}}, splits=["validation"],
                  n_examples={"validation": 4},
                  metrics={"validation": score_predictions(spec, loaded.examples, preds)})
    json.dump({"record": record, "preds": preds}, open(path, "w"))
else:
    from benchmark.core.record import ResultRecord
    data = json.load(open(path))
    try:
        verify(spec, ResultRecord.from_dict(data["record"]), "validation", data["preds"], None)
        print("verified")
    except GoldUnavailable as exc:
        print("unavailable:", exc)
    except BenchmarkError as exc:
        print("refused:", exc)
"""


def _step(env: dict[str, str], mode: str, path: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", STEP, mode, str(path)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip()


def _offline(env: dict[str, str], hf_home: Path) -> dict[str, str]:
    return {**env, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def test_hub_gold_is_rescored_from_the_cache_and_identified_by_sha256(tmp_path):
    spec = get_task("squad")
    rows = local.read_squad_json(fixture_path("squad", "dev-v1.1-sample.json"))
    folder = write_hub_folder(
        tmp_path / "pinned", "plain_text", SQUAD_FEATURES, {"validation": rows[:8]}, "plain_text"
    )
    result = tmp_path / "result.json"
    with StubHub() as stub:
        repo = stub.seed_repo(spec.hub.path, repo_type="dataset")
        stub.add_commit(repo, _repo_files(folder), summary="the pinned data", oid=spec.hub.revision)
        env = stub_env(stub, tmp_path / "hf-home")
        assert _step(env, "run", result) == ""
    saved = json.loads(result.read_text())
    source = saved["record"]["dataset"]["sources"]["validation"]
    assert source["kind"] == "hub" and source["revision"] == spec.hub.revision
    assert len(source["gold_sha256"]) == 64
    env = {k: v for k, v in env.items() if k != "HF_ENDPOINT"}  # the stub is gone: only the cache is left
    assert _step(_offline(env, tmp_path / "hf-home"), "check", result) == "verified"

    edited = json.loads(result.read_text())
    edited["record"]["metrics"]["validation"]["score"] += 1.0
    result.write_text(json.dumps(edited))
    out = _step(_offline(env, tmp_path / "hf-home"), "check", result)
    assert out.startswith("refused: validation metrics do not match the saved predictions: score recorded")

    edited = json.loads(json.dumps(saved))
    edited["record"]["dataset"]["sources"]["validation"]["gold_sha256"] = "0" * 64
    result.write_text(json.dumps(edited))
    out = _step(_offline(env, tmp_path / "hf-home"), "check", result)
    assert out == (
        f"refused: validation gold data ({spec.hub.path}@{spec.hub.revision}) has sha256 "
        f"{source['gold_sha256']}; the run recorded {'0' * 64}"
    )

    result.write_text(json.dumps(saved))
    os.makedirs(tmp_path / "empty-home")
    out = _step(_offline(env, tmp_path / "empty-home"), "check", result)  # not cached: gold not at hand
    assert out.startswith("unavailable: squad: cannot load rajpurkar/squad")
