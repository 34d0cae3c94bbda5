"""Deterministic train/validation/test assignment by a stable hash of the article id.

The hash (sha256 of the id string, first 8 bytes as an integer, modulo 100) does not depend on the order, the
number of articles or the Python process, so an article keeps its split across rebuilds and dataset versions.
"""

from __future__ import annotations

import hashlib

SPLITS = ("train", "validation", "test")
DEFAULT_RATIOS = (60, 20, 20)  # percent


def bucket(article_id: str) -> int:
    """0..99, stable across processes and platforms."""
    return int.from_bytes(hashlib.sha256(article_id.encode()).digest()[:8], "big") % 100


def split_of(article_id: str, ratios: tuple[int, int, int] = DEFAULT_RATIOS) -> str:
    if sum(ratios) != 100 or any(r < 0 for r in ratios):
        raise ValueError(f"split ratios must be non-negative percentages summing to 100, got {ratios}")
    b = bucket(article_id)
    if b < ratios[0]:
        return "train"
    if b < ratios[0] + ratios[1]:
        return "validation"
    return "test"
