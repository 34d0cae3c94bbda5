"""``benchmark score``: score a predictions file (JSONL, optionally .gz) against a task's gold split."""

from __future__ import annotations

import argparse
import json

from ..evaluate.scoring import score


def _fmt(value: object) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def format_result(result: dict) -> str:
    metrics = result["metrics"]
    lines = [f"{result['task']} ({result['split']}, {result['num_examples']} examples)"]
    lines.append(f"  {result['primary_metric']}: {_fmt(result['score'])}")
    if result.get("missing"):
        lines.append(
            f"  missing: {result['missing']} of {result['num_examples']} ids had no prediction and scored 0"
        )
    for name, value in metrics.items():
        if name == "subtasks":
            for sub, sub_metrics in value.items():
                shown = ", ".join(f"{k} {_fmt(v)}" for k, v in sub_metrics.items())
                lines.append(f"  {sub}: {shown}")
        elif name == "per_type":
            for typ, vals in value.items():
                lines.append(f"  {typ}: f1 {_fmt(vals['f1'])} (support {vals['support']})")
        elif name != result["primary_metric"] and isinstance(value, int | float):
            lines.append(f"  {name}: {_fmt(value)}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    result = score(
        args.task,
        args.predictions,
        split=args.split,
        data_dir=args.data_dir,
        data_file=args.data_file,
        limit=args.limit,
        allow_missing=args.allow_missing,
    )
    print(json.dumps(result, indent=2, ensure_ascii=False) if args.json else format_result(result))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("score", help="score a predictions file", description=__doc__)
    parser.add_argument("--task", required=True, help="task name (see `benchmark tasks`), or glue/<subtask>")
    parser.add_argument("--predictions", required=True, help='JSONL(.gz), one {"id", "prediction"} per line')
    parser.add_argument(
        "--split", default="validation", help="train, validation or test (default: validation)"
    )
    parser.add_argument("--data-dir", help="read the official files under DIR/<task>/ instead of the Hub")
    parser.add_argument(
        "--data-file", help="file to read for this split instead of the spec's (with --data-dir)"
    )
    parser.add_argument("--limit", type=int, help="score the first N examples only (N >= 1)")
    parser.add_argument(
        "--allow-missing",
        action="store_true",
        help="score ids without a prediction as 0, kept in the denominator (as the official SQuAD, HotpotQA "
        "and TriviaQA scripts; NER: no entity predicted) and report how many; default: refuse the file",
    )
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    parser.set_defaults(func=run)
