"""``benchmark leaderboard``: regenerate README.md, index.html and plots/ of the leaderboard directory, or check
(``--check``) that every submission is valid and every generated file is up to date."""

from __future__ import annotations

import argparse
import sys

from ..errors import BenchmarkError
from ..leaderboard import DEFAULT_DIR


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..leaderboard.submit import check_leaderboard
    from ..leaderboard.views import write_all

    if not Path(args.leaderboard).is_dir():
        raise BenchmarkError(f"--leaderboard {args.leaderboard}: no such directory")
    if args.check:
        report = check_leaderboard(args.leaderboard, data_dir=args.data_dir, rescore=args.rescore)
        for note in report.notes:
            print(f"note: {note}")
        if not report.ok:
            print(
                report.format_problems("benchmark leaderboard --check", "the leaderboard is not valid"),
                file=sys.stderr,
            )
            return 1
        print(
            "leaderboard is valid and up to date ("
            + (
                "every score re-scored, except those marked unverified)"
                if args.rescore
                else "scores not re-scored: --no-rescore)"
            )
        )
        return 0
    changed = write_all(args.leaderboard)
    print("\n".join(f"wrote {name}" for name in changed) or "leaderboard views already up to date")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "leaderboard", help="regenerate or check the leaderboard views", description=__doc__
    )
    parser.add_argument(
        "--leaderboard", default=DEFAULT_DIR, help=f"leaderboard directory (default ./{DEFAULT_DIR})"
    )
    parser.add_argument(
        "--check", action="store_true", help="fail when a submission is invalid or a view is stale"
    )
    parser.add_argument(
        "--data-dir",
        help="with --check: gold data read from local files; every split is re-scored from its predictions "
        "against gold its task's spec pins, and one that cannot be (gold not at hand) fails the check unless its "
        "entry is marked unverified",
    )
    parser.add_argument(
        "--no-rescore",
        dest="rescore",
        action="store_false",
        help="with --check: check files, hashes and views but re-score nothing (where the gold data is absent)",
    )
    parser.set_defaults(func=run)
