"""`benchmark run --tasks gonerd` with no --data-dir, as a new user runs it: the Hub copy when it loads, else the
dataset `gonerd build` wrote to its default location, else one line with both fixes.

End to end in a temporary clone (the tracked files of this repository): `gonerd build` from the shared real
Wikipedia sample into the clone's default location (its gonerd/ folder), then `benchmark run` there offline.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.data import builds, hub
from benchmark.data.sources import sha256_file
from benchmark.errors import BenchmarkError
from benchmark.tasks.registry import get_task
from conftest import ROOT, fixture_path
from tiny_models import build_tiny_model


def _clone(dest: Path) -> Path:
    """A copy of the repository's tracked files (what a user's fresh clone holds)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(HF_HOME=str(tmp / "hf"), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return env


def _py(clone: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=clone, env=_env(tmp), capture_output=True, text=True)


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    path = _clone(tmp_path_factory.mktemp("clone"))
    out = subprocess.run(
        [sys.executable, "-c", "import gonerd.build as b; print(b.default_out_dir())"],
        cwd=path, env=_env(path.parent), capture_output=True, text=True,
    )  # fmt: skip
    assert Path(out.stdout.strip()) == path / "gonerd", (
        "the clone's own gonerd package must be the one imported"
    )
    return path


def test_nothing_to_read_is_one_line_with_both_fixes(clone, tmp_path):
    out = _py(clone, tmp_path, "-m", "benchmark.cli", "run", "--model", "any-model", "--tasks", "gonerd")
    assert out.returncode == 2
    err = out.stderr.strip().splitlines()
    assert len(err) == 1, out.stderr
    line = err[0]
    assert "gonerd-bench/gonerd@v0.1.0" in line and str(clone / "gonerd") in line
    assert "gonerd select" in line and "gonerd build" in line and "--data-dir" in line
    assert "on a GPU" in line and "on CPU" in line and "2,232 articles" in line


def test_run_reads_the_default_build_with_no_data_dir(clone, tmp_path):
    lines = (
        fixture_path("wikipedia", "wikitext2_test_articles.jsonl").read_text(encoding="utf-8").splitlines()
    )
    src = tmp_path / "articles.jsonl"
    src.write_text("\n".join(lines[:12]) + "\n", encoding="utf-8")
    built = _py(clone, tmp_path, "-m", "gonerd", "build", "--source", str(src), "--model", "en_core_web_sm",
                "--no-progress")  # fmt: skip
    assert built.returncode == 0, built.stderr[-2000:]
    folder = clone / "gonerd"
    assert (folder / "manifest.json").is_file() and (folder / "README.md").is_file()
    manifest = json.loads((folder / "manifest.json").read_text())

    model = build_tiny_model("bert", tmp_path / "tiny", task="token_classification", num_labels=37)
    run = _py(clone, tmp_path, "-m", "benchmark.cli", "run", "--model", str(model), "--tasks", "gonerd",
              "--limit", "2", "--epochs", "1", "--batch-size", "2", "--max-length", "128", "--device", "cpu",
              "--output", str(tmp_path / "runs"))  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    record = json.loads(next((tmp_path / "runs").glob("*/gonerd.json")).read_text())
    assert record["dataset"]["hub"] is None  # not read from the Hub
    sources = record["dataset"]["sources"]
    assert set(sources) == {"train", "validation", "test"}
    for split, source in sources.items():
        assert source["origin"] == "gonerd_build" and source["kind"] == "hub_folder"
        assert Path(source["path"]).resolve() == folder.resolve()
        assert source["manifest"] == {
            "version": manifest["version"],
            "sha256": sha256_file(folder / "manifest.json"),
        }
        assert source["hub_unavailable"]  # why the published copy was not read
        assert source["files"], split
        for f in source["files"]:
            assert f["sha256"] == manifest["files"][f["path"]]["sha256"]  # the files the run read, by hash
    assert record["n_examples"]["validation"] >= 1


def test_the_published_copy_comes_first_when_it_loads(monkeypatch, tmp_path):
    """When the pinned Hub copy loads, it is read (and recorded as such) even if a local build exists."""
    spec = get_task("gonerd")
    calls = []

    def fake_hub(spec_, role, *, path=None, cache_dir=None):
        calls.append(path)
        if path is not None:
            raise AssertionError("the local build must not be read when the Hub copy loads")
        return ["row"], {"kind": "hub", "path": spec_.hub.path, "revision": spec_.hub.revision}

    monkeypatch.setattr(hub, "load_hub_split", fake_hub)
    monkeypatch.setattr(builds, "_HUB_TRIED", {})
    monkeypatch.setattr(builds, "_hub_manifest", lambda spec_: {"version": "0.1.0", "files": {}})
    rows, source = builds.load_split(spec, "validation")
    assert rows == ["row"] and source["origin"] == "hub" and source["manifest"]["version"] == "0.1.0"
    assert calls == [None]


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (BenchmarkError("gonerd: cannot load x (config default, split train): offline"), "(offline)"),
        (
            RuntimeError("Revision v0.1.0 does not exist\nmore"),
            "(RuntimeError: Revision v0.1.0 does not exist)",
        ),
    ],
)
def test_hub_failure_is_tried_once_per_run(monkeypatch, tmp_path, error, reason):
    spec = get_task("gonerd")
    tried = []

    def failing_hub(spec_, role, *, path=None, cache_dir=None):
        tried.append(role)
        raise error

    monkeypatch.setattr(hub, "load_hub_split", failing_hub)
    monkeypatch.setattr(builds, "_HUB_TRIED", {})
    monkeypatch.setattr(builds, "build_folder", lambda spec_: tmp_path / "empty")
    for role in ("train", "validation", "test"):
        with pytest.raises(BenchmarkError, match="no dataset to read") as exc:
            builds.load_split(spec, role)
        assert reason in str(exc.value) and len(str(exc.value).splitlines()) == 1
    assert tried == ["train"]


_HUB_LOADER = r"""
import dataclasses, json
from benchmark.data import builds
from benchmark.tasks.registry import get_task

spec = get_task("gonerd")
spec = dataclasses.replace(spec, hub=dataclasses.replace(spec.hub, path="org/gonerd"))
ds, source = builds.load_split(spec, "validation")
print("RESULT " + json.dumps({"rows": len(ds), "source": source}))
"""


def test_a_published_copy_is_read_and_recorded_with_its_manifest(tmp_path):
    """`gonerd publish` to the stub Hub at the spec's tag, then the task's loader online in a fresh process."""
    from gonerd.build import build
    from gonerd.publish import publish
    from hub_server import StubHub, hub_online, stub_env
    from tests.gonerd.test_load_published import TOKEN, _one_per_split, _truncated_articles, _write_source

    candidates = _truncated_articles(tmp_path)
    src = _write_source(tmp_path / "src.jsonl", _one_per_split(candidates, set()))
    release = tmp_path / "release"
    build(out_dir=release, source=src, model="en_core_web_sm", progress=False)
    manifest = json.loads((release / "manifest.json").read_text())
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    with StubHub(token=TOKEN) as hub, hub_online():
        publish(release, "org/gonerd", revision_tag="v0.1.0", token=TOKEN, endpoint=hub.endpoint)
        env = {**stub_env(hub, tmp_path / "home", HF_TOKEN=TOKEN), "PYTHONPATH": str(ROOT)}
        proc = subprocess.run(
            [sys.executable, "-c", _HUB_LOADER], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
        )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))[7:])
    source = result["source"]
    assert result["rows"] == 1 and source["origin"] == "hub" and source["revision"] == "v0.1.0"
    assert source["manifest"] == {
        "version": "0.1.0",
        "files": {path: meta["sha256"] for path, meta in manifest["files"].items()},
    }
