"""Pinned Hub revisions and several models in one ``benchmark run``.

The Hub is the stub of ``tests/hub_server.py`` on 127.0.0.1, serving a tiny BERT in two commits; ``benchmark run``
runs in a fresh process with ``HF_ENDPOINT`` pointed at it and an empty ``HF_HOME``, so every file it reads is a
download the stub recorded (repository, commit, path).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.errors import BenchmarkError
from benchmark.model.model_source import expand_models, resolve_baseline
from benchmark.results.files import load_result
from benchmark.run.pipeline import run_models
from conftest import CONLL_LINKS, link_fixtures
from hub_server import StubHub, stub_env
from tiny_models import build_tiny_model

REPO = "org/tiny-bert"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return link_fixtures(tmp_path_factory.mktemp("data"), CONLL_LINKS)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def _env(stub: StubHub, tmp_path: Path) -> dict[str, str]:
    return stub_env(stub, tmp_path / "hf-home")


def _run_cli(stub: StubHub, tmp_path: Path, data_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    args = ["--tasks", "conll2003", "--data-dir", str(data_dir), "--limit", "4", "--epochs", "0"]
    args += ["--batch-size", "4", "--device", "cpu", "--output", str(tmp_path / "out")]
    return subprocess.run(
        [sys.executable, "-m", "benchmark.cli", "run", "--model", REPO, *args, *extra],
        env=_env(stub, tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.fixtures
def test_revision_pins_config_tokenizer_and_weights(tmp_path, data_dir):
    v1 = _files(build_tiny_model("bert", tmp_path / "v1", seed=1))
    v2 = _files(build_tiny_model("bert", tmp_path / "v2", seed=2))
    assert v1["model.safetensors"] != v2["model.safetensors"]
    with StubHub() as stub:
        repo = stub.seed_repo(REPO, v1, repo_type="model")
        first = repo.branches["main"]
        stub._commit(repo, "retrain", "", {**repo.files, **v2})
        head = repo.branches["main"]
        assert head != first

        proc = _run_cli(stub, tmp_path, data_dir, "--revision", first)
        assert proc.returncode == 0, proc.stderr[-3000:]
        record = load_result(tmp_path / "out" / "org__tiny-bert" / "conll2003.json")
        assert record["model"]["revision"] == first == record["model"]["requested_revision"]
        served = {(commit, path) for r, commit, path in stub.downloads if r == REPO}
        assert (first, "model.safetensors") in served and (first, "config.json") in served
        assert (first, "tokenizer.json") in served
        assert not any(commit == head for commit, _ in served)  # nothing came from main

        # Another revision of the same model in the same output folder is refused, nothing overwritten.
        before = (tmp_path / "out" / "org__tiny-bert" / "conll2003.json").read_bytes()
        proc = _run_cli(stub, tmp_path, data_dir)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr[-2000:]
        assert (tmp_path / "out" / "org__tiny-bert" / "conll2003.json").read_bytes() == before

        # `benchmark speed` reads the same pinned commit and records it.
        served_before = len(stub.downloads)
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmark.cli",
                "speed",
                "--model",
                REPO,
                "--revision",
                first,
                "--lengths",
                "32",
                "--iterations",
                "1",
                "--warmup",
                "0",
                "--min-seconds",
                "0",
                "--json",
            ],
            env=_env(stub, tmp_path / "speed"),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert json.loads(proc.stdout)["model"]["revision"] == first
        assert {c for r, c, p in stub.downloads[served_before:] if p == "model.safetensors"} == {first}

        # Without --revision: main, and the result says which commit that was.
        proc = _run_cli(stub, tmp_path / "main", data_dir)
        assert proc.returncode == 0, proc.stderr[-3000:]
        record = load_result(tmp_path / "main" / "out" / "org__tiny-bert" / "conll2003.json")
        assert record["model"]["revision"] == head and record["model"]["requested_revision"] is None


def test_revision_of_a_local_directory_is_a_one_line_error(tmp_path, capsys):
    model = build_tiny_model("bert", tmp_path / "m")
    capsys.readouterr()
    code = main(
        ["run", "--model", str(model), "--revision", "v1", "--tasks", "conll2003", "--output", str(tmp_path)]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "applies to Hub models" in err[0]


def test_baselines_are_pinned_to_the_registry_revisions():
    from baselines.registry import resolve

    nystrom = resolve_baseline("baseline:distil-nystromformer", tokenizer_from=None, trust_remote_code=False)
    assert nystrom.revision == resolve("distil-nystromformer").revision and nystrom.revision
    assert nystrom.tokenizer_from is None  # its own repository, read at the same revision
    # The distilled Longformer has no tokenizer: the teacher's, at the teacher's pinned revision.
    student = resolve_baseline("baseline:distil-longformer", tokenizer_from=None, trust_remote_code=False)
    assert student.tokenizer_from == "allenai/longformer-base-4096"
    assert student.tokenizer_revision == resolve("longformer").revision
    # An explicit revision wins.
    assert (
        resolve_baseline(
            "baseline:longformer", tokenizer_from=None, trust_remote_code=False, revision="x"
        ).revision
        == "x"
    )


def test_baseline_groups_expand_in_registry_order():
    from baselines.registry import load_registry

    entries = load_registry()
    students = expand_models(["baseline:students"])
    assert students == [f"baseline:{e.name}" for e in entries if e.role == "student"] and len(students) == 4
    everything = expand_models(["baseline:distil-bigbird", "baseline:all"])
    assert everything[0] == "baseline:distil-bigbird" and len(everything) == len(entries)  # no duplicates
    assert expand_models(["./my-model"]) == ["./my-model"]
    modern = expand_models(["baseline:modern"])
    assert modern == [f"baseline:{e.name}" for e in entries if e.group == "modern"]
    assert "baseline:modernbert-base" in modern and "baseline:ettin-encoder-17m" in modern


def test_registry_refuses_an_entry_named_like_a_group(tmp_path):
    from baselines.errors import BaselinesError
    from baselines.registry import REGISTRY_PATH, load_registry

    text = REGISTRY_PATH.read_text().replace("- name: distil-longformer\n", "- name: all\n", 1)
    (tmp_path / "r.yaml").write_text(text.replace("teacher: distil-longformer", "teacher: all"))
    with pytest.raises(BaselinesError, match="names a group"):
        load_registry(tmp_path / "r.yaml")


@pytest.mark.fixtures
def test_several_models_in_one_command(tmp_path, data_dir, capsys):
    a = build_tiny_model("bert", tmp_path / "models" / "a", seed=1)
    b = build_tiny_model("roberta", tmp_path / "models" / "b", seed=2)
    capsys.readouterr()
    out = tmp_path / "out"
    args = ["--tasks", "conll2003", "--data-dir", str(data_dir), "--limit", "4", "--epochs", "0"]
    args += ["--batch-size", "4", "--device", "cpu", "--output", str(out)]
    assert main(["run", "--model", str(a), str(b), *args]) == 0
    printed = capsys.readouterr().out.split()
    assert sorted(printed) == sorted([str(out / "a" / "conll2003.json"), str(out / "b" / "conll2003.json")])
    assert {load_result(Path(p))["model"]["model_type"] for p in printed} == {"bert", "roberta"}

    # One bad model among several fails before anything runs.
    with pytest.raises(BenchmarkError, match="is not a model"):
        run_models(
            [str(a), str(tmp_path / "nope")],
            ["conll2003"],
            output=str(tmp_path / "out2"),
            data_dir=str(data_dir),
        )
    assert not (tmp_path / "out2").exists()
    # --model-name names one model.
    code = main(["run", "--model", str(a), str(b), "--model-name", "x", *args])
    assert code == 2 and "--model-name names one model" in capsys.readouterr().err


def test_a_failing_model_does_not_stop_the_others(tmp_path, data_dir, monkeypatch, capsys):
    """A model that fails while running is reported; the others still run and the exit code is 1."""
    import benchmark.run.pipeline as run_module

    a = build_tiny_model("bert", tmp_path / "models" / "a", seed=1)
    b = build_tiny_model("bert", tmp_path / "models" / "b", seed=2)
    real = run_module.run

    def flaky(model, tasks, **kw):
        if model.endswith("/a"):
            raise BenchmarkError("disk full")
        return real(model, tasks, **kw)

    monkeypatch.setattr(run_module, "run", flaky)
    args = ["--tasks", "conll2003", "--data-dir", str(data_dir), "--limit", "4", "--epochs", "0"]
    args += ["--batch-size", "4", "--device", "cpu", "--output", str(tmp_path / "out")]
    assert main(["run", "--model", str(a), str(b), *args]) == 1
    captured = capsys.readouterr()
    assert "a: disk full" in captured.err and "1 of 2 models failed" in captured.err
    assert json.loads((tmp_path / "out" / "b" / "conll2003.json").read_text())["task"]["name"] == "conll2003"
