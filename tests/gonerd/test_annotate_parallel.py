"""Annotation over several processes with size-balanced shares: same entities, same order, deterministic."""

from __future__ import annotations

import json

import pytest

from conftest import fixture_path
from gonerd.annotate import annotate_articles, balance, load_pipeline
from gonerd.records import Article

MODEL = "en_core_web_sm"


def test_balance_is_longest_first_and_keeps_input_order_in_each_bin():
    sizes = [5, 90, 10, 40, 45, 10]
    bins = balance(sizes, 2)
    assert bins == [[1, 5], [0, 2, 3, 4]]  # 90 | 45, 40, 10, 5 then the last 10 to the lighter bin
    loads = [sum(sizes[i] for i in b) for b in bins]
    assert max(loads) - min(loads) <= max(sizes)
    assert sorted(i for b in bins for i in b) == list(range(len(sizes)))
    assert balance(sizes, 2) == bins  # deterministic
    assert balance([3, 1], 4) == [[0], [1]]  # never an empty bin
    assert balance([], 2) == []


@pytest.fixture(scope="module")
def articles() -> list[Article]:
    """12 real Wikipedia articles of very different lengths (69 to 16,828 words, cut at 6,000 to stay quick)."""
    rows = [
        json.loads(x)
        for x in fixture_path("wikipedia", "enwiki_2016_sample40_plaintext.jsonl").read_text().splitlines()
    ]
    out = []
    for r in rows[:12]:
        text = " ".join(r["text"].split(" ")[:6000]).strip()
        out.append(Article(title=r["title"], page_id=r["page_id"], revision_id=r["revision_id"], text=text))
    return out


def test_two_processes_give_the_same_entities_in_the_same_order(articles):
    nlp, _ = load_pipeline(MODEL)
    one = list(annotate_articles(articles, nlp, n_process=1))
    two = list(annotate_articles(articles, nlp, n_process=2))
    assert [a.id for a in two] == [a.id for a in articles]  # input order, whatever finished first
    assert two == one  # tokens, whitespace and tags identical
    assert sum(t.startswith("B-") for a in two for t in a.ner_tags) > 500
    three = list(annotate_articles(articles, nlp, n_process=3, batch_size=2))
    assert three == one


def test_a_failing_worker_is_one_error_not_a_hang(articles):
    from gonerd.errors import GonerdError

    nlp, _ = load_pipeline(MODEL)
    nlp.max_length = 10  # every worker fails on its first article ...
    bad = [
        Article(title=a.title, page_id=a.page_id, revision_id=a.revision_id, text=a.text)
        for a in articles[:4]
    ]
    import gonerd.annotate as annotate

    def annotate_without_raising_limit(arts, nlp, **kw):
        yield from annotate._balanced_pipe(nlp, [a.text for a in arts], kw["batch_size"], kw["n_process"])

    with pytest.raises(GonerdError, match="annotation failed in a worker process"):
        list(annotate_without_raising_limit(bad, nlp, batch_size=2, n_process=2))


def test_default_processes_is_one_per_usable_core_on_cpu():
    from gonerd.annotate import default_processes, usable_cores

    assert default_processes() == usable_cores() >= 1


def test_gpu_without_a_usable_gpu_is_one_line(tmp_path, capsys):
    import importlib.util

    if importlib.util.find_spec("cupy") is not None:
        pytest.skip("cupy is installed: this checks the message on machines without it")
    from gonerd.cli import main

    src = tmp_path / "a.jsonl"
    src.write_text('{"title": "A", "text": "Paris is in France."}\n')
    code = main(["build", "--source", str(src), "--out", str(tmp_path / "o"), "--model", MODEL, "--gpu"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--gpu: spaCy cannot use a GPU here" in err[0]
    assert not any((tmp_path / "o").rglob("*.parquet"))
