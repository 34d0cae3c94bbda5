"""``gonerd`` command line: select -> build -> card -> validate -> publish. Each command is a thin wrapper
around the library function of the same name; user errors print one line and exit 2."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .annotate import DEFAULT_MODEL
from .errors import GonerdError
from .versions import DATASET_VERSION


def _dataset_dir(value: str | None) -> Path:
    from .build import default_out_dir

    return Path(value) if value else default_out_dir()


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
        n_process=args.n_process,
        cache_dir=args.cache_dir,
        client=client,
        concurrency=args.concurrency,
        progress=not args.no_progress,
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


def cmd_card(args) -> int:
    from .card import write_card

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


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends "(default: X)" only where it says something: not where the help already states its default
    (that printed "(default: X) (default: None)"), nor for a None default, a required option or an on/off flag."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (
            "(default" in text
            or action.required
            or action.default is None
            or isinstance(action.default, bool)
        ):
            return text
        return super()._get_help_string(action)


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
    b.add_argument("--out", help="dataset folder (default: the gonerd/ package folder)")
    b.add_argument("--model", default=DEFAULT_MODEL, help="spaCy pipeline that annotates")
    b.add_argument("--dataset-version", default=DATASET_VERSION, help="semantic version of this build")
    b.add_argument("--batch-size", type=int, default=8, help="articles per nlp.pipe batch")
    b.add_argument(
        "--n-process", type=int, default=1, help="spaCy worker processes (same output for any value)"
    )
    b.add_argument("--cache-dir", help="fetch/annotation cache (default: OUT/.cache); reruns resume from it")
    b.add_argument("--concurrency", type=int, default=4, help="parallel fetches")
    b.add_argument("--api-url", help="MediaWiki api.php URL (default: English Wikipedia)")
    b.add_argument(
        "--contact",
        help="your e-mail or URL, sent in the User-Agent as Wikimedia asks (default: $GONERD_CONTACT)",
    )
    b.add_argument("--no-progress", action="store_true", help="no progress bars")
    b.set_defaults(func=cmd_build)

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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except GonerdError as exc:
        print(f"gonerd: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gonerd: interrupted; finished articles are cached and a rerun resumes", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
