"""``benchmark submit``: check a model's result directory and add it to the leaderboard (all or nothing)."""

from __future__ import annotations

import argparse
import sys

from ..leaderboard import DEFAULT_DIR


def run(args: argparse.Namespace) -> int:
    from ..leaderboard.submit import submit

    report = submit(args.results_dir, args.leaderboard, data_dir=args.data_dir, partial=args.partial)
    text = report.format()
    if text:
        print(text, file=sys.stdout if report.ok else sys.stderr)
    if not report.ok:
        print(f"benchmark submit: {len(report.problems)} problem(s); nothing was copied", file=sys.stderr)
        return 1
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "submit", help="add a model's results to the leaderboard", description=__doc__
    )
    parser.add_argument("results_dir", help="OUTPUT/<model-slug> directory written by `benchmark run`")
    parser.add_argument(
        "--leaderboard", default=DEFAULT_DIR, help=f"leaderboard directory (default ./{DEFAULT_DIR})"
    )
    parser.add_argument(
        "--data-dir",
        help="gold data (as for `benchmark run --data-dir`): recompute every score from predictions",
    )
    parser.add_argument(
        "--partial", action="store_true", help="accept a subset of the tasks (entry marked partial)"
    )
    parser.set_defaults(func=run)
