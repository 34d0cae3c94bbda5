"""`gonerd publish` against a real HTTP stand-in for the Hub (tests/hub_server.py) on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import re
import socket
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from huggingface_hub import constants

from gonerd.annotate import PipelineInfo
from gonerd.build import _write_dataset
from gonerd.errors import GonerdError
from gonerd.publish import PublishResult, format_publish_plan, publish, publishable_files
from gonerd.records import AnnotatedArticle
from hub_server import StubHub, hub_online

REPO = "gonerd-org/gonerd"
TOKEN = "hf_TestSecretTokenDoNotLeak1234567890"
PARQUET = [
    "data/conll/test-00000-of-00001.parquet",
    "data/conll/train-00000-of-00001.parquet",
    "data/default/test-00000-of-00001.parquet",
    "data/default/train-00000-of-00001.parquet",
]
EXPECTED = sorted(["LICENSE", "README.md", "manifest.json", *PARQUET])
PIPELINE = PipelineInfo(
    "en_core_web_sm", "en_core_web_sm", "en_core_web_sm", "3.8.0", "3.8.0", ("tok2vec", "parser", "ner"), ()
)


def _article(page_id: int, tokens: list[str], tags: list[str]) -> AnnotatedArticle:
    return AnnotatedArticle(
        str(page_id), f"A{page_id}", None, page_id, page_id * 10, None, tokens, [" "] * len(tokens), tags
    )


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """A tiny dataset folder that passes `gonerd validate` (ids 1 and 5 hash to train and test), plus the
    package and cache files that must never be uploaded."""
    root = tmp_path / "gonerd"
    root.mkdir()
    articles = [
        _article(1, ["Paris", "is", "in", "France"], ["B-GPE", "O", "O", "B-GPE"]),
        _article(5, ["Ada", "Lovelace", "wrote"], ["B-PERSON", "I-PERSON", "O"]),
    ]
    source = {"kind": "jsonl", "file": "articles.jsonl", "sha256": "0" * 64, "articles": 2}
    _write_dataset(root, articles, 250, "0.1.0", source, PIPELINE, 8, [])
    (root / "LICENSE").write_text("CC BY-SA 4.0\n", encoding="utf-8")
    (root / "foo.py").write_text("print('not data')\n", encoding="utf-8")
    (root / "__init__.py").write_text("", encoding="utf-8")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "x.pyc").write_bytes(b"\x00pyc")
    (root / ".gonerd-cache" / "data").mkdir(parents=True)
    (root / ".gonerd-cache" / "data" / "stale.parquet").write_bytes(b"cache")
    (root / "data" / "default" / ".hidden.parquet").write_bytes(b"hidden")
    assert sorted(p.relative_to(root).as_posix() for p in root.glob("data/*/[!.]*.parquet")) == PARQUET
    return root


@pytest.fixture
def no_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No token anywhere: no HF_TOKEN and no saved login."""
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-login" / "token"))


@pytest.fixture
def hub():
    """A running stub Hub that only accepts TOKEN, with huggingface_hub's offline mode lifted meanwhile."""
    with StubHub(token=TOKEN) as server, hub_online():
        yield server
    assert server.unhandled == [], [f"{r.method} {r.path}" for r in server.unhandled]


def _publish(dataset: Path, hub: StubHub, **kwargs) -> PublishResult:
    kwargs.setdefault("token", TOKEN)
    return publish(dataset, REPO, endpoint=hub.endpoint, **kwargs)


def test_publishable_files_excludes_package_cache_and_hidden(dataset: Path) -> None:
    assert publishable_files(dataset) == EXPECTED


def test_dry_run_lists_files_and_sends_nothing(dataset: Path, no_login: None) -> None:
    with StubHub() as hub, hub_online():
        result = publish(dataset, REPO, dry_run=True, endpoint=hub.endpoint)
    assert hub.requests == []
    assert result.files == EXPECTED
    assert result.dry_run and result.commit_oid is None and result.tag == "v0.1.0"
    assert result.sizes == {rel: (dataset / rel).stat().st_size for rel in EXPECTED}
    plan = format_publish_plan(result)
    assert plan.splitlines()[0].startswith("Would upload 7 files, ") and "v0.1.0" in plan
    assert [line.split()[-1] for line in plan.splitlines()[1:-1]] == EXPECTED
    assert "foo.py" not in plan and "pyc" not in plan and "cache" not in plan


def test_publish_uploads_exactly_the_dataset_and_tags_it(dataset: Path, hub: StubHub) -> None:
    result = _publish(dataset, hub, private=True)

    repo = hub.repos[REPO]
    assert repo.repo_type == "dataset" and repo.private is True
    create = json.loads(hub.requests_to("create")[0].body)
    assert create["type"] == "dataset" and create["visibility"] == "private"
    uploaded = {p: c for p, c in repo.files.items() if p != ".gitattributes"}
    assert sorted(uploaded) == EXPECTED
    for rel, content in uploaded.items():
        assert content == (dataset / rel).read_bytes(), rel
    assert len(hub.requests_to("commit")) == 1
    assert repo.head.summary == "Publish GONERD v0.1.0"
    assert repo.tags == {"v0.1.0": result.commit_oid} and repo.branches["main"] == result.commit_oid
    assert result == PublishResult(
        REPO,
        EXPECTED,
        result.commit_oid,
        "v0.1.0",
        f"{hub.endpoint}/datasets/{REPO}/tree/v0.1.0",
        {rel: (dataset / rel).stat().st_size for rel in EXPECTED},
        [],
        False,
    )
    assert re.fullmatch(r"[0-9a-f]{40}", result.commit_oid or "")
    assert all(r.authorization == f"Bearer {TOKEN}" for r in hub.requests)
    assert result.commit_oid in format_publish_plan(result)


def test_next_version_replaces_stale_shards_in_one_commit(dataset: Path, hub: StubHub) -> None:
    old = "data/default/train-00000-of-00002.parquet"
    seeded = hub.seed_repo(REPO, {old: b"old shard", "README.md": b"old card"}, tags=("v0.0.9",))
    previous_head = seeded.branches["main"]
    result = _publish(dataset, hub)
    files = hub.repos[REPO].files
    assert old not in files and files["README.md"] == (dataset / "README.md").read_bytes()
    assert result.deleted == [old]
    assert hub.repos[REPO].tags["v0.0.9"] != result.commit_oid
    header = json.loads(hub.requests_to("commit")[0].body.splitlines()[0])
    assert header["value"]["parentCommit"] == previous_head


def test_missing_token_says_how_to_log_in_and_sends_nothing(dataset: Path, no_login: None) -> None:
    with StubHub() as hub, hub_online(), pytest.raises(GonerdError, match=r"hf auth login.*HF_TOKEN") as info:
        publish(dataset, REPO, endpoint=hub.endpoint)
    assert "token=" not in str(info.value)  # the CLI has no such option
    assert hub.requests == []


def test_token_from_environment_is_used(dataset: Path, hub: StubHub, no_login, monkeypatch) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert _publish(dataset, hub, token=None).tag == "v0.1.0"
    assert hub.requests and all(r.authorization == f"Bearer {TOKEN}" for r in hub.requests)


def test_rejected_token_is_a_clear_error_and_never_shown(
    dataset: Path, hub: StubHub, capsys: pytest.CaptureFixture, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "hf_WrongSecretTokenDoNotLeak0987654321"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(GonerdError) as info:
        _publish(dataset, hub, token=wrong)
    message = str(info.value)
    assert "401" in message and "hf auth login" in message and "\n" not in message
    assert hub.requests and not hub.requests_to("commit") and REPO not in hub.repos
    captured = capsys.readouterr()
    exposed = [message, repr(info.value), captured.out, captured.err, caplog.text]
    exposed += [p.read_bytes().decode("latin-1") for p in dataset.parent.rglob("*") if p.is_file()]
    assert not any(wrong in text for text in exposed)


def test_token_never_shown_after_success(
    dataset: Path, hub: StubHub, capsys: pytest.CaptureFixture, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    result = _publish(dataset, hub)
    captured = capsys.readouterr()
    exposed = [repr(result), format_publish_plan(result), captured.out, captured.err, caplog.text]
    exposed += [p.read_bytes().decode("latin-1") for p in dataset.parent.rglob("*") if p.is_file()]
    assert caplog.records and not any(TOKEN in text for text in exposed)


def test_existing_tag_is_refused_before_committing(dataset: Path, hub: StubHub) -> None:
    hub.seed_repo(REPO, tags=("v0.1.0",))
    with pytest.raises(GonerdError, match=r"tag v0\.1\.0 already exists.*immutable"):
        _publish(dataset, hub)
    assert hub.requests_to("commit") == [] and hub.requests_to("tag") == []


def test_tag_conflict_at_tagging_time_is_a_clear_error(dataset: Path, hub: StubHub) -> None:
    hub.inject_error("tag", 409, "Tag v0.1.0 already exists")
    with pytest.raises(GonerdError, match=r"tag v0\.1\.0 already exists \(409\).*committed as [0-9a-f]{40}"):
        _publish(dataset, hub)


@pytest.mark.parametrize(
    ("action", "status", "expected"),
    [
        (
            "create",
            403,
            r"\(403 Forbidden\) while creating the repository; use a token with write access to gonerd-org",
        ),
        ("preupload", 404, r"not found on .* \(404\) while uploading the files"),
        ("commit", 409, r"answered 409 while uploading the files \(conflict\)"),
    ],
)
def test_hub_http_errors_become_one_line(
    dataset: Path, hub: StubHub, action: str, status: int, expected: str
):
    hub.inject_error(action, status, "conflict" if status == 409 else "nope")
    with pytest.raises(GonerdError, match=expected) as info:
        _publish(dataset, hub)
    assert "\n" not in str(info.value) and TOKEN not in str(info.value)


def test_token_that_cannot_create_repos_can_still_publish_to_an_existing_one(
    dataset: Path, hub: StubHub
) -> None:
    hub.seed_repo(REPO)
    hub.inject_error("create", 403, "You don't have the rights to create a dataset under this namespace")
    result = _publish(dataset, hub)
    assert hub.requests_to("info") and hub.repos[REPO].tags == {"v0.1.0": result.commit_oid}


def test_private_flag_does_not_change_an_existing_public_repo(dataset: Path, hub: StubHub, caplog) -> None:
    hub.seed_repo(REPO, private=False)
    _publish(dataset, hub, private=True)
    assert hub.requests_to("create") == [] and hub.repos[REPO].private is False
    assert "already exists and is public" in caplog.text


def test_unreachable_hub_and_offline_mode(dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with (
        hub_online(),
        pytest.raises(
            GonerdError,
            match=r"cannot reach the Hub at http://127.0.0.1:\d+ while looking up the repository \(ConnectError\)",
        ),
    ):
        publish(dataset, REPO, token=TOKEN, endpoint=closed)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(GonerdError, match=r"offline mode: unset HF_HUB_OFFLINE"):
        publish(dataset, REPO, token=TOKEN, endpoint=closed)


def test_sha_mismatch_is_refused_before_any_request(dataset: Path, hub: StubHub) -> None:
    with open(dataset / PARQUET[1], "ab") as fh:
        fh.write(b"tampered")
    with pytest.raises(GonerdError, match=rf"{re.escape(PARQUET[1])} does not match its sha256"):
        _publish(dataset, hub)
    assert hub.requests == []


def test_unlisted_parquet_is_refused(dataset: Path, hub: StubHub) -> None:
    extra = dataset / "data" / "default" / "validation-00000-of-00001.parquet"
    pq.write_table(pa.table({"id": ["x"]}), extra)
    with pytest.raises(
        GonerdError, match=r"validation-00000-of-00001\.parquet is not listed in manifest\.json"
    ):
        _publish(dataset, hub, dry_run=True)


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("0.1.0", r"not a semantic version tag"),
        ("v0.1", r"not a semantic version tag"),
        ("v01.1.0", r"not a semantic version tag"),
        ("release-1", r"not a semantic version tag"),
        ("v0.2.0", r"does not match the dataset version 0\.1\.0"),
    ],
)
def test_bad_revision_tag_is_refused(dataset: Path, hub: StubHub, tag: str, expected: str) -> None:
    with pytest.raises(GonerdError, match=expected):
        _publish(dataset, hub, revision_tag=tag)
    assert hub.requests == []


def test_explicit_matching_tag_and_commit_message(dataset: Path, hub: StubHub) -> None:
    result = _publish(dataset, hub, revision_tag="v0.1.0", commit_message="GONERD 0.1.0: first release")
    assert result.tag == "v0.1.0" and hub.repos[REPO].head.summary == "GONERD 0.1.0: first release"


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda root: (root / "README.md").unlink(), r"no README\.md"),
        (lambda root: (root / "manifest.json").unlink(), r"no manifest\.json"),
        (lambda root: [p.unlink() for p in root.glob("data/*/*.parquet")], r"no Parquet files"),
        (
            lambda root: (root / "manifest.json").write_text("{", encoding="utf-8"),
            r"corrupt manifest: invalid JSON",
        ),
    ],
)
def test_incomplete_folder_is_refused(dataset: Path, breakage, expected: str) -> None:
    breakage(dataset)
    with pytest.raises(GonerdError, match=expected):
        publish(dataset, REPO, dry_run=True)


@pytest.mark.parametrize("repo_id", ["gonerd", "a/b/c", "org/", "org/na me"])
def test_bad_repo_id_is_refused(dataset: Path, repo_id: str) -> None:
    with pytest.raises(GonerdError, match="namespace/name"):
        publish(dataset, repo_id, dry_run=True)


def test_cli_publish_end_to_end_never_prints_the_token(
    dataset: Path,
    hub: StubHub,
    no_login: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    from gonerd.cli import main

    monkeypatch.setattr(constants, "ENDPOINT", hub.endpoint)  # what HF_ENDPOINT sets at import
    assert main(["publish", str(dataset), "--repo-id", REPO, "--dry-run"]) == 0
    dry = capsys.readouterr()
    assert hub.requests == [] and all(rel in dry.out for rel in EXPECTED) and "foo.py" not in dry.out

    monkeypatch.setenv("HF_TOKEN", "hf_WrongSecretTokenDoNotLeak0987654321")
    assert main(["publish", str(dataset), "--repo-id", REPO]) == 2
    failed = capsys.readouterr()
    assert (
        failed.err.count("\n") == 1 and "401" in failed.err and "WrongSecret" not in failed.out + failed.err
    )

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert main(["publish", str(dataset), "--repo-id", REPO]) == 0
    done = capsys.readouterr()
    assert "v0.1.0" in done.out and hub.repos[REPO].tags["v0.1.0"] in done.out
    assert TOKEN not in done.out + done.err
