"""GONERD annotation throughput, measured side by side in one run.

1. Baseline: the full spaCy pipeline, one ``nlp(text)`` call per article.
2. The build's pipeline: only the entity-relevant components (tok2vec, parser, ner) through ``nlp.pipe``,
   with ``n_process`` 1 and 2. Entities are checked identical to the baseline.
3. The whole ``gonerd build`` on the same articles: its overhead beyond spaCy's own time (reading, caching,
   splitting, Parquet, manifest, card).

Usage: ``python benchmarks/bench_gonerd_annotation.py [--articles N] [--source FILE.jsonl] [--model NAME]``
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

DEFAULT_SOURCE = (
    Path(__file__).resolve().parents[2] / "shared/fixtures/wikipedia/enwiki_2016_sample40_plaintext.jsonl"
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--articles", type=int, default=16, help="the longest N articles of the source")
    parser.add_argument("--model", default="en_core_web_sm")
    args = parser.parse_args()

    import spacy

    from gonerd.annotate import _load_package, annotate_articles, load_pipeline
    from gonerd.build import build
    from gonerd.source import read_source

    rows = [json.loads(line) for line in args.source.read_text(encoding="utf-8").splitlines()]
    rows.sort(key=lambda r: -len(r["text"].split()))
    rows = rows[: args.articles]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "articles.jsonl"
        src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        articles = read_source(src)
        words = sum(len(a.text.split()) for a in articles)
        print(f"{len(articles)} articles, {words:,} words, model {args.model}, {os.cpu_count()} CPU cores")

        package, full = _load_package(args.model)
        full.max_length = max(full.max_length, max(len(a.text) for a in articles) + 1)
        start = time.perf_counter()
        reference = [[(e.start_char, e.end_char, e.label_) for e in full(a.text).ents] for a in articles]
        baseline = time.perf_counter() - start
        print(f"{'per-article nlp(), full pipeline':46s} {baseline:7.1f} s   1.00x")

        nlp, info = load_pipeline(args.model)
        for n_process in (1, 2):
            start = time.perf_counter()
            out = list(annotate_articles(articles, nlp, batch_size=8, n_process=n_process))
            elapsed = time.perf_counter() - start
            check = list(annotate_articles(articles, spacy.load(package)))  # full pipeline, same conversion
            same = sum(a.ner_tags == b.ner_tags for a, b in zip(out, check, strict=True))
            label = f"nlp.pipe {'+'.join(info.components)}, n_process={n_process}"
            print(
                f"{label:46s} {elapsed:7.1f} s   {baseline / elapsed:4.2f}x  entities identical: {same}/{len(out)}"
            )
        assert reference  # the baseline ran over every article

        report = build(out_dir=Path(tmp) / "out", source=src, model=args.model, progress=False)
        print(
            f"gonerd build: total {report.total_seconds:.1f} s, spaCy {report.spacy_seconds:.1f} s, "
            f"overhead beyond spaCy {100 * report.overhead:.1f}% (includes loading the pipeline)"
        )


if __name__ == "__main__":
    main()
