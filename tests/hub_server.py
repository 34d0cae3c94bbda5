"""A small, real stand-in for the Hugging Face Hub API, served on 127.0.0.1 for tests.

It implements the routes ``huggingface_hub`` 2.4 calls to create a dataset repository, commit files and tag a
commit, and keeps everything in memory so a test can inspect exactly what was uploaded:

- ``POST /api/repos/create`` (409 when the repository exists, like the Hub)
- ``POST /api/validate-yaml`` (called by ``create_commit`` before uploading a ``README.md``)
- ``GET  /api/{type}s/{repo}[/revision/{revision}]`` (repository info; ``create_repo`` asks it after a 401/403)
- ``GET  /api/{type}s/{repo}/refs``
- ``GET  /api/{type}s/{repo}/tree/{revision}[/{path}]`` (``list_repo_tree`` / ``list_repo_files``)
- ``POST /api/{type}s/{repo}/preupload/{revision}`` (every file is ``regular``: inline in the commit, no LFS)
- ``POST /api/{type}s/{repo}/commit/{revision}`` (NDJSON body, base64 file contents decoded and stored)
- ``POST /api/{type}s/{repo}/tag/{revision}`` (409 when the tag exists)

and the read routes ``datasets.load_dataset`` / ``hf_hub_download`` / ``HfFileSystem`` call to load a published
repository by id and revision:

- ``POST /api/{type}s/{repo}/paths-info/{revision}`` (form body ``paths=...``; unknown paths are left out)
- ``GET /api/agent-harnesses`` (public, no token needed: an empty registry; ``huggingface_hub`` asks for it)
- ``GET|HEAD /[{type}s/]{repo}/resolve/{revision}/{path}`` (the file's bytes, ``Range`` honoured, with the
  headers ``huggingface_hub`` reads: ``X-Repo-Commit``, ``ETag``/``X-Linked-Etag``, ``Content-Length``/
  ``X-Linked-Size``)

Every revision (branch, tag or commit id) resolves to a commit, and every commit keeps its own file snapshot, so
an old tag keeps serving the bytes it was created on. :attr:`StubHub.downloads` lists ``(repo, commit, path)``
for each file body served.

Every request is recorded (method, path, headers including ``Authorization``, body). With ``token=...`` the
server answers 401 ``Invalid credentials in Authorization header`` to any request not carrying that bearer
token; :meth:`StubHub.inject_error` makes one route fail with a chosen status. Requests to routes it does not
know are answered 404 and listed in :attr:`StubHub.unhandled`, so a test can assert the client stayed on the
routes above.

``huggingface_hub`` refuses all network access while ``HF_HUB_OFFLINE`` is set (``tests/conftest.py`` sets it);
wrap the calls in :func:`hub_online` to lift that for the duration.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

_REPO_ROUTE = re.compile(
    r"^/api/(?P<type>models|datasets|spaces)/(?P<repo>[^/]+(?:/[^/]+)?)"
    r"/(?P<action>refs|tree|preupload|commit|tag|revision|paths-info)(?:/(?P<rest>.*))?$"
)
_RESOLVE_ROUTE = re.compile(
    r"^/(?:(?P<type>datasets|spaces)/)?(?P<repo>[^/]+/[^/]+)/(?P<action>resolve)/(?P<rest>.+)$"
)
_RANGE = re.compile(r"^bytes=(?P<start>\d*)-(?P<end>\d*)$")
#: HTTP methods each route answers (anything else is unhandled).
_METHODS = {
    "info": ("GET",),
    "refs": ("GET",),
    "tree": ("GET",),
    "resolve": ("GET", "HEAD"),
    "agent-harnesses": ("GET",),
}
#: Routes the real Hub serves without authentication (``huggingface_hub`` calls them with no token).
_PUBLIC = ("agent-harnesses",)
_INFO_ROUTE = re.compile(r"^/api/(?P<type>models|datasets|spaces)/(?P<repo>[^/]+(?:/[^/]+)?)$")
INVALID_CREDENTIALS = "Invalid credentials in Authorization header"
_STUB_DATE = "2026-01-01T00:00:00.000Z"


def git_blob_oid(content: bytes) -> str:
    """The git object id of a blob (what the Hub reports as a regular file's ``oid``)."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @property
    def authorization(self) -> str | None:
        """The ``Authorization`` header, if any."""
        return self.headers.get("authorization")


@dataclass
class Commit:
    """One commit on a stub repository: its id, message and the full file tree after it."""

    oid: str
    summary: str
    description: str
    files: dict[str, bytes]


@dataclass
class Repo:
    """An in-memory repository: ``main`` plus tags, each pointing at a commit."""

    repo_id: str
    repo_type: str
    private: bool
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def head(self) -> Commit:
        """The commit ``main`` points at."""
        return self.commits[self.branches["main"]]

    @property
    def files(self) -> dict[str, bytes]:
        """The files on ``main``."""
        return self.head.files

    def resolve(self, revision: str) -> Commit | None:
        """A commit by branch name, tag name or full commit id; ``None`` if unknown."""
        oid = self.branches.get(revision) or self.tags.get(revision) or revision
        return self.commits.get(oid)

    def resolve_prefix(self, rest: str) -> tuple[Commit, str] | None:
        """Split ``<revision>/<path>`` where the revision may itself contain ``/``: the shortest known revision."""
        parts = rest.split("/")
        for cut in range(1, len(parts)):
            commit = self.resolve("/".join(parts[:cut]))
            if commit is not None:
                return commit, "/".join(parts[cut:])
        return None


class StubHub:
    """A Hub stand-in on ``127.0.0.1`` at a free port; use as a context manager (starts and stops the server).

    Args:
        token: if set, every request must carry ``Authorization: Bearer <token>`` or is answered 401.
    """

    def __init__(self, token: str | None = None) -> None:
        self.token = token
        self.repos: dict[str, Repo] = {}
        self.requests: list[RecordedRequest] = []
        self.unhandled: list[RecordedRequest] = []
        self.downloads: list[tuple[str, str, str]] = []
        self._errors: dict[str, tuple[int, str]] = {}
        self._replies: dict[str, object] = {}
        self._lock = threading.Lock()
        self._oids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle
    @property
    def endpoint(self) -> str:
        """Base URL to pass as ``HfApi(endpoint=...)``."""
        if self._server is None:
            raise RuntimeError("StubHub is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> StubHub:
        """Start serving in a background thread."""
        hub = self

        class Handler(_Handler):
            stub = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="stub-hub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> StubHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- test controls
    def inject_error(self, action: str, status: int, message: str = "injected error") -> None:
        """Answer every later request for ``action`` with ``status`` and ``{"error": message}``.

        ``action`` is ``"create"``, ``"validate-yaml"``, ``"info"``, ``"refs"``, ``"tree"``, ``"preupload"``, ``"commit"``,
        ``"tag"``, ``"paths-info"`` or ``"resolve"``.
        """
        self._errors[action] = (status, message)

    def inject_reply(self, action: str, payload: object) -> None:
        """Answer every later request for ``action`` with 200 and ``payload`` as JSON (a server that is not the
        Hub, or a changed API: the client gets JSON it does not expect)."""
        self._replies[action] = payload

    def seed_repo(
        self,
        repo_id: str,
        files: dict[str, bytes] | None = None,
        *,
        tags: tuple[str, ...] = (),
        repo_type: str = "dataset",
        private: bool = False,
    ) -> Repo:
        """Create a repository directly (no request), with ``files`` committed on ``main`` and ``tags`` on it."""
        repo = self._create_repo(repo_id, repo_type, private)
        if files:
            self._commit(repo, "seed", "", {**repo.files, **files})
        for tag in tags:
            repo.tags[tag] = repo.branches["main"]
        return repo

    def add_commit(
        self, repo: Repo, files: dict[str, bytes], *, summary: str = "update", oid: str | None = None
    ) -> Commit:
        """Commit ``files`` (replacing or adding to main's) on ``main``; ``oid`` chooses the commit id, e.g. to
        serve the exact commit a spec pins."""
        commit = self._commit(repo, summary, "", {**repo.files, **files})
        if oid is not None:
            del repo.commits[commit.oid]
            commit.oid = oid
            repo.commits[oid] = commit
            repo.branches["main"] = oid
        return commit

    def requests_to(self, action: str) -> list[RecordedRequest]:
        """Recorded requests whose route is ``action`` (see :meth:`inject_error`)."""
        return [r for r in self.requests if _action_of(r.path) == action]

    # ----------------------------------------------------------------- repository model
    def _new_oid(self) -> str:
        return hashlib.sha1(f"stub-commit-{next(self._oids)}".encode()).hexdigest()

    def _create_repo(self, repo_id: str, repo_type: str, private: bool) -> Repo:
        repo = Repo(repo_id=repo_id, repo_type=repo_type, private=private)
        # Like the Hub, a new repository starts with one commit holding a .gitattributes file.
        self._commit(
            repo, "initial commit", "", {".gitattributes": b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"}
        )
        self.repos[repo_id] = repo
        return repo

    def _commit(self, repo: Repo, summary: str, description: str, files: dict[str, bytes]) -> Commit:
        commit = Commit(oid=self._new_oid(), summary=summary, description=description, files=dict(files))
        repo.commits[commit.oid] = commit
        repo.branches["main"] = commit.oid
        return commit


def _action_of(path: str) -> str | None:
    if path == "/api/repos/create":
        return "create"
    if path == "/api/validate-yaml":
        return "validate-yaml"
    if path == "/api/agent-harnesses":
        return "agent-harnesses"
    match = _REPO_ROUTE.match(path)
    if match:
        return "info" if match["action"] == "revision" else match["action"]
    if _INFO_ROUTE.match(path):
        return "info"
    return "resolve" if _RESOLVE_ROUTE.match(path) else None


class _Handler(BaseHTTPRequestHandler):
    """Request handler bound to one :class:`StubHub` (set as the ``stub`` class attribute)."""

    stub: StubHub
    server_version = "StubHub/1.0"

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # ----------------------------------------------------------------- plumbing
    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        self._send_bytes(status, json.dumps(payload).encode(), "application/json", headers)

    def _send_bytes(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        """Send ``body`` (only its length for a HEAD request)."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, message: str, code: str | None = None) -> None:
        headers = {"X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        self._send(status, {"error": message}, headers)

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path)
        record = RecordedRequest(
            method=method,
            path=path,
            query=parse_qs(url.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self._read_body(),
        )
        stub = self.stub
        with stub._lock:
            stub.requests.append(record)
            action = _action_of(path)
            if (
                stub.token is not None
                and action not in _PUBLIC
                and record.authorization != f"Bearer {stub.token}"
            ):
                return self._error(401, INVALID_CREDENTIALS)
            if action in stub._errors:
                return self._error(*stub._errors[action])
            if action in stub._replies:
                return self._send(200, stub._replies[action])
            route = getattr(self, f"_route_{(action or '').replace('-', '_')}", None)
            if route is None or method not in _METHODS.get(action or "", ("POST",)):
                stub.unhandled.append(record)
                return self._error(404, f"stub hub: no route for {method} {path}")
            try:
                route(record)
            except Exception as exc:  # a malformed request: answer 400 (a 5xx would make the client retry)
                stub.unhandled.append(record)
                self._error(400, f"stub hub could not handle {method} {path}: {type(exc).__name__}: {exc}")

    def _repo(self, record: RecordedRequest) -> tuple[Repo | None, str | None]:
        match = (
            _REPO_ROUTE.match(record.path)
            or _INFO_ROUTE.match(record.path)
            or _RESOLVE_ROUTE.match(record.path)
        )
        assert match is not None
        repo = self.stub.repos.get(match["repo"])
        if repo is None or f"{repo.repo_type}s" != (match["type"] or "models"):
            self._error(404, "Repository not found", "RepoNotFound")
            return None, None
        return repo, match.groupdict().get("rest")

    def _route_info(self, record: RecordedRequest) -> None:
        repo, rest = self._repo(record)
        if repo is None:
            return
        commit = repo.resolve(rest or "main")
        if commit is None:
            return self._error(404, f"Invalid rev id: {rest}", "RevisionNotFound")
        siblings = [{"rfilename": path} for path in sorted(commit.files)]
        self._send(
            200,
            {
                "id": repo.repo_id,
                "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24],
                "author": repo.repo_id.split("/")[0] if "/" in repo.repo_id else None,
                "sha": commit.oid,
                "private": repo.private,
                "disabled": False,
                "gated": False,
                "tags": [],
                "siblings": siblings,
                "lastModified": _STUB_DATE,
                "createdAt": _STUB_DATE,
            },
        )

    def _last_commit(self, commit: Commit) -> dict[str, str]:
        return {"id": commit.oid, "title": commit.summary, "date": _STUB_DATE}

    def _entry(self, commit: Commit, path: str, expand: bool) -> dict | None:
        """A ``paths-info``/``tree`` entry for a file or folder of ``commit``; ``None`` if neither."""
        if path in commit.files:
            content = commit.files[path]
            entry: dict = {"type": "file", "path": path, "size": len(content), "oid": git_blob_oid(content)}
        elif path == "" or any(p.startswith(path.rstrip("/") + "/") for p in commit.files):
            entry = {"type": "directory", "path": path.rstrip("/"), "oid": "0" * 40}
        else:
            return None
        if expand:
            entry["lastCommit"] = self._last_commit(commit)
        return entry

    def _route_agent_harnesses(self, record: RecordedRequest) -> None:
        # The registry huggingface_hub fetches (once a day, without a token) to detect AI agents: an empty one.
        self._send(200, {"standardEnvVars": [], "harnesses": {}})

    def _route_paths_info(self, record: RecordedRequest) -> None:
        repo, rest = self._repo(record)
        if repo is None:
            return
        commit = repo.resolve(rest or "main")
        if commit is None:
            return self._error(404, f"Invalid rev id: {rest}", "RevisionNotFound")
        form = parse_qs(record.body.decode(), keep_blank_values=True)
        if "json" in record.headers.get("content-type", ""):
            payload = json.loads(record.body)
            paths, expand = payload.get("paths", []), bool(payload.get("expand"))
        else:
            paths = form.get("paths", [])
            expand = form.get("expand", ["False"])[0].lower() == "true"
        entries = [self._entry(commit, path.strip("/"), expand) for path in paths]
        self._send(200, [entry for entry in entries if entry is not None])

    def _route_resolve(self, record: RecordedRequest) -> None:
        repo, rest = self._repo(record)
        if repo is None:
            return
        found = repo.resolve_prefix(rest or "")
        if found is None:
            return self._error(404, f"Invalid rev id: {rest}", "RevisionNotFound")
        commit, path = found
        if path not in commit.files:
            return self._error(404, f"Entry not found: {path}", "EntryNotFound")
        content = commit.files[path]
        etag = f'"{git_blob_oid(content)}"'
        headers = {
            "X-Repo-Commit": commit.oid,
            "ETag": etag,
            "X-Linked-Etag": etag,
            "X-Linked-Size": str(len(content)),
            "Accept-Ranges": "bytes",
        }
        status, body = 200, content
        match = _RANGE.match(record.headers.get("range", "").strip())
        if match and (match["start"] or match["end"]):
            size = len(content)
            if match["start"]:
                start = int(match["start"])
                end = min(int(match["end"]) if match["end"] else size - 1, size - 1)
            else:  # suffix range: the last N bytes
                start, end = max(size - int(match["end"]), 0), size - 1
            if start >= size or start > end:
                headers["Content-Range"] = f"bytes */{size}"
                return self._send_bytes(416, b"", "text/plain", headers)
            status, body = 206, content[start : end + 1]
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        if record.method == "GET":
            self.stub.downloads.append((repo.repo_id, commit.oid, path))
        self._send_bytes(status, body, "application/octet-stream", headers)

    # ----------------------------------------------------------------- routes
    def _route_create(self, record: RecordedRequest) -> None:
        payload = json.loads(record.body)
        name, org = payload["name"], payload.get("organization")
        repo_type = payload.get("type") or "model"
        repo_id = f"{org}/{name}" if org else name
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        url = f"{self.stub.endpoint}/{prefix}{repo_id}"
        if repo_id in self.stub.repos:
            return self._send(409, {"error": "You already created this repo", "url": url})
        self.stub._create_repo(repo_id, repo_type, payload.get("visibility") == "private")
        self._send(200, {"url": url, "name": repo_id})

    def _route_validate_yaml(self, record: RecordedRequest) -> None:
        content = json.loads(record.body).get("content", "")
        if not content.startswith("---\n"):
            return self._send(
                200, {"errors": [], "warnings": [{"message": "empty or missing yaml metadata"}]}
            )
        self._send(200, {"errors": [], "warnings": []})

    def _route_refs(self, record: RecordedRequest) -> None:
        repo, _ = self._repo(record)
        if repo is None:
            return

        def refs(kind: str, names: dict[str, str]) -> list[dict[str, str]]:
            return [{"name": n, "ref": f"refs/{kind}/{n}", "targetCommit": oid} for n, oid in names.items()]

        self._send(
            200, {"branches": refs("heads", repo.branches), "converts": [], "tags": refs("tags", repo.tags)}
        )

    def _route_tree(self, record: RecordedRequest) -> None:
        repo, rest = self._repo(record)
        if repo is None:
            return
        revision, _, folder = (rest or "main").partition("/")
        commit = repo.resolve(revision)
        if commit is None:
            return self._error(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        recursive = record.query.get("recursive", ["false"])[0].lower() == "true"
        prefix = f"{folder.rstrip('/')}/" if folder else ""
        if folder and not any(p.startswith(prefix) for p in commit.files):
            return self._error(404, f"{folder} does not exist", "EntryNotFound")
        entries: dict[str, dict] = {}
        for path, content in sorted(commit.files.items()):
            if not path.startswith(prefix):
                continue
            rel_parts = path[len(prefix) :].split("/")
            for depth in range(1, len(rel_parts)):
                folder_path = prefix + "/".join(rel_parts[:depth])
                entries.setdefault(folder_path, {"type": "directory", "path": folder_path, "oid": "0" * 40})
                if not recursive:
                    break
            if recursive or len(rel_parts) == 1:
                entries[path] = {
                    "type": "file",
                    "path": path,
                    "size": len(content),
                    "oid": git_blob_oid(content),
                }
        if record.query.get("expand", ["false"])[0].lower() == "true":
            for entry in entries.values():
                entry["lastCommit"] = self._last_commit(commit)
        self._send(200, list(entries.values()))

    def _route_preupload(self, record: RecordedRequest) -> None:
        repo, rest = self._repo(record)
        if repo is None:
            return
        commit = repo.resolve(rest or "main")
        existing = commit.files if commit else {}
        files = []
        for item in json.loads(record.body)["files"]:
            entry = {"path": item["path"], "uploadMode": "regular", "shouldIgnore": False}
            if item["path"] in existing:
                entry["oid"] = git_blob_oid(existing[item["path"]])
            files.append(entry)
        self._send(200, {"files": files, "commitOid": commit.oid if commit else None})

    def _route_commit(self, record: RecordedRequest) -> None:
        repo, rest = self._repo(record)
        if repo is None:
            return
        if (rest or "main") != "main":
            return self._error(
                404, f"stub hub: only commits to main are supported, not {rest}", "RevisionNotFound"
            )
        lines = [json.loads(line) for line in record.body.splitlines() if line.strip()]
        if not lines or lines[0].get("key") != "header":
            return self._error(400, "commit body must start with a header line")
        header = lines[0]["value"]
        parent = header.get("parentCommit")
        if parent is not None and parent != repo.branches["main"]:
            return self._error(412, "A commit has happened since. Please refresh and try again.")
        files = dict(repo.files)
        for line in lines[1:]:
            key, value = line["key"], line["value"]
            if key == "file":
                if value.get("encoding") != "base64":
                    return self._error(400, f"unsupported encoding {value.get('encoding')!r}")
                files[value["path"]] = base64.b64decode(value["content"])
            elif key == "deletedFile":
                if files.pop(value["path"], None) is None:
                    return self._error(404, "A file with this name doesn't exist", "EntryNotFound")
            elif key == "deletedFolder":
                prefix = value["path"].rstrip("/") + "/"
                files = {p: c for p, c in files.items() if not p.startswith(prefix)}
            else:
                return self._error(
                    400, f"stub hub: unsupported commit operation {key!r} (only regular files)"
                )
        commit = self.stub._commit(repo, header.get("summary", ""), header.get("description", ""), files)
        prefix = "" if repo.repo_type == "model" else f"{repo.repo_type}s/"
        url = f"{self.stub.endpoint}/{prefix}{repo.repo_id}/commit/{commit.oid}"
        self._send(200, {"success": True, "commitUrl": url, "commitOid": commit.oid})

    def _route_tag(self, record: RecordedRequest) -> None:
        repo, rest = self._repo(record)
        if repo is None:
            return
        commit = repo.resolve(rest or "main")
        if commit is None:
            return self._error(404, f"Invalid rev id: {rest}", "RevisionNotFound")
        tag = json.loads(record.body)["tag"]
        if tag in repo.tags:
            return self._error(409, f"Tag {tag} already exists")
        repo.tags[tag] = commit.oid
        self._send(200, {"name": tag, "ref": f"refs/tags/{tag}", "targetCommit": commit.oid})


def stub_env(stub: StubHub, hf_home: str | os.PathLike[str], **extra: str) -> dict[str, str]:
    """Environment for a fresh process whose only Hub is ``stub``: this process's variables without any ``HF_*``,
    online, an empty ``hf_home`` (so nothing comes from a cache), no telemetry or progress bars, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HF_", "HUGGINGFACE_")) and k != "TRANSFORMERS_OFFLINE"
    }
    env.update(
        HF_ENDPOINT=stub.endpoint,
        HF_HOME=str(hf_home),
        HF_HUB_OFFLINE="0",
        HF_DATASETS_OFFLINE="0",
        TRANSFORMERS_OFFLINE="0",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_DATASETS_DISABLE_PROGRESS_BARS="1",
        OMP_NUM_THREADS="1",
        **extra,
    )
    return env


@contextlib.contextmanager
def hub_online() -> Iterator[None]:
    """Let ``huggingface_hub`` make requests while inside the block, whatever ``HF_HUB_OFFLINE`` says.

    ``huggingface_hub.constants.HF_HUB_OFFLINE`` is read once at import (from ``HF_HUB_OFFLINE`` or
    ``TRANSFORMERS_OFFLINE``) and checked by ``is_offline_mode()`` before every request, so both the constant and
    the environment variables are switched off, then restored on exit.
    """
    from huggingface_hub import constants

    saved_constant = constants.HF_HUB_OFFLINE
    saved_env = {name: os.environ.get(name) for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    constants.HF_HUB_OFFLINE = False
    for name in saved_env:
        os.environ[name] = "0"
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = saved_constant
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
