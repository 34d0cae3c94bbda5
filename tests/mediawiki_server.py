"""A real local MediaWiki ``api.php`` stand-in for tests: ``http.server`` on 127.0.0.1, random port.

It serves a small in-memory wiki (:class:`FakeWiki`) in the reply shapes of the real API, as recorded in
``../shared/fixtures/wikipedia/mediawiki_api/cassettes`` (``query.pages`` keyed by page id, ``"-1"`` for a missing
title, ``normalized``/``redirects`` lists, ``categorymembers`` with ``continue.cmcontinue`` paging, ``lastrevid``,
``pageprops.disambiguation``, ``extract``). Recorded cassette interactions can also be replayed verbatim
(:meth:`MediaWikiServer.replay_cassette`).

Faults are programmable per title (:meth:`MediaWikiServer.add_faults`): ``"429"`` (with ``Retry-After``),
``"500"``, ``"slow"`` (answers after :attr:`MediaWikiServer.slow_seconds`), ``"truncated"`` (200 with the JSON cut
in half) and ``"disconnect"`` (the connection drops in the middle of the body). Every request is recorded
(:attr:`MediaWikiServer.requests`), and the largest number of requests in flight at once is tracked.

Usage::

    with MediaWikiServer(wiki) as server:
        client = WikiClient(server.api_url, ...)
"""

from __future__ import annotations

import json
import threading
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

API_PATH = "/w/api.php"
FAULTS = ("429", "500", "slow", "truncated", "disconnect")


@dataclass
class FakePage:
    title: str
    page_id: int
    revision_id: int
    text: str = ""
    ns: int = 0
    disambiguation: bool = False
    redirect_to: str | None = None


@dataclass
class FakeWiki:
    """An in-memory wiki: pages (articles, redirects, categories) and category membership."""

    pages: dict[str, FakePage] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    _next_id: int = 1000

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def add_page(
        self,
        title: str,
        text: str = "",
        *,
        categories: tuple[str, ...] | list[str] = (),
        page_id: int | None = None,
        revision_id: int | None = None,
        disambiguation: bool = False,
    ) -> FakePage:
        """Add a main-namespace article (or disambiguation page) and put it in ``categories``."""
        pid = page_id if page_id is not None else self._new_id()
        page = FakePage(
            title, pid, revision_id if revision_id is not None else pid * 10, text, 0, disambiguation
        )
        self.pages[title] = page
        for cat in categories:
            self.add_category(cat)
            self.members[cat].append(title)
        return page

    def add_redirect(
        self, title: str, target: str, *, categories: tuple[str, ...] | list[str] = ()
    ) -> FakePage:
        """Add a redirect page (categorised redirects do appear in ``categorymembers``)."""
        page = self.add_page(title, f"#REDIRECT [[{target}]]", categories=categories)
        page.redirect_to = target
        return page

    def add_category(self, title: str, *, parent: str | None = None) -> FakePage:
        """Add a category page (``Category:...``), optionally as a subcategory of ``parent``."""
        if title not in self.pages:
            self.pages[title] = FakePage(title, self._new_id(), 0, "", 14)
            self.members.setdefault(title, [])
        if parent is not None:
            self.add_category(parent)
            if title not in self.members[parent]:
                self.members[parent].append(title)
        return self.pages[title]

    def by_id(self, page_id: int) -> FakePage | None:
        return next((p for p in self.pages.values() if p.page_id == page_id), None)


@dataclass(frozen=True)
class RecordedRequest:
    params: dict[str, str]
    headers: dict[str, str]
    titles: tuple[str, ...]
    fault: str | None


def page_from_cassettes(cassette_dir: Path) -> FakePage:
    """'Python (programming language)' as recorded: the extract cassette's text and page id, the info
    cassette's ``lastrevid``."""
    extract = json.loads(
        (cassette_dir / "TestVcrWikiExtracts.test_extracts.json").read_text(encoding="utf-8")
    )
    info = json.loads((cassette_dir / "TestVcrWikiInfo.test_info.json").read_text(encoding="utf-8"))
    (page,) = json.loads(extract["interactions"][0]["response"]["body"]["string"])["query"]["pages"].values()
    (meta,) = json.loads(info["interactions"][0]["response"]["body"]["string"])["query"]["pages"].values()
    assert page["pageid"] == meta["pageid"]
    return FakePage(page["title"], page["pageid"], meta["lastrevid"], page["extract"])


class MediaWikiServer:
    """Context manager running the stand-in; see the module docstring.

    Args:
        wiki: the pages to serve.
        page_size: ``categorymembers`` per reply before a ``continue`` cursor (real wikis: up to 500).
        delay: seconds every reply waits (to make concurrency observable).
        retry_after: the ``Retry-After`` value sent with a 429 fault.
        slow_seconds: how long a ``"slow"`` fault waits before answering.
    """

    def __init__(
        self,
        wiki: FakeWiki | None = None,
        *,
        page_size: int = 500,
        delay: float = 0.0,
        retry_after: int = 0,
        slow_seconds: float = 1.0,
    ) -> None:
        self.wiki = wiki or FakeWiki()
        self.page_size = page_size
        self.delay = delay
        self.retry_after = retry_after
        self.slow_seconds = slow_seconds
        self.requests: list[RecordedRequest] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._faults: dict[str, deque[str]] = defaultdict(deque)
        self._permanent: dict[str, str] = {}
        self._replay: dict[frozenset[tuple[str, str]], tuple[int, str]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------------------

    def __enter__(self) -> MediaWikiServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else headers and body as two writes cost ~40 ms per reply

            def do_GET(self) -> None:
                server._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        httpd = self._httpd
        self._thread = threading.Thread(
            target=lambda: httpd.serve_forever(poll_interval=0.05), name="mediawiki-stand-in", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._httpd is not None and self._thread is not None
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    @property
    def api_url(self) -> str:
        assert self._httpd is not None, "use the server as a context manager"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}{API_PATH}"

    # -- programming faults and replays ---------------------------------------------------------------------

    def add_faults(self, title: str, *faults: str) -> None:
        """Answer the next requests naming ``title`` with these faults, one per request, then normally."""
        for f in faults:
            if f not in FAULTS:
                raise ValueError(f"unknown fault {f!r}; one of {FAULTS}")
        with self._lock:
            self._faults[title].extend(faults)

    def fail_always(self, title: str, fault: str = "500") -> None:
        """Answer every request naming ``title`` with ``fault``."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {FAULTS}")
        self._permanent[title] = fault

    def replay_cassette(self, path: Path) -> None:
        """Serve the recorded replies of a VCR cassette verbatim to requests with the same query parameters."""
        cassette = json.loads(Path(path).read_text(encoding="utf-8"))
        for it in cassette["interactions"]:
            key = frozenset(parse_qsl(urlsplit(it["request"]["uri"]).query))
            self._replay[key] = (it["response"]["status"]["code"], it["response"]["body"]["string"])

    # -- request statistics --------------------------------------------------------------------------------

    def count(self, title: str | None = None, *, prop: str | None = None) -> int:
        """Requests so far, optionally only those naming ``title`` and/or asking for ``prop``/``list``."""
        with self._lock:
            reqs = list(self.requests)
        return sum(
            1
            for r in reqs
            if (title is None or title in r.titles)
            and (prop is None or prop in r.params.get("prop", "").split("|") or r.params.get("list") == prop)
        )

    def titles_requested(self, prop: str) -> Counter[str]:
        """How many requests asked for ``prop`` about each title."""
        with self._lock:
            reqs = list(self.requests)
        return Counter(t for r in reqs if prop in r.params.get("prop", "").split("|") for t in r.titles)

    # -- serving ---------------------------------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        if url.path != API_PATH:
            self._send(h, 404, "not found", "text/plain")
            return
        pairs = parse_qsl(url.query, keep_blank_values=True)
        params = dict(pairs)
        titles = self._titles_of(params)
        with self._lock:
            fault = next((self._permanent[t] for t in titles if t in self._permanent), None)
            if fault is None:
                fault = next((self._faults[t].popleft() for t in titles if self._faults.get(t)), None)
            self.requests.append(RecordedRequest(params, dict(h.headers.items()), titles, fault))
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            if self.delay:
                self._stop.wait(self.delay)
            self._respond(h, pairs, params, fault)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout) before the answer was sent
        finally:
            with self._lock:
                self._in_flight -= 1

    def _respond(
        self, h: BaseHTTPRequestHandler, pairs: list, params: dict[str, str], fault: str | None
    ) -> None:
        if fault == "429":
            self._send(h, 429, "Too many requests", "text/plain", {"Retry-After": str(self.retry_after)})
            return
        if fault == "500":
            self._send(h, 500, "Internal Server Error", "text/plain")
            return
        if fault == "slow":
            self._stop.wait(self.slow_seconds)
        recorded = self._replay.get(frozenset(pairs))
        if recorded is not None:
            status, body = recorded
        else:
            status, body = 200, json.dumps(self._api(params), ensure_ascii=False)
        if fault == "truncated":
            body = body[: len(body) // 2]
        if fault == "disconnect":
            data = body.encode("utf-8")
            h.send_response(200)
            h.send_header("Content-Type", "application/json; charset=utf-8")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data[: len(data) // 2])
            h.wfile.flush()
            h.close_connection = True
            return
        self._send(h, status, body, "application/json; charset=utf-8")

    @staticmethod
    def _send(
        h: BaseHTTPRequestHandler, status: int, body: str, ctype: str, headers: dict[str, str] | None = None
    ) -> None:
        data = body.encode("utf-8")
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def _titles_of(self, params: dict[str, str]) -> tuple[str, ...]:
        names = [t.replace("_", " ") for t in params.get("titles", "").split("|") if t]
        for pid in params.get("pageids", "").split("|"):
            if pid.isdigit():
                page = self.wiki.by_id(int(pid))
                names.append(page.title if page else f"#{pid}")
        if "cmtitle" in params:
            names.append(params["cmtitle"].replace("_", " "))
        return tuple(names)

    # -- the MediaWiki API ---------------------------------------------------------------------------------

    def _api(self, params: dict[str, str]) -> dict[str, Any]:
        if params.get("action") != "query" or params.get("format") != "json":
            return {"error": {"code": "badvalue", "info": "only action=query&format=json is served here"}}
        if params.get("list") == "categorymembers":
            return self._categorymembers(params)
        return self._prop_query(params)

    def _categorymembers(self, params: dict[str, str]) -> dict[str, Any]:
        cat = params["cmtitle"].replace("_", " ")
        members = self.wiki.members.get(cat, [])
        start = int(params.get("cmcontinue", "0|0").split("|")[1]) if "cmcontinue" in params else 0
        chunk = members[start : start + self.page_size]
        out: dict[str, Any] = {"batchcomplete": ""}
        if start + self.page_size < len(members):
            nxt = members[start + self.page_size]
            out = {
                "continue": {
                    "cmcontinue": f"14|{start + self.page_size}|{nxt.replace(' ', '_')}",
                    "continue": "-||",
                }
            }
        out["query"] = {
            "categorymembers": [
                {"pageid": self.wiki.pages[t].page_id, "ns": self.wiki.pages[t].ns, "title": t} for t in chunk
            ]
        }
        return out

    def _prop_query(self, params: dict[str, str]) -> dict[str, Any]:
        props = set(params.get("prop", "").split("|"))
        query: dict[str, Any] = {}
        requested: list[tuple[str, FakePage | None, str]] = []  # (title or id, page, key kind)
        normalized, redirects = [], []
        for raw in [t for t in params.get("titles", "").split("|") if t]:
            name = raw.replace("_", " ")
            if name != raw:
                normalized.append({"from": raw, "to": name})
            page = self.wiki.pages.get(name)
            if page is not None and page.redirect_to and params.get("redirects"):
                redirects.append({"from": name, "to": page.redirect_to})
                name, page = page.redirect_to, self.wiki.pages.get(page.redirect_to)
            requested.append((name, page, "title"))
        for raw in [p for p in params.get("pageids", "").split("|") if p]:
            requested.append((raw, self.wiki.by_id(int(raw)) if raw.isdigit() else None, "pageid"))
        if normalized:
            query["normalized"] = normalized
        if redirects:
            query["redirects"] = redirects
        pages: dict[str, Any] = {}
        missing = 0
        for name, page, kind in requested:
            if page is None:
                if kind == "pageid":
                    pages[name] = {"pageid": int(name), "missing": ""}
                else:
                    missing += 1
                    pages[str(-missing)] = {"ns": 0, "title": name, "missing": ""}
                continue
            entry: dict[str, Any] = {"pageid": page.page_id, "ns": page.ns, "title": page.title}
            if "info" in props:
                entry.update(
                    {
                        "contentmodel": "wikitext",
                        "pagelanguage": "en",
                        "pagelanguagehtmlcode": "en",
                        "pagelanguagedir": "ltr",
                        "touched": "2026-03-27T09:26:22Z",
                        "lastrevid": page.revision_id,
                        "length": len(page.text.encode("utf-8")),
                    }
                )
                if page.redirect_to:
                    entry["redirect"] = ""
            if "pageprops" in props and page.disambiguation:
                entry["pageprops"] = {"disambiguation": ""}
            if "extracts" in props:
                entry["extract"] = page.text
            pages[str(page.page_id)] = entry
        query["pages"] = pages
        return {"batchcomplete": "", "query": query}
