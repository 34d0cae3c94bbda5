"""Does length-grouped batching cost accuracy? One model fine-tuned on one task with ``--batching grouped`` and
``--batching random``, the same seeds and budget, compared with the harness's paired intervals.

    python benchmarks/grouped_vs_random.py --model DIR --data-dir DIR --work DIR [--seeds 0,1,2] \\
        [--epochs 5] [--batch-size 32] [--learning-rate 5e-5] [--parallel]

Both arms are ordinary ``benchmark run --seeds`` runs (resumable: a rerun skips the finished seeds) under
``WORK/grouped`` and ``WORK/random``; ``--parallel`` runs the two arms side by side with one thread each (F1 does
not depend on the thread count here: docs/speed-and-statistics.md). The report is the one ``baselines reproduce
mini --report`` prints for its arms (:mod:`baselines.retention`): mean ± sd per arm, then grouped minus random with
the paired bootstrap interval over evaluation sentences, the per-seed differences, a Student-t interval over
seeds, and the conclusion, which says better or worse only when both intervals agree. Time is not compared here
(``bench_finetune.py`` times training); this is about F1 alone. Validation and test are both printed; a decision
about the default rests on the question as a whole, never on tuning against test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ARMS = ("grouped", "random")


def run_arm(args: argparse.Namespace, arm: str, config: Path, threads: int) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "benchmark", "run", "--model", str(args.model), "--tasks", args.task,
        "--data-dir", str(args.data_dir), "--config", str(config), "--output", str(args.work / arm),
        "--device", "cpu", "--seeds", args.seeds, "--batching", arm,
    ]  # fmt: skip
    if args.model_name:
        cmd += ["--model-name", args.model_name]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT)}
    log = open(args.work / f"{arm}.log", "a")  # noqa: SIM115 (closed when the process is waited for)
    print(" ".join(cmd), file=sys.stderr)
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)


def report(args: argparse.Namespace) -> str:
    from baselines.retention import arms_table, comparison_table, read_arm
    from benchmark.results.files import model_slug

    slug = model_slug(args.model_name or str(args.model))
    arms = {f"{arm} batches": read_arm(args.work / arm, slug) for arm in ARMS}
    missing = [label for label, arm in arms.items() if not arm.runs]
    if missing:
        raise SystemExit(f"{args.work}: no results yet for {', '.join(missing)} (run without --report-only)")
    splits = ("validation", "test")
    out = [f"### Length-grouped against random training batches ({args.task}, seeds {args.seeds})", ""]
    out += [arms_table(arms, args.task, splits), ""]
    for split in splits:
        out += [f"{args.task} {split}:", ""]
        out += [comparison_table(arms, [("grouped batches", "random batches")], args.task, split), ""]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="the model directory")
    parser.add_argument("--model-name", default=None, help="benchmark run --model-name")
    parser.add_argument("--data-dir", type=Path, required=True, help="benchmark run --data-dir")
    parser.add_argument("--work", type=Path, required=True, help="where both arms' runs and logs go")
    parser.add_argument("--task", default="conll2003")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=float, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--parallel", action="store_true", help="both arms at once, one thread each")
    parser.add_argument("--report-only", action="store_true", help="print the comparison of finished runs")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        budget = {"epochs": args.epochs, "batch_size": args.batch_size, "learning_rate": args.learning_rate}
        config = args.work / "budget.json"
        config.write_text(json.dumps({"tasks": {args.task: budget}}, indent=2) + "\n")
        if args.parallel:
            procs = [run_arm(args, arm, config, threads=1) for arm in ARMS]
            codes = [p.wait() for p in procs]
        else:
            codes = [run_arm(args, arm, config, threads=os.cpu_count() or 1).wait() for arm in ARMS]
        if any(codes):
            print(f"a run failed (exit {codes}); see {args.work}/*.log", file=sys.stderr)
            return 1
    print(report(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
