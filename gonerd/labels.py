"""Label sets of the two GONERD configs and the documented mapping between them.

``default``: IOB2 over the 18 OntoNotes 5 entity types that spaCy's English pipelines predict.
``conll``:   IOB2 over the CoNLL-2003 types PER / ORG / LOC / MISC. Numeric and temporal types become ``O``.
"""

from __future__ import annotations

ONTONOTES_TYPES: tuple[str, ...] = (
    "PERSON",
    "NORP",
    "FAC",
    "ORG",
    "GPE",
    "LOC",
    "PRODUCT",
    "EVENT",
    "WORK_OF_ART",
    "LAW",
    "LANGUAGE",
    "DATE",
    "TIME",
    "PERCENT",
    "MONEY",
    "QUANTITY",
    "ORDINAL",
    "CARDINAL",
)

CONLL_TYPES: tuple[str, ...] = ("PER", "ORG", "LOC", "MISC")

# OntoNotes type -> CoNLL type (None: the entity becomes O). Follows the CoNLL-2003 guidelines: facilities and
# geo-political entities are locations; nationalities, events, works, laws, languages and products are MISC.
ONTONOTES_TO_CONLL: dict[str, str | None] = {
    "PERSON": "PER",
    "NORP": "MISC",
    "FAC": "LOC",
    "ORG": "ORG",
    "GPE": "LOC",
    "LOC": "LOC",
    "PRODUCT": "MISC",
    "EVENT": "MISC",
    "WORK_OF_ART": "MISC",
    "LAW": "MISC",
    "LANGUAGE": "MISC",
    "DATE": None,
    "TIME": None,
    "PERCENT": None,
    "MONEY": None,
    "QUANTITY": None,
    "ORDINAL": None,
    "CARDINAL": None,
}


def iob2_names(types: tuple[str, ...]) -> list[str]:
    """ClassLabel names in id order: ``O`` then ``B-T``, ``I-T`` for each type."""
    names = ["O"]
    for t in types:
        names += [f"B-{t}", f"I-{t}"]
    return names


CONFIGS: dict[str, tuple[str, ...]] = {"default": ONTONOTES_TYPES, "conll": CONLL_TYPES}


def label_names(config: str) -> list[str]:
    return iob2_names(CONFIGS[config])


def to_conll(tags: list[str]) -> list[str]:
    """Map OntoNotes IOB2 tags to CoNLL IOB2 tags; dropped types become O, spans keep their boundaries."""
    out = []
    for tag in tags:
        if tag == "O":
            out.append("O")
            continue
        prefix, typ = tag.split("-", 1)
        mapped = ONTONOTES_TO_CONLL[typ]
        out.append("O" if mapped is None else f"{prefix}-{mapped}")
    return out
