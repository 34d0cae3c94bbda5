"""Behaviour pinned: for every registered task and sub-task (discovered from the registry, not a pinned list), a few
examples are encoded with a tiny seeded model, predicted, collated for training and scored, and a digest of all of
it is compared with ``unchanged_outputs.json`` beside this file.

The payload covers the encoded ``input_ids`` / labels / window stats, a collated training batch (label collation),
the predictions, the scored result (metrics, primary score, spec hash), gold-as-prediction scoring, the
``--allow-missing`` policy and the shape-check message. The first golden file was generated with the code *before*
the task-type refactoring (issue #11), so the refactoring provably changed none of it.

CPU-independent (issue #22): float kernels differ between CPUs (AVX2, AVX-512 with BF16, ``ATEN_CPU_CAPABILITY``)
in the last digits of every model output. So the payload is split in two: ``sha256`` hashes everything exact (ids,
labels, stats, messages, label and span predictions, with every float replaced by a placeholder), and ``numbers``
lists every float in payload order, compared with a tolerance (:data:`REL`, :data:`ABS`, and for floats computed
from regression outputs how far kernel-sized noise in those outputs moves them, :func:`_slack`). The discrete decisions
inside the hash (argmax labels and tags, best QA span, the ranks Spearman uses) are exact only if no float noise can
flip them: :func:`_decision_margin` measures by how much the closest one won, and every case asserts it is at least
:data:`SAFE_MARGIN`, ten times the largest logit difference measured between two kernels. A real change still fails:
``test_a_change_fails_the_pin`` perturbs a payload (one label, one regression output by 1e-3) and checks that it
no longer matches, while kernel-sized noise (1e-7) does.

Examples come from ../shared/fixtures where the task has a sample there (``<fixtures>/<task>/``; a sample file
named differently from the spec's is found by its suffix), else from a synthetic set built from the spec (so
GONERD's and arXiv's long-context paths are covered too). Regenerate after an *intended* change with
``UPDATE_GOLDEN=1 pytest tests/benchmark/task_types/test_unchanged_outputs.py`` and say why in the commit.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
import torch

from benchmark.core.examples import ClassificationExample, QAExample, TokenExample
from benchmark.data.loader import load_examples
from benchmark.encode.features import Collator, encode, input_length
from benchmark.errors import BenchmarkError
from benchmark.evaluate.predict import predict, run_model
from benchmark.evaluate.scoring import gold_as_predictions, score_predictions
from benchmark.model.modeling import load_model_for_task
from benchmark.task_types.qa import MAX_ANSWER_TOKENS
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


# Largest difference in any logit between this machine's default kernels (AVX2) and ATEN_CPU_CAPABILITY=default,
# over every case of this file: 1.8e-7 (logits up to 0.47). Decisions must win by ten times that.
SAFE_MARGIN = 2e-6
# Every float compares within REL / ABS (scores computed from labels differ at most in summation order), plus, where
# it comes from the model's float outputs (regression), how far OUTPUT_NOISE in those outputs moves it (_slack):
# five times the largest logit difference measured between kernels. A real change moves them far more.
REL, ABS = 1e-4, 1e-6
OUTPUT_NOISE = 1e-6
FLOAT = "<float>"


def _canonical(value: Any, numbers: list[float]) -> Any:
    """JSON-ready form (tuples and tensors as lists) with every float replaced by :data:`FLOAT` and appended to
    ``numbers`` (in order: dict keys sorted), so the structure hashes exactly and the floats compare with a
    tolerance."""
    if isinstance(value, torch.Tensor):
        return _canonical(value.tolist(), numbers)
    if isinstance(value, dict):
        return {str(k): _canonical(value[k], numbers) for k in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [_canonical(v, numbers) for v in value]
    if isinstance(value, float):
        numbers.append(value)
        return FLOAT
    return value


def _pin(payload: Any, source: str) -> dict[str, Any]:
    """The golden entry of a payload: ``sha256`` of the exact part, ``numbers`` for the floats."""
    numbers: list[float] = []
    blob = json.dumps(_canonical(payload, numbers), ensure_ascii=False, separators=(",", ":"))
    return {
        "source": source,
        "sha256": hashlib.sha256(blob.encode()).hexdigest(),
        "numbers": [float(f"{x:.9g}") for x in numbers],
    }


def _mismatch(got: dict[str, Any], want: dict[str, Any], slack: list[float] | None = None) -> str | None:
    """Why ``got`` does not match the golden ``want`` (None when it does); ``slack``: :func:`_slack`, added to the
    tolerance of each float."""
    if got["source"] != want["source"] or got["sha256"] != want["sha256"]:
        return "the exact part (ids, labels, tags, spans, messages) changed"
    if len(got["numbers"]) != len(want["numbers"]):
        return f"{len(got['numbers'])} floats instead of {len(want['numbers'])}"
    slack = slack or [0.0] * len(want["numbers"])
    for i, (g, w, s) in enumerate(zip(got["numbers"], want["numbers"], slack, strict=True)):
        if g != pytest.approx(w, rel=REL, abs=ABS + s):
            return f"float #{i} is {g!r}, was {w!r} (tolerance rel {REL}, abs {ABS} + {s:.2g})"
    return None


def _decision_margin(spec, model, info, collator, encoded, predictions) -> float:
    """By how much the closest discrete decision of this case won: the top logit over the second (every real
    token of token classification; the window-averaged logits of classification), the best QA span's score over
    the best span with other characters, the smallest gap between two regression outputs (Spearman ranks them).
    ``inf`` when there is no decision."""
    task = spec.task_type
    if task == "regression":
        values = sorted(float(v) for v in predictions.values())
        return min((b - a for a, b in itertools.pairwise(values)), default=math.inf)
    if task == "token_classification":
        margins: list[float] = []

        def hook(_module, _args, kwargs, output):
            top = output.logits.float().topk(2, dim=-1).values
            gap = top[..., 0] - top[..., 1]
            margins.append(float(gap[kwargs["attention_mask"].bool()].min()))

        handle = model.register_forward_hook(hook, with_kwargs=True)
        try:
            run_model(model, info, encoded.features, collator, batch_size=2, device=torch.device("cpu"))
        finally:
            handle.remove()
        return min(margins, default=math.inf)
    outputs, _, _ = run_model(
        model, info, encoded.features, collator, batch_size=2, device=torch.device("cpu")
    )
    if task == "classification":
        sums: dict[int, torch.Tensor] = {}
        counts: dict[int, int] = {}
        for f, logits in zip(encoded.features, outputs, strict=True):
            sums[f.example_index] = sums.get(f.example_index, 0) + logits
            counts[f.example_index] = counts.get(f.example_index, 0) + 1
        tops = [(sums[i] / counts[i]).topk(2).values for i in sums]
        return min(float(t[0] - t[1]) for t in tops)
    assert task == "extractive_qa", f"no decision margin for task type {task!r}"
    spans: dict[int, list[torch.Tensor]] = {}
    for f, (starts, ends) in zip(encoded.features, outputs, strict=True):
        offsets = f.meta["offsets"]
        c0 = torch.tensor([o[0] if o is not None else -1 for o in offsets])
        c1 = torch.tensor([o[1] if o is not None else -1 for o in offsets])
        n = len(offsets)
        for gap in range(min(MAX_ANSWER_TOKENS, n)):
            ok = (c0[: n - gap] >= 0) & (c0[gap:] >= 0)
            spans.setdefault(f.example_index, []).append(
                torch.stack([(starts[: n - gap] + ends[gap:])[ok], c0[: n - gap][ok], c1[gap:][ok]])
            )
    margin = math.inf
    for parts in spans.values():
        score, first, last = torch.cat(parts, dim=1)
        best = int(score.argmax())
        other = (first != first[best]) | (last != last[best])
        if other.any():
            margin = min(margin, float(score[best] - score[other].max()))
    return margin


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


def _from_predictions(spec, examples, preds: dict[str, Any]) -> dict[str, Any]:
    """The part of the payload computed from the predictions: they, their scores, the ``--allow-missing`` policy
    (the first example missing) and the shape check."""
    first = examples[0].id
    partial = {k: v for k, v in preds.items() if k != first}
    return {
        "predictions": preds,
        "scored": _outcome(lambda: score_predictions(spec, examples, preds)),
        "missing": _outcome(lambda: score_predictions(spec, examples, partial, allow_missing=True)),
        "bad_shape": _outcome(lambda: score_predictions(spec, examples, {**preds, first: {"x": 1}})),
    }


def _slack(spec, examples, payload: dict[str, Any]) -> list[float]:
    """Per float of ``payload``, how far kernel noise in the model's float outputs (regression) can move it: each
    output moved by :data:`OUTPUT_NOISE` in turn, the changes summed (the linearised worst case). Pearson over four
    close outputs moves a lot; an output itself moves by OUTPUT_NOISE. Zeros where the outputs are not floats."""
    base = _pin(payload, "")["numbers"]
    slack = [0.0] * len(base)
    preds = payload["predictions"]
    for key, value in preds.items():
        if not isinstance(value, float):
            continue
        moved = _from_predictions(spec, examples, {**preds, key: value + OUTPUT_NOISE})
        numbers = _pin({**payload, **moved}, "")["numbers"]
        slack = [s + abs(n - b) for s, n, b in zip(slack, numbers, base, strict=True)]
    return slack


def _run_one(spec, examples, model_dir: Path) -> tuple[dict[str, Any], float, list[float]]:
    """The payload of one case, its :func:`_decision_margin` and :func:`_slack`."""
    torch.manual_seed(0)
    model, tokenizer, info = load_model_for_task(str(model_dir), spec)
    length = input_length(spec, info)
    encoded = encode(examples, tokenizer, spec, info, length)
    collator = Collator.for_model(tokenizer, info, spec.task_type)
    batch = collator(encoded.features[:3])
    out = predict(model, info, spec, examples, encoded, tokenizer=tokenizer, batch_size=2)
    preds = out.predictions
    margin = _decision_margin(spec, model, info, collator, encoded, preds)
    payload = {
        "input_ids": [f.input_ids for f in encoded.features],
        "token_type_ids": [f.token_type_ids for f in encoded.features],
        "global_positions": [f.global_positions for f in encoded.features],
        "labels": [f.label for f in encoded.features],
        "stats": encoded.stats,
        "prefix": encoded.context_prefix,
        "batch": batch,
        "gold": _outcome(lambda: score_predictions(spec, examples, gold_as_predictions(examples))),
        **_from_predictions(spec, examples, preds),
    }
    return payload, margin, _slack(spec, examples, payload)


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
    payload, margin, slack = _run_one(spec, examples or _synthetic_examples(spec), model_dirs[kind])
    assert payload["predictions"] and len(payload["input_ids"]) >= len(payload["predictions"])
    assert margin >= SAFE_MARGIN, (
        f"{key}: a decision won by only {margin:.2g} (< {SAFE_MARGIN}), so another CPU's float kernels could flip it;"
        " change the examples or the tiny model's seed rather than pinning a CPU-dependent result"
    )
    got = _pin(payload, source)
    if os.environ.get("UPDATE_GOLDEN"):
        recorded[key] = got
        return
    assert want is not None, f"{key}: no golden digest in {GOLDEN.name}; generate it with UPDATE_GOLDEN=1"
    problem = _mismatch(got, want, slack)
    assert problem is None, f"{key}: encoding, predictions or scores changed: {problem}"


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
    got = _pin(score_predictions(spec, examples, preds), "mixed")
    if os.environ.get("UPDATE_GOLDEN"):
        recorded[spec.name] = got
        return
    assert spec.name in golden, (
        f"{spec.name}: no golden entry in {GOLDEN.name}; generate it with UPDATE_GOLDEN=1"
    )
    problem = _mismatch(got, golden[spec.name])
    assert problem is None, f"{spec.name}: aggregate scores changed: {problem}"


@pytest.mark.fixtures
def test_a_change_fails_the_pin(model_dirs):
    """The tolerance lets kernel noise through and nothing more: a changed label or a regression output moved by
    1e-3 fails the comparison; every float moved by 1e-7 (the size of the differences between CPUs) does not."""
    glue = registry.get_task("glue")
    stsb = next(s for s in glue.subtasks if s.name == "stsb")
    cola = next(s for s in glue.subtasks if s.name == "cola")
    for sub in (stsb, cola):
        examples = _fixture_examples(sub, glue) or _synthetic_examples(sub)
        payload, _, slack = _run_one(sub, examples, model_dirs["bert"])
        want = _pin(payload, "x")
        assert _mismatch(_pin(payload, "x"), want, slack) is None
        noisy = json.loads(json.dumps(payload, default=lambda t: t.tolist()))
        noisy["predictions"] = {
            k: v + 1e-7 if isinstance(v, float) else v for k, v in noisy["predictions"].items()
        }
        if sub is stsb:
            noisy["scored"]["metrics"] = {k: v * (1 + 1e-7) for k, v in noisy["scored"]["metrics"].items()}
        assert _mismatch(_pin(noisy, "x"), want, slack) is None
        changed = json.loads(json.dumps(payload, default=lambda t: t.tolist()))
        first = next(iter(changed["predictions"]))
        if sub is stsb:
            changed["predictions"][first] += 1e-3
            assert "float #" in (_mismatch(_pin(changed, "x"), want, slack) or "")
        else:
            old = changed["predictions"][first]
            changed["predictions"][first] = next(n for n in sub.label_names if n != old)
            assert "exact part" in (_mismatch(_pin(changed, "x"), want, slack) or "")
