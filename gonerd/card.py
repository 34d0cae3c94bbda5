"""Render the dataset card (``README.md``): YAML that ``datasets`` reads, then prose a person reads.

Everything numeric comes from the Parquet files and the manifest; the prose around it is fixed text. Rendering is
deterministic, so ``gonerd validate`` can tell when a card is out of date with its data. This module only
renders: writing the card (after validating the data) is :func:`gonerd.validate.write_card`.
"""

from __future__ import annotations

from pathlib import Path

from .labels import CONFIGS, ONTONOTES_TO_CONLL
from .manifest import read_manifest
from .quality_section import render_quality_section
from .split import SPLITS
from .stats import config_stats
from .versions import CHANGELOG
from .write import DATA_DIR, features

CARD_NAME = "README.md"
LICENSE = "cc-by-sa-4.0"

CITATION = """@inproceedings{brown-etal-2023-efficient,
    title = "Efficient Transformer Knowledge Distillation: A Performance Review",
    author = "Brown, Nathan and Williamson, Ashton and Anderson, Tahj and Lawrence, Logan",
    booktitle = "Proceedings of the 2023 Conference on Empirical Methods in Natural Language Processing: Industry Track",
    month = dec,
    year = "2023",
    address = "Singapore",
    publisher = "Association for Computational Linguistics",
    url = "https://aclanthology.org/2023.emnlp-industry.6",
    doi = "10.18653/v1/2023.emnlp-industry.6",
    pages = "54--65",
}"""


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if n < limit:
            return name
    return "100K<n<1M"


def _yaml_header(manifest: dict, stats: dict[str, dict]) -> str:
    import yaml
    from datasets import DatasetInfo, SplitDict, SplitInfo

    total = stats["default"]["documents"]
    configs = []
    infos = []
    for config in CONFIGS:
        entry = {"config_name": config, "data_files": []}
        if config == "default":
            entry["default"] = True
        present = [s for s in SPLITS if stats[config]["splits"][s]["documents"]]  # empty splits have no files
        for split in present:
            entry["data_files"].append({"split": split, "path": f"{DATA_DIR}/{config}/{split}-*.parquet"})
        configs.append(entry)
        info = DatasetInfo(features=features(config), config_name=config)
        split_stats = stats[config]["splits"]
        info.splits = SplitDict(
            {
                s: SplitInfo(
                    name=s, num_bytes=split_stats[s]["bytes"], num_examples=split_stats[s]["documents"]
                )
                for s in present
            }
        )
        info.dataset_size = sum(split_stats[s]["bytes"] for s in present)
        info.download_size = sum(split_stats[s]["file_bytes"] for s in present)
        infos.append(info._to_yaml_dict())
    header = {
        "pretty_name": "GONERD",
        "license": LICENSE,
        "language": ["en"],
        "multilinguality": ["monolingual"],
        "annotations_creators": ["machine-generated"],
        "language_creators": ["found"],
        "source_datasets": ["original"],
        "size_categories": [_size_category(total)],
        "task_categories": ["token-classification"],
        "task_ids": ["named-entity-recognition"],
        "tags": ["long-context", "wikipedia", "silver-standard", "spacy"],
        "configs": configs,
        "dataset_info": infos,
    }
    return yaml.safe_dump(header, sort_keys=False, allow_unicode=True, width=1000)


def _table(rows: list[list], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _fmt(n) -> str:
    return f"{n:,}" if isinstance(n, int) else f"{n:,.1f}"


def render_card(dataset_dir: str | Path) -> str:
    """The full card text for the dataset in ``dataset_dir`` (manifest + Parquet files)."""
    manifest = read_manifest(dataset_dir)
    stats = {config: config_stats(dataset_dir, config) for config in CONFIGS}
    ann = manifest["annotation"]
    src = manifest["source"]
    d = stats["default"]
    tpd = d["tokens_per_document"]
    split_rows = [
        [
            s,
            _fmt(d["splits"][s]["documents"]),
            _fmt(d["splits"][s]["tokens"]),
            _fmt(d["splits"][s]["entities"]),
        ]
        for s in SPLITS
    ]
    type_rows = [[t, _fmt(n), ONTONOTES_TO_CONLL[t] or "O"] for t, n in d["entities_per_type"].items()]
    conll_rows = [[t, _fmt(n)] for t, n in stats["conll"]["entities_per_type"].items()]
    failed = manifest.get("failed", [])
    changelog = "\n".join(f"- **{v}** ({date}): {text}" for v, date, text in CHANGELOG)
    components = ", ".join(ann["components"])
    excluded = ", ".join(ann["excluded"]) or "none"
    source_line = (
        f"live English Wikipedia through the MediaWiki API (`wikipedia-api`), selection file sha256 "
        f"`{src.get('selection_sha256', '')[:16]}`"
        if src["kind"] == "wikipedia"
        else f"the local article file `{src.get('file', '')}` (sha256 `{src.get('sha256', '')[:16]}`)"
    )
    body = f"""
# GONERD: long-context named entities in whole Wikipedia articles

**Version {manifest["version"]}** · {_fmt(d["documents"])} articles · {_fmt(d["tokens"])} tokens ·
{_fmt(d["entities"])} entities · license CC BY-SA 4.0 · silver labels from spaCy `{ann["name"]}` {ann["version"]}

## Motivation

Most NER benchmarks are sentences or short news stories, so they cannot tell whether an encoder that reads
4,096 tokens at once keeps its quality over a whole document. GONERD was introduced with the paper *Efficient
Transformer Knowledge Distillation: A Performance Review* (Brown et al., EMNLP 2023 Industry Track) to evaluate
long-context NER: every example is one **whole Wikipedia article**. The original release had no card, no schema
and no license, and was replaced once without notice; this version is rebuilt reproducibly by the `gonerd`
pipeline of gonerd-bench, pinned by a manifest of sha256 hashes and versioned with tags.

## Source and selection

Articles come from {source_line}. Selection (`gonerd select`) walks a documented list of seed categories spread
over people, places, organisations, events, works and science, keeps main-namespace articles only, excludes
disambiguation pages, lists and redirects, requires a minimum length so that documents are genuinely long, and is
deterministic for a given seed. Each article records its page id and revision id, so the exact text can be
fetched again. {_fmt(src.get("articles", d["documents"]))} articles were requested;
{_fmt(len(failed))} could not be fetched and are listed in `manifest.json` under `failed`.

## Annotation: silver labels

Labels are **machine-generated** by the spaCy pipeline `{ann["name"]}` version {ann["version"]} (spaCy
{ann["spacy_version"]}), run over each whole article with `nlp.pipe`. Components run: {components}; excluded:
{excluded}. The parser stays because spaCy's entity recognizer never predicts an entity across a sentence
boundary, so sentence boundaries change entities. The labels are therefore as good as that model, not gold
annotations: use GONERD to compare long-context models with each other, and expect the errors of the annotating
model (missed or mistyped entities, boundary errors), which are systematic rather than random. How close they are
to human annotation, and to another model, is measured below under *Label quality*.

## Data fields

| field | type | description |
|---|---|---|
| `id` | string | the page id, or `sha256-<16 hex>` of title and text for articles without one |
| `title` | string | article title |
| `url` | string | `https://en.wikipedia.org/wiki/<title>` (null when there is no page id) |
| `page_id`, `revision_id` | int64 | MediaWiki page and revision ids (null for local sources without them) |
| `category` | string | the seed category the article was reached from |
| `tokens` | list of string | spaCy word tokens (whitespace tokens removed) |
| `space_after` | list of string | the exact whitespace after each token: `"".join(t + s)` rebuilds the text |
| `ner_tags` | list of ClassLabel | IOB2 tags, label names in the features |

## Configs and labels

- `default`: IOB2 over the 18 OntoNotes 5 types predicted by spaCy (37 labels).
- `conll`: IOB2 over PER / ORG / LOC / MISC, mapped from the OntoNotes types as in the table; numeric and temporal
  types (DATE, TIME, PERCENT, MONEY, QUANTITY, ORDINAL, CARDINAL) become `O`.

{_table(type_rows, ["OntoNotes type", "entities", "`conll` type"])}

`conll` config entities: {", ".join(f"{t} {n}" for t, n in conll_rows)}.

## Statistics

Tokens per document: mean {_fmt(tpd["mean"])}, median {_fmt(tpd["median"])}, p90 {_fmt(tpd["p90"])},
min {_fmt(tpd["min"])}, max {_fmt(tpd["max"])}.

{_table(split_rows, ["split", "documents", "tokens", "entities"])}

Splits are assigned by a stable hash of the article id (sha256 modulo 100: 60 / 20 / 20), so an article keeps its
split across rebuilds.

## Usage

```python
from datasets import load_dataset

ds = load_dataset("gonerd")                    # from a checkout, after `gonerd build`
ds = load_dataset("ORG/gonerd", revision="v{manifest["version"]}")  # a published copy, pinned to its tag
conll = load_dataset("gonerd", "conll")
```

{render_quality_section(manifest)}
## Limitations

- Silver labels from one spaCy model; errors are systematic. Scores measure agreement with that model.
- English Wikipedia only, in its encyclopedic register; the seed categories shape the topic mix.
- Plain-text extracts drop tables, infoboxes and lists' markup; section headings remain as lines of text.
- Wikipedia text changes: the revision ids pin what was annotated.

## Reproducing and versioning

`manifest.json` records the version, the source, the spaCy model and components, the split rule and the sha256
of every data file. `gonerd validate` checks the files against it; two builds from the same inputs give
byte-identical Parquet files. Releases are tagged `vX.Y.Z` on the Hub.

## Changelog

{changelog}

## License and citation

Text from Wikipedia under CC BY-SA 4.0 (attribution: the article's contributors, via its URL and revision id);
the annotations are released under the same license.

```bibtex
{CITATION}
```
"""
    return f"---\n{_yaml_header(manifest, stats)}---\n{body}"
