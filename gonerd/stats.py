"""Statistics of a built dataset, computed from its Parquet files (never typed in)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from .labels import label_names
from .split import SPLITS
from .write import read_split, split_files


def _percentile(sorted_values: list[int], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return 0.0
    pos = (len(sorted_values) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _entities(tag_ids: list[int], names: list[str]) -> Counter:
    counts: Counter = Counter()
    for t in tag_ids:
        name = names[t]
        if name.startswith("B-"):
            counts[name[2:]] += 1
    return counts


def config_stats(dataset_dir: str | Path, config: str) -> dict:
    """Documents, tokens per document, entities per type, per split and overall."""
    names = label_names(config)
    per_split: dict[str, dict] = {}
    all_lengths: list[int] = []
    all_entities: Counter = Counter()
    for split in SPLITS:
        table = read_split(dataset_dir, config, split)
        lengths = [len(t) for t in table.column("tokens").to_pylist()]
        entities: Counter = Counter()
        for tags in table.column("ner_tags").to_pylist():
            entities += _entities(tags, names)
        per_split[split] = {
            "documents": table.num_rows,
            "tokens": sum(lengths),
            "entities": sum(entities.values()),
            "bytes": table.nbytes,  # Arrow bytes in memory: the card's dataset_info num_bytes
            "file_bytes": sum(f.stat().st_size for f in split_files(dataset_dir, config, split)),
        }
        all_lengths += lengths
        all_entities += entities
    all_lengths.sort()
    n = len(all_lengths)
    types = [n[2:] for n in names if n.startswith("B-")]
    return {
        "documents": n,
        "tokens": sum(all_lengths),
        "tokens_per_document": {
            "mean": round(sum(all_lengths) / n, 1) if n else 0.0,
            "median": round(_percentile(all_lengths, 0.5), 1),
            "p90": round(_percentile(all_lengths, 0.9), 1),
            "min": all_lengths[0] if n else 0,
            "max": all_lengths[-1] if n else 0,
        },
        "entities": sum(all_entities.values()),
        "entities_per_type": {t: all_entities.get(t, 0) for t in types},
        "splits": per_split,
    }
