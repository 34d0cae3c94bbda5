"""The micro-benchmarks (benchmarks/micro/, run by scripts/bench.sh, not by the test suite) still collect, and the
committed saved run covers every one of them, so `--benchmark-compare` has a reference for each."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT, subprocess_env


def test_micro_benchmarks_collect_and_have_a_saved_reference():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "benchmarks/micro",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-2000:]
    collected = {line.split("::", 1)[1] for line in done.stdout.splitlines() if "::" in line}
    assert len(collected) >= 10 and any(name.startswith("test_collate[") for name in collected)
    saved = sorted((ROOT / "benchmarks" / "micro" / "saved").glob("*/*.json"))
    assert saved, "no saved run in benchmarks/micro/saved (bash scripts/bench.sh --benchmark-save=NAME)"
    names = {b["name"] for b in json.loads(saved[-1].read_text(encoding="utf-8"))["benchmarks"]}
    assert collected == names, f"saved run {saved[-1].name} lacks {sorted(collected - names)}"
