"""MTEB's cleaning rules for text classification data, applied to ``ccdv/arxiv-classification`` (``no_ref``).

MTEB's corrected copy ``mteb/arxiv`` (``ArxivClassification.v2``) was built from the ``default`` config, whose
texts keep the label stamp; we apply the same rules to ``no_ref`` when loading, in this order:

1. ``empty``: texts that are empty after ``strip()``;
2. ``duplicate``: exact duplicate rows within a split, i.e. the same ``strip()``-ed text *and* label (first kept);
3. ``short``: texts with fewer than 3 whitespace-separated words;
4. ``leak``: validation / test texts whose ``strip()``-ed form occurs in (cleaned) train;
5. ``multi_label``: every row whose ``strip().lower()`` form carries more than one label within its split.

Rule 2 keys on (text, label) so that a text seen with two labels is not silently reduced to one of them:
rule 5 then removes all its rows. Counts of removed rows are returned per split and rule.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

RULES = ("empty", "duplicate", "short", "leak", "multi_label")
MIN_WORDS = 3
TRAIN = "train"

Row = Mapping[str, Any]


def _clean_within(rows: Sequence[Row], counts: dict[str, int]) -> list[Row]:
    kept: list[Row] = []
    seen: set[tuple[str, Any]] = set()
    for row in rows:
        text = (row["text"] or "").strip()
        if not text:
            counts["empty"] += 1
            continue
        key = (text, row["label"])
        if key in seen:
            counts["duplicate"] += 1
            continue
        seen.add(key)
        if len(text.split()) < MIN_WORDS:
            counts["short"] += 1
            continue
        kept.append(row)
    return kept


def _drop_multi_label(rows: Sequence[Row], counts: dict[str, int]) -> list[Row]:
    labels: dict[str, set] = defaultdict(set)
    for row in rows:
        labels[row["text"].strip().lower()].add(row["label"])
    kept = [row for row in rows if len(labels[row["text"].strip().lower()]) == 1]
    counts["multi_label"] += len(rows) - len(kept)
    return kept


def clean_splits(
    splits: Mapping[str, Sequence[Row]],
) -> tuple[dict[str, list[Row]], dict[str, dict[str, int]]]:
    """Apply the rules to ``{split: rows}`` (rows with ``text`` and ``label``); ``train`` is needed for rule 4
    when other splits are given. Returns the kept rows (original order) and ``{split: {rule: removed}}`` with an
    extra ``kept`` count per split."""
    counts = {name: dict.fromkeys(RULES, 0) for name in splits}
    kept = {name: _clean_within(rows, counts[name]) for name, rows in splits.items()}
    train_texts = {row["text"].strip() for row in kept.get(TRAIN, [])}
    for name, rows in kept.items():
        if name != TRAIN:
            before = len(rows)
            rows = [row for row in rows if row["text"].strip() not in train_texts]
            counts[name]["leak"] = before - len(rows)
        kept[name] = _drop_multi_label(rows, counts[name])
        counts[name]["kept"] = len(kept[name])
    return kept, counts
