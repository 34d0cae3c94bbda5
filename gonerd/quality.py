"""``gonerd quality``: how good are the silver labels? Figures for the manifest's ``quality`` section and the card.

Three measurements, each computed, never typed:

- **Against human gold** (``gold_conll``): the build's own spaCy pipeline (same package, version and components)
  runs over CoNLL-2003 documents rebuilt as running text from the gold tokens (tokens joined by spaces, sentences
  by newlines). Its entities are put back on the gold tokens by character offsets, their OntoNotes types mapped
  with the ``conll`` mapping (:func:`gonerd.labels.to_conll`), and scored with the harness's conlleval port
  (:func:`gonerd.ner.conlleval`): overall and per type, plus the share of gold entities whose exact
  span the pipeline found with any of its 18 types.
- **Between models** (``second_model``): a second pipeline over the built articles (or a seeded sample of them);
  entity-level precision/recall/F1 of its entities against the dataset's, by exact character span and type,
  overall and per type.
- **Within documents** (always): the share of entity strings that receive more than one type inside the same
  article, overall and per type.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from .errors import GonerdError
from .labels import ONTONOTES_TYPES, label_names, to_conll
from .manifest import read_manifest, sha256_file, write_manifest
from .validate import write_card

DEFAULT_SAMPLE = 100  # articles compared between models (all of them when the dataset has fewer)
TEXT_LAYOUT = "gold tokens joined by single spaces, sentences by newlines, one text per -DOCSTART- document"


def _pct(num: int, den: int) -> float:
    return round(100.0 * num / den, 2) if den else 0.0


def _r(x: float) -> float:
    return round(float(x), 2)


# --------------------------------------------------------------------------------------------- gold CoNLL


def read_conll_documents(path: str | Path) -> list[list[tuple[list[str], list[str]]]]:
    """CoNLL-2003 file -> documents, each a list of sentences ``(tokens, IOB2 tags)``.

    ``-DOCSTART-`` lines start documents (text before the first one is a document too: most copies of
    ``eng.testb`` lack its first marker). 4-column files (the original release) are IOB1 and are converted;
    2-column files are read as IOB2. Every malformed line is a one-line error naming file and line."""
    import io

    from . import untrusted
    from .ner import iob1_to_iob2

    path = Path(path)
    if not path.exists():
        raise GonerdError(f"--gold-conll {path}: no such file")
    untrusted.check_regular(path, f"--gold-conll {path}", GonerdError)  # a FIFO would hang the read
    docs: list[list[tuple[list[str], list[str]]]] = [[]]
    sentence: list[list[str]] = []
    widths: set[int] = set()

    def close_sentence() -> None:
        if sentence:
            docs[-1].append(([p[0] for p in sentence], [p[-1] for p in sentence]))
            sentence.clear()

    try:
        with io.TextIOWrapper(
            untrusted.open_regular(path, f"--gold-conll {path}", GonerdError), "utf-8"
        ) as fh:
            for lineno, line in enumerate(fh, 1):
                parts = line.split()
                if not parts:
                    close_sentence()
                    continue
                if parts[0] == "-DOCSTART-":
                    close_sentence()
                    if docs[-1]:
                        docs.append([])
                    continue
                tag = parts[-1]
                if len(parts) < 2 or not (tag == "O" or tag[:2] in ("B-", "I-")):
                    raise GonerdError(
                        f"{path}:{lineno}: expected 'TOKEN ... TAG' with an IOB tag, got {line.strip()!r}"
                    )
                if widths and len(parts) not in widths:
                    raise GonerdError(
                        f"{path}:{lineno}: {len(parts)} columns, earlier lines have {widths.pop()}"
                    )
                widths.add(len(parts))
                sentence.append(parts)
    except UnicodeDecodeError:
        raise GonerdError(f"{path}: not UTF-8 text (expected a CoNLL-2003 file such as eng.testb)") from None
    close_sentence()
    docs = [d for d in docs if d]
    if not docs:
        raise GonerdError(f"{path}: no sentences (expected a CoNLL-2003 file such as eng.testb)")
    if widths.pop() >= 4:
        docs = [[(toks, iob1_to_iob2(tags)) for toks, tags in doc] for doc in docs]
    return docs


def _spans(tags: list[str]) -> list[tuple[int, int, str]]:
    """IOB2 tags -> ``(start, end, type)`` token spans (an ``I-`` that does not continue starts a new span)."""
    spans: list[tuple[int, int, str]] = []
    start, typ = None, None
    for i, tag in enumerate([*tags, "O"]):
        if tag.startswith("I-") and typ == tag[2:]:
            continue
        if start is not None:
            spans.append((start, i, typ))
            start, typ = None, None
        if tag != "O":
            start, typ = i, tag[2:]
    return spans


def _document_text(doc: list[tuple[list[str], list[str]]]) -> tuple[str, list[list[tuple[int, int]]]]:
    """Running text of one document and the character span of every gold token."""
    parts: list[str] = []
    offsets: list[list[tuple[int, int]]] = []
    pos = 0
    for s, (tokens, _) in enumerate(doc):
        if s:
            parts.append("\n")
            pos += 1
        sent: list[tuple[int, int]] = []
        for i, tok in enumerate(tokens):
            if i:
                parts.append(" ")
                pos += 1
            parts.append(tok)
            sent.append((pos, pos + len(tok)))
            pos += len(tok)
        offsets.append(sent)
    return "".join(parts), offsets


def _align(ents: list[tuple[int, int, str]], offsets: list[list[tuple[int, int]]]) -> list[list[str]]:
    """Predicted character spans -> IOB2 tags on the gold tokens (a token takes the first entity it overlaps)."""
    tags = [["O"] * len(sent) for sent in offsets]
    flat = [(s, i, a, b) for s, sent in enumerate(offsets) for i, (a, b) in enumerate(sent)]
    k = 0
    for start, end, label in sorted(ents):
        while k < len(flat) and flat[k][3] <= start:
            k += 1
        j, first, last_sent = k, True, None
        while j < len(flat) and flat[j][2] < end:
            s, i, _, _ = flat[j]
            if tags[s][i] == "O":
                tags[s][i] = ("B-" if first or s != last_sent else "I-") + label
                first, last_sent = False, s
            j += 1
    return tags


def gold_quality(nlp, pipeline_info: dict, gold_conll: str | Path, *, batch_size: int = 8) -> dict[str, Any]:
    """Score the pipeline against CoNLL-2003 gold (see the module docstring)."""
    from .ner import conlleval

    path = Path(gold_conll)
    docs = read_conll_documents(path)
    gold: list[list[str]] = []
    pred: list[list[str]] = []
    found_any: Counter = Counter()
    gold_count: Counter = Counter()
    texts = [_document_text(doc) for doc in docs]
    longest = max(len(t) for t, _ in texts)
    nlp.max_length = max(nlp.max_length, longest + 1)
    for doc, (_, offsets), sdoc in zip(
        docs, texts, nlp.pipe((t for t, _ in texts), batch_size=batch_size), strict=True
    ):
        ents = [(e.start_char, e.end_char, e.label_) for e in sdoc.ents]
        tags = _align(ents, offsets)
        for (_, gold_tags), pred_tags in zip(doc, tags, strict=True):
            gold.append(gold_tags)
            pred.append(to_conll(pred_tags))
            predicted = {(a, b) for a, b, _ in _spans(pred_tags)}  # any of the 18 types, before mapping
            for a, b, typ in _spans(gold_tags):
                gold_count[typ] += 1
                found_any[typ] += (a, b) in predicted
    scores = conlleval(gold, pred)
    per_type = {
        t: {
            "precision": _r(v["precision"]),
            "recall": _r(v["recall"]),
            "f1": _r(v["f1"]),
            "gold": int(v["support"]),
            "predicted": int(v["predicted"]),
            "span_found_any_type": _pct(found_any[t], gold_count[t]),
        }
        for t, v in scores["per_type"].items()
    }
    return {
        "file": path.name,
        "sha256": sha256_file(path),
        "text": TEXT_LAYOUT,
        "pipeline": {k: pipeline_info[k] for k in ("package", "name", "version", "components")},
        "documents": len(docs),
        "sentences": len(gold),
        "tokens": sum(len(s) for s in gold),
        "gold_entities": sum(gold_count.values()),
        "scorer": "conlleval (benchmark.metrics.ner), OntoNotes types mapped with the conll mapping",
        "precision": _r(scores["precision"]),
        "recall": _r(scores["recall"]),
        "f1": _r(scores["f1"]),
        "span_found_any_type": _pct(sum(found_any.values()), sum(gold_count.values())),
        "per_type": per_type,
    }


# --------------------------------------------------------------------------------------------- the built data


def _articles(dataset_dir: Path) -> list[dict]:
    """Rows of the ``default`` config, all splits, sorted by id, with tag names."""
    from .split import SPLITS
    from .write import read_split

    names = label_names("default")
    rows: list[dict] = []
    for split in SPLITS:
        for row in read_split(dataset_dir, "default", split).to_pylist():
            row["tags"] = [names[t] for t in row.pop("ner_tags")]
            rows.append(row)
    if not rows:
        raise GonerdError(f"{dataset_dir}: no articles in data/default (run `gonerd build` first)")
    return sorted(rows, key=lambda r: r["id"])


def _char_entities(row: dict) -> tuple[str, list[tuple[int, int, str]]]:
    """The article text and its entities as ``(start_char, end_char, type)``."""
    starts: list[int] = []
    pos = 0
    for tok, sp in zip(row["tokens"], row["space_after"], strict=True):
        starts.append(pos)
        pos += len(tok) + len(sp)
    text = "".join(t + s for t, s in zip(row["tokens"], row["space_after"], strict=True))
    ents = [(starts[a], starts[b - 1] + len(row["tokens"][b - 1]), typ) for a, b, typ in _spans(row["tags"])]
    return text, ents


def _prf(matched: int, predicted: int, reference: int) -> dict[str, float]:
    p = 100.0 * matched / predicted if predicted else 0.0
    r = 100.0 * matched / reference if reference else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": _r(p), "recall": _r(r), "f1": _r(f)}


def between_models(
    rows: list[dict], second_model: str, *, sample: int = DEFAULT_SAMPLE, seed: int = 0, batch_size: int = 8
) -> dict[str, Any]:
    """Entity-level agreement of ``second_model`` with the dataset's labels on a seeded sample of articles."""
    from .annotate import load_pipeline

    if sample < 1:
        raise GonerdError(f"--quality-sample must be at least 1, got {sample}")
    nlp, info = load_pipeline(second_model)
    chosen = (
        rows
        if sample >= len(rows)
        else sorted(random.Random(seed).sample(rows, sample), key=lambda r: r["id"])
    )
    texts, reference = zip(*(_char_entities(r) for r in chosen), strict=True)
    nlp.max_length = max(nlp.max_length, max(len(t) for t in texts) + 1)
    matched: Counter = Counter()
    n_ref: Counter = Counter()
    n_other: Counter = Counter()
    span_matched = 0
    for ref, doc in zip(reference, nlp.pipe(texts, batch_size=batch_size), strict=True):
        other = {(e.start_char, e.end_char, e.label_) for e in doc.ents}
        ref_set = set(ref)
        for _, _, t in ref_set:
            n_ref[t] += 1
        for _, _, t in other:
            n_other[t] += 1
        for _, _, t in ref_set & other:
            matched[t] += 1
        span_matched += len({(a, b) for a, b, _ in ref_set} & {(a, b) for a, b, _ in other})
    types = [t for t in ONTONOTES_TYPES if n_ref[t] or n_other[t]]
    return {
        "model": {k: info.to_dict()[k] for k in ("package", "name", "version", "components")},
        "articles": len(chosen),
        "of": len(rows),
        "sample": {"size": sample, "seed": seed} if sample < len(rows) else None,
        "reference_entities": sum(n_ref.values()),
        "second_model_entities": sum(n_other.values()),
        "match": "exact character span and type; the dataset's labels are the reference",
        **_prf(sum(matched.values()), sum(n_other.values()), sum(n_ref.values())),
        "span_f1": _prf(span_matched, sum(n_other.values()), sum(n_ref.values()))["f1"],
        "per_type": {
            t: {**_prf(matched[t], n_other[t], n_ref[t]), "reference": n_ref[t], "second_model": n_other[t]}
            for t in types
        },
    }


def within_documents(rows: list[dict]) -> dict[str, Any]:
    """Share of (article, entity string) pairs whose string gets more than one type in that article."""
    pairs: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in rows:
        text, ents = _char_entities(row)
        for a, b, t in ents:
            pairs[(row["id"], text[a:b])].add(t)
    mixed = {k for k, types in pairs.items() if len(types) > 1}
    per_type: dict[str, dict[str, Any]] = {}
    for t in ONTONOTES_TYPES:
        with_t = [k for k, types in pairs.items() if t in types]
        if with_t:
            n_mixed = sum(k in mixed for k in with_t)
            per_type[t] = {"strings": len(with_t), "mixed": n_mixed, "share": _pct(n_mixed, len(with_t))}
    examples = Counter(pairs[k].__len__() for k in mixed)
    return {
        "articles": len(rows),
        "strings": len(pairs),
        "mixed": len(mixed),
        "share": _pct(len(mixed), len(pairs)),
        "mixed_by_number_of_types": {str(n): c for n, c in sorted(examples.items())},
        "per_type": per_type,
    }


# --------------------------------------------------------------------------------------------- entry point


def check_inputs(
    gold_conll: str | Path | None = None, second_model: str | None = None, sample: int = DEFAULT_SAMPLE, **_
) -> None:
    """Fail on a bad quality input before a build spends hours annotating (one-line GonerdError)."""
    if gold_conll is not None:
        read_conll_documents(gold_conll)
    if sample < 1:
        raise GonerdError(f"--quality-sample must be at least 1, got {sample}")
    if second_model is not None:
        from .annotate import _load_target

        _load_target(second_model)


def measure_quality(
    dataset_dir: str | Path,
    *,
    gold_conll: str | Path | None = None,
    second_model: str | None = None,
    sample: int = DEFAULT_SAMPLE,
    seed: int = 0,
    nlp=None,
    pipeline=None,
    batch_size: int = 8,
    card: bool = True,
) -> dict[str, Any]:
    """Measure, write ``manifest["quality"]`` (replacing an earlier one) and, with ``card``, regenerate the card.

    ``nlp``/``pipeline``: the build's loaded pipeline, when called from ``gonerd build``; otherwise the pipeline
    the manifest names is loaded, and must be the same version that annotated the data."""
    root = Path(dataset_dir)
    if not root.is_dir():
        raise GonerdError(f"{root}: no such dataset folder")
    manifest = read_manifest(root)
    if gold_conll is not None and not Path(gold_conll).is_file():  # before anything slow
        raise GonerdError(f"--gold-conll {gold_conll}: no such file")
    rows = _articles(root)
    quality: dict[str, Any] = {"within_documents": within_documents(rows)}
    if gold_conll is not None:
        annotation = manifest["annotation"]
        if nlp is None:
            from .annotate import load_pipeline

            nlp, loaded = load_pipeline(annotation.get("requested") or annotation["package"])
            info = loaded.to_dict()
            if (info["version"], info["components"]) != (annotation["version"], annotation["components"]):
                raise GonerdError(
                    f"{annotation['package']} {info['version']} ({', '.join(info['components'])}) is installed, "
                    f"but the data was annotated by version {annotation['version']} "
                    f"({', '.join(annotation['components'])}); install that version to measure its labels"
                )
        else:
            info = pipeline.to_dict()
        quality["gold"] = gold_quality(nlp, info, gold_conll, batch_size=batch_size)
    if second_model is not None:
        quality["between_models"] = between_models(
            rows, second_model, sample=sample, seed=seed, batch_size=batch_size
        )
    # sections not measured this time stay (same data: a rebuild writes a fresh manifest without them)
    manifest["quality"] = {**(manifest.get("quality") or {}), **quality}
    write_manifest(root, manifest)
    if card:
        write_card(root)
    return manifest["quality"]
