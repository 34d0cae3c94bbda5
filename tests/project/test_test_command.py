"""The test command installs what its tests need outside Python, or says why it could not: headless chromium for the
leaderboard page test (``scripts/chromium.sh``, called by ``scripts/test.sh``, which ``.ci/run`` runs). Without
chromium the page test skips with the reason, except under CI (``CI=true``), where it fails."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import ROOT, subprocess_env

PAGE_TEST = "tests/benchmark/leaderboard/test_browser.py"


def _chromium_sh(**env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "CHROMIUM_PATH", "GONERD_TEST_NO_APT")}
    return subprocess.run(
        ["bash", "scripts/chromium.sh"],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(("ci", "outcome"), [(None, "will be skipped"), ("true", "will FAIL (CI=true)")])
def test_chromium_sh_says_loudly_why_chromium_is_missing(tmp_path, ci, outcome):
    env = {"CHROMIUM_PATH": str(tmp_path / "no-chromium"), "GONERD_TEST_NO_APT": "1"}
    done = _chromium_sh(**env, **({"CI": ci} if ci else {}))
    assert done.returncode == 0  # the page test decides, not the script
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f"chromium.sh: WARNING: no chromium at {tmp_path / 'no-chromium'}: GONERD_TEST_NO_APT is set.",
        f"chromium.sh: WARNING: the leaderboard page test ({PAGE_TEST}) {outcome}.",
    ]


def test_chromium_sh_is_silent_when_chromium_is_there(tmp_path):
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    done = _chromium_sh(CHROMIUM_PATH=str(fake))
    assert done.returncode == 0 and done.stdout == done.stderr == ""


def test_the_test_command_runs_it_and_ci_runs_the_test_command():
    test_sh = (ROOT / "scripts" / "test.sh").read_text(encoding="utf-8").splitlines()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    steps = [line.split("#")[0].strip() for line in test_sh]
    assert "bash scripts/chromium.sh" in steps
    assert steps.index("bash scripts/chromium.sh") < next(i for i, s in enumerate(steps) if "pytest" in s)
    assert "bash scripts/test.sh -q" in [line.strip() for line in ci]
    assert not any("apt-get" in line for line in ci if not line.lstrip().startswith("#"))


@pytest.mark.parametrize("ci", [None, "true"], ids=["local", "CI"])
def test_page_test_without_chromium_skips_locally_and_fails_under_ci(tmp_path, ci):
    env = subprocess_env(CHROMIUM_PATH=str(tmp_path / "no-chromium"))
    env.pop("CI", None)
    if ci:
        env["CI"] = ci
    done = subprocess.run(
        [sys.executable, "-m", "pytest", PAGE_TEST, "-q", "-p", "no:cacheprovider", "-rs"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = done.stdout + done.stderr
    if ci:
        assert done.returncode == 1, out[-2000:]
        assert "CI=true and needs Debian chromium" in out and "must not skip the page test" in out
        assert "passed" not in out and "skipped" not in out
    else:
        assert done.returncode == 0, out[-2000:]
        assert "2 skipped" in out and "needs Debian chromium at" in out
