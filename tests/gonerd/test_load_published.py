"""A published copy loads by repo id and tag: `gonerd publish` into the stub Hub, then `datasets.load_dataset`.

The dataset folders are real builds (spaCy annotation of three short Wikipedia articles from the shared
fixtures). Each load runs `datasets.load_dataset("org/gonerd", revision=...)` in a fresh Python process whose
only Hub is the stub (``HF_ENDPOINT``), with a fresh ``HF_HOME`` so nothing can come from a cache, and from an
empty working directory so no local folder named ``org/gonerd`` can be picked up instead.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import fixture_path
from gonerd.labels import label_names
from gonerd.publish import publish
from hub_server import StubHub, git_blob_oid, hub_online, stub_env

REPO = "org/gonerd"
TOKEN = "hf_LoadPublishedTestToken0123456789"
CONFIGS = ("default", "conll")
WORDS_PER_ARTICLE = 300

# Runs in the child process: load each (config, revision) and print what came back as JSON.
_LOADER = r"""
import json, sys
import datasets

out = []
for config, revision in json.loads(sys.argv[1]):
    try:
        dd = datasets.load_dataset("org/gonerd", config, revision=revision)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        if exc.__cause__ is not None:
            error += f" (caused by {type(exc.__cause__).__name__}: {exc.__cause__})"
        out.append({"config": config, "revision": revision, "error": error})
        continue
    splits = {}
    for split, ds in dd.items():
        feature = ds.features["ner_tags"]
        inner = getattr(feature, "feature", None)
        splits[split] = {
            "feature": type(feature).__name__,
            "inner": type(inner).__name__,
            "names": getattr(inner, "names", None),
            "ids": list(ds["id"]),
            "tokens": list(ds["tokens"]),
            "ner_tags": list(ds["ner_tags"]),
        }
    out.append({"config": config, "revision": revision, "splits": splits})
print("RESULT " + json.dumps(out))
"""


def _write_source(path: Path, articles: list[dict]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for article in articles:
            fh.write(json.dumps(article) + "\n")
    return path


def _truncated_articles(tmp: Path) -> list[tuple[dict, str]]:
    """The wikitext-2 sample, each article cut to WORDS_PER_ARTICLE words, with the split its id falls in."""
    from gonerd.source import read_source
    from gonerd.split import split_of

    source = fixture_path("wikipedia", "wikitext2_test_articles.jsonl")
    raw = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    for article in raw:
        article["text"] = " ".join(article["text"].split()[:WORDS_PER_ARTICLE])
    parsed = read_source(_write_source(tmp / "all.jsonl", raw))  # the ids the build will give them
    return [
        (article, split_of(parsed_article.id)) for article, parsed_article in zip(raw, parsed, strict=True)
    ]


def _one_per_split(candidates: list[tuple[dict, str]], taken: set[str]) -> list[dict]:
    """Three articles not in ``taken``, one landing in each split (datasets cannot load an empty split)."""
    picked: dict[str, dict] = {}
    for article, split in candidates:
        if article["title"] not in taken and split not in picked:
            picked[split] = article
    if len(picked) < 3:
        pytest.skip("the wikitext-2 sample has too few articles to fill train, validation and test twice")
    taken.update(a["title"] for a in picked.values())
    return list(picked.values())


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real builds of two releases with disjoint articles, one article per split: v0.1.0 and v0.2.0.

    Also ``"empty-splits"``: one article only, so two of its splits are empty Parquet files.
    """
    from gonerd.build import build

    root = tmp_path_factory.mktemp("builds")
    candidates = _truncated_articles(root)
    taken: set[str] = set()
    subsets = {
        "0.1.0": _one_per_split(candidates, taken),
        "0.2.0": _one_per_split(candidates, taken),
        "empty-splits": [candidates[0][0]],
    }
    out = {}
    for name, subset in subsets.items():
        version = name if name[0].isdigit() else "0.3.0"
        src = _write_source(root / f"source-{name}.jsonl", subset)
        out[name] = root / f"gonerd-{name}"
        build(out_dir=out[name], source=src, model="en_core_web_sm", version=version, progress=False)
    return out


def _local_rows(dataset_dir: Path, config: str) -> dict[str, dict[str, list]]:
    """What the build wrote, per split: ids, tokens and ner_tags (as ints) read straight from the Parquet files."""
    rows: dict[str, dict[str, list]] = {}
    for path in sorted((dataset_dir / "data" / config).glob("*.parquet")):
        split = path.name.split("-")[0]
        table = pq.read_table(path, columns=["id", "tokens", "ner_tags"]).to_pydict()
        acc = rows.setdefault(split, {"ids": [], "tokens": [], "ner_tags": []})
        for key, column in (("ids", "id"), ("tokens", "tokens"), ("ner_tags", "ner_tags")):
            acc[key] += table[column]
    return rows


def _load(stub: StubHub, tmp_path: Path, requests: list[tuple[str, str]], name: str) -> list[dict]:
    """Run the loader in a fresh process against the stub, with a fresh HF_HOME, online, from an empty cwd."""
    home = tmp_path / f"hf-home-{name}"
    cwd = tmp_path / f"cwd-{name}"
    home.mkdir()
    cwd.mkdir()
    env = stub_env(stub, home, HF_TOKEN=TOKEN)
    proc = subprocess.run(
        [sys.executable, "-c", _LOADER, json.dumps(requests)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert line is not None, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(line[len("RESULT ") :])


def _assert_matches(result: dict, dataset_dir: Path, rows: int = 3) -> None:
    config = result["config"]
    assert "error" not in result, result.get("error")
    local = {split: got for split, got in _local_rows(dataset_dir, config).items() if got["ids"]}
    assert set(result["splits"]) == set(local)
    names = label_names(config)
    for split, got in result["splits"].items():
        assert got["feature"] == "List" and got["inner"] == "ClassLabel", (config, split, got["feature"])
        assert got["names"] == names, (config, split)
        assert got["ids"] == local[split]["ids"], (config, split)
        assert got["tokens"] == local[split]["tokens"], (config, split)
        assert got["ner_tags"] == local[split]["ner_tags"], (config, split)
    assert sum(len(s["ids"]) for s in result["splits"].values()) == rows


@pytest.fixture
def hub():
    with StubHub(token=TOKEN) as server, hub_online():
        yield server
    assert server.unhandled == [], [f"{r.method} {r.path}" for r in server.unhandled]


def test_published_release_loads_by_repo_id_and_tag(builds: dict[str, Path], hub: StubHub, tmp_path: Path):
    v1, v2 = builds["0.1.0"], builds["0.2.0"]
    for release in (v1, v2):
        assert set(_local_rows(release, "default")) == {"train", "validation", "test"}
    ids_v1 = {i for split in _local_rows(v1, "default").values() for i in split["ids"]}
    ids_v2 = {i for split in _local_rows(v2, "default").values() for i in split["ids"]}
    assert ids_v1 and ids_v2 and not ids_v1 & ids_v2  # the two releases really differ

    first = publish(v1, REPO, revision_tag="v0.1.0", token=TOKEN, endpoint=hub.endpoint)
    results = _load(hub, tmp_path, [(c, "v0.1.0") for c in CONFIGS], "v1")
    for result in results:
        _assert_matches(result, v1)
    # The tag was resolved to the tagged commit and every data file came from that commit.
    served = [d for d in hub.downloads if d[2].endswith(".parquet")]
    assert len(served) == 6 and {d[1] for d in served} == {first.commit_oid}
    assert {d[2] for d in served} == {p for p in first.files if p.endswith(".parquet")}

    second = publish(v2, REPO, revision_tag="v0.2.0", token=TOKEN, endpoint=hub.endpoint)
    assert second.commit_oid != first.commit_oid
    del hub.downloads[:]
    results = _load(
        hub,
        tmp_path,
        [("default", "v0.1.0"), ("conll", "v0.1.0"), ("default", "v0.2.0"), ("conll", None)],
        "after-v2",
    )
    old_default, old_conll, new_default, main_conll = results
    _assert_matches(old_default, v1)  # an old tag still serves the old rows, not main's
    _assert_matches(old_conll, v1)
    _assert_matches(new_default, v2)
    _assert_matches(main_conll, v2)  # no revision: main, i.e. the latest release
    commits = {d[1] for d in hub.downloads if d[2].endswith(".parquet")}
    assert commits == {first.commit_oid, second.commit_oid}


def test_unknown_tag_does_not_load(builds: dict[str, Path], hub: StubHub, tmp_path: Path):
    publish(builds["0.1.0"], REPO, revision_tag="v0.1.0", token=TOKEN, endpoint=hub.endpoint)
    (result,) = _load(hub, tmp_path, [("default", "v9.9.9")], "unknown")
    assert "splits" not in result
    assert "v9.9.9" in result["error"], result["error"]
    assert hub.downloads == []  # nothing was served from any commit


def test_load_from_stub_needs_the_published_files(hub: StubHub, tmp_path: Path):
    """Without a publish the repository does not exist: the loader must fail, not find a cached copy."""
    (result,) = _load(hub, tmp_path, [("default", "v0.1.0")], "missing")
    assert "splits" not in result
    assert "org/gonerd" in result["error"], result["error"]


def test_release_with_empty_splits_loads(builds: dict[str, Path], hub: StubHub, tmp_path: Path):
    release = builds["empty-splits"]
    local = _local_rows(release, "default")
    # two of three splits are empty: they get no shard and no card entry (a zero-row shard cannot be loaded)
    assert sorted(len(s["ids"]) for s in local.values()) == [1]
    assert len(list((release / "data" / "default").glob("*.parquet"))) == 1
    publish(release, REPO, revision_tag="v0.3.0", token=TOKEN, endpoint=hub.endpoint)
    (result,) = _load(hub, tmp_path, [("default", "v0.3.0")], "empty")
    _assert_matches(result, release, rows=1)


def test_stub_read_routes_serve_each_commit_snapshot(hub: StubHub, tmp_path: Path):
    """The read routes directly through huggingface_hub (no build): paths-info, metadata, download, ranges."""
    from huggingface_hub import HfApi, HfFileSystem, get_hf_file_metadata, hf_hub_download, hf_hub_url
    from huggingface_hub.errors import EntryNotFoundError

    old, new = b"old bytes 0123456789", b"new content, longer than the old one"
    repo = hub.seed_repo(REPO, {"README.md": b"# card\n", "data/a.bin": old}, tags=("v1",))
    tagged = repo.branches["main"]
    hub._commit(repo, "second", "", {**repo.files, "data/a.bin": new, "data/b.bin": b"b"})
    api = HfApi(endpoint=hub.endpoint, token=TOKEN)

    infos = api.get_paths_info(REPO, ["README.md", "data", "data/b.bin"], repo_type="dataset", revision="v1")
    assert [(type(i).__name__, i.path) for i in infos] == [("RepoFile", "README.md"), ("RepoFolder", "data")]
    (info,) = api.get_paths_info(REPO, ["data/a.bin"], repo_type="dataset", revision="main", expand=True)
    assert info.size == len(new) and info.last_commit.title == "second"

    url = hf_hub_url(REPO, "data/a.bin", repo_type="dataset", revision="v1", endpoint=hub.endpoint)
    meta = get_hf_file_metadata(url, token=TOKEN)
    assert meta.commit_hash == tagged and meta.size == len(old)
    assert meta.etag == git_blob_oid(old)

    kwargs = {"repo_type": "dataset", "token": TOKEN, "endpoint": hub.endpoint, "cache_dir": tmp_path / "c"}
    assert Path(hf_hub_download(REPO, "data/a.bin", revision="v1", **kwargs)).read_bytes() == old
    assert Path(hf_hub_download(REPO, "data/a.bin", **kwargs)).read_bytes() == new
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(REPO, "data/b.bin", revision="v1", **kwargs)  # not in the tagged snapshot

    fs = HfFileSystem(endpoint=hub.endpoint, token=TOKEN, skip_instance_cache=True)
    with fs.open(f"datasets/{REPO}@v1/data/a.bin", "rb") as fh:
        fh.seek(4)
        assert fh.read(5) == old[4:9]
    ranged = [r for r in hub.requests if "range" in r.headers]
    assert ranged, "HfFileSystem was expected to read with a Range request"
    assert sorted(fs.ls(f"datasets/{REPO}@v1/data", detail=False)) == [f"datasets/{REPO}@v1/data/a.bin"]
