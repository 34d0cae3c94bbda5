"""Tokenising examples into model inputs, one encoder per task type, with windows for inputs longer than the model.

The usable length is ``L = min(spec.max_length, model max positions)`` (:func:`input_length`). Per task type:

- **classification / regression**: short tasks truncate to ``L`` (``longest_first`` for pairs; such examples are
  counted as truncated). Long tasks (``spec.context == "long"``) cut the text into windows of ``L`` tokens that
  overlap by ``stride`` tokens; every window is trained on with the document's label and, at prediction time,
  the logits of a document's windows are **averaged** (:func:`benchmark.predict.merge_classification`).
- **token classification**: a document's words are tokenised once, then cut into windows of whole words
  (:func:`benchmark.windowing.word_windows`). Only the first subword of each word carries a label (others are
  ``-100``); each word's prediction is read from the window where it is most central.
- **extractive QA**: question + context chunks of ``L`` tokens overlapping by ``stride`` (the tokenizer's
  ``return_overflowing_tokens`` with offsets); the best span over all windows wins. For tasks with yes/no answers
  (HotpotQA) the context is prefixed with ``"yes no "`` so a span can select either word;
  :func:`recover_answer` maps a span in the prefix back to ``"yes"`` / ``"no"`` and any other span to the
  original context's characters.

Every encoder returns an :class:`EncodedSplit` whose ``stats`` (examples, windows, truncated examples) go into the
result file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from .errors import BenchmarkError
from .examples import ClassificationExample, QAExample, TokenExample
from .modeling import ModelInfo
from .tasks.spec import TaskSpec
from .windowing import WordWindow, word_windows

YES_NO_PREFIX = "yes no "
YES_NO_TASKS = frozenset({"hotpotqa"})
MAX_QUESTION_TOKENS = 64
IGNORE = -100


@dataclass
class Feature:
    """One model input (a window of an example) with its training target and what merging needs."""

    example_index: int
    input_ids: list[int]
    token_type_ids: list[int] | None = None
    global_positions: tuple[int, ...] = ()  # Longformer: tokens with global attention
    label: Any = None  # int / float (sequence), list[int] (tokens), (start, end) (QA); None if unlabeled
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass
class EncodedSplit:
    """Features of one split plus counts for the result file."""

    features: list[Feature]
    n_examples: int
    truncated_examples: int = 0
    context_prefix: str = ""  # QA: text prepended to every context (yes/no answers)

    @property
    def stats(self) -> dict[str, int]:
        windowed = {}
        for f in self.features:
            windowed[f.example_index] = windowed.get(f.example_index, 0) + 1
        return {
            "examples": self.n_examples,
            "windows": len(self.features),
            "windowed_examples": sum(1 for n in windowed.values() if n > 1),
            "truncated_examples": self.truncated_examples,
        }


def input_length(spec: TaskSpec, info: ModelInfo, max_length: int | None = None) -> int:
    """``L = min(spec.max_length (or --max-length), model's usable positions)``."""
    return min(max_length or spec.max_length, info.max_positions)


def default_stride(length: int) -> int:
    """Overlap between neighbouring windows: a quarter of the window (128 tokens at 512)."""
    return max(1, length // 4)


def uses_yes_no(spec: TaskSpec) -> bool:
    """Whether answers can be "yes"/"no" without being in the context (HotpotQA)."""
    return spec.name in YES_NO_TASKS or bool(spec.fields.get("yes_no"))


def _special_frame(tokenizer) -> tuple[list[int], list[int]]:
    """Special tokens the tokenizer puts before and after a single sequence (e.g. [CLS] / [SEP])."""
    enc = tokenizer("a", add_special_tokens=True)
    seq = enc.sequence_ids(0) if hasattr(enc, "sequence_ids") else enc.encodings[0].sequence_ids
    ids = enc["input_ids"]
    content = [i for i, s in enumerate(seq) if s is not None]
    return ids[: content[0]], ids[content[-1] + 1 :]


def _label_id(label: Any, label2id: dict[str, int], spec: TaskSpec, example_id: str) -> int:
    try:
        return label2id[str(label)]
    except KeyError:
        raise BenchmarkError(
            f"{spec.name}: example {example_id} has label {label!r}, not one of {sorted(label2id)[:8]}"
        ) from None


# --------------------------------------------------------------------------------------------------- classification
def encode_classification(
    examples: Sequence[ClassificationExample],
    tokenizer,
    spec: TaskSpec,
    info: ModelInfo,
    length: int,
    *,
    stride: int | None = None,
    with_labels: bool = True,
) -> EncodedSplit:
    """Sequence (pair) classification or regression; long-context tasks are windowed (see module docstring)."""
    label2id = {name: i for i, name in enumerate(spec.label_names)}
    use_types = "token_type_ids" in tokenizer.model_input_names
    features: list[Feature] = []
    truncated = 0

    def target(ex: ClassificationExample) -> Any:
        if not with_labels or ex.label is None:
            return None
        if spec.task_type == "regression":
            return float(ex.label)
        return _label_id(ex.label, label2id, spec, ex.id)

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
                    token_type_ids=enc["token_type_ids"][w]
                    if use_types and "token_type_ids" in enc
                    else None,
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
                token_type_ids=enc["token_type_ids"][i] if use_types and "token_type_ids" in enc else None,
                global_positions=(0,) if info.global_attention else (),
                label=target(ex),
            )
        )
    return EncodedSplit(features, len(examples), truncated)


# ---------------------------------------------------------------------------------------------- token classification
def encode_tokens(
    examples: Sequence[TokenExample],
    tokenizer,
    spec: TaskSpec,
    info: ModelInfo,
    length: int,
    *,
    stride: int | None = None,
    with_labels: bool = True,
) -> EncodedSplit:
    """Documents of words -> windows of whole words; first-subword labels (see module docstring).

    ``meta`` of each feature: ``window`` (:class:`WordWindow`) and ``word_positions`` (token position of each
    window word's first subword, -1 for a word with no tokens or cut by truncation).
    """
    label2id = {name: i for i, name in enumerate(spec.label_names)}
    prefix, suffix = _special_frame(tokenizer)
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
                tags = [_label_id(t, label2id, spec, ex.id) for t in ex.tags]
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


# ------------------------------------------------------------------------------------------------------ extractive QA
def _answer_char_span(ex: QAExample, context: str, shift: int) -> tuple[int, int] | None:
    """Character span of the first gold answer in the (prefixed) context, or None if it is not there."""
    if not ex.answers:
        return None
    answer = ex.answers[0]
    if shift and answer.strip().lower() in ("yes", "no"):
        start = 0 if answer.strip().lower() == "yes" else 4
        return start, start + len(answer.strip())
    if ex.meta.get("spans"):
        # TriviaQA: answers are normalized (lower-case) aliases and answer_starts belong to aliases of other
        # lengths; the (start, end) spans are the aliases' occurrences in the text: train on the first.
        start, end = ex.meta["spans"][0]
        return start + shift, end + shift
    if ex.answer_starts:
        start = ex.answer_starts[0] + shift
        if context[start : start + len(answer)] == answer:
            return start, start + len(answer)
    found = context.find(answer, shift)
    return (found, found + len(answer)) if found >= 0 and answer else None


def _clip_question(tokenizer, question: str, max_tokens: int) -> tuple[str, bool]:
    enc = tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)
    if len(enc["input_ids"]) <= max_tokens:
        return question, False
    return question[: enc["offset_mapping"][max_tokens - 1][1]], True


def encode_qa(
    examples: Sequence[QAExample],
    tokenizer,
    spec: TaskSpec,
    info: ModelInfo,
    length: int,
    *,
    stride: int | None = None,
    with_labels: bool = True,
) -> EncodedSplit:
    """Question + context windows with offsets (see module docstring).

    Training target per window: (start, end) token positions of the answer if it lies wholly inside the window's
    context, else (0, 0), the CLS token. ``meta``: ``offsets`` (char span per token, None outside the context).
    """
    prefix = YES_NO_PREFIX if uses_yes_no(spec) else ""
    max_q = min(MAX_QUESTION_TOKENS, length // 4)
    stride = default_stride(length) if stride is None else stride
    questions, contexts = [], []
    truncated = 0
    for ex in examples:
        q, cut = _clip_question(tokenizer, ex.question.lstrip(), max_q)
        truncated += cut
        questions.append(q)
        contexts.append(prefix + ex.context)
    use_types = "token_type_ids" in tokenizer.model_input_names
    features: list[Feature] = []
    chunk = 128
    for c in range(0, len(examples), chunk):
        enc = tokenizer(
            questions[c : c + chunk],
            contexts[c : c + chunk],
            truncation="only_second",
            max_length=length,
            stride=min(stride, length - max_q - 4),
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        for w, ids in enumerate(enc["input_ids"]):
            i = c + enc["overflow_to_sample_mapping"][w]
            seq = enc.sequence_ids(w)
            offsets = [
                tuple(o) if s == 1 else None for o, s in zip(enc["offset_mapping"][w], seq, strict=True)
            ]
            glob: tuple[int, ...] = ()
            if info.global_attention:
                glob = tuple(p for p, s in enumerate(seq) if p == 0 or s == 0)
            label = None
            if with_labels and examples[i].answers:
                label = (0, 0)
                span = _answer_char_span(examples[i], contexts[i], len(prefix))
                ctx = [p for p, o in enumerate(offsets) if o is not None]
                if span and ctx and offsets[ctx[0]][0] <= span[0] and offsets[ctx[-1]][1] >= span[1]:
                    s = next(p for p in ctx if offsets[p][1] > span[0])
                    e = next(p for p in reversed(ctx) if offsets[p][0] < span[1])
                    label = (s, max(s, e))
            features.append(
                Feature(
                    example_index=i,
                    input_ids=ids,
                    token_type_ids=enc["token_type_ids"][w]
                    if use_types and "token_type_ids" in enc
                    else None,
                    global_positions=glob,
                    label=label,
                    meta={"offsets": offsets},
                )
            )
    return EncodedSplit(features, len(examples), truncated, context_prefix=prefix)


def recover_answer(context: str, prefix: str, char_start: int, char_end: int) -> str:
    """Answer text for a character span of ``prefix + context``: "yes"/"no" if it starts in the prefix."""
    if prefix and char_start < len(prefix):
        words = prefix.split()
        return words[0] if char_start < len(words[0]) + 1 else words[1]
    return context[char_start - len(prefix) : char_end - len(prefix)]


def encode(
    examples: Sequence[Any],
    tokenizer,
    spec: TaskSpec,
    info: ModelInfo,
    length: int,
    *,
    stride: int | None = None,
    with_labels: bool = True,
) -> EncodedSplit:
    """Dispatch on ``spec.task_type``."""
    fn = {
        "classification": encode_classification,
        "regression": encode_classification,
        "token_classification": encode_tokens,
        "extractive_qa": encode_qa,
    }[spec.task_type]
    return fn(examples, tokenizer, spec, info, length, stride=stride, with_labels=with_labels)


# ------------------------------------------------------------------------------------------------------ collation
class Collator:
    """Pads a list of :class:`Feature` into tensors; also the ``data_collator`` of the Trainer.

    ``pad_to`` pads every batch to exactly that length (Nyströmformer; the timing protocol's buckets).
    ``additive_mask`` passes the padding mask as an additive ``(batch, 1, 1, length)`` float tensor:
    Nyströmformer with landmarks in transformers 5 breaks on the 4-D mask it builds itself from a 2-D one
    (its landmark scores are ``landmarks x length``, not ``length x length``).
    """

    def __init__(
        self,
        pad_token_id: int,
        *,
        task_type: str = "classification",
        pad_to: int | None = None,
        additive_mask: bool = False,
    ):
        self.pad_token_id = pad_token_id
        self.task_type = task_type
        self.pad_to = pad_to
        self.additive_mask = additive_mask

    @classmethod
    def for_model(cls, pad_token_id: int, info: ModelInfo, task_type: str) -> Collator:
        """The collator ``info``'s architecture needs (fixed length and additive mask for Nyströmformer)."""
        return cls(
            pad_token_id,
            task_type=task_type,
            pad_to=info.fixed_length,
            additive_mask=info.fixed_length is not None,
        )

    def __call__(self, features: Sequence[Feature], *, with_labels: bool = True) -> dict[str, torch.Tensor]:
        width = max(self.pad_to or 0, max(len(f) for f in features))
        n = len(features)
        ids = torch.full((n, width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((n, width), dtype=torch.long)
        batch: dict[str, torch.Tensor] = {"input_ids": ids, "attention_mask": mask}
        if features[0].token_type_ids is not None:
            batch["token_type_ids"] = torch.zeros((n, width), dtype=torch.long)
        if features[0].global_positions:
            batch["global_attention_mask"] = torch.zeros((n, width), dtype=torch.long)
        for r, f in enumerate(features):
            k = len(f)
            ids[r, :k] = torch.tensor(f.input_ids)
            mask[r, :k] = 1
            if "token_type_ids" in batch:
                batch["token_type_ids"][r, :k] = torch.tensor(f.token_type_ids)
            if "global_attention_mask" in batch:
                batch["global_attention_mask"][r, list(f.global_positions)] = 1
        if with_labels and all(f.label is not None for f in features):
            if self.task_type == "extractive_qa":
                batch["start_positions"] = torch.tensor([f.label[0] for f in features])
                batch["end_positions"] = torch.tensor([f.label[1] for f in features])
            elif self.task_type == "token_classification":
                labels = torch.full((n, width), IGNORE, dtype=torch.long)
                for r, f in enumerate(features):
                    labels[r, : len(f.label)] = torch.tensor(f.label)
                batch["labels"] = labels
            elif self.task_type == "regression":
                batch["labels"] = torch.tensor([float(f.label) for f in features])
            else:
                batch["labels"] = torch.tensor([int(f.label) for f in features])
        if self.additive_mask:
            keep = mask[:, None, None, :].float()
            batch["attention_mask"] = (1.0 - keep) * torch.finfo(torch.float32).min
        return batch


__all__ = [
    "YES_NO_PREFIX",
    "Collator",
    "EncodedSplit",
    "Feature",
    "WordWindow",
    "default_stride",
    "encode",
    "encode_classification",
    "encode_qa",
    "encode_tokens",
    "input_length",
    "recover_answer",
    "uses_yes_no",
]
