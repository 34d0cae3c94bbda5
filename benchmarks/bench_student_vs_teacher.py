"""Inference cost of a distilled student (6 layers) against its teacher (12 layers) at 4096 tokens, on CPU.

Base-size configs (hidden 768, 12 heads, intermediate 3072; the attention settings of the real checkpoints:
Longformer window 512, BigBird blocks of 64 with 3 random blocks, Nyströmformer 64 landmarks), random weights --
speed and memory do not depend on the weight values. Each model is measured in its own subprocess so that peak RSS
is its own: one warm-up forward, then ``--repeats`` timed forwards under ``torch.no_grad()``, batch 1.

    python benchmarks/bench_student_vs_teacher.py [--seq-len 4096] [--repeats 2] [--threads 2]

Prints a table: arch, teacher ms, student ms, time ratio (student / teacher), memory ratio (peak RSS growth of the
forward passes, student / teacher), device. Timings are medians; on a shared machine they are noisy.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

ARCHS = ("longformer", "bigbird", "nystromformer")


def _config(arch: str, layers: int, seq_len: int):
    from transformers import BigBirdConfig, LongformerConfig, NystromformerConfig

    common = dict(hidden_size=768, num_attention_heads=12, intermediate_size=3072, num_hidden_layers=layers)
    if arch == "longformer":
        return LongformerConfig(
            **common,
            vocab_size=50265,
            attention_window=512,
            max_position_embeddings=seq_len + 2,
            pad_token_id=1,
        )
    if arch == "bigbird":
        return BigBirdConfig(
            **common,
            vocab_size=50358,
            attention_type="block_sparse",
            block_size=64,
            num_random_blocks=3,
            max_position_embeddings=seq_len,
        )
    return NystromformerConfig(
        **common,
        vocab_size=30000,
        num_landmarks=64,
        segment_means_seq_len=64,
        conv_kernel_size=65,
        max_position_embeddings=seq_len,
    )


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def measure_one(arch: str, layers: int, seq_len: int, repeats: int, threads: int) -> dict:
    """Build one model, time its forwards; returns ms per forward and the peak RSS growth of the forwards."""
    import torch
    from transformers import AutoModel

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = AutoModel.from_config(_config(arch, layers, seq_len)).eval()
    ids = torch.randint(5, 20000, (1, seq_len))
    mask = torch.ones_like(ids)
    before = _rss_mb()
    times = []
    with torch.no_grad():
        model(input_ids=ids, attention_mask=mask)  # warm-up
        for _ in range(repeats):
            start = time.perf_counter()
            model(input_ids=ids, attention_mask=mask)
            times.append((time.perf_counter() - start) * 1000)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    return {
        "arch": arch,
        "layers": layers,
        "ms": statistics.median(times),
        "all_ms": times,
        "peak_growth_mb": max(peak - before, 0.0),
        "params": sum(p.numel() for p in model.parameters()),
        "attention": getattr(model, "attention_type", None),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seq-len", type=int, default=4096)
    p.add_argument("--repeats", type=int, default=2, help="timed forwards after one warm-up")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--archs", nargs="+", default=list(ARCHS), choices=ARCHS)
    p.add_argument("--one", nargs=2, metavar=("ARCH", "LAYERS"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        print(
            json.dumps(measure_one(args.one[0], int(args.one[1]), args.seq_len, args.repeats, args.threads))
        )
        return 0
    rows = []
    for arch in args.archs:
        res = {}
        for layers in (12, 6):
            cmd = [sys.executable, __file__, "--one", arch, str(layers), "--seq-len", str(args.seq_len),
                   "--repeats", str(args.repeats), "--threads", str(args.threads)]  # fmt: skip
            done = subprocess.run(cmd, capture_output=True, text=True, check=True)
            res[layers] = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"  {arch} {layers} layers: {res[layers]['ms']:.0f} ms", file=sys.stderr, flush=True)
        rows.append((arch, res[12], res[6]))
    print(
        f"batch 1 x {args.seq_len} tokens, {args.repeats} timed forwards (median), {args.threads} threads, cpu"
    )
    print(f"{'arch':<14}{'teacher ms':>12}{'student ms':>12}{'time ratio':>12}{'mem ratio':>11}  device")
    for arch, t, s in rows:
        mem = s["peak_growth_mb"] / t["peak_growth_mb"] if t["peak_growth_mb"] > 0 else float("nan")
        print(f"{arch:<14}{t['ms']:>12.0f}{s['ms']:>12.0f}{s['ms'] / t['ms']:>12.2f}{mem:>11.2f}  cpu")
    print(json.dumps({a: {"teacher": t, "student": s} for a, t, s in rows}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
