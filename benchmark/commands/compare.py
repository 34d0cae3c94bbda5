"""``benchmark compare``: a distilled student against its teacher (or any two runs): per task the difference of
the primary metric and the student's share of the teacher's score, each with a 95% paired bootstrap interval over
the same evaluation examples (the seeds both runs have are averaged), the spread over seeds, one verdict (better,
worse, or indistinguishable when the interval holds 0), and the change in inference time and peak memory.

Results that ran differently (dtype, attention implementation, compiled, training batches, device) are not
compared silently: each difference is one line on stderr naming both values; --strict makes it an error."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    import sys

    from ..errors import BenchmarkError
    from ..leaderboard.compare import compare_dirs, format_notes, format_table, to_json

    rows, differences = compare_dirs(args.student, args.teacher, args.data_dir)
    if differences and args.strict:
        raise BenchmarkError(f"--strict: the results ran differently: {'; '.join(differences)}")
    for line in differences + format_notes(rows):
        print(f"note: {line}", file=sys.stderr)
    print(to_json(rows) if args.json else format_table(rows))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("compare", help="student vs teacher results", description=__doc__)
    parser.add_argument("--student", required=True, help="results directory (OUTPUT/<slug>) of the student")
    parser.add_argument("--teacher", required=True, help="results directory (OUTPUT/<slug>) of the teacher")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument(
        "--data-dir",
        default=None,
        metavar="DIR",
        help="gold data (as for benchmark submit) for results written before bootstrap replicates were recorded: "
        "their predictions are re-scored and resampled here, so they get an interval too",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail (one line, exit 2) when the results differ in dtype, attention implementation, compiled, "
        "training batches or device, instead of noting each difference",
    )
    parser.set_defaults(func=run)
