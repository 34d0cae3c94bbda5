"""The MediaWiki client (gonerd/wiki.py) and article fetching (gonerd/fetch.py) against a real local HTTP server."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from conftest import ROOT, fixture_path
from gonerd.errors import FetchError, GonerdError
from gonerd.fetch import fetch_articles
from gonerd.records import SelectedArticle
from gonerd.wiki import PROJECT_URL, MissingPageError, RetryPolicy, WikiClient
from mediawiki_server import FakeWiki, MediaWikiServer, page_from_cassettes

FAST = RetryPolicy(max_retries=2, backoff=0.01, max_backoff=0.05)
TITLES = [f"Article {i}" for i in range(6)]


def make_wiki() -> FakeWiki:
    w = FakeWiki()
    for i, t in enumerate(TITLES):
        w.add_page(
            t,
            f"\n  {t} text, paragraph one.\n\n== Section ==\nMore text {i}.  \n",
            categories=["Category:Things"],
        )
    w.add_page("Mercury", "Mercury may refer to:", disambiguation=True)
    w.add_redirect("Article Zero", "Article 0")
    return w


def manifest(wiki: FakeWiki, titles=TITLES) -> list[SelectedArticle]:
    return [
        SelectedArticle(t, wiki.pages[t].page_id, wiki.pages[t].revision_id, "Category:Things", 5)
        for t in titles
    ]


@pytest.fixture
def server():
    with MediaWikiServer(make_wiki()) as srv:
        yield srv


def client_for(server: MediaWikiServer, **kw) -> WikiClient:
    kw.setdefault("retry", FAST)
    kw.setdefault("timeout", 2.0)
    return WikiClient(server.api_url, **kw)


# -- the client --------------------------------------------------------------------------------------------


def test_user_agent_names_project_version_and_contact(server):
    with client_for(server) as client:
        client.extract("Article 1")
    ua = server.requests[-1].headers["User-Agent"]
    assert ua.startswith("gonerd-bench/0.1.0 (")
    assert PROJECT_URL in ua
    assert "Wikipedia-API/" in ua  # wikipedia-api's own client sent it


def test_contact_comes_from_the_argument_then_the_environment(monkeypatch):
    from gonerd.wiki import CONTACT_ENV, user_agent_for

    monkeypatch.delenv(CONTACT_ENV, raising=False)
    assert user_agent_for() == f"gonerd-bench/0.1.0 ({PROJECT_URL}; GONERD dataset build)"
    monkeypatch.setenv(CONTACT_ENV, "team@example.org")
    assert "(team@example.org; " in user_agent_for()
    assert "(me@example.org; " in user_agent_for("me@example.org")
    assert "(team@example.org; " in WikiClient().user_agent  # the default client reads it at construction


def test_page_info_resolves_redirects_and_flags(server):
    with client_for(server) as client:
        info = client.page_info(["Article_1", "Article Zero", "Mercury", "No such page"])
    assert (
        info["Article_1"].title == "Article 1"
        and info["Article_1"].revision_id == server.wiki.pages["Article 1"].revision_id
    )
    assert (
        info["Article Zero"].title == "Article 0" and info["Article Zero"].redirected_from == "Article Zero"
    )
    assert info["Mercury"].disambiguation and not info["Article_1"].disambiguation
    assert info["No such page"].missing and info["No such page"].page_id is None
    assert server.count(prop="info") == 1  # one batched request


def test_extract_of_recorded_real_article():
    """The real TextExtracts reply for 'Python (programming language)', served by the stand-in."""
    page = page_from_cassettes(fixture_path("wikipedia", "mediawiki_api", "cassettes"))
    wiki = FakeWiki()
    wiki.pages[page.title] = page
    with MediaWikiServer(wiki) as srv, client_for(srv) as client:
        got = client.extract("Python_(programming_language)")
    assert (got.page_id, got.revision_id) == (23862, 1345336232)
    assert got.text == page.text and "\n== History ==\n" in got.text
    assert len(got.text.split()) > 5000


def test_category_members_from_recorded_reply():
    """wikipedia-api's categorymembers request, answered with the recorded Category:Physics reply verbatim."""
    cassette = fixture_path(
        "wikipedia", "mediawiki_api", "cassettes", "TestVcrWikiCategorymembers.test_categorymembers.json"
    )
    with MediaWikiServer() as srv, client_for(srv) as client:
        srv.replay_cassette(cassette)
        members = client.category_members("Physics")
    titles = {m.title: m.page_id for m in members.pages}
    assert titles["Physics"] == 22939
    assert "Portal:Physics" not in titles  # namespace 100
    assert "Category:Physicists" in members.subcategories
    assert len(members.pages) + len(members.subcategories) == 40


def test_category_members_follow_continuation():
    wiki = FakeWiki()
    for i in range(7):
        wiki.add_page(f"P{i}", "x", categories=["Category:Big"])
    wiki.add_category("Category:Small", parent="Category:Big")
    with MediaWikiServer(wiki, page_size=3) as srv, client_for(srv) as client:
        members = client.category_members("Category:Big")
    assert [m.title for m in members.pages] == [f"P{i}" for i in range(7)]
    assert members.subcategories == ["Category:Small"]
    assert srv.count(prop="categorymembers") == 3


def _shape(obj):
    """Keys (recursively) and value types of a JSON reply, ignoring list lengths and page ids."""
    if isinstance(obj, dict):
        return {("<id>" if k.lstrip("-").isdigit() else k): _shape(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_shape(obj[0])] if obj else []
    return type(obj).__name__


@pytest.mark.parametrize(
    ("cassette", "keep"),
    [
        ("TestVcrWikiExtracts.test_extracts.json", None),
        ("TestVcrWikiCategorymembers.test_categorymembers.json", None),
        ("TestVcrPageExistence.test_exists_false.json", {"ns", "title", "missing"}),
    ],
)
def test_stand_in_replies_have_the_recorded_shapes(cassette, keep):
    path = fixture_path("wikipedia", "mediawiki_api", "cassettes", cassette)
    recorded = json.loads(path.read_text(encoding="utf-8"))["interactions"][0]
    real = json.loads(recorded["response"]["body"]["string"])
    real.pop("warnings", None)
    wiki = FakeWiki()
    wiki.pages["Python (programming language)"] = page_from_cassettes(path.parent)
    wiki.add_page("Physics", "x", categories=["Category:Physics"])
    with MediaWikiServer(wiki) as srv:
        reply = httpx.get(srv.api_url, params=parse_qsl(urlsplit(recorded["request"]["uri"]).query)).json()
    if keep is not None:  # prop=info has many more fields; compare the missing-page entry only
        real["query"]["pages"]["-1"] = {k: v for k, v in real["query"]["pages"]["-1"].items() if k in keep}
        reply["query"]["pages"]["-1"] = {k: v for k, v in reply["query"]["pages"]["-1"].items() if k in keep}
    assert _shape(reply) == _shape(real)


def test_missing_page_is_not_retried(server):
    with client_for(server) as client, pytest.raises(MissingPageError, match="does not exist"):
        client.extract("No such page")
    assert server.count("No such page") == 1


def test_bad_arguments_are_one_line_errors():
    with pytest.raises(FetchError, match=r"api\.php URL"):
        WikiClient("en.wikipedia.org/w/api.php")
    with pytest.raises(FetchError, match="User-Agent"):
        WikiClient(user_agent="x")
    with pytest.raises(ValueError):
        RetryPolicy(max_retries=-1)


# -- fetching ------------------------------------------------------------------------------------------------


def test_fetch_then_rerun_hits_the_cache(server, tmp_path):
    sel = manifest(server.wiki)
    with client_for(server) as client:
        first = fetch_articles(sel, client, tmp_path, concurrency=3, progress=False)
        n = server.count(prop="extracts")
        second = fetch_articles(sel, client, tmp_path, concurrency=3, progress=False)
    assert n == len(sel)
    assert server.count(prop="extracts") == n  # no request on the rerun
    assert (first.fetched, first.from_cache, second.fetched, second.from_cache) == (6, 0, 0, 6)
    assert first.articles == second.articles
    assert [a.title for a in first.articles] == TITLES  # input order
    a = first.articles[2]
    assert a.text == "Article 2 text, paragraph one.\n\n== Section ==\nMore text 2."  # stripped
    assert a.url == "https://en.wikipedia.org/wiki/Article_2" and a.category == "Category:Things"
    assert (a.page_id, a.revision_id) == (
        server.wiki.pages["Article 2"].page_id,
        server.wiki.pages["Article 2"].revision_id,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{s.page_id}@{s.revision_id}.json" for s in sel
    )
    assert first.ok and not first.failed and not first.revision_changes


@pytest.mark.parametrize(
    "faults", [("429", "429"), ("500",), ("slow",), ("truncated",), ("disconnect",), ("500", "truncated")]
)
def test_transient_faults_are_retried(faults, tmp_path):
    with MediaWikiServer(make_wiki(), slow_seconds=1.0) as srv, client_for(srv, timeout=0.3) as client:
        srv.add_faults("Article 3", *faults)
        report = fetch_articles(manifest(srv.wiki), client, tmp_path, progress=False)
    assert report.ok and len(report.articles) == 6
    assert srv.count("Article 3") == len(faults) + 1
    assert [r.fault for r in srv.requests if "Article 3" in r.titles] == [*faults, None]


def test_retry_after_is_honoured_and_capped(tmp_path):
    with MediaWikiServer(make_wiki(), retry_after=1) as srv:
        srv.add_faults("Article 0", "429")
        with client_for(srv) as client:
            t0 = time.monotonic()
            client.extract("Article 0")
            waited = time.monotonic() - t0
        srv.add_faults("Article 0", "429")
        with client_for(srv, retry=RetryPolicy(max_retries=2, backoff=0.01, max_retry_after=0.1)) as client:
            t0 = time.monotonic()
            client.extract("Article 0")
            capped = time.monotonic() - t0
    assert waited >= 1.0  # the exponential backoff alone would be 0.01 s
    assert capped < 0.8


def test_permanent_failure_is_reported_not_dropped(server, tmp_path):
    server.fail_always("Article 4", "500")
    with client_for(server) as client:
        report = fetch_articles(manifest(server.wiki), client, tmp_path, progress=False)
    assert [a.title for a in report.articles] == [t for t in TITLES if t != "Article 4"]
    (failed,) = report.failed
    assert failed.title == "Article 4" and failed.page_id == server.wiki.pages["Article 4"].page_id
    assert "HTTP 500" in failed.error and "3 attempts" in failed.error
    assert server.count("Article 4") == 1 + FAST.max_retries
    assert not report.ok


def test_missing_and_disambiguation_pages_fail_with_a_reason(server, tmp_path):
    sel = [
        SelectedArticle("Gone", None),
        SelectedArticle("Gone by id", 999_999),
        *manifest(server.wiki, ["Mercury"]),
    ]
    with client_for(server) as client:
        report = fetch_articles(sel, client, tmp_path, progress=False)
    assert not report.articles
    reasons = {f.title: f.error for f in report.failed}
    assert "does not exist" in reasons["Gone"] and "does not exist" in reasons["Gone by id"]
    assert "disambiguation" in reasons["Mercury"]
    assert server.count("Gone") == 1 and server.count("#999999") == 1  # not retried


def test_concurrency_is_bounded(tmp_path):
    wiki = FakeWiki()
    titles = [f"Page {i}" for i in range(8)]
    for t in titles:
        wiki.add_page(t, t)
    with MediaWikiServer(wiki, delay=0.1) as srv, client_for(srv) as client:
        fetch_articles(manifest(wiki, titles), client, tmp_path, concurrency=3, progress=False)
        assert srv.max_in_flight == 3  # bounded, and the bound was used
        srv.max_in_flight = 0
        fetch_articles(manifest(wiki, titles), client, tmp_path / "serial", concurrency=1, progress=False)
        assert srv.max_in_flight == 1


def test_revision_drift_keeps_fetched_text_and_is_reported(server, tmp_path):
    page = server.wiki.pages["Article 1"]
    old = SelectedArticle("Article 1", page.page_id, page.revision_id - 5, "Category:Things")
    with client_for(server) as client:
        report = fetch_articles([old], client, tmp_path, progress=False)
        rerun = fetch_articles([old], client, tmp_path, progress=False)
    (article,) = report.articles
    assert article.revision_id == page.revision_id and "Article 1 text" in article.text
    (change,) = report.revision_changes
    assert (change.expected, change.fetched) == (page.revision_id - 5, page.revision_id)
    assert rerun.from_cache == 1 and rerun.revision_changes == report.revision_changes
    assert server.count("Article 1") == 1


def test_unreadable_cache_entry_is_refetched(server, tmp_path):
    sel = manifest(server.wiki, ["Article 2"])
    (tmp_path / f"{sel[0].page_id}@{sel[0].revision_id}.json").write_text('{"format": 1, "te')
    with client_for(server) as client:
        report = fetch_articles(sel, client, tmp_path, progress=False)
    assert report.fetched == 1 and report.articles[0].text.startswith("Article 2 text")
    assert json.loads((tmp_path / f"{sel[0].page_id}@{sel[0].revision_id}.json").read_text())["text"]


def test_bad_concurrency(server, tmp_path):
    with client_for(server) as client, pytest.raises(GonerdError, match="concurrency"):
        fetch_articles([], client, tmp_path, concurrency=0)


_CHILD = """
import sys
from gonerd.fetch import fetch_articles
from gonerd.selection import read_selection
from gonerd.wiki import WikiClient
fetch_articles(read_selection(sys.argv[1]), WikiClient(sys.argv[2]), sys.argv[3], concurrency=1, progress=False)
"""


def test_interrupted_run_resumes_with_only_the_rest(tmp_path):
    """Kill a real fetch process half-way (SIGKILL), then rerun: only the uncached articles are requested."""
    from gonerd.selection import write_selection

    wiki = FakeWiki()
    titles = [f"Page {i}" for i in range(8)]
    for t in titles:
        wiki.add_page(t, f"{t} text")
    sel = manifest(wiki, titles)
    write_selection(tmp_path / "selection.jsonl", sel)
    cache = tmp_path / "cache"
    with MediaWikiServer(wiki, delay=0.2) as srv:
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(tmp_path / "selection.jsonl"), srv.api_url, str(cache)],
            cwd=ROOT,
        )
        try:
            deadline = time.monotonic() + 30
            while (
                len(list(cache.glob("*.json"))) < 3 and time.monotonic() < deadline and child.poll() is None
            ):
                time.sleep(0.02)
        finally:
            child.kill()
            child.wait()
        cached = {int(p.name.split("@")[0]) for p in cache.glob("*.json")}
        assert 3 <= len(cached) < len(titles), "the child should have been killed half-way"
        before = srv.titles_requested("extracts")
        with client_for(srv) as client:
            report = fetch_articles(sel, client, cache, progress=False)
        after = srv.titles_requested("extracts")
    assert report.ok and [a.title for a in report.articles] == titles
    assert report.from_cache == len(cached) and report.fetched == len(titles) - len(cached)
    new = after - before
    assert set(new) == {s.title for s in sel if s.page_id not in cached}
    assert all(n == 1 for n in new.values())
    assert not [p for p in cache.iterdir() if not p.name.endswith(".json") and not p.name.startswith(".tmp-")]
    for p in cache.glob("*.json"):
        assert json.loads(p.read_text())["format"] == 1  # every entry complete: writes are atomic


def test_cache_dir_that_cannot_be_created(server, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with client_for(server) as client, pytest.raises(GonerdError, match="cannot create the cache directory"):
        fetch_articles([], client, blocker / "cache")


def test_cache_files_are_named_by_page_and_revision(server, tmp_path):
    with client_for(server) as client:
        fetch_articles([SelectedArticle("Article 5")], client, tmp_path, progress=False)
    (entry,) = list(Path(tmp_path).glob("*.json"))
    assert entry.name.startswith("t-") and entry.name.endswith(
        f"@{server.wiki.pages['Article 5'].revision_id}.json"
    )
