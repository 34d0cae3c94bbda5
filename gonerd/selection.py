"""Choose the GONERD articles: a deterministic, topic-balanced sample of long English Wikipedia articles.

How selection works (:func:`select_articles`):

1. **Seed categories.** ``seed_categories.json`` (packaged beside this module) lists real English Wikipedia
   categories in topic groups (people, places, organisations, events, works, science) and a ``max_depth``.
2. **Crawl.** For each group, each seed category is walked breadth-first through its subcategories down to
   ``max_depth`` levels (``0``: the seed category only). Every main-namespace member becomes a candidate of
   that group, labelled with the seed category it was first reached from (seeds in file order, then BFS order).
3. **Cheap exclusions.** Titles starting with ``List of``/``Lists of`` or ending in ``(disambiguation)`` are
   dropped; then page info is fetched 50 titles per request and redirects, missing pages, disambiguation pages
   (``pageprops.disambiguation``) and pages whose wikitext is shorter than ``min_words * MIN_BYTES_PER_WORD``
   bytes (too short to hold ``min_words`` words; only a pre-filter) are dropped.
4. **Seeded order.** Each group's candidates are sorted by page id, then shuffled with a
   ``random.Random`` seeded from ``(seed, group)``, so a group's order does not change when other groups do.
5. **Balanced round-robin.** Groups take turns (in sorted name order); on its turn a group contributes its
   next candidate whose plain-text extract has at least ``min_words`` words (:func:`count_words`) and whose page
   id has not been selected yet (dedupe across groups). A group that runs out drops out of the rotation and
   the others fill its share. Extracts are checked lazily in small look-ahead batches on a thread pool, so
   only a little more than ``size`` extracts are fetched, in a deterministic order.

The result is deterministic for a given seed and wiki state. The only exception: a candidate whose extract
still fails after all retries is skipped (logged as a warning), which a rerun may not repeat.
"""

from __future__ import annotations

import logging
import os
import random
import re
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from tqdm.auto import tqdm

from . import untrusted
from .errors import FetchError, GonerdError, ManifestError
from .records import SelectedArticle, _from_dict, iter_json_objects, write_jsonl
from .wiki import CategoryMembers, MissingPageError, PageInfo, PageText

__all__ = [
    "DEFAULT_SIZE",
    "MIN_BYTES_PER_WORD",
    "SEED_CATEGORIES_PATH",
    "SeedCategories",
    "check_selection_out",
    "count_words",
    "is_list_title",
    "load_seed_categories",
    "read_selection",
    "select_articles",
    "write_selection",
]

log = logging.getLogger(__name__)

DEFAULT_SIZE = 2232
SEED_CATEGORIES_PATH = Path(__file__).with_name("seed_categories.json")
MIN_BYTES_PER_WORD = 3  # an English word plus its space takes ~6 bytes of plain text, and wikitext is longer
_HEADING = re.compile(r"^\s*=+[^=\n].*?=+\s*$", re.MULTILINE)
_LIST_PREFIXES = ("List of ", "Lists of ")


class WikiLike(Protocol):
    """What selection needs from a client (:class:`gonerd.wiki.WikiClient` provides it)."""

    def category_members(self, category: str) -> CategoryMembers: ...
    def page_info(self, titles: Sequence[str]) -> dict[str, PageInfo]: ...
    def extract(self, title: str | None = None, *, page_id: int | None = None) -> PageText: ...


@dataclass(frozen=True)
class SeedCategories:
    """Topic groups of seed categories and how deep to follow subcategories."""

    groups: dict[str, list[str]]
    max_depth: int = 1


@dataclass
class _Candidate:
    title: str
    category: str
    page_id: int | None = None


@dataclass
class _Group:
    name: str
    candidates: list[_Candidate] = field(default_factory=list)


def count_words(text: str) -> int:
    """Whitespace-separated words of a plain-text extract, not counting ``== Section ==`` heading lines."""
    return len(_HEADING.sub(" ", text).split())


def is_list_title(title: str) -> bool:
    """True for list articles ("List of ...", "Lists of ...")."""
    return title.startswith(_LIST_PREFIXES)


def load_seed_categories(
    source: str | os.PathLike | Mapping[str, Sequence[str]] | None = None,
) -> SeedCategories:
    """Read seed categories: the packaged file (``None``), another JSON file, or a ``{group: [category]}`` map.

    A JSON file has ``{"max_depth": int, "groups": {group: [category, ...]}}``. Raises
    :class:`~gonerd.errors.ManifestError` with a one-line reason when it is malformed.
    """
    if source is None or isinstance(source, (str, os.PathLike)):
        path = Path(source) if source is not None else SEED_CATEGORIES_PATH
        if not path.exists():
            raise ManifestError(f"{path}: no such file")
        # a regular file of at most 4 MiB; nesting, 5,000-digit numbers, lone surrogates: one line
        obj = untrusted.load_json(path, str(path), ManifestError)
        where = str(path)
        if not isinstance(obj, dict) or not isinstance(obj.get("groups"), dict):
            raise ManifestError(f'{where}: expected an object with "groups": {{group: [category, ...]}}')
        groups, depth = obj["groups"], obj.get("max_depth", 1)
    else:
        where, groups, depth = "seed categories", dict(source), 1
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 0:
        raise ManifestError(f"{where}: max_depth must be an integer >= 0, got {depth!r}")
    if not groups:
        raise ManifestError(f"{where}: no groups")
    clean: dict[str, list[str]] = {}
    for name, cats in groups.items():
        if isinstance(cats, str) or not isinstance(cats, Sequence) or not cats:
            raise ManifestError(f"{where}: group {name!r} must be a non-empty list of category names")
        bad = [c for c in cats if not isinstance(c, str) or not c.strip()]
        if bad:
            raise ManifestError(f"{where}: group {name!r} has an invalid category name {bad[0]!r}")
        clean[str(name)] = [c if c.startswith("Category:") else f"Category:{c}" for c in cats]
    return SeedCategories(clean, depth)


def _crawl_group(
    client: WikiLike, name: str, seeds: Sequence[str], max_depth: int, bar: tqdm | None
) -> _Group:
    group = _Group(name)
    seen_titles: set[str] = set()
    for seed in seeds:
        visited: set[str] = set()
        frontier = [seed]
        for depth in range(max_depth + 1):
            next_frontier: list[str] = []
            for cat in frontier:
                if cat in visited:
                    continue
                visited.add(cat)
                members = client.category_members(cat)
                if bar is not None:
                    bar.update(1)
                if cat == seed and not members.pages and not members.subcategories:
                    log.warning("seed category %r (group %s) is empty or does not exist", seed, name)
                for m in members.pages:
                    if m.title not in seen_titles:
                        seen_titles.add(m.title)
                        group.candidates.append(_Candidate(m.title, seed, m.page_id))
                if depth < max_depth:
                    next_frontier.extend(members.subcategories)
            frontier = next_frontier
    return group


def _info_filter(
    client: WikiLike, groups: list[_Group], min_words: int, progress: bool
) -> dict[str, PageInfo]:
    """Page info for every candidate title that survives the title checks; returns title -> info of keepers."""
    titles = sorted(
        {
            c.title
            for g in groups
            for c in g.candidates
            if not is_list_title(c.title) and not c.title.endswith("(disambiguation)")
        }
    )
    infos: dict[str, PageInfo] = {}
    step = 50
    with tqdm(total=len(titles), desc="page info", unit="page", disable=not progress) as bar:
        for i in range(0, len(titles), step):
            batch = titles[i : i + step]
            infos.update(client.page_info(batch))
            bar.update(len(batch))
    min_bytes = min_words * MIN_BYTES_PER_WORD
    return {
        t: info
        for t, info in infos.items()
        if not info.missing
        and info.redirected_from is None
        and not info.disambiguation
        and info.ns == 0
        and info.page_id is not None
        and (info.length is None or info.length >= min_bytes)
    }


def _eligible(
    client: WikiLike,
    group: _Group,
    min_words: int,
    pool: ThreadPoolExecutor,
    lookahead: int,
) -> Iterator[SelectedArticle]:
    """Yield a group's candidates (in shuffled order) whose extract has at least ``min_words`` words."""

    def check(c: _Candidate) -> SelectedArticle | None:
        try:
            page = client.extract(c.title, page_id=c.page_id)
        except MissingPageError:
            log.info("skipping %r: the page no longer exists", c.title)
            return None
        except FetchError as exc:
            log.warning("skipping %r: %s", c.title, exc)
            return None
        if page.disambiguation:
            return None
        words = count_words(page.text)
        if words < min_words:
            return None
        return SelectedArticle(page.title, page.page_id, page.revision_id, c.category, words)

    cands = group.candidates
    for start in range(0, len(cands), lookahead):
        for result in pool.map(check, cands[start : start + lookahead]):
            if result is not None:
                yield result


def select_articles(
    client: WikiLike,
    size: int = DEFAULT_SIZE,
    seed: int = 0,
    min_words: int = 1500,
    categories: str | os.PathLike | Mapping[str, Sequence[str]] | SeedCategories | None = None,
    progress: bool = True,
    *,
    max_depth: int | None = None,
    concurrency: int = 4,
    allow_fewer: bool = False,
) -> list[SelectedArticle]:
    """Select ``size`` articles from the seed categories; see the module docstring for the procedure.

    Args:
        client: a :class:`gonerd.wiki.WikiClient` (or anything with the same three methods).
        size: how many articles to select.
        seed: the shuffle seed; the same seed on the same wiki state gives the same selection.
        min_words: minimum words of the plain-text extract (:func:`count_words`).
        categories: seed categories (see :func:`load_seed_categories`); default: the packaged list.
        progress: show tqdm progress bars.
        max_depth: subcategory depth; overrides the value from ``categories``.
        concurrency: parallel extract requests while checking word counts.
        allow_fewer: return fewer than ``size`` articles instead of raising when candidates run out.

    Returns:
        The selected articles in selection (round-robin) order, each with title, page id, revision id, seed
        category and word count.
    """
    if size < 1:
        raise GonerdError(f"size must be at least 1, got {size}")
    if min_words < 0:
        raise GonerdError(f"min_words must be >= 0, got {min_words}")
    if concurrency < 1:
        raise GonerdError(f"concurrency must be at least 1, got {concurrency}")
    seeds = categories if isinstance(categories, SeedCategories) else load_seed_categories(categories)
    depth = seeds.max_depth if max_depth is None else max_depth
    if depth < 0:
        raise GonerdError(f"max_depth must be >= 0, got {depth}")

    n_cats = sum(len(v) for v in seeds.groups.values())
    with tqdm(desc="categories", unit="cat", total=None, disable=not progress) as bar:
        groups = [_crawl_group(client, name, seeds.groups[name], depth, bar) for name in sorted(seeds.groups)]
    log.info("crawled %d seed categories: %d candidates", n_cats, sum(len(g.candidates) for g in groups))

    keep = _info_filter(client, groups, min_words, progress)
    for g in groups:
        by_id: dict[int, _Candidate] = {}
        for c in g.candidates:
            info = keep.get(c.title)
            if info is not None and info.page_id not in by_id:
                by_id[info.page_id] = _Candidate(info.title, c.category, info.page_id)  # type: ignore[index]
        g.candidates = [by_id[k] for k in sorted(by_id)]
        random.Random(f"gonerd-selection:{seed}:{g.name}").shuffle(g.candidates)
        if not g.candidates:
            log.warning("group %r has no candidates left after exclusions", g.name)

    selected: list[SelectedArticle] = []
    taken: set[int] = set()
    with (
        ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="gonerd-select") as pool,
        tqdm(total=size, desc="selecting", unit="article", disable=not progress) as bar,
    ):
        streams = {g.name: _eligible(client, g, min_words, pool, 2 * concurrency) for g in groups}
        while streams and len(selected) < size:
            for name in list(streams):
                if len(selected) >= size:
                    break
                for article in streams[name]:
                    if article.page_id not in taken:
                        taken.add(article.page_id)  # type: ignore[arg-type]
                        selected.append(article)
                        bar.update(1)
                        break
                else:
                    log.info(
                        "group %r is exhausted after %d round(s)", name, len(selected) // max(1, len(groups))
                    )
                    del streams[name]
        for stream in streams.values():
            stream.close()
    if len(selected) < size and not allow_fewer:
        raise GonerdError(
            f"only {len(selected)} articles of at least {min_words} words were found for size={size}; "
            "lower --size or --min-words, raise the depth, or add seed categories"
        )
    return selected


# -- the selection manifest ----------------------------------------------------------------------------------


def _check(articles: Sequence[SelectedArticle], where: Sequence[str]) -> None:
    first_id: dict[int, str] = {}
    first_title: dict[str, str] = {}
    for art, loc in zip(articles, where, strict=True):
        if not isinstance(art.title, str) or not art.title.strip():
            raise ManifestError(f"{loc}: missing title")
        for name in ("page_id", "revision_id", "words"):
            value = getattr(art, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise ManifestError(f"{loc}: {name} must be a non-negative integer or null, got {value!r}")
        if art.page_id is not None:
            if art.page_id in first_id:
                raise ManifestError(
                    f"{loc}: duplicate page id {art.page_id} (first at {first_id[art.page_id]})"
                )
            first_id[art.page_id] = loc
        if art.title in first_title:
            raise ManifestError(f"{loc}: duplicate title {art.title!r} (first at {first_title[art.title]})")
        first_title[art.title] = loc


def check_selection_out(path: str | os.PathLike) -> None:
    """Refuse an output path the selection could not be written to, before any selecting is done."""
    path = Path(path)
    if path.is_dir():
        raise GonerdError(f"--out {path} is a directory; give a file name such as {path / 'selection.jsonl'}")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = (
            parent.parent
        )  # write_jsonl creates missing folders: the nearest existing one must be writable
    if not parent.is_dir():
        raise GonerdError(f"--out {path}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise GonerdError(f"--out {path}: folder {parent} is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise GonerdError(f"--out {path}: the file is not writable")


def write_selection(path: str | os.PathLike, articles: Sequence[SelectedArticle]) -> None:
    """Write a selection manifest (JSON Lines, atomically) after checking it as :func:`read_selection` does."""
    articles = list(articles)
    _check(articles, [f"{path}: article {i}" for i in range(1, len(articles) + 1)])
    write_jsonl(path, articles)


def read_selection(path: str | os.PathLike) -> list[SelectedArticle]:
    """Read a selection manifest; missing titles, bad ids and duplicate page ids or titles raise
    :class:`~gonerd.errors.ManifestError` naming ``file:line``."""
    numbered = list(iter_json_objects(path, "selection file"))
    articles = [_from_dict(SelectedArticle, obj, f"{path}:{n}") for n, obj in numbered]
    lines = [f"{path}:{n}" for n, _ in numbered]
    _check(articles, lines)
    return articles
