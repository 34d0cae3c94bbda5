"""One Ctrl-C handling for every command line (:func:`gonerd.interrupt.run_command`): gonerd's is tested with
real signals in test_untrusted_inputs.py; benchmark and baselines end the same way, each with its own words."""

from __future__ import annotations

import argparse

import pytest

from baselines.errors import BaselinesError
from benchmark.errors import BenchmarkError


def _raising(exc):
    def command(*args):
        raise exc

    return command


def _benchmark(monkeypatch, exc):
    import benchmark.cli

    args = argparse.Namespace(func=_raising(exc))
    monkeypatch.setattr(
        benchmark.cli, "build_parser", lambda: argparse.Namespace(parse_args=lambda argv: args)
    )
    return benchmark.cli.main([])


def _baselines(monkeypatch, exc):
    import baselines.cli

    monkeypatch.setattr(baselines.cli, "_run", _raising(exc))
    return baselines.cli.main(["list"])


@pytest.mark.parametrize(
    "main, error, line",
    [
        (_benchmark, BenchmarkError, "benchmark: interrupted; finished tasks are kept"),
        (_baselines, BaselinesError, "baselines: interrupted"),
    ],
)
def test_every_command_line_ends_ctrl_c_and_errors_alike(main, error, line, monkeypatch, capsys):
    """benchmark and baselines share gonerd's Ctrl-C handling: one line and 130; their own error: 2."""
    assert main(monkeypatch, KeyboardInterrupt()) == 130
    assert capsys.readouterr().err.startswith(line)
    assert main(monkeypatch, error("no such thing")) == 2
    prog = line.split(":")[0]
    assert capsys.readouterr().err == f"{prog}: error: no such thing\n"
    with pytest.raises(ImportError):  # without Ctrl-C an unexpected error is a bug, not an interrupt
        main(monkeypatch, ImportError("a real bug"))


def test_benchmark_leaves_an_error_rank_0_already_printed_unsaid(monkeypatch, capsys):
    from benchmark.distributed import MainProcessError

    assert _benchmark(monkeypatch, MainProcessError("said already")) == 2
    assert capsys.readouterr().err == ""
