"""A task's own dataset build is declared in its YAML (``build:``), so a user task built by a command of its own
needs no Python edit in the package: with no --data-dir and no loadable Hub copy, the folder its build command
writes to is read. The build is not part of the spec hash."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from benchmark.data import builds
from benchmark.data.loader import load_examples
from benchmark.errors import BenchmarkError
from benchmark.tasks import registry
from conftest import ROOT

BUILT_YAML = """\
name: built_ner
description: Drug mentions in notes that the user's own command builds.
version: "1"
task_type: token_classification
context: short
max_length: 64
hub:
  path: someone/built-ner
  revision: main
  config: default
  splits: {validation: validation}
local:
  format: hub_folder
build:
  command: notes build
  default_dir: notes_build.default_dir
  how: "`notes build --out built`"
  estimate: notes_build.estimate
fields: {id_format: "{split}-{index}", tokens: tokens, tags: ner_tags}
label_names: [O, B-DRUG, I-DRUG]
metrics: [f1, precision, recall]
primary_metric: f1
train_split: null
eval_splits: [validation]
"""
BUILD_HOOKS = """\
from pathlib import Path


def default_dir():
    return Path(__file__).resolve().parent / "built"


def estimate():
    return "about a second"
"""
ROWS = {"tokens": [["Give", "aspirin", "now"], ["vitamin", "D", "daily"]], "ner_tags": [[0, 1, 0], [1, 2, 0]]}
CARD = """\
---
configs:
- config_name: default
  data_files:
  - split: validation
    path: data/default/validation-*.parquet
---
# built_ner
"""


@pytest.fixture
def built_task(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "user_tasks"
    folder.mkdir()
    (folder / "built_ner.yaml").write_text(BUILT_YAML)
    (folder / "notes_build.py").write_text(BUILD_HOOKS)
    # The published copy does not load (as offline): decided once per process, so pre-set it.
    monkeypatch.setattr(
        builds, "_HUB_TRIED", {("someone/built-ner", "main", "default"): "offline in this test"}
    )
    return folder


def _write_build(folder: Path) -> None:
    import datasets

    (folder / "data" / "default").mkdir(parents=True)
    (folder / "README.md").write_text(CARD)
    (folder / "manifest.json").write_text(json.dumps({"version": "1"}))
    datasets.Dataset.from_dict(ROWS).to_parquet(str(folder / "data" / "default" / "validation-00000.parquet"))


def test_a_user_task_declares_its_build_and_it_is_read(built_task, tmp_path):
    (spec,) = registry.set_include_paths([built_task])
    assert builds.has_local_build(spec)
    assert builds.build_folder(spec) == built_task / "built"  # the user's hook, beside the YAML
    message = builds.missing_message(spec, "offline in this test")
    assert "`notes build` has written nothing to" in message and str(built_task / "built") in message
    assert "`notes build --out built` (about a second)" in message and "\n" not in message
    with pytest.raises(BenchmarkError, match="notes build"):
        load_examples(spec, "validation")  # nothing built yet: the one-line message

    _write_build(built_task / "built")
    loaded = load_examples(spec, "validation", cache_dir=tmp_path / "cache")
    assert [list(ex.tokens) for ex in loaded.examples] == ROWS["tokens"]
    assert loaded.source["origin"] == "built_ner_build" and loaded.source["kind"] == "hub_folder"
    assert loaded.source["hub_unavailable"] == "offline in this test"
    assert loaded.source["manifest"]["version"] == "1"


def test_the_build_is_not_part_of_the_spec_hash(built_task):
    (spec,) = registry.set_include_paths([built_task])
    raw = yaml.safe_load(BUILT_YAML)
    del raw["build"]
    (built_task / "built_ner.yaml").write_text(yaml.safe_dump(raw))
    plain = registry.load_spec_file(built_task / "built_ner.yaml")
    assert plain.build is None and not builds.has_local_build(plain)
    assert plain.spec_hash() == spec.spec_hash()


def test_gonerd_declares_its_build_in_its_yaml():
    spec = registry.get_task("gonerd")
    assert spec.build is not None and spec.build.command == "gonerd build"
    assert builds.has_local_build(spec)
    others = [s.name for s in registry.all_tasks() if s.build is not None]
    assert others == ["gonerd"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            {"build": {"command": "x", "default_dir": "notes_build.default_dir", "how": "x", "when": 1}},
            "build.when",
        ),
        ({"build": {"command": "x", "how": "x"}}, "build.default_dir must be"),
        ({"build": {"command": "x", "default_dir": "notes_build.nowhere", "how": "x"}}, "build.default_dir"),
        ({"build": {"command": "x", "default_dir": "nomodule.f", "how": "x"}}, "cannot be imported"),
        ({"build": "gonerd build"}, "build must be a mapping"),
        ({"local": {"format": "conll", "files": {"validation": "dev.conll"}}}, "local.format hub_folder"),
    ],
)
def test_a_bad_build_is_one_line_naming_the_file(built_task, edit, message):
    path = built_task / "built_ner.yaml"
    path.write_text(yaml.safe_dump({**yaml.safe_load(BUILT_YAML), **edit}))
    with pytest.raises(BenchmarkError) as err:
        registry.load_spec_file(path)
    assert message in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)


def test_readme_names_the_build_key():
    page = (ROOT / "docs" / "benchmark.md").read_text(encoding="utf-8")
    assert "build:" in textwrap.dedent(page.split("\n## Your own task\n", 1)[1])
