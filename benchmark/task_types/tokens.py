"""Token classification (NER): one IOB2 tag per word.

A document's words are tokenised once, then cut into windows of whole words
(:func:`benchmark.task_types.windowing.word_windows`). Only the first subword of each word carries a label (others are
``-100``); each word's prediction is read from the window where it is most central.

Scorers (registered by name in :data:`benchmark.core.plugins.SCORERS`): ``conlleval`` (``f1``, ``precision``,
``recall``, ``accuracy``, ``per_type`` and the chunk counts) and ``strict`` (``strict_f1``, seqeval's strict IOB2
mode). ``--allow-missing``: a missing document counts as predicting no entity ("O" for every word).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch

from ..core.encoded import EncodedSplit, Feature, default_stride, special_frame
from ..core.examples import TokenExample
from ..core.plugins import register_scorer
from ..errors import BenchmarkError
from .base import IGNORE, Scorer, TaskType, pad_offset, register
from .rows import label_name, make_id
from .sequence import NamedLabels, label_id


def _gold_and_pred(examples, preds):
    return [list(ex.tags or ()) for ex in examples], [list(preds[ex.id]) for ex in examples]


def _conlleval(spec, examples, preds):
    from ..metrics import ner

    return dict(ner.conlleval(*_gold_and_pred(examples, preds)))


def _strict(spec, examples, preds):
    from ..metrics import ner

    return {"strict_f1": ner.strict_f1(*_gold_and_pred(examples, preds))["f1"]}


_CONLLEVAL = frozenset(
    {
        "f1",
        "precision",
        "recall",
        "accuracy",
        "per_type",
        "tokens",
        "gold_chunks",
        "predicted_chunks",
        "correct_chunks",
    }
)
_TOKENS = frozenset({"token_classification"})
_SCORERS = (
    register_scorer(Scorer("conlleval", _CONLLEVAL, _conlleval, _TOKENS)),
    register_scorer(Scorer("strict", frozenset({"strict_f1"}), _strict, _TOKENS)),
)


@register
class TokenClassificationType(NamedLabels, TaskType):
    name = "token_classification"
    example_class = TokenExample
    auto_class = "AutoModelForTokenClassification"
    head_mapping = "MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES"
    head_suffix = "ForTokenClassification"
    needs_label_names = True
    row_fields = ("tokens",)
    allows_missing = True

    def tokenizer_kwargs(self, spec, model_type):
        from ..core import architectures

        # byte-level BPE needs a prefix space for pre-split words
        return {"add_prefix_space": True} if architectures.get(model_type).prefix_space else {}

    def rows_to_examples(self, spec, role: str, rows: Iterable[Mapping[str, Any]]) -> list[Any]:
        f = spec.fields
        out: list[Any] = []
        for i, row in enumerate(rows):
            ex_id = make_id(spec, role, i, row)
            tokens = tuple(row[f.get("tokens", "tokens")])
            raw_tags = row.get(f.get("tags", "ner_tags"))
            tags = None
            if raw_tags is not None and len(raw_tags) and raw_tags[0] != -1:
                tags = tuple(label_name(spec, t, ex_id) for t in raw_tags)
                if len(tags) != len(tokens):
                    raise BenchmarkError(f"{ex_id}: {len(tokens)} tokens but {len(tags)} tags")
            out.append(TokenExample(id=ex_id, tokens=tokens, tags=tags))
        return out

    def encode(self, examples, tokenizer, spec, info, length, *, stride=None, with_labels=True):
        """Documents of words -> windows of whole words; first-subword labels (see the module docstring).

        ``meta`` of each feature: ``window`` (:class:`WordWindow`) and ``word_positions`` (token position of
        each window word's first subword, -1 for a word with no tokens or cut by truncation).
        """
        from .windowing import word_windows

        label2id = {name: i for i, name in enumerate(spec.label_names)}
        prefix, suffix = special_frame(tokenizer)
        budget = length - len(prefix) - len(suffix)
        stride = min(default_stride(budget) if stride is None else stride, budget - 1)
        features: list[Feature] = []
        truncated = 0
        chunk = 256
        for c in range(0, len(examples), chunk):
            batch = examples[c : c + chunk]
            enc = tokenizer(
                [list(ex.tokens) if ex.tokens else [""] for ex in batch],
                is_split_into_words=True,
                add_special_tokens=False,
            )
            for b, ex in enumerate(batch):
                i = c + b
                n_words = len(ex.tokens)
                word_tokens: list[list[int]] = [[] for _ in range(n_words)]
                for tok_id, word in zip(enc["input_ids"][b], enc.word_ids(b), strict=True):
                    if word is not None and word < n_words:
                        word_tokens[word].append(tok_id)
                counts = [len(t) for t in word_tokens]
                tags = None
                if with_labels and ex.tags is not None:
                    tags = [label_id(t, label2id, spec, ex.id) for t in ex.tags]
                was_truncated = False
                for win in word_windows(counts, budget, stride):
                    ids = list(prefix)
                    labels = [IGNORE] * len(prefix)
                    positions: list[int] = []
                    for word in range(win.start, win.end):
                        toks = word_tokens[word][: budget - (len(ids) - len(prefix))]
                        if len(toks) < len(word_tokens[word]):
                            was_truncated = True
                        if not toks:
                            positions.append(-1)
                            continue
                        positions.append(len(ids))
                        labels.extend([tags[word] if tags else IGNORE] + [IGNORE] * (len(toks) - 1))
                        ids.extend(toks)
                    ids.extend(suffix)
                    labels.extend([IGNORE] * len(suffix))
                    features.append(
                        Feature(
                            example_index=i,
                            input_ids=ids,
                            token_type_ids=[0] * len(ids)
                            if "token_type_ids" in tokenizer.model_input_names
                            else None,
                            global_positions=(0,) if info.global_attention else (),
                            label=labels if tags else None,
                            meta={"window": win, "word_positions": positions},
                        )
                    )
                truncated += was_truncated
        return EncodedSplit(features, len(examples), truncated)

    def collate_labels(self, features, width, padding_side="right"):
        labels = torch.full((len(features), width), IGNORE, dtype=torch.long)
        for r, f in enumerate(features):
            first = pad_offset(len(f.label), width, padding_side)
            labels[r, first : first + len(f.label)] = torch.tensor(f.label)
        return {"labels": labels}

    def extract_outputs(self, output, features, padding_side="right"):
        ids = output.logits.argmax(-1).cpu()
        firsts = [pad_offset(len(f), ids.shape[1], padding_side) for f in features]
        return [
            ids[r, first : first + len(f)].clone()
            for r, (f, first) in enumerate(zip(features, firsts, strict=True))
        ]

    def merge(self, spec, examples, encoded, outputs):
        """One tag per word, read from the window where the word is most central; "O" for words without tokens."""
        from .windowing import assign_words_to_windows

        by_example: dict[int, list[tuple[Any, torch.Tensor]]] = {}
        for f, ids in zip(encoded.features, outputs, strict=True):
            by_example.setdefault(f.example_index, []).append((f, ids))
        outside = "O" if "O" in spec.label_names else spec.label_names[0]
        preds: dict[str, list[str]] = {}
        for i, ex in enumerate(examples):
            windows = by_example.get(i, [])
            owners = assign_words_to_windows([f.meta["window"] for f, _ in windows], len(ex.tokens))
            tags: list[str] = []
            for word, w in enumerate(owners):
                f, ids = windows[w]
                pos = f.meta["word_positions"][word - f.meta["window"].start]
                tags.append(spec.label_names[int(ids[pos])] if pos >= 0 else outside)
            preds[ex.id] = tags
        return preds

    def gold_as_prediction(self, example):
        return list(example.tags or ())

    def gold_missing(self, example):
        return example.tags is None

    def gold_fingerprint(self, example):
        return [len(example.tokens), example.tags]

    def shape_problem(self, spec, example, prediction):
        if not isinstance(prediction, list) or not all(isinstance(t, str) for t in prediction):
            return "are not a list of tag strings"
        if len(prediction) != len(example.tokens):
            return "have a tag count different from the number of words"
        unknown = next((t for t in prediction if t not in spec.label_names), None)
        if unknown is not None:
            return f"contain a tag that is not one of the task's labels ({', '.join(spec.label_names)})"
        return None

    def missing_prediction(self, spec, example):
        return ["O"] * len(example.tokens)

    def scorers(self, spec):
        return _SCORERS
