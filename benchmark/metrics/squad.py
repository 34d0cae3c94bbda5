"""SQuAD v1.1 answer metrics: exact match and token F1, ported from the official evaluation script.

Reference: "Official evaluation script for v1.1 of the SQuAD dataset" (``evaluate-v1.1.py``, as distributed
with SQuAD v1.1; the copy read for this port is ``seominjoon/denspi`` @ ``51915f65``, ``evaluate-v1.1.py``,
whose metric functions are the official ones verbatim). Every function below matches the function of the same
name in that script:

* ``normalize_answer``: lower-case, delete ASCII punctuation (``string.punctuation``), replace the articles
  ``a``/``an``/``the`` (whole words) by a space, collapse whitespace. Punctuation is *deleted*, not replaced by a
  space (``"Denver-Broncos"`` -> ``"denverbroncos"``), unlike TriviaQA's ``handle_punc``.
* ``f1_score``: bag-of-tokens F1 between the normalised strings; 0 when no token is shared (so two answers
  that both normalise to the empty string have F1 0 but exact match 1, exactly as the script).
* ``evaluate``: per question the maximum over its ground-truth answers, averaged over *all* gold questions
  (an unanswered question scores 0, the official ``total`` counts it) and scaled by 100.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

__all__ = ["evaluate", "exact_match_score", "f1_score", "metric_max_over_ground_truths", "normalize_answer"]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)

T = TypeVar("T", bool, float)


def normalize_answer(s: str) -> str:
    """Lower text and remove punctuation, articles and extra whitespace (official ``normalize_answer``).

    Order as in the script: ``white_space_fix(remove_articles(remove_punc(lower(s))))``.
    """
    text = s.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def f1_score(prediction: str, ground_truth: str) -> float:
    """Token-level F1 of the normalised strings (official ``f1_score``), in [0, 1]."""
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
    """True when both strings normalise to the same text (official ``exact_match_score``)."""
    return normalize_answer(prediction) == normalize_answer(ground_truth)


def metric_max_over_ground_truths(
    metric_fn: Callable[[str, str], T], prediction: str, ground_truths: Sequence[str]
) -> T:
    """Best score of ``prediction`` against any ground truth (official ``metric_max_over_ground_truths``).

    Raises ``ValueError`` on an empty ``ground_truths`` (the official script's ``max([])`` would raise too).
    """
    if len(ground_truths) == 0:
        raise ValueError("no ground-truth answers to score against")
    return max(metric_fn(prediction, ground_truth) for ground_truth in ground_truths)


def evaluate(gold: Mapping[str, Sequence[str]], predictions: Mapping[str, str]) -> dict[str, float]:
    """SQuAD v1.1 ``{"exact_match", "f1"}`` on a 0–100 scale (official ``evaluate``).

    ``gold`` maps each question id to its ground-truth answer texts (``[a["text"] for a in qa["answers"]]``);
    ``predictions`` maps question ids to answer strings. The denominator is the number of gold questions: a
    gold id missing from ``predictions`` scores 0 and prediction ids not in ``gold`` are ignored, as in the
    official script. Raises ``ValueError`` when ``gold`` is empty (the script would divide by zero) or a
    question has no answers.
    """
    if not gold:
        raise ValueError("gold is empty: nothing to evaluate")
    exact_match = 0.0
    f1 = 0.0
    for qid, ground_truths in gold.items():
        if isinstance(ground_truths, str):
            raise ValueError(f"gold[{qid!r}] must be a sequence of answer strings, not a single string")
        if qid not in predictions:
            continue
        prediction = predictions[qid]
        exact_match += metric_max_over_ground_truths(exact_match_score, prediction, ground_truths)
        f1 += metric_max_over_ground_truths(f1_score, prediction, ground_truths)
    total = len(gold)
    return {"exact_match": 100.0 * exact_match / total, "f1": 100.0 * f1 / total}
