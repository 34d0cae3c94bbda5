"""Loading every task from the official files in ../shared/fixtures (glue_data TSVs, SQuAD/HotpotQA JSON, CoNLL
eng.* files, TriviaQA RC layout): counts, ids, label mapping, and gold answers at their starts."""

from __future__ import annotations

import csv
from collections import Counter

import pytest

from benchmark.data.loader import load_examples
from benchmark.data.local import iob1_to_iob2
from benchmark.errors import BenchmarkError
from benchmark.tasks.registry import get_task
from conftest import fixture_path


def load(task: str, role: str = "validation", **kw):
    return load_examples(get_task(task), role, data_dir=fixture_path(), **kw)


# ---------------------------------------------------------------------------------- CoNLL


@pytest.mark.parametrize(
    ("tags", "want"),
    [
        (["I-PER", "I-PER", "O", "I-LOC"], ["B-PER", "I-PER", "O", "B-LOC"]),
        (["I-ORG", "B-ORG", "I-ORG"], ["B-ORG", "B-ORG", "I-ORG"]),  # B- splits two adjacent ORG entities
        (["I-PER", "I-LOC", "I-LOC"], ["B-PER", "B-LOC", "I-LOC"]),  # type change starts a new entity
        (["B-MISC", "I-MISC", "O"], ["B-MISC", "I-MISC", "O"]),  # IOB2 input is unchanged
    ],
)
def test_iob1_to_iob2(tags, want):
    assert iob1_to_iob2(tags) == want


def test_conll_testb_counts_and_iob2():
    loaded = load("conll2003", "test")
    ex = loaded.examples
    assert len(ex) == 3453 and sum(len(e.tokens) for e in ex) == 46435
    assert ex[0].id == "test-0" and ex[-1].id == "test-3452"
    assert ex[0].tokens[2] == "JAPAN" and ex[0].tags[2] == "B-LOC"  # I-LOC in the IOB1 file
    assert not any(
        t.startswith("I-") and (i == 0 or e.tags[i - 1][2:] != t[2:])
        for e in ex
        for i, t in enumerate(e.tags)
    )
    assert loaded.source["files"][0]["path"] == "eng.testb" and len(loaded.source["files"][0]["sha256"]) == 64
    assert loaded.source["tag_scheme"] == "IOB1 converted to IOB2"


def test_conll_testa_and_two_column_copy():
    dev = load("conll2003", "validation").examples
    assert len(dev) == 3250 and sum(len(e.tokens) for e in dev) == 51362
    copy = load("conll2003", "test", data_file="test.txt")
    assert copy.source["tag_scheme"] == "IOB2 as read" and copy.source["columns"] == 2
    assert len(copy.examples) == 3453


# ---------------------------------------------------------------------------------- SQuAD / HotpotQA / TriviaQA


def test_squad_sample_answers_sit_at_their_starts():
    ex = load("squad", data_file="dev-v1.1-sample.json").examples
    assert len(ex) == 1057 and sum(len(e.answers) for e in ex) == 3172
    assert len({e.id for e in ex}) == 1057
    for e in ex:
        assert len(e.answers) == len(e.answer_starts)
        for text, start in zip(e.answers, e.answer_starts, strict=True):
            assert e.context[start : start + len(text)] == text


def test_hotpotqa_sample_types_and_answer_recovery():
    ex = load("hotpotqa", data_file="hotpot_dev_distractor_sample.json").examples
    assert len(ex) == 53
    assert Counter(e.meta["type"] for e in ex) == {"bridge": 39, "comparison": 14}
    assert {e.meta["level"] for e in ex} == {"hard"}
    assert ex[0].id == "5a8b57f25542995d1e6f1371" and ex[0].answers == ("yes",) and ex[0].answer_starts == ()
    assert ex[0].context.startswith("Ed Wood (film): Ed Wood is a 1994 American")
    assert ex[0].context.count("\n\n") == 9  # ten paragraphs
    spans = [e for e in ex if e.answer_starts]
    assert len(spans) > 40
    for e in spans:
        for s in e.answer_starts:
            assert e.context[s : s + len(e.answers[0])] == e.answers[0]


def test_triviaqa_joins_the_evidence_documents():
    evidence = fixture_path("triviaqa", "triviaqa-rc", "evidence", "wikipedia")
    dev = load("triviaqa")
    assert [e.id for e in dev.examples] == ["tc_33"]
    assert dev.examples[0].context == (evidence / "Andrew_Lloyd_Webber.txt").read_text().strip()
    assert "sunset boulevard" in dev.examples[0].answers  # official ground truths: the normalized aliases
    assert [f["path"] for f in dev.source["files"]] == [
        "triviaqa-rc/qa/wikipedia-dev.json",
        "triviaqa-rc/evidence/wikipedia/Andrew_Lloyd_Webber.txt",
    ]
    train = load("triviaqa", "train").examples[0]
    england, dench = ((evidence / f).read_text().strip() for f in ("England.txt", "Judi_Dench.txt"))
    assert train.context == england + "\n\n" + dench
    assert train.meta["documents"] == ["England", "Judi Dench"]
    # The sample's evidence files are 0.4-2.5 KB prefixes that do not contain "York": no start is invented.
    assert "york" not in train.context.lower() and train.answer_starts == () and "york" in train.answers


def test_triviaqa_alias_occurrences_are_found():
    from benchmark.data import hub

    row = {
        "question": "q",
        "question_id": "tc_x",
        "entity_pages": {"title": ["T"], "wiki_context": ["Born in York, England; York Minster is in YORK."]},
        "answer": {
            "aliases": ["York", "York, England"],
            "normalized_aliases": ["york", "york england"],
            "value": "York",
        },
    }
    (ex,) = hub.rows_to_examples(get_task("triviaqa"), "validation", [row])
    assert ex.answers == ("york", "york england")
    assert [ex.context[s:e] for s, e in ex.meta["spans"]] == ["York", "York, England", "York", "YORK"]
    assert ex.answer_starts == (8, 8, 23, 42)


def test_triviaqa_test_split_has_no_answers_so_is_refused():
    with pytest.raises(BenchmarkError, match="no 'test' split with labels"):
        load_examples(get_task("triviaqa"), "test")


# ---------------------------------------------------------------------------------- GLUE


def test_glue_mrpc_bom_and_labels():
    ex = load("glue/mrpc").examples
    assert len(ex) == 200 and ex[0].id == "mrpc-0"
    assert ex[0].text.startswith("He said the foodservice pie business")
    assert ex[0].text_pair.startswith('"The foodservice pie business')  # leading quote kept (QUOTE_NONE)
    path = fixture_path("glue", "MRPC", "dev.tsv")
    with path.open(encoding="utf-8-sig") as fh:
        raw = [r[0] for r in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)][1:]
    assert [e.label for e in ex] == [("not_equivalent", "equivalent")[int(v)] for v in raw]


def test_glue_rte_quoting_stsb_floats_wnli_cola():
    rte = load("glue/rte").examples
    assert len(rte) == 200 and any(e.text.startswith('"') or e.text_pair.startswith('"') for e in rte)
    assert set(Counter(e.label for e in rte)) == {"entailment", "not_entailment"}
    stsb = load("glue/stsb").examples
    assert len(stsb) == 200 and stsb[0].label == 5.0 and stsb[1].label == 4.75
    wnli = load("glue/wnli").examples
    assert Counter(e.label for e in wnli) == {"not_entailment": 40, "entailment": 31}
    cola = load("glue/cola").examples  # no header line
    assert cola[0].text == "The sailors rode the breeze clear of the rocks."
    mnli = load("glue/mnli_mismatched").examples
    assert mnli[0].id == "mnli_mismatched-0" and mnli[0].label in ("entailment", "neutral", "contradiction")


def test_glue_loads_every_subtask_with_prefixed_ids():
    loaded = load("glue", limit=5)
    assert loaded.stats["subtasks"]["mrpc"] == 5 and loaded.stats["subtasks"]["cola"] == 2
    assert len({e.id for e in loaded.examples}) == len(loaded.examples) == 32  # 6 sub-tasks x 2 rows + 4 x 5
    assert set(loaded.source) == {s.name for s in get_task("glue").subtasks}


# ---------------------------------------------------------------------------------- errors and limit


def test_limit_takes_the_first_n_and_rejects_zero():
    assert [e.id for e in load("conll2003", "test", limit=3).examples] == ["test-0", "test-1", "test-2"]
    with pytest.raises(BenchmarkError, match="--limit must be a whole number >= 1, got 0"):
        load("conll2003", "test", limit=0)


def test_missing_file_is_named(tmp_path):
    (tmp_path / "squad").mkdir()
    with pytest.raises(BenchmarkError, match=r"squad validation: file .*squad/dev-v1\.1\.json not found"):
        load_examples(get_task("squad"), "validation", data_dir=tmp_path)
    with pytest.raises(BenchmarkError, match=r"data folder .*hotpotqa not found"):
        load_examples(get_task("hotpotqa"), "validation", data_dir=tmp_path)


def test_ambiguous_glob_is_refused():
    with pytest.raises(BenchmarkError, match="matches 2 files"):
        load("squad", data_file="dev-v1.1*.json")


def test_source_paths_are_recorded_relative_to_the_data_dir_through_symlinks(tmp_path):
    """A data dir of symlinks (as users lay out local copies) records portable paths, so results re-score anywhere."""
    from benchmark.data.sources import file_record

    target = fixture_path("conll2003", "eng.testa")
    (tmp_path / "conll2003").mkdir()
    (tmp_path / "conll2003" / "eng.testa").symlink_to(target)
    record = file_record(tmp_path / "conll2003" / "eng.testa", tmp_path)
    assert record["path"] == "conll2003/eng.testa"
    assert record["bytes"] == target.stat().st_size


# ---------------------------------------------------------------------------------- malformed files


def _conll_dir(tmp_path, content: bytes):
    from benchmark.data.local import read_conll

    path = tmp_path / "eng.testa"
    path.write_bytes(content)
    return lambda: read_conll(path)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", r"eng\.testa: not a UTF-8 text file \(byte 0 is b'\\x89'\)"),
        (b"", r"eng\.testa: no sentences in it"),
        (b"-DOCSTART- -X- -X- O\n\n", r"eng\.testa: no sentences in it"),
        (
            b'{"tokens": ["a"], "ner_tags": ["O"]}\n{"tokens": ["b"], "ner_tags": ["O"]}\n',
            r"eng\.testa: holds JSON",
        ),
        (
            b"EU NNP B-NP I-ORG\nrejects VBZ B-VP PERSON\n",
            r"eng\.testa:2: last column 'PERSON' is not an IOB tag",
        ),
    ],
)
def test_malformed_conll_files_are_named(tmp_path, content, match):
    with pytest.raises(BenchmarkError, match=match):
        _conll_dir(tmp_path, content)()


def test_conll_starting_with_a_bracket_token_is_still_conll(tmp_path):
    rows, info = _conll_dir(tmp_path, b"[ O\nEU B-ORG\n] O\n")()
    assert rows == [{"tokens": ["[", "EU", "]"], "ner_tags": ["O", "B-ORG", "O"]}] and info["columns"] == 2


def test_squad_answer_outside_its_context_names_file_and_question(tmp_path):
    import json

    (tmp_path / "squad").mkdir()
    data = {"data": [{"title": "t", "paragraphs": [{"context": "short text", "qas": [
        {"id": "ok", "question": "?", "answers": [{"text": "short", "answer_start": 0}]},
        {"id": "q-far", "question": "?", "answers": [{"text": "x", "answer_start": 10}]},
    ]}]}]}  # fmt: skip
    (tmp_path / "squad" / "dev-v1.1.json").write_text(json.dumps(data))
    with pytest.raises(
        BenchmarkError, match=r"dev-v1\.1\.json: question q-far: answer_start 10 lies outside its"
    ):
        load_examples(get_task("squad"), "validation", data_dir=tmp_path)
    (tmp_path / "squad" / "dev-v1.1.json").write_text(json.dumps([data]))  # a list where an object belongs
    with pytest.raises(BenchmarkError, match=r"dev-v1\.1\.json: not laid out as squad_json"):
        load_examples(get_task("squad"), "validation", data_dir=tmp_path)


def test_preflight_reads_small_files_and_sniffs_large_ones(tmp_path):
    from benchmark.data.loader import check_available

    (tmp_path / "glue" / "RTE").mkdir(parents=True)
    (tmp_path / "glue" / "RTE" / "dev.tsv").write_bytes(b"")
    with pytest.raises(BenchmarkError, match=r"RTE/dev\.tsv: empty file"):
        check_available(get_task("glue/rte"), ["validation"], tmp_path)
    (tmp_path / "hotpotqa").mkdir()
    big = tmp_path / "hotpotqa" / "hotpot_dev_distractor_v1.json"
    big.write_text("_id,question\n1,why\n")
    with pytest.raises(BenchmarkError, match=r"hotpot_dev_distractor_v1\.json: not JSON"):
        check_available(get_task("hotpotqa"), ["validation"], tmp_path)
    big.write_text('[{"_id": "x"')  # looks like JSON: read (and refused, naming the file) when the task runs
    check_available(get_task("hotpotqa"), ["validation"], tmp_path)


def test_preflight_names_the_file_of_an_unknown_tag(tmp_path):
    from benchmark.data.loader import check_available

    (tmp_path / "conll2003").mkdir()
    (tmp_path / "conll2003" / "eng.testa").write_text("EU NNP B-NP I-ORG\nrejects VBZ B-VP I-FOOD\n")
    with pytest.raises(
        BenchmarkError, match=r"conll2003/eng\.testa: validation-0: label 'B-FOOD' is not one of"
    ):
        check_available(get_task("conll2003"), ["validation"], tmp_path)
