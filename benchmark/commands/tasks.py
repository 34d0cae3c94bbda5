"""``benchmark tasks``: the task registry as a table (or JSON); with ``--include-path DIR``, the user tasks of DIR
too (marked ``user``: they never count towards the benchmark or the leaderboard)."""

from __future__ import annotations

import argparse
import json

from ..tasks.registry import is_user_task, known_tasks


def task_rows() -> list[dict]:
    """One summary row per task: name, type, context, max length, data (hub id@rev, or local files only), primary
    metric, metrics, default budget and whether it is a user task (``--include-path``)."""
    rows = []
    for spec in known_tasks():
        rows.append(
            {
                "name": spec.name,
                "type": spec.task_type,
                "context": spec.context,
                "max_length": spec.max_length,
                "data": f"{spec.hub.path}@{spec.hub.revision}" if spec.hub.path else "local files only",
                "config": spec.hub.config,
                "primary_metric": spec.primary_metric,
                "metrics": list(spec.metrics),
                "eval_splits": list(spec.eval_splits),
                "subtasks": [s.name for s in spec.subtasks],
                "version": spec.version,
                "spec_hash": spec.spec_hash(),
                "budget": dict(spec.budget),
                "reader": spec.reader,
                "user": is_user_task(spec.name),
            }
        )
    return rows


def _short_rev(spec_data: str) -> str:
    path, _, rev = spec_data.partition("@")
    return f"{path}@{rev[:10]}" if len(rev) == 40 else spec_data


def _budget(budget: dict) -> str:
    """``3ep lr5e-05 bs32`` (+ ``max20000``): the keys that differ between tasks."""
    if not budget:
        return ""
    text = f"{budget['epochs']:g}ep lr{budget['learning_rate']:g} bs{budget['batch_size']}"
    return text + (f" max{budget['max_train_examples']}" if budget.get("max_train_examples") else "")


def format_table(rows: list[dict]) -> str:
    header = ["name", "type", "context", "max_len", "data", "primary", "metrics", "budget"]
    body = [
        [
            r["name"] + (" (user)" if r.get("user") else ""),
            r["type"],
            r["context"],
            str(r["max_length"]),
            _short_rev(r["data"]),
            r["primary_metric"],
            ",".join(r["metrics"]),
            _budget(r["budget"]),
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
