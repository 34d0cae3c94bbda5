"""``benchmark compare``: a distilled student against its teacher: per task the student's share of the teacher's
primary metric and the change in inference time and peak memory, plus the averages."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    from ..leaderboard.compare import compare, format_table, to_json

    rows = compare(args.student, args.teacher)
    print(to_json(rows) if args.json else format_table(rows))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("compare", help="student vs teacher results", description=__doc__)
    parser.add_argument("--student", required=True, help="results directory (OUTPUT/<slug>) of the student")
    parser.add_argument("--teacher", required=True, help="results directory (OUTPUT/<slug>) of the teacher")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.set_defaults(func=run)
