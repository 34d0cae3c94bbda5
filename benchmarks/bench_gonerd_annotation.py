"""GONERD annotation throughput, measured side by side in one run.

1. Baseline: the full spaCy pipeline, one ``nlp(text)`` call per article.
2. The build's pipeline: only the entity-relevant components (tok2vec, parser, ner) through ``nlp.pipe``, with
   one process, with spaCy's own ``n_process`` (round-robin batches), and with the build's size-balanced
   processes (longest-first bins, one ``nlp.pipe`` per process). Entities are checked identical to the baseline.
3. The whole ``gonerd build`` on the same articles, at its default settings: its overhead beyond spaCy's own
   time (loading the pipeline, reading, caching, splitting, Parquet, manifest, label quality within documents,
   card), as a fraction of spaCy's time.

Goal (issue 14): >= 2.2x the baseline with two processes, entities identical, build overhead <= 10%. Two
processes need two idle cores: the script prints the machine's load average before and after, so a loaded
machine's numbers are not mistaken for the code's.

Usage: ``python benchmarks/bench_gonerd_annotation.py [--articles N] [--processes N] [--source FILE.jsonl]``
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


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--articles", type=int, default=16, help="the longest N articles of the source")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--model", default="en_core_web_sm")
    args = parser.parse_args()

    from gonerd.annotate import _load_package, annotate_articles, annotated, load_pipeline, usable_cores
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
        print(
            f"{len(articles)} articles, {words:,} words, model {args.model}, {os.cpu_count()} CPU cores "
            f"({usable_cores()} usable), {_load()}"
        )

        _, full = _load_package(args.model)
        full.max_length = max(full.max_length, max(len(a.text) for a in articles) + 1)
        start = time.perf_counter()
        reference = [annotated(a, full(a.text)) for a in articles]  # one nlp() call per article
        baseline = time.perf_counter() - start
        print(
            f"{'per-article nlp(), full pipeline':52s} {baseline:7.1f} s   1.00x  {words / baseline:,.0f} words/s"
        )

        nlp, info = load_pipeline(args.model)
        comps = "+".join(info.components)

        def report(label: str, elapsed: float, out: list) -> None:
            same = sum(
                a.ner_tags == b.ner_tags and a.tokens == b.tokens for a, b in zip(out, reference, strict=True)
            )
            print(
                f"{label:52s} {elapsed:7.1f} s   {baseline / elapsed:4.2f}x  entities identical: "
                f"{same}/{len(out)}, order kept: {[a.id for a in out] == [a.id for a in articles]}"
            )

        start = time.perf_counter()
        out = list(annotate_articles(articles, nlp, batch_size=8, n_process=1))
        report(f"nlp.pipe {comps}, 1 process", time.perf_counter() - start, out)

        start = time.perf_counter()
        docs = nlp.pipe((a.text for a in articles), batch_size=8, n_process=args.processes)
        out = [annotated(a, d) for a, d in zip(articles, docs, strict=True)]
        report(f"spaCy n_process={args.processes} (round-robin batches)", time.perf_counter() - start, out)

        for batch_size in (1, 8):  # 1 is the build's default
            start = time.perf_counter()
            out = list(annotate_articles(articles, nlp, batch_size=batch_size, n_process=args.processes))
            report(
                f"size-balanced, {args.processes} processes, batch {batch_size}",
                time.perf_counter() - start,
                out,
            )

        start = time.perf_counter()
        import datasets  # noqa: F401  (first imported by the build's Parquet writer: a one-time cost per process)
        import pyarrow.parquet  # noqa: F401

        imports = time.perf_counter() - start
        start = time.perf_counter()
        load_pipeline(args.model)
        loading = time.perf_counter() - start
        report_ = build(out_dir=Path(tmp) / "out", source=src, model=args.model, progress=False)
        fixed = (loading + imports) / report_.spacy_seconds
        print(
            f"gonerd build (defaults): total {report_.total_seconds:.1f} s, spaCy {report_.spacy_seconds:.1f} s, "
            f"overhead beyond spaCy {100 * report_.overhead + 100 * imports / report_.spacy_seconds:.1f}% "
            f"as a fresh process pays it, {100 * (report_.overhead - loading / report_.spacy_seconds):.1f}% "
            f"without the one-time costs (loading the pipeline {loading:.1f} s, importing datasets/pyarrow "
            f"{imports:.1f} s: {100 * fixed:.1f}% of this small build's spaCy time)"
        )
        print(_load())


if __name__ == "__main__":
    main()
