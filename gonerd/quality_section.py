"""The card's "Label quality" section, rendered from ``manifest["quality"]`` alone.

Pure text, no I/O and no other ``gonerd`` module: :mod:`gonerd.card` puts the section into the card, and
:mod:`gonerd.validate` compares it (:func:`card_section`) between the card on disk and a fresh rendering. The
figures themselves are measured by :mod:`gonerd.quality`.
"""

from __future__ import annotations

QUALITY_HEADING = "## Label quality"


def _table(rows: list[list], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def render_quality_section(manifest: dict) -> str:
    """The card's "Label quality" section, from ``manifest["quality"]`` alone (so validate can recompute it)."""
    q = manifest.get("quality") or {}
    out = [
        QUALITY_HEADING,
        "",
        "Computed by `gonerd quality` (stored under `quality` in `manifest.json`; `gonerd validate` checks that this "
        "section matches it).",
    ]
    gold = q.get("gold")
    if gold:
        p = gold["pipeline"]
        rows = [
            [
                t,
                f"{v['precision']:.2f}",
                f"{v['recall']:.2f}",
                f"{v['f1']:.2f}",
                f"{v['gold']:,}",
                f"{v['span_found_any_type']:.2f}",
            ]
            for t, v in gold["per_type"].items()
        ]
        rows.append(
            [
                "**all**",
                f"{gold['precision']:.2f}",
                f"{gold['recall']:.2f}",
                f"{gold['f1']:.2f}",
                f"{gold['gold_entities']:,}",
                f"{gold['span_found_any_type']:.2f}",
            ]
        )
        out += [
            "",
            "**Against human gold (CoNLL-2003).** The annotating pipeline (`"
            + p["name"]
            + "` "
            + p["version"]
            + ", components "
            + ", ".join(p["components"])
            + ") was run over "
            + f"{gold['documents']:,}"
            + " documents of `"
            + gold["file"]
            + "` (sha256 `"
            + gold["sha256"][:16]
            + "`; "
            + f"{gold['sentences']:,} sentences, {gold['tokens']:,} tokens)"
            + ", rebuilt as running text from the gold tokens; its OntoNotes types were mapped to PER/ORG/LOC/MISC "
            "with the `conll` mapping and scored with conlleval. *Span found* is the share of gold entities whose "
            "exact span the pipeline found with any of its 18 types.",
            "",
            _table(rows, ["type", "precision", "recall", "F1", "gold entities", "span found (%)"]),
            "",
            "This is **news, not Wikipedia**: short Reuters stories from 1996, many of them sports results. "
            "spaCy's English pipelines are trained on OntoNotes, itself largely news, so this text is closer to "
            "their training data than GONERD's long encyclopedic articles are; expect agreement on Wikipedia to "
            "differ, probably downward (rarer entities, titles of works, long documents). The figures also count "
            "differences of annotation guidelines as errors: CoNLL-2003 tags sports teams named after places as "
            "ORG where OntoNotes-trained models say GPE, and its MISC does not match any set of OntoNotes types "
            "exactly; *span found* is free of the type mapping.",
        ]
    between = q.get("between_models")
    if between:
        m = between["model"]
        sample = between["sample"]
        which = (
            f"a sample of {between['articles']:,} of the {between['of']:,} articles (seed {sample['seed']})"
            if sample
            else f"all {between['articles']:,} articles"
        )
        rows = [
            [
                t,
                f"{v['precision']:.2f}",
                f"{v['recall']:.2f}",
                f"{v['f1']:.2f}",
                f"{v['reference']:,}",
                f"{v['second_model']:,}",
            ]
            for t, v in between["per_type"].items()
        ]
        rows.append(
            [
                "**all**",
                f"{between['precision']:.2f}",
                f"{between['recall']:.2f}",
                f"{between['f1']:.2f}",
                f"{between['reference_entities']:,}",
                f"{between['second_model_entities']:,}",
            ]
        )
        out += [
            "",
            "**Between models.** A second pipeline, `"
            + m["name"]
            + "` "
            + m["version"]
            + " (components "
            + ", ".join(m["components"])
            + "), annotated "
            + which
            + "; its entities are scored against the "
            "dataset's labels by exact character span and type. Where two models disagree, at least one is wrong: "
            f"a low F1 marks types whose silver labels are unstable. Span-only F1: {between['span_f1']:.2f}.",
            "",
            _table(rows, ["type", "precision", "recall", "F1", "dataset entities", "second model entities"]),
        ]
    within = q.get("within_documents")
    if within:
        rows = [
            [t, f"{v['strings']:,}", f"{v['mixed']:,}", f"{v['share']:.2f}"]
            for t, v in within["per_type"].items()
        ]
        out += [
            "",
            f"**Within documents.** Of the {within['strings']:,} distinct (article, entity string) pairs over "
            f"{within['articles']:,} articles, {within['mixed']:,} ({within['share']:.2f}%) receive more than one "
            "type inside the same article, e.g. a name tagged PERSON in one sentence and ORG in another: an "
            "inconsistency of sentence-level silver labels that a long-context model can notice and learn from.",
            "",
            _table(rows, ["type", "strings with this type", "also another type", "share (%)"]),
        ]
    if not gold and not between:
        out += [
            "",
            "Not measured against human gold or a second model for this build: run `gonerd quality --gold-conll "
            "eng.testb --second-model en_core_web_lg` (or the same options of `gonerd build`).",
        ]
    return "\n".join(out) + "\n"


def card_section(card_text: str) -> str | None:
    """The "Label quality" section of a card's text (heading to the next ``## ``), or None when it has none."""
    start = card_text.find("\n" + QUALITY_HEADING + "\n")
    if start < 0:
        return None
    end = card_text.find("\n## ", start + 1)
    return card_text[start + 1 : end if end >= 0 else len(card_text)]
