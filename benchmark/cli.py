"""``benchmark`` command line. Thin: each sub-command lives in ``benchmark/commands/<name>.py`` and defines
``register(subparsers)``; it parses arguments and calls the library function of the same name."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from gonerd.interrupt import run_command

from . import __version__, commands
from .distributed import MainProcessError
from .errors import BenchmarkError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="benchmark",
        description="Run encoders through the gonerd-bench tasks and score quality and inference cost.",
    )
    parser.add_argument("--version", action="version", version=f"gonerd-bench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    from .tasks.include import add_include_path_argument

    add_include_path_argument(sub)
    return parser


INTERRUPTED = "benchmark: interrupted; finished tasks are kept and a rerun resumes"


def main(argv: list[str] | None = None) -> int:
    def command() -> int:
        args = build_parser().parse_args(argv)
        from .tasks.include import apply_include_paths

        apply_include_paths(args)
        return int(args.func(args) or 0)

    # MainProcessError: rank 0 already printed the error of its step
    return run_command(
        command, prog="benchmark", errors=BenchmarkError, interrupted=INTERRUPTED, silent=(MainProcessError,)
    )


if __name__ == "__main__":
    sys.exit(main())
