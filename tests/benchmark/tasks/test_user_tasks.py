"""User-defined tasks: a task is one YAML file (plus, if its files need it, a reader module beside it) in a user's
folder, loaded with ``--include-path``; nothing in the package is edited. Run end to end with a tiny model."""

from __future__ import annotations

import gzip
import json
import re
import textwrap
from pathlib import Path

import pytest
import torch
import yaml

from benchmark.cli import main
from benchmark.data.loader import load_examples
from benchmark.results.files import load_result, predictions_path
from benchmark.tasks import registry
from conftest import ROOT, fixture_path, link_fixtures
from tiny_models import build_tiny_model

torch.set_num_threads(1)

# CoNLL-2003 at document level: every -DOCSTART- document one long input. The reader is the user's code, beside
# the YAML; it reuses the package's IOB1 -> IOB2 conversion.
CONLL_DOC_YAML = """\
name: conll_doc
description: CoNLL-2003 English NER, each Reuters document one input, long context.
version: "0.1"
task_type: token_classification
context: long
max_length: 4096
local:
  files: {train: eng.testa, validation: eng.testb}
reader: conll_documents.read_documents
fields: {id_format: "{split}-{doc}", tokens: tokens, tags: ner_tags}
label_names: [O, B-PER, I-PER, B-ORG, I-ORG, B-LOC, I-LOC, B-MISC, I-MISC]
metrics: [f1, strict_f1, precision, recall, per_type]
primary_metric: f1
train_split: train
eval_splits: [validation]
budget: {epochs: 1, learning_rate: 5.0e-5, batch_size: 2}
"""
CONLL_DOC_READER = '''\
"""Read a CoNLL-2003 file as documents: the sentences between two -DOCSTART- lines, joined."""

from benchmark.data.local import iob1_to_iob2


def read_documents(path, split):
    docs, tokens, tags = [], [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if parts and parts[0] == "-DOCSTART-":
            if tokens:
                docs.append((tokens, tags))
            tokens, tags = [], []
        elif parts:
            tokens.append(parts[0])
            tags.append(parts[-1])
    if tokens:
        docs.append((tokens, tags))
    for i, (toks, tgs) in enumerate(docs):  # IOB1 per document: a sentence boundary never splits an entity
        yield {"doc": f"doc{i}", "tokens": toks, "ner_tags": iob1_to_iob2(tgs)}
'''

# A user's own NER data set: their labels, their CoNLL files (2 columns, IOB2), no Hub dataset.
MYNER_YAML = """\
name: my_ner
description: Drug and dose mentions in made-up clinical notes.
version: "1"
task_type: token_classification
context: short
max_length: 128
local:
  format: conll
  files: {train: train.conll, validation: dev.conll}
fields: {id_format: "{split}-{index}", tokens: tokens, tags: ner_tags}
label_names: [O, B-DRUG, I-DRUG, B-DOSE, I-DOSE]
metrics: [f1, precision, recall]
primary_metric: f1
"""
NOTES = [
    [("Give", "O"), ("aspirin", "B-DRUG"), ("100", "B-DOSE"), ("mg", "I-DOSE"), ("daily", "O")],
    [("Stop", "O"), ("the", "O"), ("vitamin", "B-DRUG"), ("D", "I-DRUG"), ("today", "O")],
    [("Patient", "O"), ("takes", "O"), ("ibuprofen", "B-DRUG"), ("200", "B-DOSE"), ("mg", "I-DOSE")],
    [("No", "O"), ("change", "O"), ("in", "O"), ("medication", "O")],
]


def _write_conll(path: Path, sentences: list[list[tuple[str, str]]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n\n".join("\n".join(f"{w} {t}" for w, t in s) for s in sentences) + "\n")


@pytest.fixture
def conll_doc(tmp_path) -> tuple[Path, Path]:
    """(include folder with the YAML and its reader, --data-dir with the CoNLL-2003 samples under conll_doc/)."""
    tasks = tmp_path / "my_tasks"
    tasks.mkdir()
    (tasks / "conll_doc.yaml").write_text(CONLL_DOC_YAML)
    (tasks / "conll_documents.py").write_text(CONLL_DOC_READER)
    data = link_fixtures(
        tmp_path / "data",
        {"conll_doc/eng.testa": "conll2003/eng.testa", "conll_doc/eng.testb": "conll2003/eng.testb"},
    )
    return tasks, data


@pytest.fixture
def my_ner(tmp_path) -> tuple[Path, Path]:
    tasks = tmp_path / "ner_tasks"
    tasks.mkdir()
    (tasks / "my_ner.yaml").write_text(MYNER_YAML)
    data = tmp_path / "ner_data"
    _write_conll(data / "my_ner" / "train.conll", NOTES * 3)
    _write_conll(data / "my_ner" / "dev.conll", NOTES)
    return tasks, data


def _sentences(path: Path) -> tuple[int, int]:
    """(documents, tokens) of a CoNLL-2003 file, counted independently of any reader (this copy of eng.testb
    lacks the -DOCSTART- line of its first document)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("-DOCSTART-")]
    docs = len(starts) + any(line.split() for line in lines[: starts[0] if starts else len(lines)])
    tokens = sum(1 for line in lines if line.split() and not line.startswith("-DOCSTART-"))
    return docs, tokens


@pytest.mark.fixtures
def test_conll_documents_are_one_long_input_each(conll_doc):
    tasks, data = conll_doc
    (spec,) = registry.set_include_paths([tasks])
    loaded = load_examples(spec, "validation", data_dir=data)
    docs, tokens = _sentences(fixture_path("conll2003", "eng.testb"))
    assert len(loaded.examples) == docs and sum(len(ex.tokens) for ex in loaded.examples) == tokens
    assert loaded.examples[0].id == "validation-doc0"
    assert (
        max(len(ex.tokens) for ex in loaded.examples) > 512
    )  # long context: more words than a short model sees
    assert all(ex.tags and len(ex.tags) == len(ex.tokens) for ex in loaded.examples)
    assert loaded.source["format"] == "reader" and loaded.source["reader"] == "conll_documents.read_documents"
    assert re.fullmatch(r"[0-9a-f]{64}", loaded.source["reader_sha256"])
    assert loaded.source["files"][0]["path"] == "eng.testb"


@pytest.mark.fixtures
def test_conll_document_task_runs_and_scores_end_to_end(conll_doc, tmp_path, capsys):
    tasks, data = conll_doc
    model = build_tiny_model("bert", tmp_path / "tiny")
    out = tmp_path / "runs"
    argv = ["run", "--model", str(model), "--include-path", str(tasks), "--tasks", "conll_doc", "--data-dir",
            str(data), "--output", str(out), "--limit", "3", "--max-length", "64", "--device", "cpu"]  # fmt: skip
    assert main(argv) == 0
    record = load_result(out / "tiny" / "conll_doc.json")
    spec = registry.get_task("conll_doc")
    assert record["task"]["name"] == "conll_doc" and record["task"]["spec_hash"] == spec.spec_hash()
    assert record["config"]["budget"]["epochs"] == 1 and record["config"]["budget"]["batch_size"] == 2
    assert record["training"]["conll_doc"]["steps"] >= 1
    windows = record["windows"]["validation"]
    assert (
        windows["examples"] == 3 and windows["windows"] > 3
    )  # each document is cut into several 64-token windows
    with gzip.open(predictions_path(out / "tiny" / "conll_doc.json", "validation"), "rt") as fh:
        rows = [json.loads(line) for line in fh]
    assert [r["id"] for r in rows] == ["validation-doc0", "validation-doc1", "validation-doc2"]
    capsys.readouterr()
    pred_file = predictions_path(out / "tiny" / "conll_doc.json", "validation")
    argv = ["score", "--include-path", str(tasks), "--task", "conll_doc", "--predictions", str(pred_file),
            "--split", "validation", "--data-dir", str(data), "--limit", "3", "--json"]  # fmt: skip
    assert main(argv) == 0
    scored = json.loads(capsys.readouterr().out)
    assert scored["spec_hash"] == spec.spec_hash()
    assert scored["score"] == pytest.approx(record["metrics"]["validation"]["score"])
    # without --include-path the task is unknown again, in one line
    argv = ["score", "--task", "conll_doc", "--predictions", str(pred_file), "--data-dir", str(data)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "unknown task 'conll_doc'" in err


def test_users_own_ner_data_set_lists_runs_and_scores(my_ner, tmp_path, capsys):
    tasks, data = my_ner
    assert main(["tasks", "--include-path", str(tasks), "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["my_ner"]["user"] is True and rows["conll2003"]["user"] is False
    assert rows["my_ner"]["data"] == "local files only"
    assert rows["my_ner"]["budget"]["epochs"] == 3 and rows["my_ner"]["budget"]["batch_size"] == 32  # short
    assert main(["tasks", "--include-path", str(tasks)]) == 0
    assert "my_ner (user)" in capsys.readouterr().out

    spec = registry.get_task("my_ner")
    dev = load_examples(spec, "validation", data_dir=data).examples
    assert [ex.tags for ex in dev] == [tuple(t for _, t in s) for s in NOTES]
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps({"id": ex.id, "prediction": list(ex.tags)}) + "\n" for ex in dev))
    argv = ["score", "--include-path", str(tasks), "--task", "my_ner", "--predictions", str(gold),
            "--data-dir", str(data), "--json"]  # fmt: skip
    assert main(argv) == 0
    scored = json.loads(capsys.readouterr().out)
    assert scored["score"] == 100.0 and scored["metrics"]["per_type"].keys() == {"DRUG", "DOSE"}

    model = build_tiny_model("bert", tmp_path / "tiny")
    argv = ["run", "--model", str(model), "--include-path", str(tasks), "--tasks", "my_ner", "--data-dir",
            str(data), "--output", str(tmp_path / "runs"), "--epochs", "1", "--device", "cpu"]  # fmt: skip
    assert main(argv) == 0
    record = load_result(tmp_path / "runs" / "tiny" / "my_ner.json")
    assert record["n_examples"]["validation"] == len(NOTES)
    assert record["metrics"]["validation"]["primary_metric"] == "f1"


def test_user_tasks_never_join_the_benchmark(my_ner):
    tasks, _ = my_ner
    before = registry.task_names()
    registry.set_include_paths([tasks])
    assert registry.task_names() == before and "my_ner" not in [s.name for s in registry.all_tasks()]
    assert [s.name for s in registry.known_tasks()] == [*before, "my_ner"]
    assert registry.is_user_task("my_ner") and not registry.is_user_task("conll2003")
    registry.set_include_paths([])
    assert not registry.is_user_task("my_ner")


def test_submit_ignores_a_user_tasks_result_with_a_warning(my_ner, tmp_path):
    from benchmark.leaderboard.validate import check_results_dir

    tasks, _ = my_ner
    folder = tmp_path / "runs" / "me"
    folder.mkdir(parents=True)
    (folder / "my_ner.json").write_text("{}")
    (folder / ".owner.json").write_text(json.dumps({"model_id": "me/model", "revision": "abc"}))
    refused = check_results_dir(folder, allow_partial=True)
    assert any("unknown task 'my_ner'" in p for p in refused.problems)
    registry.set_include_paths([tasks])
    checked = check_results_dir(folder, allow_partial=True)
    assert not any("my_ner" in p for p in checked.problems)
    assert any(w.startswith("my_ner.json: user task") for w in checked.warnings)
    assert "my_ner.json" not in checked.files


def _cli_error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("edit", "reader", "message"),
    [
        (("version:", "colour: red\nversion:"), CONLL_DOC_READER, "unknown key(s) colour"),
        (
            None,
            None,
            "reader 'conll_documents.read_documents' cannot be imported: no module 'conll_documents'",
        ),
        (None, "def other(path, split):\n    return []\n", "has no 'read_documents'"),
        (None, "import nonexistent_pkg_xyz\n", "failed to import"),
        (
            ("conll_documents.read_documents", "read_documents"),
            CONLL_DOC_READER,
            "reader must be 'module.function'",
        ),
        (("epochs: 1", "epochs: many"), CONLL_DOC_READER, "budget: epochs must be a number"),
        (("batch_size: 2", "batch_sise: 2"), CONLL_DOC_READER, "unknown budget key(s) ['batch_sise']"),
        (("metrics: [f1,", "metrics: [bleu, f1,"), CONLL_DOC_READER, "metrics ['bleu'] are not reported"),
        (("context: long", "context: huge"), CONLL_DOC_READER, "context 'huge' must be"),
    ],
)
def test_bad_user_task_is_one_line_naming_the_file_and_key(tmp_path, capsys, edit, reader, message):
    tasks = tmp_path / "t"
    tasks.mkdir()
    (tasks / "conll_doc.yaml").write_text(CONLL_DOC_YAML.replace(*edit) if edit else CONLL_DOC_YAML)
    if reader is not None:
        (tasks / "conll_documents.py").write_text(reader)
    err = _cli_error(capsys, ["tasks", "--include-path", str(tasks)])
    assert message in err and str(tasks / "conll_doc.yaml") in err


def test_a_user_task_may_not_take_a_package_tasks_name(tmp_path, capsys):
    (tmp_path / "conll2003.yaml").write_text(MYNER_YAML.replace("name: my_ner", "name: conll2003"))
    err = _cli_error(capsys, ["run", "--model", "x", "--include-path", str(tmp_path)])
    assert "conll2003.yaml: name 'conll2003' is a benchmark task of the package" in err


def test_include_path_errors(tmp_path, capsys):
    err = _cli_error(capsys, ["tasks", "--include-path", str(tmp_path / "nope")])
    assert err.endswith(f"--include-path {tmp_path / 'nope'}: no such directory")
    err = _cli_error(capsys, ["tasks", "--include-path", str(tmp_path)])
    assert "no task files (*.yaml)" in err
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for d in ("a", "b"):
        (tmp_path / d / "my_ner.yaml").write_text(MYNER_YAML)
    err = _cli_error(
        capsys, ["tasks", "--include-path", str(tmp_path / "a"), "--include-path", str(tmp_path / "b")]
    )
    assert "task 'my_ner' is also defined in" in err


def test_a_reader_that_fails_or_yields_bad_rows_is_one_line(tmp_path, my_ner):
    from benchmark.errors import BenchmarkError

    tasks = tmp_path / "t"
    tasks.mkdir()
    (tasks / "conll_doc.yaml").write_text(CONLL_DOC_YAML)
    data = tmp_path / "d" / "conll_doc"
    data.mkdir(parents=True)
    (data / "eng.testb").write_text("x O\n")
    for body, message in [
        ("def read_documents(path, split):\n    raise ValueError('bad line 3')\n", "failed on"),
        ("def read_documents(path, split):\n    return [1]\n", "row 0 of"),
        ("def read_documents(path, split):\n    return [{'doc': 'a'}]\n", "lacks field(s) tokens"),
    ]:
        (tasks / "conll_documents.py").write_text(body)
        hooks_loaded = __import__("benchmark.tasks.hooks", fromlist=["_LOADED"])._LOADED
        hooks_loaded.clear()  # the test rewrites the module in place
        (spec,) = registry.set_include_paths([tasks])
        with pytest.raises(BenchmarkError, match=re.escape(message)) as info:
            load_examples(spec, "validation", data_dir=tmp_path / "d")
        assert "\n" not in str(info.value)


def test_a_task_without_hub_data_needs_a_data_dir(my_ner, capsys, tmp_path):
    tasks, _ = my_ner
    gold = tmp_path / "p.jsonl"
    gold.write_text('{"id": "validation-0", "prediction": ["O"]}\n')
    err = _cli_error(
        capsys, ["score", "--include-path", str(tasks), "--task", "my_ner", "--predictions", str(gold)]
    )
    assert "my_ner: the task has no Hub dataset; give --data-dir" in err


def test_readme_example_is_a_valid_task(tmp_path):
    """docs/benchmark.md's "Your own task" YAML loads as it is written there."""
    page = (ROOT / "docs" / "benchmark.md").read_text(encoding="utf-8")
    section = page.split("\n## Your own task\n", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block, "docs/benchmark.md: no yaml block in 'Your own task'"
    (tmp_path / "my_ner.yaml").write_text(textwrap.dedent(block.group(1)))
    (spec,) = registry.set_include_paths([tmp_path])
    assert spec.name == "my_ner" and spec.budget["epochs"] > 0


@pytest.mark.parametrize("key", [*yaml.safe_load(CONLL_DOC_YAML), "hub", "label_names_from", "subtasks"])
def test_any_bad_value_of_any_key_is_one_line_naming_the_file(tmp_path, key):
    """Every key given a value of the wrong kind: a one-line BenchmarkError naming the file, never a crash."""
    from benchmark.errors import BenchmarkError

    (tmp_path / "conll_documents.py").write_text(CONLL_DOC_READER)
    path = tmp_path / "conll_doc.yaml"
    for bad in (None, 5, -1, 1.5, True, "x", [], [1, "a"], {}, {"a": 1}):
        path.write_text(yaml.safe_dump({**yaml.safe_load(CONLL_DOC_YAML), key: bad}))
        try:
            registry.load_spec_file(path)
        except BenchmarkError as exc:
            assert "\n" not in str(exc) and str(path) in str(exc), (key, bad, str(exc))


def test_bad_values_inside_hub_local_and_label_names_from_are_one_line(tmp_path):
    from benchmark.errors import BenchmarkError

    raw = yaml.safe_load(MYNER_YAML)
    path = tmp_path / "my_ner.yaml"
    bad_values = (None, 5, True, "x", [], [1, "a"], {"a": 1})
    edits = [{"hub": {"path": "a/b", "revision": "main", "splits": bad}} for bad in bad_values]
    edits += [{"hub": {"path": 1, "revision": 2}}, {"hub": {"revision": "main"}}]
    edits += [{"local": {"format": "conll", "files": bad}} for bad in bad_values]
    edits += [{"local": {"format": bad, "files": raw["local"]["files"]}} for bad in bad_values]
    edits += [{"label_names": None, "label_names_from": {"function": "gonerd.labels.label_names", "args": bad}} for bad in bad_values]  # fmt: skip
    edits += [{"label_names": None, "label_names_from": {"function": bad}} for bad in bad_values]
    for edit in edits:
        data = {k: v for k, v in {**raw, **edit}.items() if v is not None or k != "label_names"}
        path.write_text(yaml.safe_dump(data))
        try:
            registry.load_spec_file(path)
        except BenchmarkError as exc:
            assert "\n" not in str(exc) and str(path) in str(exc), (edit, str(exc))


def test_include_path_is_on_tasks_run_score_and_submit(tmp_path):
    from benchmark.cli import build_parser

    parser = build_parser()
    d = str(tmp_path)
    for argv in (
        ["tasks"],
        ["run", "--model", "m"],
        ["score", "--task", "t", "--predictions", "p"],
        ["submit", d],
    ):
        args = parser.parse_args([*argv, "--include-path", d, "--include-path", d])
        assert args.include_path == [d, d]
    with pytest.raises(SystemExit):
        parser.parse_args(["leaderboard", "--include-path", d])


def test_editing_the_reader_changes_the_spec_hash_and_the_budget_does_not(conll_doc):
    tasks, _ = conll_doc
    (first,) = registry.set_include_paths([tasks])
    assert first.reader_sha256 and len(first.spec_hash()) == 16
    yaml_path = tasks / "conll_doc.yaml"
    yaml_path.write_text(CONLL_DOC_YAML.replace("epochs: 1", "epochs: 2"))
    assert registry.load_spec_file(yaml_path).spec_hash() == first.spec_hash()  # the run's config hash has it
    (tasks / "conll_documents.py").write_text(CONLL_DOC_READER + "\n# fixed a bug\n")
    assert registry.load_spec_file(yaml_path).spec_hash() != first.spec_hash()  # a rerun does not skip it
