"""``benchmark tasks``: the task registry as a table (or JSON)."""

from __future__ import annotations

import argparse
import json

from ..tasks.registry import all_tasks


def task_rows() -> list[dict]:
    """One summary row per task: name, type, context, max length, data (hub id@rev), primary metric, metrics."""
    rows = []
    for spec in all_tasks():
        rows.append(
            {
                "name": spec.name,
                "type": spec.task_type,
                "context": spec.context,
                "max_length": spec.max_length,
                "data": f"{spec.hub.path}@{spec.hub.revision}",
                "config": spec.hub.config,
                "primary_metric": spec.primary_metric,
                "metrics": list(spec.metrics),
                "eval_splits": list(spec.eval_splits),
                "subtasks": [s.name for s in spec.subtasks],
                "version": spec.version,
                "spec_hash": spec.spec_hash(),
            }
        )
    return rows


def _short_rev(spec_data: str) -> str:
    path, _, rev = spec_data.partition("@")
    return f"{path}@{rev[:10]}" if len(rev) == 40 else spec_data


def format_table(rows: list[dict]) -> str:
    header = ["name", "type", "context", "max_len", "data", "primary", "metrics"]
    body = [
        [
            r["name"],
            r["type"],
            r["context"],
            str(r["max_length"]),
            _short_rev(r["data"]),
            r["primary_metric"],
            ",".join(r["metrics"]),
        ]
        for r in rows
    ]
    widths = [max(len(x) for x in col) for col in zip(header, *body, strict=False)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in [header, *body]
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    rows = task_rows()
    print(json.dumps(rows, indent=2) if args.json else format_table(rows))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("tasks", help="list the benchmark tasks", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)
