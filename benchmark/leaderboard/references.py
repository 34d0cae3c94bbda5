"""Headline figures published in the paper this benchmark follows. They are quoted, not measured here, and every
view that shows them labels them as such."""

from __future__ import annotations

PAPER = (
    'Brown et al., "Efficient Transformer Knowledge Distillation: A Performance Review", '
    "EMNLP 2023 Industry Track"
)
PAPER_LABEL = "published in the paper (not measured here)"

# (key, description, value in %) as stated in the paper's abstract; all are best cases ("up to").
HEADLINES: tuple[tuple[str, str, float], ...] = (
    ("short", "performance retained on short-context tasks (GLUE, SQuAD, CoNLL-2003), up to", 98.6),
    ("long_qa", "performance retained on long-context QA (HotpotQA, TriviaQA), up to", 94.6),
    ("long_ner", "performance retained on long-context NER (GONERD), up to", 98.8),
    ("time", "less inference time, up to", 57.8),
)

# Which reference applies to a task's retention (None: the paper gives no headline for it).
TASK_REFERENCE = {
    "glue": "short",
    "squad": "short",
    "conll2003": "short",
    "hotpotqa": "long_qa",
    "triviaqa": "long_qa",
    "gonerd": "long_ner",
}


def headline(key: str) -> float:
    """The published value for ``key`` (one of :data:`HEADLINES`)."""
    return next(value for k, _, value in HEADLINES if k == key)


def markdown_lines() -> list[str]:
    """Bullet lines for the README, each labelled as a published figure."""
    return [f"- {text} **{value}%** ({PAPER_LABEL})" for _, text, value in HEADLINES]
