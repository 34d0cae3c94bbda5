"""Extractive QA: the answer is a span of the context (or, with yes/no answers, the word "yes" or "no").

Question + context chunks of ``L`` tokens overlapping by ``stride`` (the tokenizer's
``return_overflowing_tokens`` with offsets); the best span over all windows wins (at most
:data:`MAX_ANSWER_TOKENS` tokens, inside the context). For tasks with yes/no answers the context is prefixed with
``"yes no "`` so a span can select either word; :func:`recover_answer` maps a span in the prefix back to
``"yes"`` / ``"no"`` and any other span to the original context's characters.

Yes/no answers are a property of the QA layout (``fields.layout: hotpotqa`` has them), or of ``fields.yes_no:
true`` / ``false`` for any layout (:func:`uses_yes_no`).

The file layout (``fields.layout``: ``squad``, ``triviaqa``, ``hotpotqa``) picks the converter of Hub rows
(:mod:`benchmark.data.hub`) and the scorer: each layout's official script (:mod:`benchmark.metrics.squad`,
``triviaqa``, ``hotpotqa``). ``--allow-missing``: a missing answer scores 0, as those scripts do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import torch

from ..errors import BenchmarkError
from ..examples import QAExample
from .base import Scorer, TaskType, pad_offset, register, token_type_ids

YES_NO_PREFIX = "yes no "
YES_NO_LAYOUTS = frozenset({"hotpotqa"})  # layouts whose answers may be "yes" / "no"
MAX_QUESTION_TOKENS = 64
MAX_ANSWER_TOKENS = 30
_TRUE = ("true", "yes", "1")
_FALSE = ("false", "no", "0")


def uses_yes_no(spec) -> bool:
    """Whether answers can be "yes"/"no" without being in the context: ``fields.yes_no`` when given, else
    whether the layout has them (HotpotQA)."""
    given = spec.fields.get("yes_no")
    if given is not None:
        value = str(given).strip().lower()
        if value not in _TRUE + _FALSE:
            raise BenchmarkError(f"{spec.name}: fields.yes_no must be true or false, got {given!r}")
        return value in _TRUE
    return spec.fields.get("layout") in YES_NO_LAYOUTS


def _squad_like(module_name: str):
    def score(spec, examples, preds):
        import importlib

        module = importlib.import_module(f"benchmark.metrics.{module_name}")
        answers = {ex.id: preds[ex.id] for ex in examples if ex.id in preds}  # missing: 0, as officially
        return module.evaluate({ex.id: list(ex.answers) for ex in examples}, answers)

    return score


def _hotpotqa(spec, examples, preds):
    from ..metrics import hotpotqa

    answers = {ex.id: preds[ex.id] for ex in examples if ex.id in preds}  # missing: 0, as officially
    return hotpotqa.evaluate({ex.id: ex.answers[0] for ex in examples}, answers)


_EM_F1 = frozenset({"exact_match", "f1"})
SCORERS: Mapping[str, tuple[Scorer, ...]] = MappingProxyType(
    {
        "squad": (Scorer("squad", _EM_F1, _squad_like("squad")),),
        "triviaqa": (Scorer("triviaqa", _EM_F1, _squad_like("triviaqa")),),
        "hotpotqa": (Scorer("hotpotqa", _EM_F1 | {"precision", "recall"}, _hotpotqa),),
    }
)
"""Layout -> its scorers (the official script of that dataset)."""


def answer_char_span(ex: QAExample, context: str, shift: int) -> tuple[int, int] | None:
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


def recover_answer(context: str, prefix: str, char_start: int, char_end: int) -> str:
    """Answer text for a character span of ``prefix + context``: "yes"/"no" if it starts in the prefix."""
    if prefix and char_start < len(prefix):
        words = prefix.split()
        return words[0] if char_start < len(words[0]) + 1 else words[1]
    return context[char_start - len(prefix) : char_end - len(prefix)]


@register
class ExtractiveQAType(TaskType):
    name = "extractive_qa"
    example_class = QAExample
    auto_class = "AutoModelForQuestionAnswering"
    head_mapping = "MODEL_FOR_QUESTION_ANSWERING_MAPPING_NAMES"
    head_suffix = "ForQuestionAnswering"
    allows_missing = True

    def check_spec(self, spec):
        try:
            uses_yes_no(spec)
        except BenchmarkError as exc:
            return str(exc).partition(": ")[2]
        return None

    def num_labels(self, spec):
        return 2

    def head_labels(self, spec):
        return {"id2label": {0: "start", 1: "end"}, "label2id": {"start": 0, "end": 1}}

    def rows_to_examples(self, spec, role: str, rows: Iterable[Mapping[str, Any]]) -> list[Any]:
        from ..data.hub import qa_rows_to_examples

        return qa_rows_to_examples(spec, role, rows)

    def encode(
        self, examples: Sequence[QAExample], tokenizer, spec, info, length, *, stride=None, with_labels=True
    ):
        """Question + context windows with offsets (see the module docstring).

        Training target per window: (start, end) token positions of the answer if it lies wholly inside the
        window's context, else (0, 0), the CLS token. ``meta``: ``offsets`` (char span per token, None outside
        the context).
        """
        from ..features import EncodedSplit, Feature, default_stride

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
                    span = answer_char_span(examples[i], contexts[i], len(prefix))
                    ctx = [p for p, o in enumerate(offsets) if o is not None]
                    if span and ctx and offsets[ctx[0]][0] <= span[0] and offsets[ctx[-1]][1] >= span[1]:
                        s = next(p for p in ctx if offsets[p][1] > span[0])
                        e = next(p for p in reversed(ctx) if offsets[p][0] < span[1])
                        label = (s, max(s, e))
                features.append(
                    Feature(
                        example_index=i,
                        input_ids=ids,
                        token_type_ids=token_type_ids(tokenizer, enc, w),
                        global_positions=glob,
                        label=label,
                        meta={"offsets": offsets},
                    )
                )
        return EncodedSplit(features, len(examples), truncated, context_prefix=prefix)

    def collate_labels(self, features, width, padding_side="right"):
        shift = [pad_offset(len(f), width, padding_side) for f in features]
        return {
            "start_positions": torch.tensor([f.label[0] + s for f, s in zip(features, shift, strict=True)]),
            "end_positions": torch.tensor([f.label[1] + s for f, s in zip(features, shift, strict=True)]),
        }

    def extract_outputs(self, output, features, padding_side="right"):
        starts, ends = output.start_logits.float().cpu(), output.end_logits.float().cpu()
        out = []
        for r, f in enumerate(features):
            first = pad_offset(len(f), starts.shape[1], padding_side)
            out.append((starts[r, first : first + len(f)].clone(), ends[r, first : first + len(f)].clone()))
        return out

    def merge(self, spec, examples, encoded, outputs):
        """Best span over all windows of each question (max start+end logit, at most 30 tokens, inside the
        context), mapped back to the context's characters (or "yes"/"no", see :func:`recover_answer`)."""
        from ..windowing import best_span

        best: dict[int, tuple[float, int, int]] = {}
        for f, (starts, ends) in zip(encoded.features, outputs, strict=True):
            offsets = f.meta["offsets"]
            allowed = torch.tensor([o is not None for o in offsets])
            span = best_span(starts, ends, allowed, MAX_ANSWER_TOKENS)
            if span is None:
                continue
            if f.example_index not in best or span.score > best[f.example_index][0]:
                best[f.example_index] = (span.score, offsets[span.start][0], offsets[span.end][1])
        preds: dict[str, str] = {}
        for i, ex in enumerate(examples):
            if i not in best:
                preds[ex.id] = ""
                continue
            _, c0, c1 = best[i]
            preds[ex.id] = recover_answer(ex.context, encoded.context_prefix, c0, c1).strip()
        return preds

    def gold_as_prediction(self, example):
        return example.answers[0] if example.answers else ""

    def gold_missing(self, example):
        return not example.answers

    def gold_fingerprint(self, example):
        return list(example.answers)

    def shape_problem(self, spec, example, prediction):
        return None if isinstance(prediction, str) else "are not a string"

    def scorers(self, spec):
        return SCORERS.get(spec.fields.get("layout", ""), ())
