"""HotpotQA answer metrics (EM, F1, precision, recall), ported from the official evaluation script.

Reference: ``hotpotqa/hotpot`` @ ``4c0fa5ea6541391ab86170c2f9c57eb87776ad16``, ``hotpot_evaluate_v1.py``
(answer metrics only: ``normalize_answer``, ``f1_score``, ``exact_match_score``, ``update_answer`` and the
answer part of ``eval``; supporting-fact and joint metrics are out of scope here).

Differences from SQuAD v1.1 (``benchmark.metrics.squad``):

* one gold answer string per question (no max over several);
* ``f1_score`` returns ``(f1, precision, recall)`` and has the special case for the answers
  ``yes``/``no``/``noanswer``: if either normalised string is one of them and the two differ, all three are 0
  (so ``"yes"`` vs ``"yes sir"`` scores 0, where SQuAD's F1 would give 2/3);
* the official script reports fractions in [0, 1]; ``evaluate`` here multiplies by 100 like every metric in
  this package. ``N`` is the number of gold questions, so a question without a prediction scores 0.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Mapping

__all__ = ["evaluate", "exact_match_score", "f1_score", "normalize_answer"]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)
_SPECIAL_ANSWERS = ("yes", "no", "noanswer")


def normalize_answer(s: str) -> str:
    """Official ``normalize_answer``: ``white_space_fix(remove_articles(remove_punc(lower(s))))``.

    Identical to SQuAD v1.1's normalisation (punctuation deleted, articles replaced by a space).
    """
    text = s.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def f1_score(prediction: str, ground_truth: str) -> tuple[float, float, float]:
    """Official ``f1_score``: ``(f1, precision, recall)`` in [0, 1], with the yes/no/noanswer rule."""
    normalized_prediction = normalize_answer(prediction)
    normalized_ground_truth = normalize_answer(ground_truth)
    zero_metric = (0.0, 0.0, 0.0)
    if normalized_prediction in _SPECIAL_ANSWERS and normalized_prediction != normalized_ground_truth:
        return zero_metric
    if normalized_ground_truth in _SPECIAL_ANSWERS and normalized_prediction != normalized_ground_truth:
        return zero_metric
    prediction_tokens = normalized_prediction.split()
    ground_truth_tokens = normalized_ground_truth.split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return zero_metric
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    f1 = (2 * precision * recall) / (precision + recall)
    return f1, precision, recall


def exact_match_score(prediction: str, ground_truth: str) -> bool:
    """Official ``exact_match_score``: normalised strings are equal."""
    return normalize_answer(prediction) == normalize_answer(ground_truth)


def evaluate(gold: Mapping[str, str], predictions: Mapping[str, str]) -> dict[str, float]:
    """Answer ``{"exact_match", "f1", "precision", "recall"}`` on a 0–100 scale (official ``eval``, ×100).

    ``gold`` maps ``_id`` to the gold ``answer`` string. Each metric is the mean over all gold questions of the
    per-question value (``update_answer``); a gold id missing from ``predictions`` adds 0 (the official
    "missing answer" branch) and extra prediction ids are ignored. Raises ``ValueError`` on empty ``gold``.
    """
    if not gold:
        raise ValueError("gold is empty: nothing to evaluate")
    em_sum = f1_sum = precision_sum = recall_sum = 0.0
    for qid, answer in gold.items():
        if not isinstance(answer, str):
            raise ValueError(f"gold[{qid!r}] must be the gold answer string, got {type(answer).__name__}")
        if qid not in predictions:
            continue
        prediction = predictions[qid]
        em_sum += float(exact_match_score(prediction, answer))
        f1, precision, recall = f1_score(prediction, answer)
        f1_sum += f1
        precision_sum += precision
        recall_sum += recall
    n = len(gold)
    return {
        "exact_match": 100.0 * em_sum / n,
        "f1": 100.0 * f1_sum / n,
        "precision": 100.0 * precision_sum / n,
        "recall": 100.0 * recall_sum / n,
    }
