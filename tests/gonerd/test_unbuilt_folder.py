"""A fresh checkout's gonerd/ folder (no build yet) is not a dataset: ``datasets.load_dataset("gonerd")`` fails
with an error saying to build it, instead of inferring data files from extensions (datasets 5.2 would load
``seed_categories.json`` as a one-row dataset with columns description, max_depth, groups)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, subprocess_env

CODE = """
import json, sys
from datasets import load_dataset
try:
    ds = load_dataset(sys.argv[1], *sys.argv[2:])
except Exception as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
else:
    print(json.dumps({"loaded": {k: v.column_names for k, v in ds.items()}}))
"""


@pytest.fixture
def fresh_checkout(tmp_path):
    """tmp/repo/gonerd/ as a fresh clone has it: the package folder's files, no data, manifest or cache."""
    if (ROOT / "gonerd" / "manifest.json").exists():
        pytest.skip("gonerd/ holds a build here (its README.md is the dataset card, not the unbuilt one)")
    repo = tmp_path / "repo"
    shutil.copytree(
        ROOT / "gonerd",
        repo / "gonerd",
        ignore=shutil.ignore_patterns("data", "manifest.json", ".cache", ".staging-*", "__pycache__"),
    )
    assert (repo / "gonerd" / "seed_categories.json").is_file()  # the file datasets used to load
    return repo


@pytest.mark.parametrize(
    "args", [["gonerd"], ["ABS"], ["gonerd", "conll"]], ids=["name", "absolute", "conll"]
)
def test_load_dataset_on_an_unbuilt_folder_says_to_build_it(fresh_checkout, tmp_path, args):
    args = [str(fresh_checkout / "gonerd") if a == "ABS" else a for a in args]
    # a temporary HF_HOME: offline, datasets would otherwise serve a cached copy of an earlier build
    env = subprocess_env(HF_HOME=str(tmp_path / "hf"))
    out = subprocess.run(
        [sys.executable, "-c", CODE, *args], cwd=fresh_checkout, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert "loaded" not in result, f"an unbuilt folder loaded as a dataset: {result}"
    assert result["error"] == "FileNotFoundError"
    assert "GONERD is not built here yet: run `gonerd build` first" in result["message"]
    assert str(fresh_checkout / "gonerd") in result["message"]  # where: the folder it looked in
