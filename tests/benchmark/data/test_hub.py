"""The Hub path: ``datasets.load_dataset`` on folders laid out as each Hub repository (README.md whose YAML has
``configs:`` and ``dataset_info.features`` as the dataset card declares them, Parquet files under the same paths),
filled with rows converted from the real fixture samples. Only the location differs from the real Hub.

arXiv and GONERD: no real sample exists, so their tables hold real Wikipedia text in the exact Hub schema; those
tests check the schema and the pipeline (cleaning counts, ids, labels), not scores.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import pytest
import yaml

from benchmark.core.task_spec import GoldPin
from benchmark.data import hub, local
from benchmark.data.loader import load_examples
from benchmark.errors import BenchmarkError
from benchmark.tasks.registry import get_task
from conftest import fixture_path, result_record

# ---------------------------------------------------------------------------------- Hub card schemas (YAML)

SQUAD_FEATURES = """
- {name: id, dtype: string}
- {name: title, dtype: string}
- {name: context, dtype: string}
- {name: question, dtype: string}
- name: answers
  sequence:
  - {name: text, dtype: string}
  - {name: answer_start, dtype: int32}
"""

GLUE_PAIR_FEATURES = """
- {name: sentence1, dtype: string}
- {name: sentence2, dtype: string}
- name: label
  dtype:
    class_label:
      names: {NAMES}
- {name: idx, dtype: int32}
"""

STSB_FEATURES = """
- {name: sentence1, dtype: string}
- {name: sentence2, dtype: string}
- {name: label, dtype: float32}
- {name: idx, dtype: int32}
"""

CONLL_POS = [
    '"', "''", "#", "$", "(", ")", ",", ".", ":", "``", "CC", "CD", "DT", "EX", "FW", "IN", "JJ", "JJR", "JJS",
    "LS", "MD", "NN", "NNP", "NNPS", "NNS", "NN|SYM", "PDT", "POS", "PRP", "PRP$", "RB", "RBR", "RBS", "RP", "SYM",
    "TO", "UH", "VB", "VBD", "VBG", "VBN", "VBP", "VBZ", "WDT", "WP", "WP$", "WRB",
]  # fmt: skip
CONLL_CHUNK = ["O"] + [f"{p}-{t}" for t in ("ADJP", "ADVP", "CONJP", "INTJ", "LST", "NP", "PP", "PRT", "SBAR", "UCP", "VP") for p in "BI"]  # fmt: skip
CONLL_FEATURES = f"""
- {{name: id, dtype: string}}
- name: tokens
  sequence: string
- name: pos_tags
  sequence:
    class_label:
      names: {json.dumps(dict(enumerate(CONLL_POS)))}
- name: chunk_tags
  sequence:
    class_label:
      names: {json.dumps(dict(enumerate(CONLL_CHUNK)))}
- name: ner_tags
  sequence:
    class_label:
      names: {json.dumps(dict(enumerate(["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"])))}
"""

HOTPOT_FEATURES = """
- {name: id, dtype: string}
- {name: question, dtype: string}
- {name: answer, dtype: string}
- {name: type, dtype: string}
- {name: level, dtype: string}
- name: supporting_facts
  sequence:
  - {name: title, dtype: string}
  - {name: sent_id, dtype: int32}
- name: context
  sequence:
  - {name: title, dtype: string}
  - name: sentences
    sequence: string
"""

TRIVIA_FEATURES = """
- {name: question, dtype: string}
- {name: question_id, dtype: string}
- {name: question_source, dtype: string}
- name: entity_pages
  sequence:
  - {name: doc_source, dtype: string}
  - {name: filename, dtype: string}
  - {name: title, dtype: string}
  - {name: wiki_context, dtype: string}
- name: search_results
  sequence:
  - {name: description, dtype: string}
  - {name: filename, dtype: string}
  - {name: rank, dtype: int32}
  - {name: title, dtype: string}
  - {name: url, dtype: string}
  - {name: search_context, dtype: string}
- name: answer
  struct:
  - name: aliases
    sequence: string
  - name: normalized_aliases
    sequence: string
  - {name: matched_wiki_entity_name, dtype: string}
  - {name: normalized_matched_wiki_entity_name, dtype: string}
  - {name: normalized_value, dtype: string}
  - {name: type, dtype: string}
  - {name: value, dtype: string}
"""

ARXIV_NAMES = [
    "math.AC",
    "cs.CV",
    "cs.AI",
    "cs.SY",
    "math.GR",
    "cs.CE",
    "cs.PL",
    "cs.IT",
    "cs.DS",
    "cs.NE",
    "math.ST",
]
ARXIV_FEATURES = f"""
- {{name: text, dtype: string}}
- name: label
  dtype:
    class_label:
      names: {json.dumps(dict(enumerate(ARXIV_NAMES)))}
"""


def write_hub_folder(
    root: Path, config: str, features_yaml: str, splits: dict[str, list[dict]], data_dir: str
) -> Path:
    """A dataset repository: README.md (``configs`` + ``dataset_info``) and ``<data_dir>/<split>-00000-of-00001.parquet``."""
    from datasets import Dataset, DatasetInfo

    feature_list = yaml.safe_load(features_yaml)
    info = DatasetInfo._from_yaml_dict({"features": feature_list})
    for split, rows in splits.items():
        path = root / data_dir / f"{split}-00000-of-00001.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        Dataset.from_list(rows, features=info.features).to_parquet(str(path))
    card = {
        "configs": [
            {
                "config_name": config,
                "data_files": [{"split": s, "path": f"{data_dir}/{s}-*"} for s in splits],
            }
        ],
        "dataset_info": [{"config_name": config, "features": feature_list}],
    }
    (root / "README.md").write_text("---\n" + yaml.safe_dump(card, sort_keys=False) + "---\n# test copy\n")
    return root


def load_folder(spec, role: str, folder: Path, cache: Path) -> list:
    ds, source = hub.load_hub_split(spec, role, path=folder, cache_dir=cache)
    assert source["kind"] == "hub_folder" and source["config"] == spec.hub.config
    # The files read are named relative to the folder with their hash: a local copy has no revision to pin.
    files = {f["path"]: f["sha256"] for f in source["files"]}
    shards = sorted(
        p.relative_to(folder).as_posix() for p in folder.rglob(f"{hub.hub_split_name(spec, role)}-*")
    )
    assert sorted(files) == shards and len(shards) == 1
    assert files[shards[0]] == hashlib.sha256((folder / shards[0]).read_bytes()).hexdigest()
    return hub.rows_to_examples(spec, role, ds)


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "hf-cache"


def _local(task: str, role: str = "validation", **kw):
    return load_examples(get_task(task), role, data_dir=fixture_path(), **kw).examples


# ---------------------------------------------------------------------------------- per task


def test_squad_hub_schema_gives_the_local_examples(tmp_path, cache):
    rows = local.read_squad_json(fixture_path("squad", "dev-v1.1-sample.json"))[:60]
    folder = write_hub_folder(
        tmp_path / "squad", "plain_text", SQUAD_FEATURES, {"validation": rows}, "plain_text"
    )
    examples = load_folder(get_task("squad"), "validation", folder, cache)
    assert examples == _local("squad", data_file="dev-v1.1-sample.json")[:60]
    assert examples[0].answers and examples[0].answer_starts


def test_glue_mrpc_and_stsb_hub_schema(tmp_path, cache):
    mrpc = get_task("glue/mrpc")
    names = list(mrpc.label_names)
    local_mrpc = _local("glue/mrpc")
    rows = [
        {"sentence1": ex.text, "sentence2": ex.text_pair, "label": names.index(ex.label), "idx": i}
        for i, ex in enumerate(local_mrpc)
    ]
    features = GLUE_PAIR_FEATURES.replace("{NAMES}", json.dumps(dict(enumerate(names))))
    folder = write_hub_folder(tmp_path / "glue", "mrpc", features, {"validation": rows}, "mrpc")
    assert load_folder(mrpc, "validation", folder, cache) == local_mrpc

    stsb = get_task("glue/stsb")
    local_stsb = _local("glue/stsb")
    rows = [
        {"sentence1": e.text, "sentence2": e.text_pair, "label": e.label, "idx": i}
        for i, e in enumerate(local_stsb)
    ]
    folder = write_hub_folder(tmp_path / "glue2", "stsb", STSB_FEATURES, {"validation": rows}, "stsb")
    got = load_folder(stsb, "validation", folder, cache)
    assert [e.id for e in got] == [e.id for e in local_stsb]
    assert [e.label for e in got] == pytest.approx(
        [e.label for e in local_stsb], abs=1e-6
    )  # float32 on the Hub


def test_conll_hub_schema_with_pos_and_chunk_class_labels(tmp_path, cache):
    path = fixture_path("conll2003", "eng.testb")
    sentences, current = [], []
    for line in [*path.read_text().splitlines(), ""]:
        parts = line.split()
        if not parts:
            if current:
                sentences.append(current)
            current = []
        elif parts[0] != "-DOCSTART-":
            current.append(parts)
    ner = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
    rows = [
        {
            "id": str(i),
            "tokens": [p[0] for p in s],
            "pos_tags": [CONLL_POS.index(p[1]) for p in s],
            "chunk_tags": [CONLL_CHUNK.index(t) for t in local.iob1_to_iob2([p[2] for p in s])],
            "ner_tags": [ner.index(t) for t in local.iob1_to_iob2([p[3] for p in s])],
        }
        for i, s in enumerate(sentences[:300])
    ]
    folder = write_hub_folder(
        tmp_path / "conll2003", "conll2003", CONLL_FEATURES, {"test": rows}, "conll2003"
    )
    assert load_folder(get_task("conll2003"), "test", folder, cache) == _local("conll2003", "test")[:300]


def test_hotpotqa_hub_schema(tmp_path, cache):
    rows = local.read_hotpotqa_json(fixture_path("hotpotqa", "hotpot_dev_distractor_sample.json"))
    folder = write_hub_folder(
        tmp_path / "hotpot", "distractor", HOTPOT_FEATURES, {"validation": rows}, "distractor"
    )
    got = load_folder(get_task("hotpotqa"), "validation", folder, cache)
    want = _local("hotpotqa", data_file="hotpot_dev_distractor_sample.json")
    assert got == want and [e.meta for e in got] == [e.meta for e in want]


def test_triviaqa_hub_schema_reads_wiki_context(tmp_path, cache):
    rows, _ = local.read_triviaqa_rc(
        fixture_path("triviaqa", "triviaqa-rc", "qa", "wikipedia-train.json"),
        fixture_path("triviaqa", "triviaqa-rc", "evidence", "wikipedia"),
    )
    for row in rows:
        row["search_results"] = {
            k: [] for k in ("description", "filename", "rank", "title", "url", "search_context")
        }
    folder = write_hub_folder(
        tmp_path / "tqa", "rc.wikipedia", TRIVIA_FEATURES, {"train": rows}, "rc.wikipedia"
    )
    got = load_folder(get_task("triviaqa"), "train", folder, cache)
    assert got == _local("triviaqa", "train")
    assert got[0].id == "tc_3" and len(got[0].meta["documents"]) == 2


def test_missing_folder_is_a_one_line_error(tmp_path):
    from benchmark.errors import BenchmarkError

    with pytest.raises(BenchmarkError, match="does not exist"):
        hub.load_hub_split(get_task("squad"), "validation", path=tmp_path / "nope")


# ---------------------------------------------------------------------------------- GONERD (own dataset layout)


def gonerd_folder(root: Path, n_articles: int = 6) -> Path:
    """GONERD's Hub layout (``data/default/<split>-*.parquet``, features from ``gonerd.write.features``) with
    real Wikipedia tokens. Tags mark the article title's occurrences as one entity by rule: a pipeline check."""
    import yaml as _yaml
    from datasets import Dataset, DatasetInfo

    from gonerd.labels import label_names
    from gonerd.write import features

    names = label_names("default")
    lines = fixture_path("wikipedia", "enwiki_2016_sample40_plaintext.jsonl").read_text().splitlines()
    splits: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    for i, line in enumerate(lines[: n_articles * 3]):
        art = json.loads(line)
        tokens = art["text"].split()[:400]
        title = art["title"].split()
        tags = ["O"] * len(tokens)
        for j in range(len(tokens) - len(title) + 1):
            if tokens[j : j + len(title)] == title:
                tags[j : j + len(title)] = ["B-ORG"] + ["I-ORG"] * (len(title) - 1)
        splits[("train", "validation", "test")[i % 3]].append(
            {
                "id": f"{art['page_id']}",
                "title": art["title"],
                "url": "https://en.wikipedia.org/wiki/" + art["title"].replace(" ", "_"),
                "page_id": art["page_id"],
                "revision_id": art["revision_id"],
                "category": "sample",
                "tokens": tokens,
                "space_after": ["yes"] * len(tokens),
                "ner_tags": [names.index(t) for t in tags],
            }
        )
    for split, rows in splits.items():
        path = root / "data" / "default" / f"{split}-00000-of-00001.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        Dataset.from_list(rows, features=features("default")).to_parquet(str(path))
    info = DatasetInfo(features=features("default"), config_name="default")._to_yaml_dict()
    card = {
        "configs": [
            {
                "config_name": "default",
                "default": True,
                "data_files": [{"split": s, "path": f"data/default/{s}-*.parquet"} for s in splits],
            }
        ],
        "dataset_info": [info],
    }
    (root / "README.md").write_text("---\n" + _yaml.safe_dump(card, sort_keys=False) + "---\n")
    return root


def test_gonerd_folder_loads_as_token_examples(tmp_path):
    gonerd_folder(tmp_path / "gonerd")
    loaded = load_examples(get_task("gonerd"), "validation", data_dir=tmp_path, cache_dir=tmp_path / "c")
    assert loaded.source["kind"] == "hub_folder" and loaded.source["config"] == "default"
    assert len(loaded.examples) == 6
    ex = loaded.examples[0]
    assert ex.id.isdigit() and len(ex.tags) == len(ex.tokens)
    assert any(t.startswith("B-ORG") for e in loaded.examples for t in e.tags)


def test_rescoring_checks_a_folder_copy_by_its_file_hashes(tmp_path):
    """A result made from a local Hub-layout folder is re-scored only against the same files."""
    from benchmark.leaderboard.rescore import load_gold

    gonerd_folder(tmp_path / "gonerd")
    spec = get_task("gonerd")
    loaded = load_examples(spec, "validation", data_dir=tmp_path, cache_dir=tmp_path / "c")
    record = result_record(config={"limit": None}, dataset={"sources": {"validation": loaded.source}})
    with pytest.raises(BenchmarkError, match="is not the task's validation gold"):
        load_gold(spec, record, "validation", tmp_path)  # gold the spec does not pin
    pin = GoldPin(gold_sha256=loaded.source["gold_sha256"], regime="sample", name="test-build")
    spec = dataclasses.replace(spec, gold={"validation": (pin,)})  # as if the spec pinned this build
    assert [e.id for e in load_gold(spec, record, "validation", tmp_path)] == [e.id for e in loaded.examples]
    other = tmp_path / "other"
    gonerd_folder(other / "gonerd", n_articles=8)  # another build of the dataset: gold the spec does not pin
    with pytest.raises(BenchmarkError, match="is not the task's validation gold"):
        load_gold(spec, record, "validation", other)


def test_a_folder_is_read_by_its_files_not_from_a_stale_cache(tmp_path, monkeypatch):
    """The tags of a folder's Parquet file change (same path, size-independent, mtime kept): the next load reads
    the new tags and records the new file's sha256 (the datasets cache, keyed by the path, once served the old
    copy: F1 0.37 instead of 100)."""
    import pyarrow.parquet as pq

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # one shared datasets cache for both loads
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf" / "datasets"))
    folder = gonerd_folder(tmp_path / "gonerd")
    spec = get_task("gonerd")
    first = load_examples(spec, "validation", data_dir=tmp_path)
    path = folder / "data" / "default" / "validation-00000-of-00001.parquet"
    stat = path.stat()
    table = pq.read_table(path)
    tags = [[0] * len(t) for t in table.column("ner_tags").to_pylist()]  # every tag O
    table = table.set_column(table.schema.get_field_index("ner_tags"), "ner_tags", [tags])
    pq.write_table(table, path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    second = load_examples(spec, "validation", data_dir=tmp_path)
    assert any(t != "O" for e in first.examples for t in e.tags)
    assert all(t == "O" for e in second.examples for t in e.tags)
    assert second.source["files"][0]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert second.source["gold_sha256"] != first.source["gold_sha256"]


# ---------------------------------------------------------------------------------- arXiv + MTEB cleaning


def arxiv_folder(root: Path) -> tuple[Path, dict]:
    """ccdv/arxiv-classification ``no_ref`` schema (``text`` string, ``label`` ClassLabel, 11 names) with real
    Wikipedia articles as texts and planted problems. Returns the folder and the planted counts per split/rule."""
    arts = [
        json.loads(x)["text"]
        for x in fixture_path("wikipedia", "wikitext2_test_articles.jsonl").read_text().splitlines()
    ]
    arts = list(dict.fromkeys(a.strip() for a in arts if len(a.split()) >= 3))
    train = [{"text": t, "label": i % 11} for i, t in enumerate(arts[:24])]
    train += [
        {"text": "   ", "label": 0},  # empty
        {"text": arts[0] + "  \n", "label": train[0]["label"]},  # duplicate after strip()
        {"text": "too short", "label": 1},  # under 3 words
        {"text": arts[1].upper(), "label": (train[1]["label"] + 1) % 11},  # same lower() form, other label
    ]
    validation = [{"text": t, "label": i % 11} for i, t in enumerate(arts[24:32])]
    test = [{"text": t, "label": i % 11} for i, t in enumerate(arts[32:44])]
    test += [
        {"text": " " + arts[5], "label": train[5]["label"]},  # leaked from train
        {"text": "", "label": 2},  # empty
    ]
    write_hub_folder(
        root, "no_ref", ARXIV_FEATURES, {"train": train, "validation": validation, "test": test}, "no_ref"
    )
    planted = {
        "train": {"empty": 1, "duplicate": 1, "short": 1, "leak": 0, "multi_label": 2, "kept": 23},
        "test": {"empty": 1, "duplicate": 0, "short": 0, "leak": 1, "multi_label": 0, "kept": 12},
    }
    return root, planted


def test_arxiv_cleaning_counts_per_rule_and_ids(tmp_path):
    _, planted = arxiv_folder(tmp_path / "arxiv")
    loaded = load_examples(get_task("arxiv"), "test", data_dir=tmp_path, cache_dir=tmp_path / "c")
    assert loaded.stats["cleaning"] == "mteb"
    assert loaded.stats["removed"]["test"] == planted["test"]
    assert loaded.stats["removed"]["train"] == planted["train"]
    assert [e.id for e in loaded.examples] == [f"test-{i}" for i in range(12)]
    assert loaded.examples[0].label == ARXIV_NAMES[0] and loaded.examples[1].label == ARXIV_NAMES[1]
    assert loaded.source["leak_reference"]["split"] == "train"
    train = load_examples(get_task("arxiv"), "train", data_dir=tmp_path, cache_dir=tmp_path / "c")
    assert len(train.examples) == 23 and "test" not in train.stats["removed"]


def test_clean_splits_rules_directly():
    from benchmark.data.arxiv_cleaning import clean_splits

    text = "a b c d"
    kept, counts = clean_splits(
        {
            "train": [
                {"text": text, "label": 0},
                {"text": "x y z", "label": 1},
                {"text": "X Y Z", "label": 2},
            ],
            "validation": [{"text": text + " ", "label": 0}, {"text": "p q r s", "label": 3}],
        }
    )
    assert kept["train"] == [{"text": text, "label": 0}]
    assert counts["train"]["multi_label"] == 2
    assert counts["validation"]["leak"] == 1 and [r["label"] for r in kept["validation"]] == [3]


def test_hub_call_pins_revision_config_and_split(monkeypatch):
    """Without a folder the same function calls the Hub with the spec's pinned revision (captured, not run)."""
    import datasets

    calls = []
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **kw: calls.append((a, kw)) or [])
    _, source = hub.load_hub_split(get_task("glue/mnli_matched"), "validation")
    assert calls == [
        (("nyu-mll/glue", "mnli"), {"split": "validation_matched", "revision": get_task("glue").hub.revision})
    ]
    assert source["kind"] == "hub" and source["revision"] == "bcdcba79d07bc864c1c254ccfcedcce55bcc9a8c"
