"""Article selection over the local MediaWiki stand-in (tests/mediawiki_server.py)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from conftest import fixture_path
from gonerd.errors import GonerdError, ManifestError
from gonerd.records import SelectedArticle
from gonerd.selection import (
    count_words,
    is_list_title,
    load_seed_categories,
    read_selection,
    select_articles,
    write_selection,
)
from gonerd.wiki import RetryPolicy, WikiClient
from mediawiki_server import FakeWiki, MediaWikiServer

MIN_WORDS = 200
GROUPS = {
    "people": ["Category:Physicists", "Category:Poets"],
    "places": ["Category:Capitals"],
    "science": ["Category:Chemical elements"],
}


def text_of(title: str, words: int, word: str = "lorem") -> str:
    return f"{title} is an article.\n\n== History ==\n" + " ".join([word] * (words - 4)) + "\n"


def build_wiki() -> FakeWiki:
    """Three groups of long articles plus one of every kind of page selection must exclude."""
    w = FakeWiki()
    for i in range(6):
        w.add_page(f"Physicist {i}", text_of(f"Physicist {i}", 300 + i), categories=["Category:Physicists"])
        w.add_page(f"City {i}", text_of(f"City {i}", 400), categories=["Category:Capitals"])
        w.add_page(f"Element {i}", text_of(f"Element {i}", 250), categories=["Category:Chemical elements"])
    w.add_page("Poet 0", text_of("Poet 0", 500), categories=["Category:Poets"])
    # depth 1 (included with max_depth=1) and depth 2 (excluded)
    w.add_category("Category:Poets by century", parent="Category:Poets")
    w.add_page("Poet 1", text_of("Poet 1", 500), categories=["Category:Poets by century"])
    w.add_category("Category:Poets of the 1800s", parent="Category:Poets by century")
    w.add_page("Deep poet", text_of("Deep poet", 500), categories=["Category:Poets of the 1800s"])
    # exclusions
    w.add_page("List of physicists", text_of("List of physicists", 900), categories=["Category:Physicists"])
    w.add_page("Lists of cities", text_of("Lists of cities", 900), categories=["Category:Capitals"])
    w.add_page(
        "Mercury", text_of("Mercury", 900), categories=["Category:Chemical elements"], disambiguation=True
    )
    w.add_page("Curie (disambiguation)", text_of("Curie", 900), categories=["Category:Physicists"])
    w.add_redirect("Einstein", "Physicist 0", categories=["Category:Physicists"])
    w.add_page("Tiny city", "A tiny stub.", categories=["Category:Capitals"])  # fails the length pre-filter
    # long in bytes, short in words: passes the pre-filter, fails the word count of the extract
    w.add_page(
        "Wordy element",
        text_of("Wordy element", 150, "pneumonoultramicroscopic"),
        categories=["Category:Chemical elements"],
    )
    portal = w.add_page("Portal:Physics", text_of("Portal", 900), categories=["Category:Physicists"])
    portal.ns = 100
    # one article in two groups: must be selected at most once
    w.add_page(
        "Marie Curie",
        text_of("Marie Curie", 600),
        categories=["Category:Physicists", "Category:Chemical elements"],
    )
    return w


ELIGIBLE = (
    {f"Physicist {i}" for i in range(6)}
    | {f"City {i}" for i in range(6)}
    | {f"Element {i}" for i in range(6)}
)
ELIGIBLE |= {"Poet 0", "Poet 1", "Marie Curie"}


@pytest.fixture(scope="module")
def server():
    with MediaWikiServer(build_wiki(), page_size=4) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server):
    with WikiClient(server.api_url, timeout=5, retry=RetryPolicy(max_retries=2, backoff=0.01)) as c:
        yield c


def run(client, **kw):
    kw.setdefault("categories", GROUPS)
    kw.setdefault("min_words", MIN_WORDS)
    kw.setdefault("progress", False)
    return select_articles(client, **kw)


def test_same_seed_same_selection_other_seed_differs(client):
    first = run(client, size=9, seed=0)
    again = run(client, size=9, seed=0)
    other = run(client, size=9, seed=1)
    assert first == again
    assert len(first) == 9
    assert [a.title for a in other] != [a.title for a in first]


def test_exclusions_and_min_words(client, server):
    got = run(client, size=100, allow_fewer=True)
    titles = [a.title for a in got]
    assert set(titles) == ELIGIBLE
    assert len(titles) == len(set(titles))  # Marie Curie once, though in two groups
    wiki = server.wiki
    for a in got:
        page = wiki.pages[a.title]
        assert a.page_id == page.page_id and a.revision_id == page.revision_id
        assert a.words == count_words(page.text) >= MIN_WORDS
    assert {a.category for a in got if a.title.startswith("Poet")} == {
        "Category:Poets"
    }  # the seed, not the subcat


def test_depth_zero_stops_at_seed_category(client):
    got = run(client, size=100, allow_fewer=True, max_depth=0)
    assert "Poet 0" in {a.title for a in got}
    assert "Poet 1" not in {a.title for a in got}


def test_round_robin_balances_groups(client):
    got = run(client, size=9, seed=3)
    groups = [next(g for g, cats in GROUPS.items() if a.category in cats) for a in got]
    assert groups == ["people", "places", "science"] * 3


def test_exhausted_group_leaves_rotation(client):
    # people has 8 eligible, places 6, science 7 (Marie Curie is taken by whichever group reaches it first)
    got = run(client, size=21, seed=0)
    counts = Counter(next(g for g, cats in GROUPS.items() if a.category in cats) for a in got)
    assert counts["places"] == 6
    assert sum(counts.values()) == 21


def test_too_few_candidates_is_a_one_line_error(client):
    with pytest.raises(GonerdError, match=r"only 21 articles .* size=50"):
        run(client, size=50)


def test_page_info_is_batched_and_extracts_are_lazy(server, client):
    before_info = server.count(prop="pageprops") - server.count(prop="extracts")
    before_extracts = server.count(prop="extracts")
    run(client, size=3, concurrency=1)
    info_requests = server.count(prop="pageprops") - server.count(prop="extracts") - before_info
    extract_requests = server.count(prop="extracts") - before_extracts
    assert info_requests == 1  # 28 titles in one batch of up to 50
    assert 3 <= extract_requests <= 3 * 2  # look-ahead of 2 per group with concurrency=1, not all 28


def test_selection_on_real_articles(tmp_path):
    """Real WikiText-2 articles (whole Good/Featured Wikipedia articles) with the real 1,500-word threshold."""
    path = fixture_path("wikipedia", "wikitext2_test_articles.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if "<unk>" not in r["title"]]
    wiki = FakeWiki()
    cats = ["Category:A", "Category:B", "Category:C"]
    for i, r in enumerate(rows):
        wiki.add_page(r["title"], r["text"], categories=[cats[i % 3]])
    long_enough = {r["title"] for r in rows if count_words(r["text"]) >= 1500}
    assert 0 < len(long_enough) < len(rows)
    with MediaWikiServer(wiki) as srv, WikiClient(srv.api_url, timeout=5) as client:
        got = select_articles(
            client,
            size=len(long_enough),
            seed=0,
            categories={"a": cats[:1], "b": cats[1:2], "c": cats[2:]},
            progress=False,
        )
    assert {a.title for a in got} == long_enough
    assert all(a.words >= 1500 for a in got)


def test_count_words_skips_headings():
    assert count_words("Intro text here.\n\n== History ==\nTwo words\n=== Early life ===\n") == 5
    assert count_words("") == 0


def test_list_titles():
    assert is_list_title("List of chemical elements")
    assert is_list_title("Lists of cities")
    assert not is_list_title("Listeria")


def test_packaged_seed_categories_cover_the_topics():
    seeds = load_seed_categories()
    assert set(seeds.groups) == {"people", "places", "organisations", "events", "works", "science"}
    assert all(len(cats) >= 4 for cats in seeds.groups.values())
    assert all(c.startswith("Category:") for cats in seeds.groups.values() for c in cats)
    assert seeds.max_depth == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", r"invalid JSON"),
        ('{"groups": {}}', r"no groups"),
        ('{"groups": {"people": []}}', r"non-empty list"),
        ('{"groups": {"people": ["ok"]}, "max_depth": -1}', r"max_depth"),
    ],
)
def test_bad_seed_file(tmp_path, content, message):
    path = tmp_path / "seeds.json"
    path.write_text(content)
    with pytest.raises(ManifestError, match=message):
        load_seed_categories(path)


def test_selection_manifest_round_trip(tmp_path):
    arts = [SelectedArticle("A", 1, 11, "Category:X", 1600), SelectedArticle("B", 2, 22, "Category:Y", 2000)]
    path = tmp_path / "selection.jsonl"
    write_selection(path, arts)
    assert read_selection(path) == arts


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            ['{"title": "A", "page_id": 1}', "", '{"title": "B", "page_id": 1}'],
            r"selection.jsonl:3: duplicate page id 1 \(first at .*:1\)",
        ),
        (
            ['{"title": "A", "page_id": 1}', '{"title": "", "page_id": 2}'],
            r"selection.jsonl:2: missing title",
        ),
        (['{"title": null, "page_id": 2}'], r"selection.jsonl:1: missing title"),
        (['{"page_id": 2}'], r"selection.jsonl:1: missing field\(s\) title"),
        (['{"title": "A", "page_id": "7"}'], r"selection.jsonl:1: page_id must be"),
    ],
)
def test_bad_selection_manifest(tmp_path, lines, message):
    path = tmp_path / "selection.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ManifestError, match=message):
        read_selection(path)


def test_write_selection_refuses_duplicates(tmp_path):
    with pytest.raises(ManifestError, match="duplicate page id 1"):
        write_selection(tmp_path / "s.jsonl", [SelectedArticle("A", 1), SelectedArticle("B", 1)])
    assert not (tmp_path / "s.jsonl").exists()
