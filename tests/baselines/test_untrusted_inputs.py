"""Hostile input to `baselines` (issue 22): one line and a non-zero exit, no traceback."""

from __future__ import annotations

import os

import pytest

from baselines.cli import main
from baselines.errors import BaselinesError


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_reproduce_dry_run_refuses_an_unknown_stop_after(tmp_path, capsys):
    code = main(["reproduce", "mini", "--dry-run", "--stop-after", "bogus", "--work", str(tmp_path / "w")])
    assert code == 2
    line = _one_line(capsys)
    assert line.startswith(
        "baselines: error: --stop-after 'bogus' is not a step of the plan; steps: gonerd, "
    )
    assert not (tmp_path / "w").exists()


def test_reproduce_dry_run_accepts_a_real_step(tmp_path, capsys):
    assert (
        main(["reproduce", "mini", "--dry-run", "--stop-after", "gonerd", "--work", str(tmp_path / "w")]) == 0
    )


def test_a_registry_with_a_duplicate_key_is_one_line(tmp_path):
    from baselines.registry import _load

    path = tmp_path / "registry.yaml"
    path.write_text("- name: a\n  name: b\n")
    with pytest.raises(BaselinesError, match=r"registry\.yaml: duplicate key 'name' \(lines 1 and 2\)"):
        _load(path)


@pytest.mark.timeout(60)
def test_a_fifo_as_a_corpus_file_is_refused(tmp_path):
    from baselines.distill import read_corpus

    fifo = tmp_path / "corpus.txt"
    os.mkfifo(fifo)
    with pytest.raises(BaselinesError, match=r"corpus\.txt: a FIFO \(named pipe\), not a regular file"):
        read_corpus([fifo])


def test_a_5000_digit_number_in_a_model_config_is_one_line(tmp_path):
    from baselines.convert import _read_config

    (tmp_path / "config.json").write_text('{"hidden_size": ' + "9" * 5000 + "}")
    with pytest.raises(BaselinesError, match=r"config\.json: a number of 5,000 digits"):
        _read_config(tmp_path)
