"""Extractive QA: the answer is a span of the context (or, with yes/no answers, the word "yes" or "no").

Question + context chunks of ``L`` tokens overlapping by ``stride`` (the tokenizer's
``return_overflowing_tokens`` with offsets); the best span over all windows wins (at most
:data:`MAX_ANSWER_TOKENS` tokens, inside the context). For tasks with yes/no answers the context is prefixed with
``"yes no "`` so a span can select either word; :func:`recover_answer` maps a span in the prefix back to
``"yes"`` / ``"no"`` and any other span to the original context's characters.

Yes/no answers are a property of the QA layout (``fields.layout: hotpotqa`` has them), or of ``fields.yes_no:
true`` / ``false`` for any layout (:func:`uses_yes_no`).

The file layout (``fields.layout``) is a QA layout registered by name (:func:`benchmark.core.plugins.register_qa_layout`;
built in, here: ``squad``, ``triviaqa``, ``hotpotqa``): it gives the converter of Hub rows
(:func:`qa_rows_to_examples`), the scorer (each layout's official script: :mod:`benchmark.metrics.squad`,
``triviaqa``, ``hotpotqa``) and whether answers may be yes/no. ``--allow-missing``: a missing answer scores 0, as
those scripts do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch

from ..core.encoded import EncodedSplit, Feature, default_stride
from ..core.examples import Example, QAExample
from ..core.plugins import QA_LAYOUTS, register_qa_layout
from ..core.task_spec import TaskSpec
from ..errors import BenchmarkError
from .base import Scorer, TaskType, pad_offset, register, token_type_ids
from .rows import Row, make_id

YES_NO_PREFIX = "yes no "
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
    layout = spec.fields.get("layout")
    return layout in QA_LAYOUTS and QA_LAYOUTS.get(layout).yes_no


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
_QA = frozenset({"extractive_qa"})


# ------------------------------------------------------------------------------------- Hub rows by layout
def find_all(context: str, text: str, *, ignore_case: bool = False) -> list[int]:
    """Start offsets of every (non-overlapping) occurrence of ``text`` in ``context``."""
    if not text:
        return []
    flags = re.IGNORECASE if ignore_case else 0
    return [m.start() for m in re.finditer(re.escape(text), context, flags)]


@register_qa_layout("squad", scorers=[Scorer("squad", _EM_F1, _squad_like("squad"), _QA)])
def _squad_rows(spec: TaskSpec, role: str, rows: Iterable[Row]) -> list[Example]:
    out: list[Example] = []
    for i, row in enumerate(rows):
        answers = row.get("answers") or {"text": [], "answer_start": []}
        ex_id = make_id(spec, role, i, row)
        starts = tuple(int(s) for s in answers["answer_start"])
        for start in starts:
            if not 0 <= start < len(row["context"]):
                raise BenchmarkError(
                    f"{spec.name} {role} ({spec.hub.path}): question {ex_id}: answer_start {start} lies outside "
                    f"its context ({len(row['context'])} characters)"
                )
        out.append(
            QAExample(
                id=ex_id,
                question=row["question"],
                context=row["context"],
                answers=tuple(answers["text"]),
                answer_starts=starts,
                meta={"title": row.get("title")},
            )
        )
    return out


def hotpot_context(context: Mapping[str, list]) -> tuple[str, list[tuple[str, int, int]]]:
    """Join the paragraphs as ``"<title>: <sentences>"`` blocks; also return (title, start, end) per block."""
    parts: list[str] = []
    spans: list[tuple[str, int, int]] = []
    pos = 0
    for title, sentences in zip(context["title"], context["sentences"], strict=True):
        block = f"{title}: {''.join(sentences).strip()}"
        spans.append((title, pos, pos + len(block)))
        parts.append(block)
        pos += len(block) + 2
    return "\n\n".join(parts), spans


@register_qa_layout(
    "hotpotqa", scorers=[Scorer("hotpotqa", _EM_F1 | {"precision", "recall"}, _hotpotqa, _QA)], yes_no=True
)
def _hotpotqa_rows(spec: TaskSpec, role: str, rows: Iterable[Row]) -> list[Example]:
    out: list[Example] = []
    for i, row in enumerate(rows):
        context, blocks = hotpot_context(row["context"])
        answer = row.get("answer")
        supporting = list(dict.fromkeys(row.get("supporting_facts", {}).get("title", [])))
        starts: list[int] = []
        if answer and answer.lower() not in ("yes", "no"):
            gold_blocks = [(s, e) for t, s, e in blocks if t in supporting]
            found = find_all(context, answer)
            in_gold = [p for p in found if any(s <= p < e for s, e in gold_blocks)]
            starts = in_gold + [p for p in found if p not in in_gold]
        out.append(
            QAExample(
                id=make_id(spec, role, i, row),
                question=row["question"],
                context=context,
                answers=(answer,) if answer is not None else (),
                answer_starts=tuple(starts),
                meta={"type": row.get("type"), "level": row.get("level"), "supporting_titles": supporting},
            )
        )
    return out


@register_qa_layout("triviaqa", scorers=[Scorer("triviaqa", _EM_F1, _squad_like("triviaqa"), _QA)])
def _triviaqa_rows(spec: TaskSpec, role: str, rows: Iterable[Row]) -> list[Example]:
    from ..metrics.triviaqa import ground_truths_from_answer

    out: list[Example] = []
    for i, row in enumerate(rows):
        pages = row.get("entity_pages") or {}
        context = "\n\n".join(t.strip() for t in pages.get("wiki_context", []))
        answer = row.get("answer") or {}
        truths: list[str] = []
        spans: list[tuple[int, int]] = []
        if answer.get("normalized_aliases"):
            human = {"HumanAnswers": answer["human_answers"]} if answer.get("human_answers") else {}
            truths = ground_truths_from_answer({"NormalizedAliases": answer["normalized_aliases"], **human})
            found: set[tuple[int, int]] = set()
            for alias in dict.fromkeys([*answer.get("aliases", []), *truths]):
                found.update((p, p + len(alias)) for p in find_all(context, alias, ignore_case=True))
            spans = sorted(found)
        out.append(
            QAExample(
                id=make_id(spec, role, i, row),
                question=row["question"],
                context=context,
                answers=tuple(truths),
                answer_starts=tuple(s for s, _ in spans),
                meta={
                    "spans": spans,
                    "documents": list(pages.get("title", [])),
                    "value": answer.get("value"),
                },
            )
        )
    return out


def qa_rows_to_examples(spec: TaskSpec, role: str, rows: Iterable[Row]) -> list[Example]:
    """Extractive QA rows by ``fields.layout`` (a registered QA layout: squad / hotpotqa / triviaqa built in)."""
    return QA_LAYOUTS.get(spec.fields.get("layout", ""), spec.name).rows(spec, role, rows)


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
        problem = QA_LAYOUTS.problem(spec.fields.get("layout", ""))
        if problem is not None:
            return problem
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
        return qa_rows_to_examples(spec, role, rows)

    def encode(
        self, examples: Sequence[QAExample], tokenizer, spec, info, length, *, stride=None, with_labels=True
    ):
        """Question + context windows with offsets (see the module docstring).

        Training target per window: (start, end) token positions of the answer if it lies wholly inside the
        window's context, else (0, 0), the CLS token. ``meta``: ``offsets`` (char span per token, None outside
        the context).
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
        from .windowing import best_span

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
        layout = spec.fields.get("layout", "")
        return QA_LAYOUTS.get(layout).scorers if layout in QA_LAYOUTS else ()
