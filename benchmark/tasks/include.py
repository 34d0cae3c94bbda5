"""``--include-path DIR`` on ``benchmark tasks``, ``run``, ``score`` and ``submit``: a user's own task YAML files
(and the hook modules beside them) for one command, without editing the package.

User tasks run and score like the package's, but never count towards the benchmark: ``benchmark run`` without
``--tasks`` runs them after the package's tasks, the benchmark average and the leaderboard use only the package's,
and ``benchmark submit`` ignores a user task's result files with a warning (they are not copied).
"""

from __future__ import annotations

import argparse

COMMANDS = ("tasks", "run", "score", "submit")
HELP = (
    "folder of extra task YAML files (with any hook modules beside them), e.g. your own data set; repeatable. "
    "User tasks never enter the benchmark average or the leaderboard"
)


def add_include_path_argument(subparsers: argparse._SubParsersAction) -> None:
    """Add ``--include-path DIR`` (repeatable) to each command of :data:`COMMANDS` that is registered."""
    for name in COMMANDS:
        parser = subparsers.choices.get(name)
        if parser is not None:
            parser.add_argument(
                "--include-path", action="append", default=None, metavar="DIR", dest="include_path", help=HELP
            )


def apply_include_paths(args: argparse.Namespace) -> None:
    """Load the user tasks of ``args.include_path`` (none: forget those of an earlier call in this process)."""
    if not hasattr(args, "include_path"):  # a command without the flag
        return
    from .registry import set_include_paths

    set_include_paths(args.include_path or [])
