"""``benchmark submit``: check a model's result directory and add it to the leaderboard (all or nothing)."""

from __future__ import annotations

import argparse
import sys

from ..leaderboard import DEFAULT_DIR


def run(args: argparse.Namespace) -> int:
    from ..leaderboard.submit import submit

    report = submit(
        args.results_dir,
        args.leaderboard,
        data_dir=args.data_dir,
        partial=args.partial,
        unverified=args.unverified,
    )
    text = report.format()
    if text:
        print(text)
    if report.already_listed and args.ok_if_listed:
        print(f"{args.results_dir}: already on the leaderboard, nothing new (--ok-if-listed)")
        return 0
    if not report.ok:
        print(report.format_problems("benchmark submit", "nothing was copied"), file=sys.stderr)
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
        "--ok-if-listed",
        action="store_true",
        help="exit 0 when these very results are already on the leaderboard (a resumed script's resubmission); "
        "any other problem still fails",
    )
    parser.add_argument(
        "--data-dir",
        help="gold data the run read from local files (as for `benchmark run --data-dir`); Hub data is read "
        "from the datasets cache at the pinned revision. Every score is recomputed from the predictions",
    )
    parser.add_argument(
        "--partial", action="store_true", help="accept a subset of the tasks (entry marked partial)"
    )
    parser.add_argument(
        "--unverified",
        action="store_true",
        help="admit splits whose gold data is not at hand, not re-scored; the entry is marked unverified "
        "(never the default; results already on the board are never changed this way)",
    )
    parser.set_defaults(func=run)
