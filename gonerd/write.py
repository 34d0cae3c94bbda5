"""Write annotated articles as Parquet shards in the Hugging Face Hub layout, byte for byte reproducibly.

Layout (one folder per config, as ``datasets`` expects from the card's ``configs:``)::

    data/<config>/<split>-00000-of-0000N.parquet

Rows are sorted by id, shards hold at most ``max_rows_per_shard`` articles, and the Arrow schema carries the
``datasets`` features (ClassLabel names included), so the same inputs always give the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import GonerdError
from .labels import CONFIGS, label_names, to_conll
from .records import AnnotatedArticle
from .split import SPLITS, split_of

DATA_DIR = "data"
DEFAULT_MAX_ROWS_PER_SHARD = 250
PARQUET_OPTIONS = {"compression": "zstd", "compression_level": 9, "row_group_size": 64}


def features(config: str):
    """The ``datasets.Features`` of a config: the dataset's schema, in one place."""
    from datasets import ClassLabel, Features, List, Value

    return Features(
        {
            "id": Value("string"),
            "title": Value("string"),
            "url": Value("string"),
            "page_id": Value("int64"),
            "revision_id": Value("int64"),
            "category": Value("string"),
            "tokens": List(Value("string")),
            "space_after": List(Value("string")),
            "ner_tags": List(ClassLabel(names=label_names(config))),
        }
    )


@dataclass(frozen=True)
class WrittenFile:
    path: str  # relative to the dataset directory, POSIX separators
    config: str
    split: str
    rows: int


def shard_name(split: str, index: int, total: int) -> str:
    return f"{split}-{index:05d}-of-{total:05d}.parquet"


def _rows(articles: list[AnnotatedArticle], config: str) -> dict[str, list]:
    names = label_names(config)
    index = {name: i for i, name in enumerate(names)}
    columns: dict[str, list] = {k: [] for k in features(config)}
    for art in articles:
        tags = art.ner_tags if config == "default" else to_conll(art.ner_tags)
        columns["id"].append(art.id)
        columns["title"].append(art.title)
        columns["url"].append(art.url)
        columns["page_id"].append(art.page_id)
        columns["revision_id"].append(art.revision_id)
        columns["category"].append(art.category)
        columns["tokens"].append(list(art.tokens))
        columns["space_after"].append(list(art.space_after))
        try:
            columns["ner_tags"].append([index[t] for t in tags])
        except KeyError as exc:
            raise GonerdError(f"article {art.id}: tag {exc.args[0]!r} is not a {config!r} label") from None
    return columns


def _write_table(columns: dict[str, list], config: str, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = features(config).arrow_schema
    table = pa.Table.from_pydict(columns, schema=schema)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, **PARQUET_OPTIONS)
    os.replace(tmp, path)


def write_splits(
    articles: Iterable[AnnotatedArticle],
    out_dir: str | Path,
    *,
    configs: Iterable[str] = tuple(CONFIGS),
    max_rows_per_shard: int = DEFAULT_MAX_ROWS_PER_SHARD,
) -> list[WrittenFile]:
    """Split articles by id hash and write every config's shards. Stale shards of earlier builds are removed."""
    out_dir = Path(out_dir)
    by_split: dict[str, list[AnnotatedArticle]] = {s: [] for s in SPLITS}
    for art in sorted(articles, key=lambda a: a.id):
        by_split[split_of(art.id)].append(art)
    written: list[WrittenFile] = []
    for config in configs:
        folder = out_dir / DATA_DIR / config
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GonerdError(f"cannot create output folder {folder}: {exc.strerror}") from None
        if not os.access(folder, os.W_OK):
            raise GonerdError(f"output folder {folder} is not writable")
        keep: set[str] = set()
        for split in SPLITS:
            arts = by_split[split]
            # an empty split gets no file at all: datasets cannot load a zero-row Parquet split
            chunks = [arts[i : i + max_rows_per_shard] for i in range(0, len(arts), max_rows_per_shard)]
            for i, chunk in enumerate(chunks):
                name = shard_name(split, i, len(chunks))
                _write_table(_rows(chunk, config), config, folder / name)
                keep.add(name)
                written.append(WrittenFile(f"{DATA_DIR}/{config}/{name}", config, split, len(chunk)))
        for stale in folder.glob("*.parquet"):
            if stale.name not in keep:
                stale.unlink()
    return written


def read_split(dataset_dir: str | Path, config: str, split: str):
    """Read one config/split back as a ``pyarrow.Table`` (all shards, in order; empty if it has none)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = split_files(dataset_dir, config, split)
    if not files:
        return features(config).arrow_schema.empty_table()
    return pa.concat_tables([pq.read_table(f) for f in files])


def split_files(dataset_dir: str | Path, config: str, split: str) -> list[Path]:
    """The shards of one config/split, in order (none for an empty split)."""
    return sorted((Path(dataset_dir) / DATA_DIR / config).glob(f"{split}-*.parquet"))
