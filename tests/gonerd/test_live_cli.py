"""`gonerd select` then `gonerd build --selection` through the real wikipedia-api client against a local MediaWiki
stand-in serving real English Wikipedia articles (2016 dump sample: real titles, page ids and revision ids)."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from conftest import fixture_path
from gonerd.cli import main as gonerd_main
from gonerd.manifest import read_manifest
from gonerd.selection import read_selection
from gonerd.validate import validate
from mediawiki_server import FakeWiki, MediaWikiServer

GROUPS = {"people": ["Category:People"], "places": ["Category:Places"], "science": ["Category:Science"]}
SIZE = 4
WORDS = (1500, 2800)  # long articles, but not the longest, to keep the annotation quick


@pytest.fixture(scope="module")
def wiki_articles() -> list[dict]:
    path = fixture_path("wikipedia", "enwiki_2016_sample40_plaintext.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [r for r in rows if WORDS[0] <= r["words"] <= WORDS[1]]


def _wiki(rows: list[dict]) -> FakeWiki:
    wiki = FakeWiki()
    groups = list(GROUPS.values())
    for i, r in enumerate(rows):
        wiki.add_page(
            r["title"],
            r["text"],
            categories=groups[i % len(groups)],
            page_id=r["page_id"],
            revision_id=r["revision_id"],
        )
    wiki.add_page("Short stub", "Too short to select.", categories=GROUPS["people"])
    return wiki


def test_select_then_build_from_the_live_api(tmp_path, wiki_articles, capsys):
    assert len(wiki_articles) > SIZE
    seeds = tmp_path / "seeds.json"
    seeds.write_text(json.dumps({"max_depth": 0, "groups": GROUPS}))
    selection = tmp_path / "selection.jsonl"
    out = tmp_path / "gonerd"
    by_title = {r["title"]: r for r in wiki_articles}
    with MediaWikiServer(_wiki(wiki_articles)) as server:
        common = ["--api-url", server.api_url, "--no-progress", "--contact", "ops@example.org"]
        assert (
            gonerd_main(
                ["select", "--out", str(selection), "--size", str(SIZE), "--categories", str(seeds), *common]
            )
            == 0
        )
        selected = read_selection(selection)
        assert len(selected) == SIZE
        for art in selected:
            assert art.page_id == by_title[art.title]["page_id"]
            assert art.revision_id == by_title[art.title]["revision_id"]
            assert art.words >= 1500

        # one selected page disappears before the build: it must be listed, not dropped silently
        gone = selected[-1]
        server.fail_always(gone.title, "500")
        argv = [
            "build",
            "--selection",
            str(selection),
            "--out",
            str(out),
            "--model",
            "en_core_web_sm",
            *common,
        ]
        assert gonerd_main(argv) == 0
        # Every request, from select and from build, told Wikipedia who to contact.
        agents = {r.headers["User-Agent"] for r in server.requests}
        assert agents and all("ops@example.org" in ua and "gonerd-bench/" in ua for ua in agents)
        err = capsys.readouterr().err
        assert "1 article(s) could not be fetched" in err and gone.title in err

        manifest = read_manifest(out)
        assert [f["title"] for f in manifest["failed"]] == [gone.title]
        assert manifest["source"]["kind"] == "wikipedia" and manifest["source"]["articles"] == SIZE
        rows = [
            r
            for f in sorted((out / "data" / "default").glob("*.parquet"))
            for r in pq.read_table(f).to_pylist()
        ]
        assert sorted(r["page_id"] for r in rows) == sorted(a.page_id for a in selected[:-1])
        for row in rows:
            assert row["url"] == "https://en.wikipedia.org/wiki/" + row["title"].replace(" ", "_")
            assert row["revision_id"] == by_title[row["title"]]["revision_id"]
        assert validate(out).ok

        # a rerun fetches nothing and annotates nothing it already has
        before = len(server.requests)
        server.fail_always(gone.title, "500")
        assert gonerd_main(argv) == 0
        assert "0 annotated now, 3 from cache" in capsys.readouterr().out
        extract_requests = [r for r in server.requests[before:] if "extracts" in r.params.get("prop", "")]
        assert all(
            gone.title in str(r.params) or str(gone.page_id) in str(r.params) for r in extract_requests
        )
