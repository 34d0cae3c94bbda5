"""Classification and correlation metrics on a 0–100 scale, numpy only (no scipy/sklearn dependency).

Each function takes ``(gold, pred)`` sequences of equal, non-zero length and returns a float in percent.
Definitions match the references used by GLUE evaluation code (``sklearn.metrics`` for accuracy, F1 and MCC;
``scipy.stats`` for Pearson and Spearman), with one deliberate difference: where those return NaN or warn
(a constant input makes a correlation undefined; MCC's denominator is 0), these return ``0.0``. This matches
``sklearn.metrics.matthews_corrcoef`` (which returns 0.0 there) and is documented per function.

* ``accuracy``: share of positions where ``gold == pred``.
* ``binary_f1``: F1 of the ``positive`` label, ``2TP / (2TP + FP + FN)``; 0.0 when TP = FP = FN = 0
  (``sklearn.metrics.f1_score(..., pos_label=positive, zero_division=0)``).
* ``macro_f1``: unweighted mean of per-label F1 over the *union* of labels seen in gold and predictions
  (sklearn's default ``labels``), each label's F1 0.0 when undefined (``zero_division=0``).
* ``matthews_corrcoef``: the multiclass MCC of Gorodkin (2004), computed from the confusion matrix exactly as
  ``sklearn.metrics.matthews_corrcoef``; for two classes it is the usual
  ``(TP·TN − FP·FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN))``. 0.0 when the denominator is 0 (e.g. constant
  predictions), as sklearn.
* ``pearson``: Pearson's r (``scipy.stats.pearsonr``); 0.0 if either input is constant.
* ``spearman``: Pearson's r of the ranks, ties given their average rank (``scipy.stats.spearmanr``,
  ``rankdata(method="average")``); 0.0 if either input is constant.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import numpy as np

__all__ = ["accuracy", "binary_f1", "macro_f1", "matthews_corrcoef", "pearson", "rankdata", "spearman"]


def _check(gold: Sequence, pred: Sequence) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"gold has {len(gold)} items but pred has {len(pred)}")
    if len(gold) == 0:
        raise ValueError("cannot score empty sequences")


def _f1(tp: int, fp: int, fn: int) -> float:
    denominator = 2 * tp + fp + fn
    return 2.0 * tp / denominator if denominator > 0 else 0.0


def accuracy(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> float:
    """Percentage of exact label matches (``sklearn.metrics.accuracy_score`` ×100)."""
    _check(gold, pred)
    return 100.0 * sum(1 for g, p in zip(gold, pred, strict=True) if g == p) / len(gold)


def binary_f1(gold: Sequence[Hashable], pred: Sequence[Hashable], positive: Hashable) -> float:
    """F1 of class ``positive`` ×100 (``sklearn.metrics.f1_score(pos_label=positive, zero_division=0)``)."""
    _check(gold, pred)
    tp = fp = fn = 0
    for g, p in zip(gold, pred, strict=True):
        if p == positive and g == positive:
            tp += 1
        elif p == positive:
            fp += 1
        elif g == positive:
            fn += 1
    return 100.0 * _f1(tp, fp, fn)


def macro_f1(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> float:
    """Unweighted mean per-label F1 over labels in gold ∪ pred, ×100 (sklearn ``average="macro"``)."""
    _check(gold, pred)
    labels = set(gold) | set(pred)
    return sum(binary_f1(gold, pred, label) for label in labels) / len(labels)


def matthews_corrcoef(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> float:
    """Matthews correlation ×100, multiclass (as ``sklearn.metrics.matthews_corrcoef``); 0.0 if undefined.

    With confusion matrix C (rows gold, columns predicted), ``t = C.sum(1)``, ``p = C.sum(0)``,
    ``c = trace(C)``, ``s = n``: MCC = (c·s − t·p) / sqrt((s² − p·p)(s² − t·t)).
    """
    _check(gold, pred)
    labels = sorted(set(gold) | set(pred), key=repr)
    index = {label: i for i, label in enumerate(labels)}
    confusion = np.zeros((len(labels), len(labels)), dtype=np.float64)
    for g, p in zip(gold, pred, strict=True):
        confusion[index[g], index[p]] += 1
    t_sum = confusion.sum(axis=1)
    p_sum = confusion.sum(axis=0)
    n_correct = float(np.trace(confusion))
    n_samples = float(len(gold))
    cov_ytyp = n_correct * n_samples - float(np.dot(t_sum, p_sum))
    cov_ypyp = n_samples**2 - float(np.dot(p_sum, p_sum))
    cov_ytyt = n_samples**2 - float(np.dot(t_sum, t_sum))
    if cov_ypyp * cov_ytyt == 0:
        return 0.0
    return 100.0 * cov_ytyp / math.sqrt(cov_ytyt * cov_ypyp)


def _as_float_array(values: Sequence[float], name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    # Centre first (as scipy.stats.pearsonr does) for numerical stability.
    xm = x - x.mean()
    ym = y - y.mean()
    norm = math.sqrt(float(np.dot(xm, xm))) * math.sqrt(float(np.dot(ym, ym)))
    if norm == 0.0:
        return 0.0
    r = float(np.dot(xm, ym)) / norm
    return max(-1.0, min(1.0, r))


def pearson(gold: Sequence[float], pred: Sequence[float]) -> float:
    """Pearson correlation ×100 (``scipy.stats.pearsonr(gold, pred)[0]``); 0.0 if either side is constant."""
    _check(gold, pred)
    return 100.0 * _pearson(_as_float_array(gold, "gold"), _as_float_array(pred, "pred"))


def rankdata(values: Sequence[float]) -> np.ndarray:
    """1-based ranks with ties given their average rank (``scipy.stats.rankdata(method="average")``)."""
    array = _as_float_array(values, "values")
    order = np.argsort(array, kind="mergesort")
    ranks = np.empty(len(array), dtype=np.float64)
    sorted_values = array[order]
    i = 0
    n = len(array)
    while i < n:
        j = i
        while j + 1 < n and sorted_values[j + 1] == sorted_values[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0  # mean of 1-based positions i+1 .. j+1
        i = j + 1
    return ranks


def spearman(gold: Sequence[float], pred: Sequence[float]) -> float:
    """Spearman's rho ×100: Pearson of average ranks (``scipy.stats.spearmanr``); 0.0 if either is constant."""
    _check(gold, pred)
    return 100.0 * _pearson(rankdata(gold), rankdata(pred))
