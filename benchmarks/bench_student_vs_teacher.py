"""Inference cost of a distilled student (6 layers) against its teacher (12 layers) at 4096 tokens.

Base-size configs (hidden 768, 12 heads, intermediate 3072) with the attention settings of the real checkpoints:
Longformer window 512 (allenai/longformer-base-4096), BigBird blocks of 64 with 3 random blocks
(google/bigbird-roberta-base), Nyströmformer 64 landmarks with ``segment_means_seq_len`` 64
(uw-madison/nystromformer-4096 and giant-oak/distil-nystromformer-4096). With ``num_landmarks ==
segment_means_seq_len`` transformers computes *full* softmax attention, so the real Nyströmformer checkpoints run
full attention there; ``nystromformer-landmarks`` (``segment_means_seq_len`` = the input length) measures the
Nyström approximation the architecture is named for. Random weights: cost does not depend on the weight values.

Each model is measured in its own subprocess with :func:`benchmark.timing.measure_inference`, the protocol of
``benchmark run`` / ``benchmark speed``: warm-up, then timed forwards; CUDA events and allocator peaks on a GPU,
wall clock and peak RSS growth on CPU. Every figure is labelled with its device.

    python benchmarks/bench_student_vs_teacher.py [--seq-len 4096] [--iterations 3] [--threads 2] [--device auto]

Prints: arch, attention path actually computed, teacher and student median ms per forward (batch 1), time ratio
(student / teacher), ratio of the forward's peak memory (activations: on CPU they are freed layer by layer, so
this does not shrink with depth), parameter ratio (the weights' memory), device.
"""

from __future__ import annotations

import argparse
import json
import subprocess
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


def measure_one(arch: str, layers: int, seq_len: int, iterations: int, threads: int, device: str) -> dict:
    """Build one model and measure it with the harness's timing protocol; a JSON-ready summary."""
    import torch
    from transformers import AutoModel

    from benchmark.modeling import attention_path
    from benchmark.timing import TimingConfig, measure_inference, prepare_model_inputs, resolve_device

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    dev = resolve_device(device)
    model = AutoModel.from_config(_config(arch, layers, seq_len)).eval().to(dev)
    ids = torch.randint(5, 20000, (1, seq_len))
    batch = prepare_model_inputs(model, {"input_ids": ids, "attention_mask": torch.ones_like(ids)})
    path = attention_path(model, int(batch["input_ids"].shape[1]))
    report = measure_inference(
        lambda b: model(**b), [batch], device=dev, config=TimingConfig(warmup=1, min_iterations=iterations)
    ).to_dict()
    return {
        "arch": arch,
        "layers": layers,
        "attention": path,
        "params": sum(p.numel() for p in model.parameters()),
        "ms": report["latency_ms_per_batch_median"],
        "peak_mb": report["peak_memory_mb"],
        "memory_kind": report["memory_kind"],
        "device": report["device"],
        "device_name": report["device_name"],
        "iterations": report["iterations"],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seq-len", type=int, default=4096)
    p.add_argument("--iterations", type=int, default=3, help="timed forwards after one warm-up (median)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    p.add_argument("--archs", nargs="+", default=list(ARCHS), choices=ARCHS)
    p.add_argument("--one", nargs=2, metavar=("ARCH", "LAYERS"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        one = measure_one(
            args.one[0], int(args.one[1]), args.seq_len, args.iterations, args.threads, args.device
        )
        print(json.dumps(one))
        return 0
    rows = []
    for arch in args.archs:
        res = {}
        for layers in (12, 6):
            cmd = [sys.executable, __file__, "--one", arch, str(layers), "--seq-len", str(args.seq_len),
                   "--iterations", str(args.iterations), "--threads", str(args.threads), "--device", args.device]  # fmt: skip
            done = subprocess.run(cmd, capture_output=True, text=True, check=True)
            res[layers] = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"  {arch} {layers} layers: {res[layers]['ms']:.0f} ms", file=sys.stderr, flush=True)
        rows.append((arch, res[12], res[6]))
    first = rows[0][1]
    print(
        f"batch 1 x {args.seq_len} tokens, median of {first['iterations']} timed forwards, {args.threads} threads, "
        f"device {first['device']} ({first['device_name']}), memory: {first['memory_kind']}"
    )
    print(
        f"{'arch':<25}{'attention':<23}{'teacher ms':>11}{'student ms':>11}{'time ratio':>11}"
        f"{'mem ratio':>10}{'param ratio':>12}  device"
    )
    for arch, t, s in rows:
        mem = s["peak_mb"] / t["peak_mb"] if t["peak_mb"] > 0 else float("nan")
        print(
            f"{arch:<25}{t['attention']:<23}{t['ms']:>11.0f}{s['ms']:>11.0f}{s['ms'] / t['ms']:>11.2f}"
            f"{mem:>10.2f}{s['params'] / t['params']:>12.2f}  {t['device']}"
        )
    print(json.dumps({a: {"teacher": t, "student": s} for a, t, s in rows}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
