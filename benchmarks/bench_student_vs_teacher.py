"""Inference cost of a distilled student (6 layers) against its teacher (12 layers) at 4096 tokens, timed paired.

Base-size configs (hidden 768, 12 heads, intermediate 3072) with the attention settings of the real checkpoints:
Longformer window 512 (allenai/longformer-base-4096), BigBird blocks of 64 with 3 random blocks
(google/bigbird-roberta-base), Nyströmformer 64 landmarks with ``segment_means_seq_len`` 64
(uw-madison/nystromformer-4096 and giant-oak/distil-nystromformer-4096). With ``num_landmarks ==
segment_means_seq_len`` transformers computes *full* softmax attention, so the real Nyströmformer checkpoints run
full attention there; ``nystromformer-landmarks`` (``segment_means_seq_len`` = the input length) measures the
Nyström approximation the architecture is named for. Random weights: cost does not depend on the weight values.

Teacher and student of an architecture are built in this one process and timed with the protocol of ``benchmark
speed --model A B`` (:func:`benchmark.timing.paired.time_paired`): each warmed up, then interleaved rounds (teacher,
student; student, teacher; ...), at least 20 each, the same threads and dtype; the ratio is student / teacher of
the median forward times, with a seeded paired bootstrap interval. Sequential timings (one model after the other)
swing by 0.1 in this ratio on a shared machine; this does not. The 1-minute load average before and after is
printed, with a warning when it exceeds the cores. Peak memory is measured after the timing, one untimed forward
each (:func:`benchmark.timing.protocol.memory_pass`). Every figure is labelled with its device.

    python benchmarks/bench_student_vs_teacher.py [--seq-len 4096] [--repetitions 20] [--threads 2] [--device auto]

Prints: arch, attention path actually computed, teacher and student median ms per forward (batch 1) with their
interquartile ranges, time ratio (student / teacher) and its 95% interval, ratio of the forward's peak memory
(activations: on CPU they are freed layer by layer, so this does not shrink with depth), parameter ratio (the
weights' memory), device, load.
"""

from __future__ import annotations

import argparse
import json
import sys

ARCHS = ("longformer", "bigbird", "nystromformer", "nystromformer-landmarks")


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
        segment_means_seq_len=seq_len if arch == "nystromformer-landmarks" else 64,
        conv_kernel_size=65,
        max_position_embeddings=seq_len,
    )


def measure_pair(arch: str, seq_len: int, repetitions: int, device: str, seed: int = 0) -> dict:
    """Build the 12-layer teacher and the 6-layer student of ``arch`` and time them paired; a JSON-ready summary."""
    import torch
    from transformers import AutoModel

    from benchmark.core.architectures import attention_path
    from benchmark.core.record import TimingConfig
    from benchmark.timing.hardware import device_name, resolve_device
    from benchmark.timing.paired import time_paired
    from benchmark.timing.protocol import memory_pass, prepare_model_inputs, to_device

    torch.manual_seed(0)
    dev = resolve_device(device)
    models = [AutoModel.from_config(_config(arch, layers, seq_len)).eval().to(dev) for layers in (12, 6)]
    ids = torch.randint(5, 20000, (1, seq_len))
    raw = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    batches = [[to_device(prepare_model_inputs(m, raw), dev)] for m in models]
    forwards = [lambda b, m=m: m(**b) for m in models]
    timing = time_paired(forwards, batches, device=dev, repetitions=repetitions, warmup=1, seed=seed)
    memory = [memory_pass(f, b, dev, TimingConfig()) for f, b in zip(forwards, batches, strict=True)]
    out = {"arch": arch, "device": str(dev), "device_name": device_name(dev), "load": timing.load.to_dict()}
    for role, model, stats, mem, batch in zip(
        ("teacher", "student"), models, timing.stats, memory, batches, strict=True
    ):
        out[role] = {
            "attention": attention_path(model, int(batch[0]["input_ids"].shape[1])),
            "params": sum(p.numel() for p in model.parameters()),
            "ms": stats.median_ms,
            "q25_ms": stats.q25_ms,
            "q75_ms": stats.q75_ms,
            "repetitions": stats.repetitions,
            "peak_mb": mem[0],
            "memory_kind": mem[2],
        }
    student = timing.stats[1]
    out["ratio"] = {"time": student.ratio, "low": student.ratio_low, "high": student.ratio_high}
    return out


def main(argv: list[str] | None = None) -> int:
    import torch

    from benchmark.timing.paired import MIN_REPETITIONS

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seq-len", type=int, default=4096)
    p.add_argument(
        "--repetitions",
        type=int,
        default=MIN_REPETITIONS,
        help="interleaved rounds (at least and default 20)",
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap interval (default: 0)")
    p.add_argument("--archs", nargs="+", default=list(ARCHS), choices=ARCHS)
    args = p.parse_args(argv)
    if args.repetitions < MIN_REPETITIONS:
        p.error(f"--repetitions must be at least {MIN_REPETITIONS}")
    torch.set_num_threads(args.threads)
    rows = []
    for arch in args.archs:
        row = measure_pair(arch, args.seq_len, args.repetitions, args.device, args.seed)
        print(f"  {arch}: ratio {row['ratio']['time']:.2f}", file=sys.stderr, flush=True)
        rows.append(row)
    first = rows[0]
    loads = [r["load"] for r in rows]
    shown = " -> ".join(f"{x[0]:.2f}" for x in (loads[0]["before"], loads[-1]["after"]) if x) or "unknown"
    print(
        f"batch 1 x {args.seq_len} tokens, teacher and student interleaved, {args.repetitions} repetitions each, "
        f"{args.threads} threads, device {first['device']} ({first['device_name']}), 1-minute load {shown} on "
        f"{loads[0]['cores']} cores, memory: {first['teacher']['memory_kind']}"
    )
    print(
        f"{'arch':<25}{'attention':<23}{'teacher ms (IQR)':>22}{'student ms (IQR)':>22}{'time ratio [95%]':>20}"
        f"{'mem ratio':>10}{'param ratio':>12}  device"
    )
    for r in rows:
        t, s, q = r["teacher"], r["student"], r["ratio"]
        mem = s["peak_mb"] / t["peak_mb"] if t["peak_mb"] > 0 else float("nan")
        cells = [f"{m['ms']:.0f} ({m['q25_ms']:.0f}-{m['q75_ms']:.0f})" for m in (t, s)]
        print(
            f"{r['arch']:<25}{t['attention']:<23}{cells[0]:>22}{cells[1]:>22}"
            f"{q['time']:>7.2f} [{q['low']:.2f}, {q['high']:.2f}]{mem:>10.2f}{s['params'] / t['params']:>12.2f}"
            f"  {r['device']}"
        )
    for warning in sorted({w for load in loads if (w := load["warning"])}):
        print(warning)
    print(json.dumps(rows), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
