"""Model positions per real token of length-grouped training batches, by mega-batch size.

``benchmark/encode/batching.py`` sorts mega-batches of ``MEGABATCH_FACTOR x batch_size`` training windows by length: the
larger the mega-batch, the less padding, and the less random each batch (docs/speed-and-statistics.md, "Speed": mega-batches of 50
cost F1). This prints the padding each factor gives on the shared CoNLL-2003 training sample (MiniLM's
tokenizer, batch 32, the mean over seeds and epochs), beside random batches, so the smallest factor that meets
the padding goal (<= 1.15) can be read off. No model runs; it takes seconds.

    python benchmarks/bench_megabatch_padding.py [--factors 4,8,12,16,24,50] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--factors", default="4,8,12,16,24,50", help="comma-separated mega-batch factors")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seeds", default="42,43,44")
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()

    from bench_finetune import FIXTURES, conll_blocks, minilm
    from transformers import AutoTokenizer

    import benchmark.encode.batching as batching

    source = FIXTURES / "conll2003" / "train_first2000.txt"
    if not source.is_file():
        sys.exit(f"{source}: missing (needs ../shared/fixtures)")
    tokenizer = AutoTokenizer.from_pretrained(minilm())
    words = [[line.split()[0] for line in b.splitlines() if line.strip()] for b in conll_blocks(source, None)]
    lengths = [len(ids) for ids in tokenizer(words, is_split_into_words=True)["input_ids"]]
    real = sum(lengths)
    runs = [(int(s), e) for s in args.seeds.split(",") for e in range(args.epochs)]

    def ratio(make) -> float:
        return sum(batching.padded_positions(lengths, make(s, e)) for s, e in runs) / (real * len(runs))

    print(f"CoNLL-2003 sample: {len(lengths)} sentences, {real} tokens (MiniLM), batch {args.batch_size}, "
          f"seeds {args.seeds} x {args.epochs} epochs; model positions per real token:")  # fmt: skip
    print(f"  random batches        {ratio(lambda s, e: batching.random_batches(lengths, args.batch_size, seed=s, epoch=e)):.3f}")  # fmt: skip
    default = batching.MEGABATCH_FACTOR
    try:
        for factor in (int(f) for f in args.factors.split(",")):
            batching.MEGABATCH_FACTOR = factor
            value = ratio(
                lambda s, e: batching.length_grouped_batches(lengths, args.batch_size, seed=s, epoch=e)
            )
            mark = "  (default)" if factor == default else ""
            print(f"  grouped, {factor:3d} batches  {value:.3f}{mark}")
    finally:
        batching.MEGABATCH_FACTOR = default
    print("  goal: <= 1.15")


if __name__ == "__main__":
    main()
