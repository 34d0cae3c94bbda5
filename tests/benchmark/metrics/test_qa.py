"""SQuAD v1.1, HotpotQA and TriviaQA answer metrics: hand-worked cases and official-script cross-checks.

Fixture numbers were produced by running the official scripts (SQuAD ``evaluate-v1.1.py``; the answer part of
``hotpot_evaluate_v1.py``; TriviaQA ``evaluation/triviaqa_evaluation.py`` with ``utils/dataset_utils.py``) on
the shared fixtures with predictions made by the deterministic rules in this file.
"""

from __future__ import annotations

import json

import pytest

from benchmark.metrics import hotpotqa, squad, triviaqa
from conftest import fixture_path

# ---------------------------------------------------------------------------------------------------------------
# SQuAD v1.1


def test_squad_normalize_answer():
    # lower -> delete punctuation -> articles to spaces -> collapse whitespace
    assert squad.normalize_answer("  The  Denver-Broncos! ") == "denverbroncos"
    assert squad.normalize_answer("A tale of an apple, the end.") == "tale of apple end"
    assert squad.normalize_answer("Theatre anthem") == "theatre anthem"  # articles only as whole words
    assert squad.normalize_answer("the") == ""


def test_squad_exact_match():
    assert squad.exact_match_score("the Broncos.", "Broncos") is True
    assert squad.exact_match_score("Denver Broncos", "Broncos") is False


def test_squad_f1_partial_overlap_by_hand():
    # pred tokens [denver, broncos, team], gold [broncos]: common 1 -> P 1/3, R 1 -> F1 = 2*(1/3)/(4/3) = 0.5
    assert squad.f1_score("Denver Broncos team", "The Broncos") == pytest.approx(0.5)
    # repeated tokens are counted with multiplicity: pred [a1, a1] vs gold [a1]: common 1 -> P 1/2, R 1 -> 2/3
    assert squad.f1_score("a1 a1", "a1") == pytest.approx(2 / 3)
    assert squad.f1_score("cat", "dog") == 0.0
    # both empty after normalisation: F1 0 but EM 1, exactly as the official script
    assert squad.f1_score("the", "a") == 0.0
    assert squad.exact_match_score("the", "a") is True


def test_squad_evaluate_max_over_ground_truths_and_missing_ids():
    gold = {
        "q1": ["Denver Broncos", "Broncos"],  # pred "broncos" matches the 2nd exactly -> EM 1, F1 1
        "q2": ["Santa Clara, California", "Levi's Stadium"],  # pred "Levi Stadium": best F1 vs 2nd:
        # "levis stadium" vs "levi stadium" -> common {stadium} -> P 1/2, R 1/2 -> F1 0.5
        "q3": ["Carolina Panthers"],  # missing from predictions -> 0
    }
    preds = {"q1": "broncos", "q2": "Levi Stadium", "extra": "ignored"}
    result = squad.evaluate(gold, preds)
    assert result["exact_match"] == pytest.approx(100 * 1 / 3)
    assert result["f1"] == pytest.approx(100 * (1 + 0.5) / 3)


def test_squad_evaluate_rejects_bad_gold():
    with pytest.raises(ValueError):
        squad.evaluate({}, {})
    with pytest.raises(ValueError):
        squad.evaluate({"q": "Broncos"}, {"q": "Broncos"})  # a bare string instead of a list of answers
    with pytest.raises(ValueError):
        squad.evaluate({"q": []}, {"q": "x"})


def _squad_rule_predictions(data: dict) -> dict[str, str]:
    """Question i in file order: 0 first answer; 1 "The " + LAST answer upper-cased + "."; 2 first answer's
    context span + 12 more characters; 3 first word of first answer; 4 the 15 context characters before the
    answer; 5 no prediction (i = i % 6)."""
    preds: dict[str, str] = {}
    i = 0
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            for qa in paragraph["qas"]:
                answers = qa["answers"]
                start, text = answers[0]["answer_start"], answers[0]["text"]
                rule = i % 6
                if rule == 0:
                    preds[qa["id"]] = text
                elif rule == 1:
                    preds[qa["id"]] = "The " + answers[-1]["text"].upper() + "."
                elif rule == 2:
                    preds[qa["id"]] = context[start : start + len(text) + 12]
                elif rule == 3:
                    preds[qa["id"]] = text.split()[0]
                elif rule == 4:
                    preds[qa["id"]] = context[max(0, start - 15) : start]
                i += 1
    return preds


@pytest.mark.fixtures
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # official evaluate-v1.1.py output on the same predictions
        ("dev-v1.1-sample.json", {"exact_match": 41.343424787133394, "f1": 57.233699234645314}),
        ("dev-v1.1.sample30.json", {"exact_match": 40.44581091468101, "f1": 56.57109199323049}),
    ],
)
def test_squad_matches_official_script_on_fixture(name, expected):
    data = json.loads(fixture_path("squad", name).read_text(encoding="utf-8"))
    gold = {
        qa["id"]: [a["text"] for a in qa["answers"]]
        for article in data["data"]
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    }
    result = squad.evaluate(gold, _squad_rule_predictions(data))
    assert result == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# HotpotQA


def test_hotpot_yes_no_rule():
    assert hotpotqa.f1_score("yes", "no") == (0.0, 0.0, 0.0)
    assert hotpotqa.f1_score("yes", "yes") == (1.0, 1.0, 1.0)
    assert hotpotqa.f1_score("Yes.", "yes") == (1.0, 1.0, 1.0)  # normalised before the rule
    # "yes" vs "yes sir" shares a token, but the special case zeroes it (SQuAD F1 would be 2/3)
    assert hotpotqa.f1_score("yes", "yes sir") == (0.0, 0.0, 0.0)
    assert hotpotqa.f1_score("yes sir", "yes") == (0.0, 0.0, 0.0)
    assert squad.f1_score("yes", "yes sir") == pytest.approx(2 / 3)
    assert hotpotqa.f1_score("noanswer", "no answer") == (0.0, 0.0, 0.0)


def test_hotpot_f1_precision_recall_by_hand():
    # pred [arthur, s, magazine] vs gold [arthurs, magazine] -> common {magazine}: P 1/3, R 1/2, F1 = 0.4
    f1, precision, recall = hotpotqa.f1_score("Arthur s Magazine", "Arthur's Magazine")
    assert (precision, recall) == pytest.approx((1 / 3, 1 / 2))
    assert f1 == pytest.approx(0.4)


def test_hotpot_evaluate_averages_over_gold():
    gold = {"a": "Arthur's Magazine", "b": "yes", "c": "Delhi"}
    preds = {"a": "Arthur's Magazine", "b": "no"}  # c missing -> 0
    result = hotpotqa.evaluate(gold, preds)
    assert result == pytest.approx(
        {"exact_match": 100 / 3, "f1": 100 / 3, "precision": 100 / 3, "recall": 100 / 3}
    )
    with pytest.raises(ValueError):
        hotpotqa.evaluate({}, {})


@pytest.mark.fixtures
def test_hotpot_matches_official_script_on_fixture():
    data = json.loads(
        fixture_path("hotpotqa", "hotpot_dev_distractor_sample.json").read_text(encoding="utf-8")
    )
    preds: dict[str, str] = {}
    for i, record in enumerate(data):  # i % 5: 0 gold; 1 "yes" (or "yes indeed"); 2 gold + 1st question word;
        answer = record["answer"]  # 3 last word of gold; 4 no prediction
        rule = i % 5
        if rule == 0:
            preds[record["_id"]] = answer
        elif rule == 1:
            preds[record["_id"]] = "yes" if answer != "yes" else "yes indeed"
        elif rule == 2:
            preds[record["_id"]] = answer + " " + record["question"].split()[0]
        elif rule == 3:
            preds[record["_id"]] = answer.split()[-1]
    result = hotpotqa.evaluate({r["_id"]: r["answer"] for r in data}, preds)
    expected = {  # official update_answer sums / N, ×100
        "exact_match": 37.735849056603776,
        "f1": 50.85936261296972,
        "precision": 52.935010482180296,
        "recall": 51.886792452830186,
    }
    assert result == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# TriviaQA


def test_triviaqa_normalize_underscores_and_punctuation_become_spaces():
    assert triviaqa.normalize_answer("Andrew_Lloyd_Webber") == "andrew lloyd webber"
    assert triviaqa.normalize_answer("Lloyd-Webber") == "lloyd webber"  # SQuAD: "lloydwebber"
    assert squad.normalize_answer("Lloyd-Webber") == "lloydwebber"
    assert triviaqa.normalize_answer("Rock ‘n’ Roll´s `the` Best") == "rock n roll s best"
    assert triviaqa.normalize_answer("The Sunset Blvd.") == "sunset blvd"


def test_triviaqa_f1_and_em_by_hand():
    # "Lloyd-Webber" -> [lloyd, webber]; gold "andrew lloyd webber" -> common 2: P 1, R 2/3 -> F1 0.8
    assert triviaqa.f1_score("Lloyd-Webber", "andrew lloyd webber") == pytest.approx(0.8)
    assert triviaqa.exact_match_score("Sunset_Boulevard", "sunset boulevard") is True


def test_triviaqa_ground_truths_from_answer():
    answer = {
        "Aliases": ["Sunset Blvd", "Sunset Boulevard"],
        "NormalizedAliases": ["sunset blvd", "sunset boulevard"],
        "NormalizedMatchedWikiEntityName": "sunset boulevard (film)",
        "NormalizedValue": "sunset boulevard",
        "Value": "Sunset Boulevard",
    }
    # only NormalizedAliases: NormalizedMatchedWikiEntityName / NormalizedValue are not added
    assert triviaqa.ground_truths_from_answer(answer) == ["sunset blvd", "sunset boulevard"]
    with_humans = dict(answer, HumanAnswers=["The Sunset-Strip"])
    assert triviaqa.ground_truths_from_answer(with_humans) == [
        "sunset blvd",
        "sunset boulevard",
        "sunset strip",
    ]


def test_triviaqa_evaluate_max_over_aliases_and_missing():
    gold = {"q1": ["sunset blvd", "sunset boulevard"], "q2": ["david seville"], "q3": ["york"]}
    # q1 exact via 2nd alias; q2 "David" -> P 1, R 1/2 -> F1 2/3; q3 missing -> 0
    result = triviaqa.evaluate(gold, {"q1": "Sunset Boulevard", "q2": "David"})
    assert result["exact_match"] == pytest.approx(100 / 3)
    assert result["f1"] == pytest.approx(100 * (1 + 2 / 3) / 3)
    with pytest.raises(ValueError):
        triviaqa.evaluate({"q": []}, {"q": "x"})


def test_triviaqa_ground_truths_from_dataset_keys_and_verified_filter():
    answer = {"NormalizedAliases": ["x"]}
    web = {
        "Domain": "Web",
        "VerifiedEval": True,
        "Data": [
            {
                "QuestionId": "q1",
                "QuestionPartOfVerifiedEval": True,
                "Answer": answer,
                "EntityPages": [{"Filename": "A.txt", "DocPartOfVerifiedEval": True}],
                "SearchResults": [{"Filename": "1/1_2.txt", "DocPartOfVerifiedEval": False}],
            },
            {"QuestionId": "q2", "QuestionPartOfVerifiedEval": False, "Answer": answer, "EntityPages": []},
        ],
    }
    assert triviaqa.ground_truths_from_dataset(web) == {"q1--A.txt": ["x"]}
    assert len(web["Data"][0]["SearchResults"]) == 1  # input not modified
    wiki = {"Domain": "Wikipedia", "VerifiedEval": False, "Data": [{"QuestionId": "q9", "Answer": answer}]}
    assert triviaqa.ground_truths_from_dataset(wiki) == {"q9": ["x"]}


def _tqa_rule_predictions(gold: dict[str, list[str]], data: dict) -> dict[str, str]:
    """Keys in sorted order, i % 3: 0 last Alias; 1 Value + "_extra"; 2 "the " + first word of NormalizedValue."""
    answers = {}
    for datum in data["Data"]:
        answers[datum["QuestionId"]] = datum["Answer"]
    preds = {}
    for i, key in enumerate(sorted(gold)):
        answer = answers[key.split("--")[0]]
        rule = i % 3
        if rule == 0:
            preds[key] = answer["Aliases"][-1]
        elif rule == 1:
            preds[key] = answer["Value"] + "_extra"
        else:
            preds[key] = "the " + answer["NormalizedValue"].split()[0]
    return preds


@pytest.mark.fixtures
@pytest.mark.parametrize(
    ("parts", "n_keys", "expected"),
    [
        (("web-dev.json",), 6, {"exact_match": 33.333333333333336, "f1": 82.22222222222223}),
        (("web-train.json",), 7, {"exact_match": 71.42857142857143, "f1": 92.38095238095238}),
        (("wikipedia-dev.json",), 1, {"exact_match": 100.0, "f1": 100.0}),
    ],
)
def test_triviaqa_matches_official_script_on_fixture(parts, n_keys, expected):
    data = json.loads(fixture_path("triviaqa", "triviaqa-rc", "qa", *parts).read_text(encoding="utf-8"))
    gold = triviaqa.ground_truths_from_dataset(data)
    assert len(gold) == n_keys
    result = triviaqa.evaluate(gold, _tqa_rule_predictions(gold, data))
    assert result == pytest.approx(expected, rel=1e-12)


@pytest.mark.fixtures
def test_triviaqa_official_sample():
    # samples/triviaqa_sample.json has 2 Web keys; sample_predictions.json answers one ("Sunset Blvd", an alias)
    # -> the official script prints exact_match 50.0, f1 50.0 (common 1, denominator 2).
    data = json.loads(
        fixture_path("triviaqa", "official_sample", "triviaqa_sample.json").read_text(encoding="utf-8")
    )
    preds = json.loads(
        fixture_path("triviaqa", "official_sample", "sample_predictions.json").read_text(encoding="utf-8")
    )
    gold = triviaqa.ground_truths_from_dataset(data)
    assert sorted(gold) == ["tc_33--35/35_995.txt", "tc_33--Andrew_Lloyd_Webber.txt"]
    assert triviaqa.evaluate(gold, preds) == {"exact_match": 50.0, "f1": 50.0}
