"""Windowing and merging rules: word windows, most-central-window merge, best QA span, offsets, bucketing."""

from __future__ import annotations

import itertools

import pytest
import torch

from benchmark.core.encoded import EncodedSplit, Feature
from benchmark.core.examples import QAExample, TokenExample
from benchmark.encode.features import (
    YES_NO_PREFIX,
    encode_qa,
    encode_tokens,
    recover_answer,
)
from benchmark.evaluate.predict import merge_qa, merge_tokens
from benchmark.task_types.windowing import (
    WordWindow,
    assign_words_to_windows,
    best_span,
    length_buckets,
    padding_ratio,
    word_windows,
)


def test_word_windows_cover_every_word_within_budget_and_overlap():
    counts = [1, 2, 1, 3, 1, 1, 2, 1, 1, 2, 1, 1]
    windows = word_windows(counts, max_tokens=6, stride=2)
    covered = set()
    for a, b in itertools.pairwise(windows):
        assert b.start < a.end, "neighbours must overlap"
        assert b.start > a.start, "every window advances"
    for w in windows:
        assert sum(counts[w.start : w.end]) <= 6
        covered.update(range(w.start, w.end))
    assert covered == set(range(len(counts)))
    assert windows[-1].end == len(counts)


def test_word_longer_than_budget_gets_its_own_window():
    windows = word_windows([1, 10, 1], max_tokens=4, stride=1)
    assert WordWindow(1, 2) in windows


def test_word_in_overlap_takes_the_window_where_it_is_most_central():
    # Window 0 = words 0..9, window 1 = words 6..15. Word 7 is 2 words from window 0's right edge and 1 word from
    # window 1's left edge: window 0. Word 8: 1 from window 0's edge, 2 from window 1's: window 1.
    windows = [WordWindow(0, 10), WordWindow(6, 16)]
    owners = assign_words_to_windows(windows, 16)
    assert owners[7] == 0
    assert owners[8] == 1
    assert owners[:6] == [0] * 6 and owners[10:] == [1] * 6


def test_merge_tokens_reads_each_word_from_its_most_central_window():
    spec = _ner_spec()
    words = tuple(f"w{i}" for i in range(16))
    ex = TokenExample("doc", words, None)
    # Window 0 predicts B-PER everywhere, window 1 predicts B-LOC everywhere.
    label_id = {name: i for i, name in enumerate(spec.label_names)}
    feats = []
    outputs = []
    for win, tag in [(WordWindow(0, 10), "B-PER"), (WordWindow(6, 16), "B-LOC")]:
        n = win.end - win.start
        feats.append(Feature(0, [0] * (n + 2), meta={"window": win, "word_positions": list(range(1, n + 1))}))
        outputs.append(torch.full((n + 2,), label_id[tag]))
    preds = merge_tokens(spec, [ex], EncodedSplit(feats, 1), outputs)
    assert preds["doc"][:8] == ["B-PER"] * 8
    assert preds["doc"][8:] == ["B-LOC"] * 8


def test_best_span_respects_order_length_and_context_mask():
    start = torch.tensor([9.0, 0.0, 5.0, 0.0, 0.0, 0.0])
    end = torch.tensor([0.0, 3.0, 0.0, 1.0, 4.0, 0.0])
    allowed = torch.tensor([False, True, True, True, True, True])  # position 0 is the question / CLS
    span = best_span(start, end, allowed, max_answer_tokens=30)
    assert (span.start, span.end) == (2, 4)  # 5 + 4 = 9; (0, 1) = 12 is outside the context
    short = best_span(start, end, allowed, max_answer_tokens=2)
    assert (short.start, short.end) == (2, 3)
    assert best_span(start, end, torch.zeros(6, dtype=torch.bool)) is None


def test_qa_best_span_across_windows_and_offsets_map_back_to_context():
    spec = _qa_spec("squad")
    context = "Alpha beta gamma delta epsilon"
    ex = QAExample("q1", "which?", context, ("delta",), (context.index("delta"),))
    offsets_w0 = [None, (0, 5), (6, 10), (11, 16)]
    offsets_w1 = [None, (11, 16), (17, 22), (23, 30)]
    feats = [
        Feature(0, [0] * 4, meta={"offsets": offsets_w0}),
        Feature(0, [0] * 4, meta={"offsets": offsets_w1}),
    ]
    outputs = [
        (torch.tensor([0.0, 3.0, 0.0, 0.0]), torch.tensor([0.0, 3.0, 0.0, 0.0])),  # "Alpha", score 6
        (torch.tensor([0.0, 0.0, 5.0, 0.0]), torch.tensor([0.0, 0.0, 4.0, 0.0])),  # "delta", score 9
    ]
    preds = merge_qa(spec, [ex], EncodedSplit(feats, 1), outputs)
    assert preds == {"q1": "delta"}


def test_recover_answer_maps_prefix_spans_to_yes_and_no():
    context = "The film was released."
    full = YES_NO_PREFIX + context
    assert recover_answer(context, YES_NO_PREFIX, 0, 3) == "yes"
    assert recover_answer(context, YES_NO_PREFIX, 4, 6) == "no"
    start = full.index("film")
    assert recover_answer(context, YES_NO_PREFIX, start, start + 4) == "film"


def test_encode_qa_windows_and_labels_point_at_the_answer(tiny_bert):
    _, tokenizer, info = tiny_bert
    spec = _qa_spec("squad")
    context = " ".join(f"word{i}" for i in range(120)) + " The answer is Marie Curie here."
    start = context.index("Marie Curie")
    ex = QAExample("q", "who is the answer?", context, ("Marie Curie",), (start,))
    enc = encode_qa([ex], tokenizer, spec, info, 64, stride=16)
    assert enc.stats["windows"] > 1 and enc.stats["windowed_examples"] == 1
    hits = [f for f in enc.features if f.label != (0, 0)]
    assert hits, "some window must contain the answer"
    for f in hits:
        s, e = f.label
        assert context[f.meta["offsets"][s][0] : f.meta["offsets"][e][1]] == "Marie Curie"


def test_encode_qa_triviaqa_labels_the_alias_found_in_the_context(tiny_bert):
    """TriviaQA's gold answers are normalized (lower-case) aliases and its answer starts are case-insensitive
    alias occurrences of other lengths: training windows must still point at the occurrence in the text."""
    from benchmark.data import hub

    _, tokenizer, info = tiny_bert
    spec = _qa_spec("triviaqa")
    context = " ".join(f"word{i}" for i in range(60)) + " Dame Judi Dench was born in York, England."
    row = {
        "question": "Where in England was Dame Judi Dench born?",
        "question_id": "tc_3",
        "entity_pages": {"title": ["Judi Dench"], "wiki_context": [context]},
        "answer": {"aliases": ["York", "York, England"], "normalized_aliases": ["york england", "york"]},
    }
    (ex,) = hub.rows_to_examples(spec, "train", [row])
    enc = encode_qa([ex], tokenizer, spec, info, 64, stride=16)
    hits = [f for f in enc.features if f.label != (0, 0)]
    assert hits, "some window must contain the answer"
    for f in hits:
        s, e = f.label
        assert context[f.meta["offsets"][s][0] : f.meta["offsets"][e][1]] == "York"


def test_encode_qa_yes_no_answer_labels_the_prefix(tiny_bert):
    _, tokenizer, info = tiny_bert
    spec = _qa_spec("hotpotqa")
    ex = QAExample("q", "is it so?", "Some context about things.", ("yes",), ())
    enc = encode_qa([ex], tokenizer, spec, info, 64)
    f = enc.features[0]
    s, e = f.label
    char0, char1 = f.meta["offsets"][s][0], f.meta["offsets"][e][1]
    assert recover_answer(ex.context, enc.context_prefix, char0, char1) == "yes"


def test_encode_tokens_first_subword_labels_and_windows(tiny_bert):
    _, tokenizer, info = tiny_bert
    spec = _ner_spec()
    words = tuple(["Marie", "Curie", "visited", "Berlin"] * 20)
    tags = tuple(["B-PER", "I-PER", "O", "B-LOC"] * 20)
    enc = encode_tokens([TokenExample("d", words, tags)], tokenizer, spec, info, 32, stride=8)
    assert enc.stats["windows"] > 1 and enc.stats["truncated_examples"] == 0
    label2id = {n: i for i, n in enumerate(spec.label_names)}
    for f in enc.features:
        assert len(f.input_ids) <= 32
        win = f.meta["window"]
        labelled = [p for p, lab in enumerate(f.label) if lab != -100]
        assert labelled == [p for p in f.meta["word_positions"] if p >= 0]
        for word, pos in zip(range(win.start, win.end), f.meta["word_positions"], strict=True):
            assert f.label[pos] == label2id[tags[word]]


def test_length_buckets_keep_padding_low_on_varied_lengths():
    import random

    rng = random.Random(0)
    lengths = [rng.randint(5, 60) for _ in range(500)]
    batches = length_buckets(lengths, 32)
    assert sorted(i for b in batches for i in b) == list(range(500))
    assert all(len(b) <= 32 for b in batches)
    assert padding_ratio(lengths, batches) <= 1.15
    unsorted = [list(range(i, min(i + 32, 500))) for i in range(0, 500, 32)]
    assert padding_ratio(lengths, unsorted) > 1.3  # what sorting saves


def test_length_buckets_token_cap():
    batches = length_buckets([100, 100, 100, 10, 10], 8, max_tokens=250)
    assert all(len(b) * max([100, 100, 100, 10, 10][i] for i in b) <= 250 for b in batches)


def test_word_windows_rejects_bad_arguments():
    with pytest.raises(ValueError):
        word_windows([1, 2], max_tokens=4, stride=4)


# ------------------------------------------------------------------------------------------------ helpers
def _ner_spec():
    from benchmark.tasks.registry import get_task

    return get_task("conll2003")


def _qa_spec(name):
    from benchmark.tasks.registry import get_task

    return get_task(name)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    from benchmark.model.modeling import load_model_for_task
    from tiny_models import build_tiny_model

    path = build_tiny_model("bert", tmp_path_factory.mktemp("bert"), task="base")
    _, tokenizer, info = load_model_for_task(str(path), _ner_spec())
    return path, tokenizer, info


def test_length_buckets_split_on_padding_waste():
    """CoNLL-like: a long tail of very short sentences. The waste rule keeps every batch within 15% padding."""
    lengths = [40] * 20 + [12] * 20 + [3] * 40 + [2] * 40
    plain = length_buckets(lengths, 32)
    split = length_buckets(lengths, 32, max_pad_fraction=0.15)
    assert sorted(i for b in split for i in b) == list(range(len(lengths)))
    assert all(max(lengths[i] for i in b) <= 1.15 * min(lengths[i] for i in b) for b in split)
    assert padding_ratio(lengths, split) < padding_ratio(lengths, plain)
    assert padding_ratio(lengths, split) == 1.0  # equal lengths within each batch here
