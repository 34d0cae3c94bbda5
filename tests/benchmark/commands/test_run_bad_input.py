"""Bad input to ``benchmark run`` and ``benchmark speed`` through the real command line, one subprocess per case
(issue 10, section 3): exit 2, ONE line on stderr naming the file or flag, no traceback, and nothing written;
problems that can be seen up front (data files, config, flags, model files) fail before any model is trained,
which shows as no ``--output`` folder at all (it is claimed just before the first task trains).

The data are tiny files written here (CoNLL-2003 and SQuAD layouts), so no ../shared fixture is needed; a control
run over the same files and model exits 0 and writes its result, so each refusal below is the bad input's doing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import ROOT, subprocess_env
from tiny_models import build_tiny_model

POSITIONS = 64  # the tiny model's usable input length

# Two sentences per file, original 4-column IOB1 layout (TOKEN POS CHUNK NER).
CONLL = (
    "-DOCSTART- -X- -X- O\n\n"
    "Marie NNP B-NP I-PER\nCurie NNP I-NP I-PER\nvisited VBD B-VP O\nBerlin NNP B-NP I-LOC\n. . O O\n\n"
    "The DT B-NP O\nUnited NNP I-NP I-ORG\nNations NNP I-NP I-ORG\nmet VBD B-VP O\n. . O O\n"
)
CONTEXT = "Marie Curie studied radioactivity in Paris and won the Nobel Prize in 1903."


def _squad(bad_start: bool = False) -> str:
    qas = [
        {
            "id": "q1",
            "question": "Where did Marie Curie study?",
            "answers": [{"text": "Paris", "answer_start": 37}],
        },
        {"id": "q2", "question": "When did she win?", "answers": [{"text": "1903", "answer_start": 71}]},
    ]
    if bad_start:
        qas[1]["answers"][0]["answer_start"] = 500
    data = {"version": "1.1", "data": [{"title": "Curie", "paragraphs": [{"context": CONTEXT, "qas": qas}]}]}
    return json.dumps(data)


def _write_data(root: Path) -> Path:
    """A ``--data-dir`` with tiny CoNLL-2003 and SQuAD files (each case corrupts one file of its own copy)."""
    for name in ("eng.train", "eng.testa", "eng.testb"):
        (root / "conll2003").mkdir(parents=True, exist_ok=True)
        (root / "conll2003" / name).write_text(CONLL, encoding="utf-8")
    (root / "squad").mkdir()
    for name in ("train-v1.1.json", "dev-v1.1.json"):
        (root / "squad" / name).write_text(_squad(), encoding="utf-8")
    return root


def _run_argv(model: Path, data: Path, output: Path, *extra: str | Path, tasks: str = "conll2003") -> list:
    return [
        "run", "--model", model, "--tasks", tasks, "--data-dir", data, "--output", output, "--limit", "2",
        "--epochs", "1", "--batch-size", "2", "--device", "cpu", *extra,
    ]  # fmt: skip


def _cli(argv: list) -> subprocess.CompletedProcess:
    """``python -m benchmark ARGV`` in a subprocess, offline, one thread."""
    env = subprocess_env()
    return subprocess.run(
        [sys.executable, "-m", "benchmark", *map(str, argv)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _truncate(model: Path, to: Path) -> Path:
    shutil.copytree(model, to)
    weights = to / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    return to


def _negative_hidden_size(model: Path, to: Path) -> Path:
    shutil.copytree(model, to)
    config = json.loads((to / "config.json").read_text())
    config["hidden_size"] = -5
    (to / "config.json").write_text(json.dumps(config))
    return to


# A case: (its own folder, the tiny model) -> (command line, its --output, what the one line must name).
Case = Callable[[Path, Path], tuple[list, Path, list[str]]]


def _run_case(make_model=None, extra=(), task="conll2003", names=(), corrupt=None) -> Case:
    """A ``benchmark run`` case: optionally a broken copy of the model, extra flags, or one data file replaced
    (``corrupt = (task folder, file name, bytes)``; its path is then named in the message too)."""

    def make(tmp: Path, model: Path):
        data = _write_data(tmp / "data")
        run_model = make_model(model, tmp / "model") if make_model else model
        want = [n.format(tmp=tmp) for n in names]
        if corrupt:
            folder, name, content = corrupt
            (data / folder / name).write_bytes(content)
            want.append(str(data / folder / name))
        extras = [e.format(tmp=tmp) for e in extra]
        return _run_argv(run_model, data, tmp / "runs", *extras, tasks=task), tmp / "runs", want

    return make


def _config_case(text: str | bytes) -> Case:
    def make(tmp: Path, model: Path):
        (tmp / "budget.yaml").write_bytes(text if isinstance(text, bytes) else text.encode())
        return _run_case(extra=["--config", "{tmp}/budget.yaml"], names=["--config {tmp}/budget.yaml"])(
            tmp, model
        )

    return make


def _speed_case(make_model) -> Case:
    def make(tmp: Path, model: Path):
        bad = make_model(model, tmp / "model")
        return (
            ["speed", "--model", bad, "--lengths", "16", "--device", "cpu", "--output", tmp / "out"],
            tmp / "out",
            [str(bad)],
        )

    return make


CASES: dict[str, Case] = {
    "run_truncated_safetensors": _run_case(_truncate, names=["{tmp}/model/model.safetensors", "safetensors"]),
    "run_negative_hidden_size": _run_case(_negative_hidden_size, names=["config.json", "hidden_size", "-5"]),
    "run_learning_rate_nan": _run_case(extra=["--learning-rate", "nan"], names=["--learning-rate", "nan"]),
    "run_binary_config": _config_case(bytes(range(256)) * 8),
    "run_config_learning_rate_inf": _config_case("learning_rate: .inf\n"),
    "run_config_unknown_task": _config_case("tasks:\n  nosuch: {epochs: 1}\n"),
    "run_max_length_above_positions": _run_case(extra=["--max-length", "4096"], names=["--max-length 4096", f"{POSITIONS} tokens"]),
    "run_binary_conll": _run_case(corrupt=("conll2003", "eng.testa", bytes(range(128, 256)) * 40), names=["UTF-8"]),
    "run_empty_conll_train": _run_case(corrupt=("conll2003", "eng.train", b""), names=["no sentences"]),
    "run_conll_holding_json": _run_case(corrupt=("conll2003", "eng.testb", b'[{"tokens": ["a"], "tags": ["O"]}]\n'), names=["JSON"]),
    "run_squad_answer_outside_context": _run_case(
        task="squad", corrupt=("squad", "dev-v1.1.json", _squad(bad_start=True).encode()), names=["q2", "answer_start 500"]
    ),
    "speed_truncated_safetensors": _speed_case(_truncate),
    "speed_negative_hidden_size": _speed_case(_negative_hidden_size),
}  # fmt: skip


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess, Path, list[str]]]:
    """Every case plus a control run (same model and files, nothing broken), run as subprocesses a few at a
    time: each costs a Python start with torch, so the file takes a fraction of the time one after another."""
    model = build_tiny_model("bert", tmp_path_factory.mktemp("models") / "bert", max_length=POSITIONS)
    jobs = {case: make(tmp_path_factory.mktemp(case), model) for case, make in CASES.items()}
    control = tmp_path_factory.mktemp("control")
    jobs["control"] = (
        _run_argv(model, _write_data(control / "data"), control / "runs", "--max-length", str(POSITIONS),
                  tasks="conll2003,squad"),
        control / "runs",
        [],
    )  # fmt: skip
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        done = {case: pool.submit(_cli, argv) for case, (argv, _, _) in jobs.items()}
    return {case: (done[case].result(), out, names) for case, (_, out, names) in jobs.items()}


def test_control_run_over_the_same_files_writes_its_results(outcomes):
    done, out, _ = outcomes["control"]
    assert done.returncode == 0, done.stderr[-3000:]
    assert (out / "bert" / "conll2003.json").is_file() and (out / "bert" / "squad.json").is_file()


@pytest.mark.parametrize("case", list(CASES))
def test_refused_with_one_line_before_anything_runs(case, outcomes):
    done, out, names = outcomes[case]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, (done.returncode, done.stderr[-3000:])
    assert lines[0].startswith("benchmark: error: "), lines
    for name in names:
        assert name in lines[0], (name, lines[0])
    assert not out.exists()  # refused before the output folder was claimed, so before any training


def _help_texts() -> dict[str, str]:
    """``--help`` of every sub-command of the three command lines, in process (argparse formats them)."""
    from baselines.cli import _parser as baselines_parser
    from benchmark.cli import build_parser as benchmark_parser
    from gonerd.cli import build_parser as gonerd_parser

    texts = {}
    for tool, parser in (
        ("benchmark", benchmark_parser()),
        ("gonerd", gonerd_parser()),
        ("baselines", baselines_parser()),
    ):
        texts[tool] = parser.format_help()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    texts[f"{tool} {name}"] = sub.format_help()
    return texts


def test_help_states_each_default_once_and_never_none():
    texts = _help_texts()
    assert {"benchmark run", "gonerd select", "gonerd build", "baselines distill"} <= set(texts)
    for command, text in texts.items():
        flat = " ".join(text.split())  # argparse wraps lines
        assert "(default: None)" not in flat, command
        assert not re.search(r"\(default: [^)]*\) \(default:", flat), command
    assert "(default: gonerd/seed_categories.json)" in " ".join(texts["gonerd select"].split())
    assert "(default: 1000)" in " ".join(texts["baselines distill"].split())  # real defaults are still shown


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--model", "MODEL", "--seed", "-1"],
        ["run", "--model", "MODEL", "--seed", str(2**32)],
        ["speed", "--model", "MODEL", "--min-seconds", "nan"],
        ["speed", "--model", "MODEL", "--iterations", "0"],
        ["speed", "--model", "MODEL", "--warmup", "-1"],
    ],
)
def test_flags_checked_before_the_model_is_read(argv, tmp_path, capsys):
    """In process (these fail before any model file is opened, so MODEL need not exist)."""
    from benchmark.cli import main

    flag = next(a for a in argv if a.startswith("--") and a != "--model")
    assert main([*argv, "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"benchmark: error: {flag} must be"), err
    assert not (tmp_path / "out").exists()
