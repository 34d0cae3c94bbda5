"""``gonerd`` command line: select -> build -> card -> validate -> publish. Each command is a thin wrapper
around the library function of the same name; user errors print one line and exit 2."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .annotate import DEFAULT_MODEL
from .errors import GonerdError
from .help_format import HelpFormatter
from .interrupt import run_command
from .versions import DATASET_VERSION


def _dataset_dir(value: str | None) -> Path:
    from .build import default_out_dir

    return Path(value) if value else default_out_dir()


def _processes(value: str):
    if value == "auto":
        return value
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected auto or a whole number >= 1, got {value!r}")
    return n


def cmd_select(args) -> int:
    from .selection import check_selection_out, select_articles, write_selection
    from .wiki import WikiClient, user_agent_for

    check_selection_out(args.out)  # before minutes of crawling, not after
    client = WikiClient(
        **({"api_url": args.api_url} if args.api_url else {}), user_agent=user_agent_for(args.contact)
    )
    selected = select_articles(
        client,
        size=args.size,
        seed=args.seed,
        min_words=args.min_words,
        categories=args.categories,
        progress=not args.no_progress,
    )
    write_selection(args.out, selected)
    print(f"selected {len(selected)} articles -> {args.out}")
    return 0


def cmd_build(args) -> int:
    from .build import build

    client = None
    if args.selection:
        from .wiki import DEFAULT_API_URL, WikiClient, user_agent_for

        client = WikiClient(api_url=args.api_url or DEFAULT_API_URL, user_agent=user_agent_for(args.contact))
    report = build(
        out_dir=_dataset_dir(args.out),
        source=args.source,
        selection=args.selection,
        model=args.model,
        version=args.dataset_version,
        batch_size=args.batch_size,
        n_process=None if args.n_process == "auto" else args.n_process,
        cache_dir=args.cache_dir,
        client=client,
        concurrency=args.concurrency,
        progress=not args.no_progress,
        force=args.force,
        quality=_quality_options(args),
        gpu=args.gpu,
    )
    print(
        f"built GONERD {args.dataset_version} in {report.out_dir}: {report.articles} articles "
        f"({report.annotated_now} annotated now, {report.from_cache} from cache), {len(report.files)} files"
    )
    if report.failed:
        print(
            f"{len(report.failed)} article(s) could not be fetched (listed in manifest.json):",
            file=sys.stderr,
        )
        for f in report.failed:
            print(f"  {f['title']} ({f['page_id']}): {f['error']}", file=sys.stderr)
    return 0


def _quality_options(args) -> dict | None:
    """``gonerd build``'s label-quality inputs, when any is given."""
    if args.gold_conll is None and args.second_model is None:
        return None
    return {
        "gold_conll": args.gold_conll,
        "second_model": args.second_model,
        "sample": args.quality_sample,
        "seed": args.quality_seed,
    }


def cmd_quality(args) -> int:
    from .quality import measure_quality

    root = _dataset_dir(args.dir)
    q = measure_quality(
        root,
        gold_conll=args.gold_conll,
        second_model=args.second_model,
        sample=args.quality_sample,
        seed=args.quality_seed,
    )
    if "gold" in q:
        g = q["gold"]
        print(
            f"against gold {g['file']}: F1 {g['f1']:.2f} (conll types), span found {g['span_found_any_type']:.2f}%"
        )
    if "between_models" in q:
        b = q["between_models"]
        print(f"against {b['model']['name']} on {b['articles']} articles: F1 {b['f1']:.2f}")
    w = q["within_documents"]
    print(f"within documents: {w['share']:.2f}% of entity strings get more than one type")
    print(f"wrote the quality section of {root / 'manifest.json'} and {root / 'README.md'}")
    return 0


def _add_quality_options(parser, *, build: bool) -> None:
    what = " (measured after the build)" if build else ""
    parser.add_argument(
        "--gold-conll",
        help=f"CoNLL-2003 file (e.g. eng.testb) to score the annotating pipeline against human gold{what}",
    )
    parser.add_argument(
        "--second-model",
        help=f"a second spaCy pipeline to compare the labels with (e.g. en_core_web_lg){what}",
    )
    parser.add_argument(
        "--quality-sample",
        type=int,
        default=100,
        help="articles the second model annotates, a seeded sample" + ("" if build else " (100)"),
    )
    parser.add_argument(
        "--quality-seed", type=int, default=0, help="seed of that sample" + ("" if build else " (0)")
    )


def cmd_card(args) -> int:
    from .validate import write_card

    path = write_card(_dataset_dir(args.dir))
    print(f"wrote {path}")
    return 0


def cmd_validate(args) -> int:
    from .validate import validate

    report = validate(_dataset_dir(args.dir))
    if report.ok:
        print(f"{report.dataset_dir}: OK ({report.checked_files} data files match manifest, schema and card)")
        return 0
    for problem in report.problems:
        print(f"gonerd: invalid: {problem}", file=sys.stderr)
    return 1


def cmd_publish(args) -> int:
    from .publish import format_publish_plan, publish

    result = publish(
        _dataset_dir(args.dir),
        args.repo_id,
        revision_tag=args.revision_tag,
        private=args.private,
        dry_run=args.dry_run,
    )
    if args.dry_run:
        print(format_publish_plan(result))
    else:
        print(
            f"published {len(result.files)} files to {result.url} (commit {result.commit_oid}, tag {result.tag})"
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gonerd",
        description="Build, validate and publish GONERD, a long-context NER dataset of whole Wikipedia articles.",
    )
    p.add_argument("--version", action="version", version=f"gonerd {__version__} (dataset {DATASET_VERSION})")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    fmt = HelpFormatter

    s = sub.add_parser(
        "select", help="choose articles from seed categories into a selection file", formatter_class=fmt
    )
    s.add_argument("--out", required=True, help="selection file to write (JSON Lines)")
    s.add_argument("--size", type=int, default=2232, help="number of articles (2,232 = the original release)")
    s.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same selection")
    s.add_argument("--min-words", type=int, default=1500, help="minimum words of plain text per article")
    s.add_argument("--categories", help="JSON file of seed categories (default: gonerd/seed_categories.json)")
    s.add_argument("--api-url", help="MediaWiki api.php URL (default: English Wikipedia)")
    s.add_argument(
        "--contact",
        help="your e-mail or URL, sent in the User-Agent as Wikimedia asks (default: $GONERD_CONTACT)",
    )
    s.add_argument("--no-progress", action="store_true", help="no progress bars")
    s.set_defaults(func=cmd_select)

    b = sub.add_parser("build", help="fetch, annotate, split and write the Parquet data", formatter_class=fmt)
    src = b.add_mutually_exclusive_group(required=True)
    src.add_argument("--selection", help="selection file from `gonerd select`: fetch these articles live")
    src.add_argument("--source", help="local JSON Lines articles (title, page_id, revision_id, text)")
    b.add_argument(
        "--out",
        help='dataset folder (default: the gonerd/ package folder itself, which `load_dataset("gonerd")` reads '
        "from the repository root; a different version already there is not overwritten without --force)",
    )
    b.add_argument(
        "--force", action="store_true", help="replace another version of the dataset in the folder"
    )
    b.add_argument(
        "--gpu",
        action="store_true",
        help="annotate on the GPU (needs cupy; recorded in the manifest; 1 process)",
    )
    b.add_argument("--model", default=DEFAULT_MODEL, help="spaCy pipeline that annotates")
    b.add_argument("--dataset-version", default=DATASET_VERSION, help="semantic version of this build")
    b.add_argument(
        "--batch-size",
        type=int,
        default=1,
        help="articles per nlp.pipe batch (1: a whole article fills a batch; faster than 8 in "
        "benchmarks/bench_gonerd_annotation.py, and exactly nlp(text) per article)",
    )
    b.add_argument(
        "--n-process",
        type=_processes,
        default="auto",
        help="annotation processes over size-balanced shares of the articles (auto: one per usable CPU core, "
        "1 on GPU; the same entities for any value)",
    )
    b.add_argument("--cache-dir", help="fetch/annotation cache (default: OUT/.cache); reruns resume from it")
    b.add_argument("--concurrency", type=int, default=4, help="parallel fetches")
    b.add_argument("--api-url", help="MediaWiki api.php URL (default: English Wikipedia)")
    b.add_argument(
        "--contact",
        help="your e-mail or URL, sent in the User-Agent as Wikimedia asks (default: $GONERD_CONTACT)",
    )
    b.add_argument("--no-progress", action="store_true", help="no progress bars")
    _add_quality_options(b, build=True)
    b.set_defaults(func=cmd_build)

    q = sub.add_parser(
        "quality",
        help="measure label quality (gold, second model, within documents) into manifest and card",
    )
    q.add_argument("dir", nargs="?", help="dataset folder (default: the gonerd/ package folder)")
    _add_quality_options(q, build=False)
    q.set_defaults(func=cmd_quality)

    c = sub.add_parser("card", help="regenerate the dataset card README.md from the data")
    c.add_argument("dir", nargs="?", help="dataset folder (default: the gonerd/ package folder)")
    c.set_defaults(func=cmd_card)

    v = sub.add_parser("validate", help="check data files against manifest, schema and card")
    v.add_argument("dir", nargs="?", help="dataset folder (default: the gonerd/ package folder)")
    v.set_defaults(func=cmd_validate)

    u = sub.add_parser("publish", help="upload card and data to the Hugging Face Hub and tag the version")
    u.add_argument("dir", nargs="?", help="dataset folder (default: the gonerd/ package folder)")
    u.add_argument("--repo-id", required=True, help="Hub dataset repository, ORG/NAME")
    u.add_argument("--revision-tag", help="version tag vX.Y.Z (default: v + manifest version)")
    u.add_argument("--private", action="store_true", help="create the repository as private")
    u.add_argument("--dry-run", action="store_true", help="list what would be uploaded; no network, no token")
    u.set_defaults(func=cmd_publish)
    return p


INTERRUPTED = "gonerd: interrupted; finished articles are cached and a rerun resumes"


def main(argv: list[str] | None = None) -> int:
    def command() -> int:
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)

    return run_command(command, prog="gonerd", errors=GonerdError, interrupted=INTERRUPTED)


if __name__ == "__main__":
    sys.exit(main())
