"""conlleval port and seqeval strict F1: hand-worked cases plus a cross-check on CoNLL-2003 eng.testb.

The fixture numbers were produced by running the real ``conlleval.pl`` (2004-01-26, default options) on a file
of ``x <gold> <pred>`` lines with one blank line after each sentence, gold = the NER column of ``eng.testb``
without ``-DOCSTART-`` lines and predictions built by the deterministic rules below (``_iob1_to_iob2``,
``_perturb``); they are recorded with the 2 decimals conlleval prints. (Development also compared this port with
conlleval.pl's full output on 3,000 random sentence sets using B/I/O/E/[/]/./untyped/hyphenated tags: identical.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.metrics.ner import conlleval, split_tag, strict_f1
from conftest import fixture_path

# ---------------------------------------------------------------------------------------------------------------
# hand-worked conlleval cases


def test_iob1_gold_vs_iob2_prediction_same_chunks():
    # gold IOB1: PER = tokens 0-1 (starts with I-), LOC = token 3. pred IOB2 marks the same chunks with B-.
    # chunks identical -> P = R = F1 = 100; tags equal only at tokens 1 (I-PER) and 2 (O) -> accuracy 2/4 = 50.
    result = conlleval([["I-PER", "I-PER", "O", "I-LOC"]], [["B-PER", "I-PER", "O", "B-LOC"]])
    assert (result["precision"], result["recall"], result["f1"]) == (100.0, 100.0, 100.0)
    assert result["accuracy"] == 50.0
    assert (result["gold_chunks"], result["predicted_chunks"], result["correct_chunks"]) == (2, 2, 2)


def test_entity_starting_with_i_is_a_chunk():
    # "O I-ORG I-ORG": O -> I starts a chunk (startOfChunk), so gold has one ORG chunk that B-/I- matches.
    result = conlleval([["O", "I-ORG", "I-ORG"]], [["O", "B-ORG", "I-ORG"]])
    assert result["correct_chunks"] == 1
    assert result["f1"] == 100.0
    assert result["per_type"]["ORG"]["support"] == 1


def test_adjacent_same_type_entities_separated_by_b():
    # gold IOB1 "I-PER I-PER B-PER O" = two chunks (0-1) and (2); pred "I-PER I-PER I-PER O" = one chunk (0-2).
    # token 2: gold chunk ends (I -> B) but pred does not -> the open match is abandoned: 0 correct.
    # precision 0/1, recall 0/2, F1 0; tags differ only at token 2 -> accuracy 3/4 = 75.
    result = conlleval([["I-PER", "I-PER", "B-PER", "O"]], [["I-PER", "I-PER", "I-PER", "O"]])
    assert (result["gold_chunks"], result["predicted_chunks"], result["correct_chunks"]) == (2, 1, 0)
    assert (result["precision"], result["recall"], result["f1"]) == (0.0, 0.0, 0.0)
    assert result["accuracy"] == 75.0


def test_type_mismatch_splits_prediction_and_counts_per_type():
    # pred "B-PER I-ORG": the type change ends the PER chunk and starts an ORG chunk (2 predicted, 0 correct).
    result = conlleval([["B-PER", "I-PER"]], [["B-PER", "I-ORG"]])
    assert (result["gold_chunks"], result["predicted_chunks"], result["correct_chunks"]) == (1, 2, 0)
    assert result["per_type"] == {
        "ORG": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0, "predicted": 1},
        "PER": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1, "predicted": 1},
    }
    assert result["accuracy"] == 50.0


def test_partial_match_overall_and_per_type():
    # gold: LOC(0), PER(2-3); pred: LOC(0), PER(2) -> PER boundary wrong. correct 1 of 2 gold, 1 of 2 predicted.
    # overall P = R = F1 = 50; LOC 100/100/100; PER 0/0/0; accuracy 3/4 = 75.
    result = conlleval([["B-LOC", "O", "B-PER", "I-PER"]], [["B-LOC", "O", "B-PER", "O"]])
    assert (result["precision"], result["recall"], result["f1"]) == (50.0, 50.0, 50.0)
    assert result["per_type"]["LOC"] == {
        "precision": 100.0,
        "recall": 100.0,
        "f1": 100.0,
        "support": 1,
        "predicted": 1,
    }
    assert result["per_type"]["PER"]["f1"] == 0.0
    assert result["accuracy"] == 75.0


def test_unequal_precision_recall_f1_hand_computed():
    # gold: PER(0-1), LOC(3), ORG(5) = 3 chunks; pred: PER(0-1), LOC(3), MISC(4), LOC(6) = 4 chunks.
    # correct: PER and LOC(3) = 2 -> P = 2/4 = 50, R = 2/3 = 66.67, F1 = 2PR/(P+R) = 4/7 = 57.14.
    gold = [["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-LOC", "B-MISC", "O", "B-LOC"]]
    result = conlleval(gold, pred)
    assert (result["gold_chunks"], result["predicted_chunks"], result["correct_chunks"]) == (3, 4, 2)
    assert result["precision"] == pytest.approx(50.0)
    assert result["recall"] == pytest.approx(200 / 3)
    assert result["f1"] == pytest.approx(2 * 50 * (200 / 3) / (50 + 200 / 3))  # = 57.142857...
    assert result["per_type"]["LOC"]["precision"] == pytest.approx(50.0)  # 1 correct of 2 predicted LOC
    assert result["per_type"]["MISC"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 0,
        "predicted": 1,
    }
    assert result["accuracy"] == pytest.approx(100 * 4 / 7)  # tokens 0, 1, 2, 3 match


def test_sentence_boundary_ends_chunks():
    # The blank line between sentences is O/O: I-PER at the end of sentence 0 and I-PER at the start of
    # sentence 1 are two chunks, not one.
    result = conlleval([["I-PER"], ["I-PER"]], [["I-PER"], ["I-PER"]])
    assert (result["gold_chunks"], result["correct_chunks"], result["tokens"]) == (2, 2, 2)


def test_ioe_and_bracket_tags_as_conlleval():
    # IOE1 "I-X E-X I-X": E -> I ends and starts a chunk -> 2 chunks; "[-NP" tags are one-token chunks.
    # gold 4 chunks, pred drops the second [-NP -> predicted 3, correct 3: P 100, R 75, F1 85.71; accuracy 4/5.
    result = conlleval([["I-X", "E-X", "I-X"], ["[-NP", "[-NP"]], [["I-X", "E-X", "I-X"], ["[-NP", "O"]])
    assert (result["gold_chunks"], result["predicted_chunks"], result["correct_chunks"]) == (4, 3, 3)
    assert result["f1"] == pytest.approx(2 * 100 * 75 / 175)
    assert result["accuracy"] == 80.0


def test_split_tag_follows_perl_regex():
    assert split_tag("B-PER") == ("B", "PER")
    assert split_tag("I-A-B") == ("I", "A-B")  # split at the first hyphen only
    assert split_tag("O") == ("O", "")
    assert split_tag("PER") == ("PER", "")
    assert split_tag("B-0") == ("B", "")  # Perl: "0" is false -> ""


def test_empty_input_and_all_outside():
    empty = conlleval([], [])
    assert (empty["f1"], empty["accuracy"], empty["tokens"], empty["per_type"]) == (0.0, 0.0, 0, {})
    outside = conlleval([["O", "O"]], [["O", "O"]])
    assert (outside["precision"], outside["recall"], outside["f1"], outside["accuracy"]) == (
        0.0,
        0.0,
        0.0,
        100.0,
    )


@pytest.mark.parametrize("fn", [conlleval, strict_f1])
def test_length_mismatch_names_sentence(fn):
    with pytest.raises(ValueError, match="sentence 1"):
        fn([["O"], ["O", "B-PER"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match="2 sentences"):
        fn([["O"], ["O"]], [["O"]])


# ---------------------------------------------------------------------------------------------------------------
# seqeval strict


def test_strict_f1_hand_computed():
    # gold PER(0-1), LOC(3); pred PER(0-1) only -> P 1/1, R 1/2, F1 2/3.
    result = strict_f1([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "O"]])
    assert result == pytest.approx({"precision": 100.0, "recall": 50.0, "f1": 200 / 3})


def test_strict_f1_rejects_iob1_starts_where_conlleval_accepts_them():
    gold = [["B-PER", "I-PER", "O"]]
    pred = [["I-PER", "I-PER", "O"]]  # IOB1-style start: invalid in strict IOB2 -> no predicted entity
    assert strict_f1(gold, pred) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert conlleval(gold, pred)["f1"] == 100.0


def test_strict_f1_rejects_non_iob2_tags():
    with pytest.raises(ValueError, match="gold sentence 0, token 1"):
        strict_f1([["B-PER", "X"]], [["B-PER", "O"]])
    with pytest.raises(ValueError, match="predictions sentence 0, token 0"):
        strict_f1([["B-PER"]], [["E-PER"]])


# ---------------------------------------------------------------------------------------------------------------
# cross-check against conlleval.pl on CoNLL-2003 eng.testb (IOB1)

_TYPES = ("PER", "ORG", "LOC", "MISC")


def _read_conll_tags(path: Path) -> list[list[str]]:
    """NER column of a CoNLL-2003 file, sentences split on blank lines, ``-DOCSTART-`` lines dropped."""
    sentences: list[list[str]] = []
    current: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if current:
                sentences.append(current)
                current = []
            continue
        fields = line.split(" ")
        if fields[0] != "-DOCSTART-":
            current.append(fields[-1])
    if current:
        sentences.append(current)
    return sentences


def _iob1_to_iob2(tags: list[str]) -> list[str]:
    out, prev = [], "O"
    for tag in tags:
        if tag.startswith("I-") and (prev == "O" or prev[2:] != tag[2:]):
            out.append("B-" + tag[2:])
        else:
            out.append(tag)
        prev = tag
    return out


def _perturb(sentences: list[list[str]]) -> list[list[str]]:
    """Deterministic noise over the running token index k: k%7==3 non-O -> next type; else k%11==5 -> O<->I-MISC;
    else k%13==0 and I- -> B-."""
    out, k = [], 0
    for sentence in sentences:
        new = []
        for tag in sentence:
            if k % 7 == 3 and tag != "O":
                tag = tag[:2] + _TYPES[(_TYPES.index(tag[2:]) + 1) % 4]
            elif k % 11 == 5:
                tag = "I-MISC" if tag == "O" else "O"
            elif k % 13 == 0 and tag.startswith("I-"):
                tag = "B-" + tag[2:]
            new.append(tag)
            k += 1
        out.append(new)
    return out


# conlleval.pl output: (tokens, phrases, found, correct, accuracy, P, R, FB1,
#                       {type: (P, R, FB1, found)}); support per type comes from the unperturbed gold.
_EXPECTED = {
    "iob2_conversion": (
        46435, 5648, 5648, 5648, 87.88, 100.00, 100.00, 100.00,
        {"LOC": (100.00, 100.00, 100.00, 1668), "MISC": (100.00, 100.00, 100.00, 702),
         "ORG": (100.00, 100.00, 100.00, 1661), "PER": (100.00, 100.00, 100.00, 1617)},
    ),
    "perturbed_iob2": (
        46435, 5648, 9592, 3743, 78.80, 39.02, 66.27, 49.12,
        {"LOC": (68.91, 71.88, 70.36, 1740), "MISC": (10.63, 65.38, 18.29, 4318),
         "ORG": (58.94, 65.68, 62.13, 1851), "PER": (59.06, 61.47, 60.24, 1683)},
    ),
    "perturbed_iob1": (
        46435, 5648, 9520, 3695, 87.57, 38.81, 65.42, 48.72,
        {"LOC": (68.91, 71.88, 70.36, 1740), "MISC": (9.70, 58.69, 16.65, 4247),
         "ORG": (58.94, 65.68, 62.13, 1851), "PER": (59.04, 61.41, 60.20, 1682)},
    ),
}  # fmt: skip
_SUPPORT = {"LOC": 1668, "MISC": 702, "ORG": 1661, "PER": 1617}


@pytest.mark.fixtures
@pytest.mark.parametrize("case", sorted(_EXPECTED))
def test_conlleval_matches_perl_on_eng_testb(case):
    gold = _read_conll_tags(fixture_path("conll2003", "eng.testb"))
    iob2 = [_iob1_to_iob2(s) for s in gold]
    pred = {"iob2_conversion": iob2, "perturbed_iob2": _perturb(iob2), "perturbed_iob1": _perturb(gold)}[case]
    tokens, phrases, found, correct, acc, p, r, f, per_type = _EXPECTED[case]
    result = conlleval(gold, pred)
    assert (
        result["tokens"],
        result["gold_chunks"],
        result["predicted_chunks"],
        result["correct_chunks"],
    ) == (
        tokens,
        phrases,
        found,
        correct,
    )
    assert [round(result[k], 2) for k in ("accuracy", "precision", "recall", "f1")] == [acc, p, r, f]
    assert list(result["per_type"]) == sorted(per_type)
    for chunk_type, (tp, tr, tf, tfound) in per_type.items():
        got = result["per_type"][chunk_type]
        assert [round(got["precision"], 2), round(got["recall"], 2), round(got["f1"], 2)] == [tp, tr, tf]
        assert got["predicted"] == tfound
        assert got["support"] == _SUPPORT[chunk_type]
