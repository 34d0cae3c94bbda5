"""TriviaQA answer metrics (EM and F1 as max over ground-truth aliases), ported from the official script.

Reference: ``mandarjoshi90/triviaqa`` (HEAD ``ca43b5820b107f3970cf4b7d67f7db7a98117b79``; the evaluation code
read for this port is identical at ``b2c0046463fa1fec6105071739bdb62ef16f4ea7``):
``evaluation/triviaqa_evaluation.py`` (``normalize_answer``, ``f1_score``, ``exact_match_score``,
``metric_max_over_ground_truths``, ``get_ground_truths``, ``evaluate_triviaqa``) and ``utils/dataset_utils.py``
(``get_key_to_ground_truth``, ``get_question_doc_string``, ``read_triviaqa_data``).

Normalisation differs from SQuAD's: underscores become spaces first, and punctuation *plus* the characters
``‘ ’ ´ `` ` `` is replaced by a space (``handle_punc``) rather than deleted, so ``"Lloyd-Webber"`` ->
``"lloyd webber"`` (two tokens). Order: ``white_space_fix(remove_articles(handle_punc(lower(replace_underscore(s))))).strip()``.

Ground truths (``get_ground_truths``): the record's ``Answer["NormalizedAliases"]`` (already normalised in the
data; used as they are) followed by ``normalize_answer(a)`` for each ``Answer["HumanAnswers"]`` entry when that
key exists (verified-evaluation records). ``NormalizedMatchedWikiEntityName``/``NormalizedValue`` are *not* added.

Scoring (``evaluate_triviaqa``): the denominator is the number of gold keys (``qid_list`` defaults to every
key of the ground truth); a key without a prediction is skipped and so scores 0 ("common" counts the keys that
were scored). Keys are question ids for the Wikipedia domain and ``"<QuestionId>--<Filename>"`` for Web.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "evaluate",
    "exact_match_score",
    "f1_score",
    "ground_truths_from_answer",
    "ground_truths_from_dataset",
    "normalize_answer",
]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_EXCLUDE = frozenset(string.punctuation + "".join(["‘", "’", "´", "`"]))


def normalize_answer(s: str) -> str:
    """Official TriviaQA ``normalize_answer`` (underscores and punctuation become spaces, articles dropped)."""
    text = s.replace("_", " ")
    text = text.lower()
    text = "".join(ch if ch not in _EXCLUDE else " " for ch in text)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split()).strip()


def f1_score(prediction: str, ground_truth: str) -> float:
    """Official TriviaQA ``f1_score``: token F1 of the normalised strings, in [0, 1]."""
    prediction_tokens = normalize_answer(prediction).split()
    ground_truth_tokens = normalize_answer(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)


def exact_match_score(prediction: str, ground_truth: str) -> bool:
    """Official TriviaQA ``exact_match_score``: normalised strings are equal.

    Ground truths from ``NormalizedAliases`` are normalised again here, as in the script.
    """
    return normalize_answer(prediction) == normalize_answer(ground_truth)


def ground_truths_from_answer(answer: Mapping[str, Any]) -> list[str]:
    """Official ``get_ground_truths``: ``NormalizedAliases`` + normalised ``HumanAnswers`` (if present)."""
    return list(answer["NormalizedAliases"]) + [normalize_answer(a) for a in answer.get("HumanAnswers", [])]


def ground_truths_from_dataset(data: Mapping[str, Any]) -> dict[str, list[str]]:
    """Evaluation keys -> ground truths for a whole TriviaQA ``qa/*.json`` object, as the official main does.

    Mirrors ``read_triviaqa_data`` (when ``VerifiedEval`` is true keep only questions with
    ``QuestionPartOfVerifiedEval`` and, for the Web domain, only pages with ``DocPartOfVerifiedEval``) followed
    by ``get_key_to_ground_truth`` (Wikipedia: key = ``QuestionId``; otherwise one key per
    ``EntityPages`` + ``SearchResults`` page, ``"<QuestionId>--<Filename>"``) and ``get_ground_truths``.
    The input is not modified.
    """
    records = list(data["Data"])
    domain = data["Domain"]
    if data.get("VerifiedEval"):
        kept = []
        for datum in records:
            if not datum["QuestionPartOfVerifiedEval"]:
                continue
            if domain == "Web":
                datum = dict(datum)
                for key in ("EntityPages", "SearchResults"):
                    datum[key] = [page for page in datum.get(key, []) if page["DocPartOfVerifiedEval"]]
            kept.append(datum)
        records = kept
    out: dict[str, list[str]] = {}
    for datum in records:
        truths = ground_truths_from_answer(datum["Answer"])
        if domain == "Wikipedia":
            out[datum["QuestionId"]] = truths
        else:
            for page in list(datum.get("EntityPages", [])) + list(datum.get("SearchResults", [])):
                out["{}--{}".format(datum["QuestionId"], page["Filename"])] = truths
    return out


def evaluate(gold: Mapping[str, Sequence[str]], predictions: Mapping[str, str]) -> dict[str, float]:
    """TriviaQA ``{"exact_match", "f1"}`` on a 0–100 scale (official ``evaluate_triviaqa``).

    ``gold`` maps each evaluation key to its ground truths as the script selects them (use
    ``ground_truths_from_answer`` / ``ground_truths_from_dataset``). Per key: max over ground truths of EM and
    F1; summed over keys present in ``predictions``; divided by ``len(gold)``. Raises ``ValueError`` on empty
    ``gold`` or a key with no ground truths (the script's ``max([])`` would fail).
    """
    if not gold:
        raise ValueError("gold is empty: nothing to evaluate")
    exact_match = 0.0
    f1 = 0.0
    for qid, ground_truths in gold.items():
        if isinstance(ground_truths, str):
            raise ValueError(f"gold[{qid!r}] must be a sequence of ground-truth strings, not a single string")
        if len(ground_truths) == 0:
            raise ValueError(f"gold[{qid!r}] has no ground truths")
        if qid not in predictions:
            continue
        prediction = predictions[qid]
        exact_match += max(float(exact_match_score(prediction, gt)) for gt in ground_truths)
        f1 += max(f1_score(prediction, gt) for gt in ground_truths)
    total = len(gold)
    return {"exact_match": 100.0 * exact_match / total, "f1": 100.0 * f1 / total}
