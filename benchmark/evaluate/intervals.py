"""Bootstrap intervals over evaluation examples, paired across runs, and the aggregate over seeds.

A split's primary metric is recomputed on ``RESAMPLES`` resampled sets of its evaluation examples (drawn with
replacement, as many as the split has): NER resamples its examples, which are sentences (CoNLL) or documents
(GONERD), never tokens; QA resamples questions; classification resamples examples. The draws come from
``numpy.random.default_rng(RNG_SEED)`` over the examples sorted by id, so every run scored on the same gold
data draws the same resampled sets: replicate *b* of one run and replicate *b* of another are paired, and a
difference or a ratio of two runs is bootstrapped by subtracting or dividing their replicates
(:func:`paired`), without the gold data at hand. A result records the replicates (:class:`benchmark.core.record.
Bootstrap`) with the sha256 of the sorted ids, which must match for two runs to be paired.

How the metric is recomputed on a resampled set, the fastest way that gives the metric's own value:

* ``chunk counts``: conlleval's F1 from the summed correct / predicted / gold chunks of each example (exact:
  chunks never cross a sentence or document boundary);
* ``example mean``: the mean of the metric scored on each example alone, where that mean equals the metric
  on the whole split (QA F1 / exact match, accuracy);
* ``rescore``: otherwise (Matthews correlation, Pearson, GLUE's average, a task's own scorer) the task's scorer
  on every resampled set (ids made unique per draw).

Which one was used is recorded (``method``); the first two are checked against the split's score first and
fall back to ``rescore`` when they do not reproduce it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import BenchmarkError

RESAMPLES = 1000
RNG_SEED = 0
CONFIDENCE = 0.95
DECIMALS = 4  # replicates as recorded (metrics are 0-100)
TOLERANCE = 1e-6


def ids_sha256(ids: Sequence[str]) -> str:
    """sha256 of the sorted ids (one per line): two runs pair when theirs match."""
    return hashlib.sha256("\n".join(sorted(ids)).encode("utf-8")).hexdigest()


def unit_of(spec: Any) -> str:
    """What one resampled unit is for ``spec``'s task type."""
    if spec.task_type == "token_classification":
        return "document" if getattr(spec, "context", None) == "long" else "sentence"
    if spec.task_type == "extractive_qa":
        return "question"
    return "example"


def draws(n: int, resamples: int = RESAMPLES, seed: int = RNG_SEED) -> np.ndarray:
    """``resamples`` x ``n`` counts: how often each of ``n`` (sorted) units is drawn in each resampled set."""
    rng = np.random.default_rng(seed)
    counts = np.empty((resamples, n), dtype=np.int32)
    for b in range(resamples):
        counts[b] = np.bincount(rng.integers(0, n, n), minlength=n)
    return counts


def _score(spec: Any, examples: Sequence[Any], predictions: Mapping[str, Any]) -> dict[str, Any]:
    from .scoring import score_predictions

    return score_predictions(spec, examples, predictions)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def bootstrap_split(
    spec: Any,
    examples: Sequence[Any],
    predictions: Mapping[str, Any],
    *,
    score: float | None = None,
    resamples: int = RESAMPLES,
    seed: int = RNG_SEED,
) -> dict[str, Any]:
    """The :class:`benchmark.core.record.Bootstrap` data of one split: ``resamples`` replicates of its primary metric
    (``score``: its value on the whole split, computed when not given)."""
    ordered = sorted(examples, key=lambda ex: ex.id)
    if score is None:
        score = _number(_score(spec, ordered, predictions)["score"])
    if spec.subtasks:
        method, replicates = "sub-task statistics", _glue(spec, ordered, predictions, resamples, seed, score)
    else:
        replicates = None
    if replicates is None:
        counts = draws(len(ordered), resamples, seed)
        method, replicates = _fast(spec, ordered, predictions, counts, score)
    if replicates is None:
        method, replicates = "rescore", _rescored(spec, ordered, predictions, counts)
    return {
        "metric": spec.primary_metric,
        "unit": unit_of(spec),
        "n": len(ordered),
        "resamples": resamples,
        "rng_seed": seed,
        "ids_sha256": ids_sha256([ex.id for ex in ordered]),
        "method": method,
        "replicates": [round(float(v), DECIMALS) for v in replicates],
    }


def _fast(spec, ordered, predictions, counts, score) -> tuple[str, np.ndarray | None]:
    """Replicates from per-example statistics (``chunk counts`` or ``example mean``), or None when neither
    reproduces ``score`` on the whole split."""
    if score is None or spec.subtasks or getattr(spec, "scorer", None):
        return "", None
    try:
        singles = [_score(spec, [ex], {ex.id: predictions[ex.id]}) for ex in ordered]
    except (BenchmarkError, ValueError, ZeroDivisionError):  # a metric undefined on one example
        return "", None
    metric = spec.primary_metric
    keys = ("correct_chunks", "predicted_chunks", "gold_chunks")
    if metric == "f1" and all(all(k in s["metrics"] for k in keys) for s in singles):
        stats = np.array([[float(s["metrics"][k]) for k in keys] for s in singles])
        sums = counts @ stats  # resamples x 3
        if math.isclose(_chunk_f1(stats.sum(axis=0)[None, :])[0], score, abs_tol=TOLERANCE):
            return "chunk counts", _chunk_f1(sums)
    values = np.array([_number(s["score"]) if _number(s["score"]) is not None else np.nan for s in singles])
    if not np.isnan(values).any() and math.isclose(float(values.mean()), score, abs_tol=TOLERANCE):
        return "example mean", (counts @ values) / len(ordered)
    return "", None


def _glue(spec, ordered, predictions, resamples, seed, score) -> np.ndarray | None:
    """GLUE's score on resampled sets drawn within each sub-task (stratified: GLUE averages sub-tasks of fixed
    sizes), from weighted confusion counts (accuracy, F1, Matthews) and weighted sums (Pearson, Spearman of
    average ranks), the sub-task scores combined by :func:`benchmark.metrics.glue.glue_score`. None when the
    whole split does not reproduce ``score`` (then every resampled set is re-scored)."""
    from ..metrics import glue

    if score is None or getattr(spec, "scorer", None):
        return None
    parts = []
    for k, sub in enumerate(sorted(spec.subtasks, key=lambda s: s.name)):
        rows = [ex for ex in ordered if ex.id.startswith(sub.name + "-")]
        if not rows:
            continue
        if sub.name not in glue.SUBTASKS or getattr(sub, "scorer", None):
            return None
        gold = [ex.label for ex in rows]
        pred = [predictions[ex.id] for ex in rows]
        parts.append((sub.name, gold, pred, draws(len(rows), resamples, [seed, k])))
    if not parts:
        return None
    try:
        whole = glue.glue_score({name: _weighted(name, g, p, np.ones(len(g))) for name, g, p, _ in parts})
    except (ValueError, TypeError):
        return None
    if not math.isclose(whole, score, abs_tol=TOLERANCE):
        return None
    return np.array(
        [
            glue.glue_score({name: _weighted(name, g, p, c[b].astype(float)) for name, g, p, c in parts})
            for b in range(resamples)
        ]
    )


def _weighted(name: str, gold: list, pred: list, w: np.ndarray) -> dict[str, float]:
    """The metrics of GLUE sub-task ``name`` (0-100) on a multiset: item i counted ``w[i]`` times."""
    from ..metrics import classification, glue

    if name == "stsb":
        x, y = np.asarray(gold, dtype=float), np.asarray(pred, dtype=float)
        return {"pearson": _wpearson(x, y, w), "spearmanr": _wpearson(_wranks(x, w), _wranks(y, w), w)}
    labels = glue.LABELS[name]
    g = np.array([labels.index(v) if isinstance(v, str) else int(v) for v in gold])
    p = np.array([labels.index(v) if isinstance(v, str) else int(v) for v in pred])
    confusion = np.zeros((len(labels), len(labels)))
    np.add.at(confusion, (g, p), w)
    total = confusion.sum()
    out = {"accuracy": 100.0 * np.trace(confusion) / total}
    if name == "cola":
        t_sum, p_sum = confusion.sum(axis=1), confusion.sum(axis=0)
        cov_ytyp = np.trace(confusion) * total - float(t_sum @ p_sum)
        cov_ypyp, cov_ytyt = total**2 - float(p_sum @ p_sum), total**2 - float(t_sum @ t_sum)
        mcc = 0.0 if cov_ypyp * cov_ytyt == 0 else 100.0 * cov_ytyp / math.sqrt(cov_ytyt * cov_ypyp)
        return {"matthews_correlation": mcc}
    if name in glue.POSITIVE_LABEL:
        pos = labels.index(glue.POSITIVE_LABEL[name])
        tp = confusion[pos, pos]
        fp, fn = confusion[:, pos].sum() - tp, confusion[pos, :].sum() - tp
        out["f1"] = 100.0 * classification._f1(tp, fp, fn)
    return out


def _wpearson(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    total = w.sum()
    xm, ym = x - (w @ x) / total, y - (w @ y) / total
    norm = math.sqrt(float(w @ (xm * xm))) * math.sqrt(float(w @ (ym * ym)))
    if norm == 0.0:
        return 0.0
    return 100.0 * max(-1.0, min(1.0, float(w @ (xm * ym)) / norm))


def _wranks(values: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Each item's average 1-based rank in the multiset (item i ``w[i]`` times; ties share their mean rank)."""
    unique, group = np.unique(values, return_inverse=True)
    counts = np.bincount(group, weights=w, minlength=len(unique))
    before = np.cumsum(counts) - counts
    return (before + (counts + 1) / 2.0)[group]


def _chunk_f1(sums: np.ndarray) -> np.ndarray:
    """conlleval's F1 (0-100) of rows of (correct, predicted, gold) chunk counts."""
    correct, guessed, found = sums[:, 0], sums[:, 1], sums[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(guessed > 0, 100.0 * correct / guessed, 0.0)
        recall = np.where(found > 0, 100.0 * correct / found, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return f1


def _rescored(spec, ordered, predictions, counts) -> np.ndarray:
    """The task's scorer on every resampled set (a unit drawn k times enters k times under unique ids)."""
    out = np.empty(len(counts))
    for b, row in enumerate(counts):
        sample, preds = [], {}
        for i in np.flatnonzero(row):
            ex = ordered[i]
            for k in range(int(row[i])):
                copy = dataclasses.replace(ex, id=f"{ex.id}#{k}") if k else ex
                sample.append(copy)
                preds[copy.id] = predictions[ex.id]
        try:
            value = _number(_score(spec, sample, preds)["score"])
        except (BenchmarkError, ValueError, ZeroDivisionError):  # undefined on this set: no interval (NaN)
            value = None
        out[b] = value if value is not None else np.nan
    return out


def percentile_interval(replicates: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The percentile bootstrap interval of ``replicates``."""
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.nanpercentile(np.asarray(replicates, dtype=float), [tail, 100 - tail])
    return float(low), float(high)


# ----------------------------------------------------------------------------------------------------- seeds
def metric_stats(values: Sequence[float]) -> dict[str, Any]:
    """mean, sample standard deviation (None for one value), n, min and max of ``values``."""
    array = np.asarray(values, dtype=float)
    return {
        "mean": float(array.mean()),
        "sd": float(array.std(ddof=1)) if len(array) > 1 else None,
        "n": len(array),
        "min": float(array.min()),
        "max": float(array.max()),
    }


def numeric_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The top-level numeric metrics of a split (nested tables such as ``per_type`` left out)."""
    return {k: float(v) for k, v in metrics.items() if _number(v) is not None}


def mean_replicates(bootstraps: Sequence[Any]) -> np.ndarray:
    """Replicate-wise mean over seeds (records of :class:`benchmark.core.record.Bootstrap` of the same gold)."""
    return np.mean([np.asarray(b.replicates, dtype=float) for b in bootstraps], axis=0)


def pairable(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """Whether two sets of Bootstrap records drew the same resampled sets of the same examples."""
    keys = {(x.ids_sha256, x.resamples, x.rng_seed, x.metric, x.unit) for x in (*a, *b)}
    return len(keys) == 1


def paired(a: Sequence[Any], b: Sequence[Any], confidence: float = CONFIDENCE) -> dict[str, Any]:
    """Paired bootstrap of run ``a`` against run ``b`` (each: Bootstrap records of its seeds, same gold):
    the difference a - b and the retention a / b x 100, each with its percentile interval."""
    ra, rb = mean_replicates(a), mean_replicates(b)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(rb != 0, ra / rb * 100.0, np.nan)
    return {
        "difference_interval": percentile_interval(ra - rb, confidence),
        "retention_interval": percentile_interval(ratio, confidence) if not np.isnan(ratio).all() else None,
    }


def verdict(interval: tuple[float, float] | None) -> str | None:
    """``better`` (the interval of a - b lies above 0), ``worse`` (below) or ``indistinguishable`` (holds 0)."""
    if interval is None:
        return None
    low, high = interval
    return "better" if low > 0 else "worse" if high < 0 else "indistinguishable"


def aggregate_seeds(runs: Sequence[tuple[int, Any, str]]) -> dict[str, Any]:
    """The ``seeds`` section (:class:`benchmark.core.record.Seeds`) of ``(seed, ResultRecord, relative path)`` runs of
    one task: per split the mean, sd, n, min and max of every numeric metric over seeds and the 95% percentile
    bootstrap interval over evaluation examples of the seeds' mean primary metric (replicate-wise mean over seeds
    of each seed's paired replicates, :mod:`benchmark.evaluate.intervals`)."""
    splits: dict[str, Any] = {}
    for split in runs[0][1].splits:
        values: dict[str, list[float]] = {}
        for _, record, _ in runs:
            score = record.metrics[split]
            for key, value in numeric_metrics({**score.metrics, score.primary_metric: score.score}).items():
                values.setdefault(key, []).append(value)
        part: dict[str, Any] = {
            "stats": {key: metric_stats(vals) for key, vals in values.items() if len(vals) == len(runs)}
        }
        boots = [record.bootstrap.get(split) for _, record, _ in runs if record.bootstrap]
        if len(boots) == len(runs) and all(boots) and pairable(boots, boots):
            low, high = percentile_interval(mean_replicates(boots), CONFIDENCE)
            part["interval"] = {
                "metric": boots[0].metric,
                "low": round(low, 4),
                "high": round(high, 4),
                "confidence": CONFIDENCE,
                "resamples": boots[0].resamples,
                "unit": boots[0].unit,
            }
        splits[split] = part
    return {
        "seeds": [seed for seed, _, _ in runs],
        "files": {str(seed): path for seed, _, path in runs},
        "scores": {
            str(seed): {split: float(record.metrics[split].score) for split in record.splits}
            for seed, record, _ in runs
        },
        "splits": splits,
    }
