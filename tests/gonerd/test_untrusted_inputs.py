"""Hostile input to `gonerd` (issue 22): FIFOs, 5,000-digit numbers, lone surrogates and deep JSON in sources
and manifests, a `--cache-dir` that is a file, a full disk, a Hub stand-in answering 200 with JSON it never sends,
Ctrl-C during start-up, two builds into one folder, a `kind: "ftp"` source, and kill -9 of a build with worker
processes. Each: one line naming the file or flag, a non-zero exit, no traceback.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, subprocess_env, wikitext_source
from gonerd.build import LOCK_NAME, OutputLock, _write_dataset
from gonerd.cli import main as gonerd_main
from hub_server import StubHub, hub_online
from tests.gonerd.test_publish import PIPELINE, _article

MODEL = "en_core_web_sm"
HUGE = "9" * 5000


def run(capsys, *argv) -> tuple[int, str]:
    """The gonerd CLI in this process: exit code and its one stderr line (no traceback)."""
    code = gonerd_main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return code, lines[0]


GOOD = json.dumps({"title": "Good", "page_id": 1, "revision_id": 2, "text": "Paris is in France."})


def source(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "src.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


# ---- sources ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"title": "Big", "page_id": ' + HUGE + ', "text": "x"}', "src.jsonl:2: a number of 5,000 digits"),
        (
            '{"title": "S", "page_id": 3, "text": "Paris \\ud800 France"}',
            "src.jsonl:2: a string holds a lone surrogate",
        ),
        (
            '{"title": "\\udfff", "page_id": 4, "text": "Paris"}',
            "src.jsonl:2: a string holds a lone surrogate",
        ),
    ],
    ids=["5000-digit-id", "surrogate-in-text", "surrogate-in-title"],
)
def test_bad_source_line_is_one_line(tmp_path, capsys, line, message):
    src = source(tmp_path, GOOD, line)
    code, err = run(capsys, "build", "--source", src, "--out", tmp_path / "out", "--model", MODEL)
    assert code == 2 and message in err
    assert not (tmp_path / "out").exists()


@pytest.mark.timeout(60)
def test_a_fifo_as_the_source_is_refused_without_waiting(tmp_path, capsys):
    fifo = tmp_path / "src.jsonl"
    os.mkfifo(fifo)
    code, err = run(capsys, "build", "--source", fifo, "--out", tmp_path / "out", "--model", MODEL)
    assert code == 2 and f"{fifo}: source file: a FIFO (named pipe), not a regular file; refused" in err


def test_cache_dir_that_is_a_file_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "cache"
    blocker.write_text("a file")
    code, err = run(
        capsys, "build", "--source", source(tmp_path, GOOD), "--out", tmp_path / "out", "--cache-dir", blocker
    )
    assert code == 2 and f"--cache-dir {blocker}: not a folder" in err
    assert not (tmp_path / "out").exists()


def test_a_second_build_into_the_same_folder_names_the_first(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    holder = OutputLock(out)
    holder.acquire()
    try:
        code, err = run(capsys, "build", "--source", source(tmp_path, GOOD), "--out", out, "--model", MODEL)
    finally:
        holder.release()
    assert code == 2 and f"{out} is being built by another gonerd build (pid {os.getpid()} on " in err
    assert ", since 20" in err
    assert not (out / LOCK_NAME).exists()  # released: the folder holds nothing of either build


def test_the_lock_is_taken_again_after_its_holder_released_it(tmp_path):
    first = OutputLock(tmp_path)
    first.acquire()
    first.release()
    second = OutputLock(tmp_path)
    second.acquire()  # no error
    second.release()


# ---- the dataset folder: manifests -------------------------------------------------------------------------


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """A small valid dataset folder (as tests/gonerd/test_publish.py builds it)."""
    root = tmp_path / "gonerd"
    root.mkdir()
    articles = [
        _article(1, ["Paris", "is", "in", "France"], ["B-GPE", "O", "O", "B-GPE"]),
        _article(5, ["Ada", "Lovelace", "wrote"], ["B-PERSON", "I-PERSON", "O"]),
    ]
    src = {"kind": "jsonl", "file": "articles.jsonl", "sha256": "0" * 64, "articles": 2}
    _write_dataset(root, articles, 250, "0.1.0", src, PIPELINE, 8, [])
    return root


def _manifest(dataset: Path, change) -> None:
    path = dataset / "manifest.json"
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")


COMMANDS = [["validate"], ["card"], ["publish", "--repo-id", "org/gonerd", "--dry-run"]]


@pytest.mark.parametrize("command", COMMANDS, ids=["validate", "card", "publish-dry-run"])
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda text: "[" * 100_000 + "]" * 100_000,
            "manifest.json: corrupt manifest: JSON nested deeper than",
        ),
        (lambda text: text.replace('"schema": 1', '"schema": ' + HUGE), "a number of 5,000 digits"),
        (
            lambda text: text.replace('"kind": "jsonl"', '"kind": "ftp"'),
            "source.kind must be one of wikipedia, jsonl, got 'ftp'",
        ),
    ],
    ids=["deep", "5000-digits", "kind-ftp"],
)
def test_a_hostile_manifest_is_one_line(dataset, capsys, command, change, message):
    assert gonerd_main(["validate", str(dataset)]) == 0  # valid before the change
    capsys.readouterr()
    _manifest(dataset, change)
    code, err = run(capsys, *command, dataset)
    assert code in (1, 2) and message in err


@pytest.mark.timeout(60)
@pytest.mark.parametrize("command", COMMANDS, ids=["validate", "card", "publish-dry-run"])
def test_a_fifo_as_the_manifest_is_refused_without_waiting(dataset, capsys, command):
    (dataset / "manifest.json").unlink()
    os.mkfifo(dataset / "manifest.json")
    code, err = run(capsys, *command, dataset)
    assert (
        code in (1, 2) and "manifest.json: corrupt manifest: a FIFO (named pipe), not a regular file" in err
    )


def test_publish_endpoint_answering_200_with_unexpected_json_is_one_line(dataset, capsys, monkeypatch):
    """``KeyError: 'id'`` from huggingface_hub's own parsing became a traceback."""
    from gonerd.errors import GonerdError
    from gonerd.publish import publish

    with StubHub(token="hf_x") as hub, hub_online():
        hub.inject_reply("info", {"unexpected": True})
        with pytest.raises(GonerdError) as info:
            publish(dataset, "org/gonerd", token="hf_x", endpoint=hub.endpoint)
    message = str(info.value)
    assert (
        "\n" not in message and "answered with unexpected content while looking up the repository" in message
    )
    assert "hf_x" not in message


# ---- a full disk -------------------------------------------------------------------------------------------


def test_disk_full_during_a_build_is_one_line_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    import gonerd.build

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out" / "x.parquet"))

    monkeypatch.setattr(gonerd.build, "write_splits", full)
    out = tmp_path / "out"
    code, err = run(
        capsys, "build", "--source", source(tmp_path, GOOD), "--out", out, "--model", MODEL,
        "--cache-dir", tmp_path / "cache", "--no-progress",
    )  # fmt: skip
    assert code == 2 and "x.parquet: No space left on device; build stopped" in err
    assert not out.exists()  # the folder this build created is gone again
    assert list((tmp_path / "cache" / "annotations").glob("*.json"))  # the finished article stays cached


# ---- Ctrl-C ------------------------------------------------------------------------------------------------


def test_ctrl_c_while_an_extension_initialises_is_one_line_and_130(tmp_path, capsys, monkeypatch):
    """numpy, torch or pyarrow interrupted in their C initialisation raise ``ImportError: initialization
    failed``, not KeyboardInterrupt: the command line still says "interrupted" and exits 130."""
    import gonerd.cli

    def interrupted_import(args):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except KeyboardInterrupt:
            raise ImportError("initialization failed") from None

    monkeypatch.setattr(gonerd.cli, "cmd_validate", interrupted_import)
    code, err = run(capsys, "validate", tmp_path)
    assert code == 130 and err.startswith("gonerd: interrupted")


def test_an_import_error_without_ctrl_c_is_still_a_bug(tmp_path, monkeypatch):
    import gonerd.cli

    def broken(args):
        raise ImportError("a real bug")

    monkeypatch.setattr(gonerd.cli, "cmd_validate", broken)
    with pytest.raises(ImportError):
        gonerd_main(["validate", str(tmp_path)])


@pytest.mark.parametrize("delay", [0.5, 1.0, 2.0])
def test_ctrl_c_during_start_up_is_one_line_and_130(tmp_path, delay):
    """A real SIGINT while `gonerd build` imports spaCy and loads its model."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gonerd", "build", "--source", source(tmp_path, GOOD), "--out", tmp_path / "out",
         "--model", MODEL, "--no-progress"],
        cwd=ROOT, env=subprocess_env(), stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert "Traceback" not in err, err
    if proc.returncode == 0:  # finished before the signal (a fast machine): nothing to check
        return
    assert proc.returncode == 130 and len(err.strip().splitlines()) == 1, (proc.returncode, err)
    assert err.startswith("gonerd: interrupted")


# ---- kill -9 of a build with worker processes --------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_leaves_no_workers_and_the_rerun_reuses_finished_articles(tmp_path):
    src = wikitext_source(tmp_path, 12)
    cache = tmp_path / "cache"
    argv = [sys.executable, "-m", "gonerd", "build", "--source", src, "--out", tmp_path / "out", "--model", MODEL,
            "--n-process", "2", "--cache-dir", cache, "--no-progress"]  # fmt: skip
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    annotations = cache / "annotations"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if annotations.is_dir() and len(list(annotations.glob("*.json"))) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the build ended before two articles were cached"
    workers = _children(proc.pid)
    assert len(workers) >= 2  # the two annotation processes
    proc.kill()
    proc.wait()
    cached = len(list(annotations.glob("*.json")))
    assert cached >= 2
    deadline = time.monotonic() + 30
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [w for w in workers if _alive(w)], "annotation workers outlived their parent"
    done = subprocess.run(argv, cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    from_cache = int(done.stdout.split(" annotated now, ")[1].split(" from cache")[0])
    assert from_cache >= cached
