"""Same seed, same machine: how far apart are two runs of ``benchmark run``? (thread nondeterminism)

Runs ``benchmark run`` twice with identical arguments into two fresh output folders and prints, per task and split,
both primary scores, their difference, and the share of examples whose predictions are identical, plus the final
training loss of each run. Nothing is averaged away: the point is to state the spread a user should expect when
rerunning the mini reproduction (``scripts/reproduce.sh mini``) with the same seed.

    python benchmarks/bench_rerun.py --model runs/reproduce-mini/models/repro-mini-minilm-l6 \\
        --tasks conll2003 --data-dir runs/reproduce-mini/data --config runs/reproduce-mini/budgets.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_once(args: argparse.Namespace, output: Path) -> float:
    command = [sys.executable, "-m", "benchmark.cli", "run", "--model", args.model, "--tasks", args.tasks,
               "--output", str(output), "--seed", str(args.seed), "--device", "cpu"]  # fmt: skip
    for flag, value in (("--data-dir", args.data_dir), ("--config", args.config)):
        if value:
            command += [flag, value]
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def _predictions(folder: Path, task: str, split: str) -> dict[str, str]:
    path = folder / f"{task}.{split}.predictions.jsonl.gz"
    out = {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            out[str(row["id"])] = json.dumps(row, sort_keys=True)
    return out


def compare(a: Path, b: Path, task: str) -> list[str]:
    ra = json.loads((a / f"{task}.json").read_text(encoding="utf-8"))
    rb = json.loads((b / f"{task}.json").read_text(encoding="utf-8"))
    lines = []
    for split in ra["metrics"]:
        sa, sb = ra["metrics"][split]["score"], rb["metrics"][split]["score"]
        pa, pb = _predictions(a, task, split), _predictions(b, task, split)
        same = sum(pa[k] == pb.get(k) for k in pa) / max(len(pa), 1)
        lines.append(
            f"{task:<10} {split:<10} {sa:8.3f} {sb:8.3f} {sb - sa:+8.3f}   identical predictions {same:7.2%}"
        )
    la, lb = (r["training"][task]["final_loss"] for r in (ra, rb))
    lines.append(f"{task:<10} final training loss {la:.6f} vs {lb:.6f} (diff {lb - la:+.2e})")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True)
    parser.add_argument("--tasks", default="conll2003")
    parser.add_argument("--data-dir")
    parser.add_argument("--config")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        outs = [Path(tmp) / "a", Path(tmp) / "b"]
        seconds = [run_once(args, out) for out in outs]
        print(f"two runs of benchmark run, seed {args.seed}: {seconds[0]:.0f} s and {seconds[1]:.0f} s")
        print(f"{'task':<10} {'split':<10} {'run 1':>8} {'run 2':>8} {'diff':>8}")
        for task in args.tasks.split(","):
            slug = next(p.name for p in outs[0].iterdir() if p.is_dir())
            for line in compare(outs[0] / slug, outs[1] / slug, task):
                print(line)


if __name__ == "__main__":
    main()
