"""Multiple choice (SWAG-style): a context, N candidate endings, and the index of the right one.

The whole type lives in this module: its example class (:class:`ChoiceExample`), its feature
(:class:`ChoiceFeature`, the N sequences of one example), the shape of a batch (``[batch, N, width]``, answered
through :meth:`~.base.TaskType.collate`, :meth:`~.base.TaskType.feature_width` and
:meth:`~.base.TaskType.feature_tokens`), the head (``AutoModelForMultipleChoice``: one logit per choice) and its
scorer. Nothing in the generic code names it.

Each example is encoded as N (context, ending) pairs, each truncated to the usable length ``L`` (``longest_first``;
such examples are counted as truncated; there are no windows). The prediction is the index of the ending with the
highest logit, an ``int`` in ``0..N-1``, scored by accuracy (the registered scorer ``multiple_choice_accuracy``,
which reports ``accuracy``).

Spec ``fields`` (role -> source field): ``context`` (SWAG's ``sent1``); ``endings``, either one field holding the
list of endings (HellaSwag's ``endings``) or the comma-separated fields of the endings in order
(``ending0,ending1,ending2,ending3``); optionally ``question``, a field prefixed to every ending (SWAG's
``sent2``, the start of the ending sentence); ``label`` (default ``label``): the gold index, an int or a digit
string, -1 / empty / missing where the split has no public labels.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ..core.encoded import EncodedSplit, Feature
from ..core.plugins import register_scorer
from ..errors import BenchmarkError
from .base import Scorer, TaskType, register, token_type_ids
from .rows import make_id

NAME = "multiple_choice"


@dataclass(frozen=True)
class ChoiceExample:
    """A context and its candidate endings; ``label`` is the index of the right ending (None where the split has no
    public labels). ``question``, when the task has one, starts every ending (SWAG's ``sent2``)."""

    id: str
    context: str
    endings: tuple[str, ...]
    label: int | None = None
    question: str = ""


@dataclass
class ChoiceFeature(Feature):
    """One example as its N (context, ending) sequences, each a plain :class:`~benchmark.core.encoded.Feature` in
    ``choices``; the feature's own ``input_ids`` stay empty. Its length is its longest sequence."""

    choices: tuple[Feature, ...] = ()

    def __len__(self) -> int:
        return max((len(c) for c in self.choices), default=0)


def ending_fields(spec: Any) -> list[str]:
    """The source fields of the endings: one list field, or several comma-separated ones."""
    return [f.strip() for f in spec.fields.get("endings", "").split(",") if f.strip()]


def _label(raw: Any, n: int, where: str) -> int | None:
    if raw is None or raw == "" or raw == -1 or raw == "-1":
        return None
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw < n:
        return raw
    raise BenchmarkError(f"{where}: label {raw!r} is not the index of one of its {n} endings")


def _accuracy(spec, examples, preds) -> dict[str, Any]:
    from ..metrics import classification

    return {
        "accuracy": classification.accuracy([ex.label for ex in examples], [preds[ex.id] for ex in examples])
    }


ACCURACY = register_scorer(
    Scorer("multiple_choice_accuracy", frozenset({"accuracy"}), _accuracy, frozenset({NAME}))
)


@register
class MultipleChoiceType(TaskType):
    name = NAME
    example_class = ChoiceExample
    auto_class = "AutoModelForMultipleChoice"
    head_mapping = "MODEL_FOR_MULTIPLE_CHOICE_MAPPING_NAMES"
    head_suffix = "ForMultipleChoice"
    row_fields = ("context",)

    def check_spec(self, spec) -> str | None:
        if len(ending_fields(spec)) < 1:
            return "fields.endings is required: one list field, or the comma-separated fields of the endings"
        return None

    # ------------------------------------------------------------------------------------------ model head
    def num_labels(self, spec) -> int:
        return 1  # one logit per (context, ending) sequence; the choices are the second dimension

    def head_labels(self, spec) -> dict[str, Any]:
        return {}

    # ------------------------------------------------------------------------------------------ data
    def needed_row_fields(self, spec) -> list[str]:
        extra = [spec.fields["question"]] if "question" in spec.fields else []
        return [*super().needed_row_fields(spec), *ending_fields(spec), *extra]

    def rows_to_examples(self, spec, role: str, rows: Iterable[Mapping[str, Any]]) -> list[Any]:
        f = spec.fields
        names = ending_fields(spec)
        out: list[Any] = []
        for i, row in enumerate(rows):
            ex_id = make_id(spec, role, i, row)
            if len(names) == 1:
                endings = row[names[0]]
                if isinstance(endings, str) or not isinstance(endings, Sequence):
                    raise BenchmarkError(f"{ex_id}: field {names[0]!r} is not a list of endings")
            else:
                endings = [row[name] for name in names]
            endings = tuple(str(e) for e in endings)
            if len(endings) < 2:
                raise BenchmarkError(f"{ex_id}: {len(endings)} ending(s); multiple choice needs at least 2")
            label = _label(row.get(f.get("label", "label")), len(endings), ex_id)
            question = str(row[f["question"]] or "") if "question" in f else ""
            out.append(
                ChoiceExample(
                    id=ex_id, context=str(row[f["context"]]), endings=endings, label=label, question=question
                )
            )
        return out

    # ------------------------------------------------------------------------------------------ features
    def encode(self, examples, tokenizer, spec, info, length, *, stride=None, with_labels=True):
        firsts = [ex.context for ex in examples for _ in ex.endings]
        seconds = [f"{ex.question} {e}".strip() for ex in examples for e in ex.endings]
        full = tokenizer(firsts, seconds, truncation=False) if firsts else {"input_ids": []}
        enc = tokenizer(firsts, seconds, truncation=True, max_length=length) if firsts else {"input_ids": []}
        features: list[Feature] = []
        truncated = 0
        row = 0
        for i, ex in enumerate(examples):
            rows = range(row, row + len(ex.endings))
            row += len(ex.endings)
            truncated += any(len(full["input_ids"][r]) > length for r in rows)
            choices = tuple(
                Feature(
                    example_index=i,
                    input_ids=enc["input_ids"][r],
                    token_type_ids=token_type_ids(tokenizer, enc, r),
                    global_positions=(0,) if info.global_attention else (),
                )
                for r in rows
            )
            label = ex.label if with_labels else None
            features.append(ChoiceFeature(example_index=i, input_ids=[], label=label, choices=choices))
        return EncodedSplit(features, len(examples), truncated)

    def feature_width(self, feature: Feature) -> int:
        return len(feature)  # ChoiceFeature: its longest sequence

    def feature_tokens(self, feature: Feature) -> int:
        return sum(len(c) for c in _choices(feature))

    def feature_sequences(self, feature: Feature) -> int:
        return len(_choices(feature))

    def collate(self, collator, features, *, with_labels=True) -> dict[str, torch.Tensor]:
        """Every choice of every feature padded as one ``[batch x N, width]`` batch
        (:meth:`~benchmark.encode.features.Collator.pad`), reshaped to ``[batch, N, width]``; labels ``[batch]``."""
        if collator.additive_mask:
            raise BenchmarkError(
                "multiple choice takes [batch, choices, width] inputs; a model that needs a fixed length with an "
                "additive mask (Nystromformer with landmarks) cannot take them"
            )
        counts = sorted({len(_choices(f)) for f in features})
        if len(counts) != 1:
            raise BenchmarkError(
                f"a multiple-choice batch mixes examples of {counts} endings; give each as many"
            )
        n = counts[0]
        flat = collator.pad([c for f in features for c in _choices(f)], with_labels=False)
        batch = {k: v.reshape(len(features), n, *v.shape[1:]) for k, v in flat.items()}
        if with_labels and all(f.label is not None for f in features):
            width = self.batch_width(batch)
            batch.update(self.collate_labels(features, width, padding_side=collator.padding_side))
        return batch

    def collate_labels(self, features, width, padding_side="right"):
        return {"labels": torch.tensor([int(f.label) for f in features])}

    # ------------------------------------------------------------------------------------------ prediction
    def extract_outputs(self, output, features, padding_side="right"):
        logits = output.logits.float().cpu()  # [batch, N]
        return [logits[r].clone() for r in range(len(features))]

    def merge(self, spec, examples, encoded, outputs):
        """The index of the highest logit (one feature per example: no windows)."""
        return {
            examples[f.example_index].id: int(logits.argmax())
            for f, logits in zip(encoded.features, outputs, strict=True)
        }

    # ------------------------------------------------------------------------------------------ scoring
    def gold_as_prediction(self, example):
        return example.label

    def gold_missing(self, example):
        return example.label is None

    def gold_fingerprint(self, example):
        return example.label

    def shape_problem(self, spec, example, prediction):
        ok = (
            isinstance(prediction, int)
            and not isinstance(prediction, bool)
            and 0 <= prediction < len(example.endings)
        )
        return None if ok else "are not the index (an int) of one of the example's endings"

    def scorers(self, spec):
        return (ACCURACY,)


def _choices(feature: Feature) -> tuple[Feature, ...]:
    if not isinstance(feature, ChoiceFeature):
        raise BenchmarkError(f"a multiple-choice batch got a {type(feature).__name__}, not a ChoiceFeature")
    return feature.choices
