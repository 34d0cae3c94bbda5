"""Sequence (pair) classification and regression: one label (or number) per text or text pair.

Short tasks truncate to the usable length ``L`` (``longest_first`` for pairs; such examples are counted as
truncated). Long tasks (``spec.context == "long"``) cut the text into windows of ``L`` tokens that overlap by
``stride`` tokens; every window is trained on with the document's label and, at prediction time, the logits of a
document's windows are **averaged** (:meth:`SequenceType.merge`).

Scorers (registered by name in :data:`benchmark.core.plugins.SCORERS`; a task's ``metrics:`` picks among them):
classification tasks may list ``accuracy``, ``macro_f1``, ``matthews_correlation`` and, with two labels, ``f1``
(the F1 of the positive class, the second label name: GLUE's F1 of MRPC and QQP), regression tasks ``pearson``
and ``spearmanr``. GLUE's sub-tasks are scored by these like any other task.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import torch

from ..core.encoded import EncodedSplit, Feature, default_stride
from ..core.examples import ClassificationExample
from ..core.plugins import register_scorer
from ..errors import BenchmarkError
from .base import Scorer, TaskType, register, token_type_ids
from .rows import label_name, make_id


def label_id(label: Any, label2id: dict[str, int], spec, example_id: str) -> int:
    try:
        return label2id[str(label)]
    except KeyError:
        raise BenchmarkError(
            f"{spec.name}: example {example_id} has label {label!r}, not one of {sorted(label2id)[:8]}"
        ) from None


def check_label_head(config: Any, spec, model_path: str) -> None:
    """``--eval-only``: the checkpoint's ``id2label`` must be exactly the task's label names, in order."""
    id2label = {int(k): v for k, v in (config.id2label or {}).items()}
    have = tuple(id2label[i] for i in sorted(id2label))
    if have != tuple(spec.label_names):
        raise BenchmarkError(
            f"--eval-only: {model_path} predicts labels {list(have)[:6]}... but task {spec.name!r} needs "
            f"{list(spec.label_names)[:6]}..."
        )


def _metric(name: str, fn_name: str, task_type: str) -> Scorer:
    def score(spec, examples, preds):
        from ..metrics import classification

        gold = [ex.label for ex in examples]
        return {name: getattr(classification, fn_name)(gold, [preds[ex.id] for ex in examples])}

    return register_scorer(Scorer(name, frozenset({name}), score, frozenset({task_type})))


def _positive_f1(spec, examples, preds):
    """F1 of the positive class, label id 1 (the second label name), as GLUE scores MRPC and QQP."""
    from ..metrics import classification

    gold = [ex.label for ex in examples]
    return {"f1": classification.binary_f1(gold, [preds[ex.id] for ex in examples], spec.label_names[1])}


class NamedLabels:
    """The head of a type whose labels are the spec's ``label_names`` (classification, token classification):
    one output per name, ``id2label`` / ``label2id`` from them, checked against a fine-tuned head's."""

    def num_labels(self, spec):
        if not spec.label_names:
            raise BenchmarkError(f"task {spec.name!r} ({spec.task_type}) has no label_names in its spec")
        return len(spec.label_names)

    def head_labels(self, spec):
        return {
            "id2label": dict(enumerate(spec.label_names)),
            "label2id": {name: i for i, name in enumerate(spec.label_names)},
        }

    def check_head_labels(self, config, spec, model_path):
        check_label_head(config, spec, model_path)


class SequenceType(TaskType):
    """Shared by classification and regression (they differ in the target and the head's output size)."""

    example_class = ClassificationExample
    auto_class = "AutoModelForSequenceClassification"
    head_mapping = "MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES"
    head_suffix = "ForSequenceClassification"
    row_fields = ("text",)
    _scorers: tuple[Scorer, ...] = ()

    def target(self, label: Any, label2id: dict[str, int], spec, example_id: str) -> Any:
        raise NotImplementedError

    def row_label(self, spec, raw: Any, where: str) -> Any:
        raise NotImplementedError

    def needed_row_fields(self, spec) -> list[str]:
        needed = super().needed_row_fields(spec)
        return [*needed, spec.fields["text_pair"]] if "text_pair" in spec.fields else needed

    def rows_to_examples(self, spec, role: str, rows: Iterable[Mapping[str, Any]]) -> list[Any]:
        f = spec.fields
        out: list[Any] = []
        for i, row in enumerate(rows):
            ex_id = make_id(spec, role, i, row)
            label = self.row_label(spec, row.get(f.get("label", "label")), ex_id)
            pair = row[f["text_pair"]] if "text_pair" in f else None
            out.append(ClassificationExample(id=ex_id, text=row[f["text"]], text_pair=pair, label=label))
        return out

    def encode(self, examples, tokenizer, spec, info, length, *, stride=None, with_labels=True):
        label2id = {name: i for i, name in enumerate(spec.label_names)}
        features: list[Feature] = []
        truncated = 0

        def target(ex: ClassificationExample) -> Any:
            if not with_labels or ex.label is None:
                return None
            return self.target(ex.label, label2id, spec, ex.id)

        if spec.context == "long":
            stride = default_stride(length) if stride is None else stride
            enc = tokenizer(
                [ex.text for ex in examples],
                truncation=True,
                max_length=length,
                stride=stride,
                return_overflowing_tokens=True,
            )
            for w, ids in enumerate(enc["input_ids"]):
                i = enc["overflow_to_sample_mapping"][w]
                features.append(
                    Feature(
                        example_index=i,
                        input_ids=ids,
                        token_type_ids=token_type_ids(tokenizer, enc, w),
                        global_positions=(0,) if info.global_attention else (),
                        label=target(examples[i]),
                    )
                )
            return EncodedSplit(features, len(examples), 0)

        texts = [ex.text for ex in examples]
        pairs = [ex.text_pair for ex in examples]
        has_pairs = any(p is not None for p in pairs)
        full = tokenizer(texts, [p or "" for p in pairs] if has_pairs else None, truncation=False)
        enc = tokenizer(
            texts, [p or "" for p in pairs] if has_pairs else None, truncation=True, max_length=length
        )
        for i, ex in enumerate(examples):
            if len(full["input_ids"][i]) > length:
                truncated += 1
            features.append(
                Feature(
                    example_index=i,
                    input_ids=enc["input_ids"][i],
                    token_type_ids=token_type_ids(tokenizer, enc, i),
                    global_positions=(0,) if info.global_attention else (),
                    label=target(ex),
                )
            )
        return EncodedSplit(features, len(examples), truncated)

    def extract_outputs(self, output, features, padding_side="right"):
        logits = output.logits.float().cpu()
        return [logits[r].clone() for r in range(len(features))]

    def merge(self, spec, examples, encoded, outputs):
        """Average the logits of each example's windows, then :meth:`prediction` of the mean."""
        sums: dict[int, torch.Tensor] = {}
        counts: dict[int, int] = {}
        for f, logits in zip(encoded.features, outputs, strict=True):
            sums[f.example_index] = sums.get(f.example_index, 0) + logits
            counts[f.example_index] = counts.get(f.example_index, 0) + 1
        return {ex.id: self.prediction(spec, sums[i] / counts[i]) for i, ex in enumerate(examples)}

    def prediction(self, spec, mean_logits: torch.Tensor) -> Any:
        raise NotImplementedError

    def gold_as_prediction(self, example):
        return example.label

    def gold_missing(self, example):
        return example.label is None

    def gold_fingerprint(self, example):
        return example.label

    def scorers(self, spec):
        return self._scorers


@register
class ClassificationType(NamedLabels, SequenceType):
    name = "classification"
    needs_label_names = True
    _scorers = (
        register_scorer(Scorer("f1", frozenset({"f1"}), _positive_f1, frozenset({"classification"}))),
        _metric("accuracy", "accuracy", "classification"),
        _metric("macro_f1", "macro_f1", "classification"),
        _metric("matthews_correlation", "matthews_corrcoef", "classification"),
    )

    def scorers(self, spec):
        # f1 is the positive class's: defined for two labels only
        return self._scorers if len(spec.label_names) == 2 else self._scorers[1:]

    def row_label(self, spec, raw, where):
        return label_name(spec, raw, where)

    def target(self, label, label2id, spec, example_id):
        return label_id(label, label2id, spec, example_id)

    def collate_labels(self, features, width, padding_side="right"):
        return {"labels": torch.tensor([int(f.label) for f in features])}

    def prediction(self, spec, mean_logits):
        return spec.label_names[int(mean_logits.argmax())]

    def shape_problem(self, spec, example, prediction):
        ok = isinstance(prediction, str) and prediction in spec.label_names
        return None if ok else "are not a known label name"


@register
class RegressionType(SequenceType):
    name = "regression"
    _scorers = (_metric("pearson", "pearson", "regression"), _metric("spearmanr", "spearman", "regression"))

    def num_labels(self, spec):
        return 1

    def head_labels(self, spec):
        return {"problem_type": "regression", "id2label": {0: "score"}, "label2id": {"score": 0}}

    def check_head_labels(self, config, spec, model_path):
        if config.num_labels != 1:
            raise BenchmarkError(
                f"--eval-only: {model_path} has {config.num_labels} outputs; {spec.name} needs 1"
            )

    def row_label(self, spec, raw, where):
        if raw is None or raw == "":
            return None
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise BenchmarkError(f"{where}: regression label {raw!r} is not a number") from None

    def target(self, label, label2id, spec, example_id):
        return float(label)

    def collate_labels(self, features, width, padding_side="right"):
        return {"labels": torch.tensor([float(f.label) for f in features])}

    def prediction(self, spec, mean_logits):
        return float(mean_logits.reshape(-1)[0])

    def shape_problem(self, spec, example, prediction):
        ok = (
            isinstance(prediction, int | float)
            and not isinstance(prediction, bool)
            and math.isfinite(prediction)
        )
        return None if ok else "are not a finite number"
