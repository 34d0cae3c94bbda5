"""Typed examples, one kind per task type. Loaders produce them; preprocessing, scoring and result files use them.

Every example has an ``id`` unique within its task and split: the key of a predictions file.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ClassificationExample:
    """Single sentence / sentence pair / document. ``label`` is a label name (classification), a float
    (regression), or None where the split has no public labels."""

    id: str
    text: str
    text_pair: str | None = None
    label: str | float | None = None


@dataclass(frozen=True)
class QAExample:
    """Extractive QA. ``answers``: every gold answer string (SQuAD: all annotators; TriviaQA: all aliases;
    HotpotQA: one, possibly "yes"/"no"). ``answer_starts``: character offsets of answers found in ``context``
    (may be empty, e.g. yes/no answers or answers not present verbatim)."""

    id: str
    question: str
    context: str
    answers: tuple[str, ...] = ()
    answer_starts: tuple[int, ...] = ()
    meta: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class TokenExample:
    """Token classification over words, IOB2 tags as strings (None where unlabeled)."""

    id: str
    tokens: tuple[str, ...]
    tags: tuple[str, ...] | None = None


Example = ClassificationExample | QAExample | TokenExample
