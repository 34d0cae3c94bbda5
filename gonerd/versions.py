"""The dataset's version history: the card's changelog. Bump ``DATASET_VERSION`` and add an entry per release."""

DATASET_VERSION = "0.1.0"

# (version, date, what changed) - newest first
CHANGELOG: list[tuple[str, str, str]] = [
    (
        "0.1.0",
        "2026-11-24",
        "First reproducible release of the build: whole-article spaCy annotation (tok2vec, parser, ner), "
        "`default` (OntoNotes) and `conll` configs, 60/20/20 hash split, sha256 manifest.",
    ),
]
