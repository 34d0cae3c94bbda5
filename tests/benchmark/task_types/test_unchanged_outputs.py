"""Behaviour pinned: for every registered task and sub-task (discovered from the registry, not a pinned list), a few
examples are encoded with a tiny seeded model, predicted, collated for training and scored, and a digest of all of
it is compared with ``unchanged_outputs.json`` beside this file.

The digest covers the encoded ``input_ids`` / labels / window stats, a collated training batch (label collation),
the predictions, the scored result (metrics, primary score, spec hash), gold-as-prediction scoring, the
``--allow-missing`` policy and the shape-check message. The golden file was generated with the code *before* the
task-type refactoring (issue #11), so the refactoring provably changed none of it.

Examples come from ../shared/fixtures where the task has a sample there (``<fixtures>/<task>/``; a sample file
named differently from the spec's is found by its suffix), else from a synthetic set built from the spec (so
GONERD's and arXiv's long-context paths are covered too). Regenerate after an *intended* change with
``UPDATE_GOLDEN=1 pytest tests/benchmark/task_types/test_unchanged_outputs.py`` and say why in the commit.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
import torch

from benchmark.data.loader import load_examples
from benchmark.errors import BenchmarkError
from benchmark.examples import ClassificationExample, QAExample, TokenExample
from benchmark.features import Collator, encode, input_length
from benchmark.modeling import load_model_for_task
from benchmark.predict import predict
from benchmark.scoring import gold_as_predictions, score_predictions
from benchmark.tasks import registry
from conftest import FIXTURES
from tiny_models import build_tiny_model, tiny_corpus

torch.set_num_threads(1)

GOLDEN = Path(__file__).with_name("unchanged_outputs.json")
LIMIT = 4
# Byte-level BPE + global attention (longformer) and WordPiece + token type ids (bert). The bert digests were made
# with the pre-refactoring code (a515788) once tests/tiny_models.py counted its WordPiece vocabulary itself (the
# tokenizers trainer broke ties differently in each process, so the ids were not reproducible before).
KINDS = ("longformer", "bert")
MAX_LENGTH = 64  # the tiny models' positions: long inputs are windowed
SPECS = registry.all_tasks()
EVERY = [(spec.name, spec, None) for spec in SPECS if not spec.subtasks] + [
    (f"{spec.name}/{sub.name}", sub, spec) for spec in SPECS for sub in spec.subtasks
]


def _canonical(value: Any) -> Any:
    """JSON-ready form: tuples as lists, tensors as lists, floats rounded (1e-6) so the digest is stable."""
    if isinstance(value, torch.Tensor):
        return _canonical(value.tolist())
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, float):
        return round(value, 6)
    return value


def _digest(payload: Any) -> str:
    blob = json.dumps(_canonical(payload), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _fixture_examples(spec, parent) -> list | None:
    """Up to LIMIT validation examples from ../shared/fixtures/<task>/, or None when the task has no sample."""
    folder = FIXTURES / (parent or spec).name
    if not folder.is_dir():
        return None
    expected = spec.local.files.get("validation")
    data_file = None
    if expected and not (folder / expected).exists():
        suffix = Path(expected).suffix
        found = sorted(p for p in folder.iterdir() if p.is_file() and suffix and p.suffix == suffix)
        if not found:
            return None
        data_file = found[0]
    try:
        return load_examples(spec, "validation", data_dir=FIXTURES, limit=LIMIT, data_file=data_file).examples
    except BenchmarkError:
        return None


def _synthetic_examples(spec) -> list:
    """A deterministic labelled set of the spec's type; long-context tasks get inputs longer than the model."""
    sentences = tiny_corpus(60)
    long = spec.context == "long"
    out: list = []
    for i in range(LIMIT):
        text = " ".join(sentences[i * 7 : i * 7 + (12 if long else 2)])
        if spec.task_type == "token_classification":
            words = tuple(text.split())
            entities = [n[2:] for n in spec.label_names if n.startswith("B-")]
            tags = []
            for w, _ in enumerate(words):
                kind = entities[(w + i) % len(entities)]
                tags.append(("B-" if w % 5 == 1 else "I-") + kind if w % 5 in (1, 2) else "O")
            out.append(TokenExample(f"{spec.name}-{i}", words, tuple(tags)))
        elif spec.task_type == "extractive_qa":
            answer = next(w for w in text.split() if len(w) > 3)  # not an article (removed when scoring)
            out.append(QAExample(f"{spec.name}-{i}", "Who did it?", text, (answer,), (text.index(answer),)))
        elif spec.task_type == "regression":
            out.append(ClassificationExample(f"{spec.name}-{i}", text, sentences[i], float(i)))
        else:
            label = spec.label_names[i % len(spec.label_names)]
            out.append(ClassificationExample(f"{spec.name}-{i}", text, None, label))
    return out


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    if os.environ.get("UPDATE_GOLDEN"):
        return {}
    assert GOLDEN.is_file(), f"{GOLDEN} is missing; generate it with UPDATE_GOLDEN=1"
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory) -> dict[str, Path]:
    return {
        kind: build_tiny_model(kind, tmp_path_factory.mktemp(kind), max_length=MAX_LENGTH, seed=0)
        for kind in KINDS
    }


@pytest.fixture(scope="module")
def recorded():
    """Digests computed in this module; written to the golden file at the end with UPDATE_GOLDEN=1."""
    found: dict[str, Any] = {}
    yield found
    if os.environ.get("UPDATE_GOLDEN") and found:
        old = json.loads(GOLDEN.read_text(encoding="utf-8")) if GOLDEN.is_file() else {}
        GOLDEN.write_text(json.dumps({**old, **found}, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def _outcome(fn) -> Any:
    """What ``fn()`` returns, or the one-line error it raises (messages are behaviour too)."""
    try:
        return fn()
    except BenchmarkError as exc:
        return f"error: {exc}"


def _run_one(spec, examples, model_dir: Path) -> dict[str, Any]:
    torch.manual_seed(0)
    model, tokenizer, info = load_model_for_task(str(model_dir), spec)
    length = input_length(spec, info)
    encoded = encode(examples, tokenizer, spec, info, length)
    collator = Collator.for_model(tokenizer, info, spec.task_type)
    batch = collator(encoded.features[:3])
    out = predict(model, info, spec, examples, encoded, tokenizer=tokenizer, batch_size=2)
    preds = out.predictions
    first = examples[0].id
    partial = {k: v for k, v in preds.items() if k != first}
    return {
        "input_ids": [f.input_ids for f in encoded.features],
        "token_type_ids": [f.token_type_ids for f in encoded.features],
        "global_positions": [f.global_positions for f in encoded.features],
        "labels": [f.label for f in encoded.features],
        "stats": encoded.stats,
        "prefix": encoded.context_prefix,
        "batch": batch,
        "predictions": preds,
        "scored": _outcome(lambda: score_predictions(spec, examples, preds)),
        "gold": _outcome(lambda: score_predictions(spec, examples, gold_as_predictions(examples))),
        "missing": _outcome(lambda: score_predictions(spec, examples, partial, allow_missing=True)),
        "bad_shape": _outcome(lambda: score_predictions(spec, examples, {**preds, first: {"x": 1}})),
    }


@pytest.mark.fixtures
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("name", "spec", "parent"), EVERY, ids=[n for n, _, _ in EVERY])
def test_outputs_unchanged(name, spec, parent, kind, model_dirs, golden, recorded):
    examples = _fixture_examples(spec, parent)
    source = "fixtures" if examples else "synthetic"
    key = f"{name}@{kind}"
    want = golden.get(key)
    if want is not None and want["source"] == "fixtures" and source != "fixtures":
        pytest.skip(f"{name}: its digest was made from ../shared/fixtures, which is absent here")
    payload = _run_one(spec, examples or _synthetic_examples(spec), model_dirs[kind])
    assert payload["predictions"] and len(payload["input_ids"]) >= len(payload["predictions"])
    got = {"source": source, "sha256": _digest(payload)}
    if os.environ.get("UPDATE_GOLDEN"):
        recorded[key] = got
        return
    assert want is not None, f"{key}: no golden digest in {GOLDEN.name}; generate it with UPDATE_GOLDEN=1"
    assert got == want, f"{key}: encoding, predictions or scores changed"


@pytest.mark.fixtures
@pytest.mark.parametrize("spec", [s for s in SPECS if s.subtasks], ids=lambda s: s.name)
def test_aggregate_scores_unchanged(spec, golden, recorded):
    """A task with sub-tasks (GLUE) scored as a whole from gold-derived predictions: the aggregate."""
    examples = []
    for sub in spec.subtasks:
        examples += _fixture_examples(sub, spec) or _synthetic_examples(sub)
    preds = gold_as_predictions(examples)
    for i, ex in enumerate(examples):
        if i % 3 == 0:  # every third wrong
            sub = next(s for s in spec.subtasks if ex.id.startswith(s.name + "-"))
            preds[ex.id] = 0.5 if sub.task_type == "regression" else sub.label_names[-1]
    got = {"source": "mixed", "sha256": _digest(score_predictions(spec, examples, preds))}
    if os.environ.get("UPDATE_GOLDEN"):
        recorded[spec.name] = got
        return
    assert golden.get(spec.name) == got, f"{spec.name}: aggregate scores changed"
