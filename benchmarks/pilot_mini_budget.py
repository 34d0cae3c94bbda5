"""The budget pilot of the mini reproduction: CoNLL-2003 validation F1 against training epochs, validation only.

The mini reproduction (``scripts/reproduce.sh mini``) fine-tunes every arm with one budget; this script is what
chose it. It fine-tunes the 6-layer teacher (all-MiniLM-L6-v2) and the 3-layer undistilled student (its first
layers, ``baselines student``) on the shared 2,000-sentence training sample for each number of epochs, at the
reproduction's learning rate and batch size, and scores the full shared dev set (eng.testa) only: the task is
``benchmarks/pilot/conll2003_dev.yaml``, CoNLL-2003 without its test split, so no test sentence is read.

    python benchmarks/pilot_mini_budget.py                       # epochs 3,6,10; seed 0
    python benchmarks/pilot_mini_budget.py --epochs 3,6,10 --student-epochs 6,10   # what chose the budget

It prints one line per (model, epochs) and writes ``OUT/pilot.json``; rerun, it reuses finished runs
(``benchmark run`` resumes). The BigBird teacher of the reproduction is this teacher converted: on CoNLL sentences
(under 11 blocks of 64 tokens) BigBird computes full attention, so its numbers are the same model's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from baselines.reproduce import MINI_CONLL, _link, _minilm_path  # noqa: E402
from benchmark.results.files import model_slug  # noqa: E402

LEARNING_RATE, BATCH_SIZE = 5e-5, 16


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", default="3,6,10", help="comma-separated epochs to try (default: 3,6,10)")
    ap.add_argument(
        "--student-epochs", default=None, help="epochs for the 3-layer student (default: --epochs)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="runs/pilot-mini", help="work folder (default: runs/pilot-mini)")
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "fixtures"), help="the shared samples")
    args = ap.parse_args()
    out = Path(args.out).resolve()
    shared = Path(args.shared)
    data = out / "data"
    for name, sample in MINI_CONLL.items():
        if name != "eng.testb":  # the test file is never linked: nothing here can read it
            _link(data / "conll2003_dev" / name, (shared / "conll2003" / sample).resolve())
    teacher = _minilm_path()
    student = out / "models" / "pilot-minilm-l3"
    if not (student / "config.json").is_file():
        subprocess.run(
            [sys.executable, "-m", "baselines.cli", "student", "--teacher", str(teacher), "--student-layers", "3",
             "--out", str(student), "--seed", "0"],
            check=True,
        )  # fmt: skip
    rows = []
    grid = (
        ("minilm-l6", teacher, args.epochs),
        ("minilm-l3-control", student, args.student_epochs or args.epochs),
    )
    for label, model, epochs_list in grid:
        for epochs in (int(e) for e in epochs_list.split(",")):
            name = f"pilot:{label}-e{epochs}"
            subprocess.run(
                [sys.executable, "-m", "benchmark.cli", "run", "--model", str(model), "--model-name", name,
                 "--include-path", str(ROOT / "benchmarks" / "pilot"), "--tasks", "conll2003_dev",
                 "--data-dir", str(data), "--epochs", str(epochs), "--learning-rate", str(LEARNING_RATE),
                 "--batch-size", str(BATCH_SIZE), "--seed", str(args.seed), "--device", "cpu",
                 "--output", str(out / "runs")],
                check=True,
            )  # fmt: skip
            slug = model_slug(name)
            result = json.loads((out / "runs" / slug / "conll2003_dev.json").read_text())
            f1 = result["metrics"]["validation"]["metrics"]["f1"]
            seconds = result["training"]["conll2003_dev"]["seconds"]
            rows.append({"model": label, "epochs": epochs, "validation_f1": f1, "train_seconds": seconds})
            print(
                f"{label:18s} epochs {epochs:3d}  validation F1 {f1:6.2f}  training {seconds:6.0f} s",
                flush=True,
            )
    (out / "pilot.json").write_text(json.dumps({"lr": LEARNING_RATE, "batch_size": BATCH_SIZE,
                                                "seed": args.seed, "rows": rows}, indent=2) + "\n")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
