"""A built-in task of an existing type is one YAML file: added to (a copy of) the package's task folder, a
WNUT-17-style NER task over CoNLL-format files is listed, counted, run, scored, averaged and shown on the
leaderboard with no code change, and the seven tasks keep their spec hashes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from benchmark.cli import main
from benchmark.core import task_spec
from benchmark.data.loader import load_examples
from benchmark.evaluate.scoring import gold_as_predictions, score_predictions
from benchmark.tasks import hooks, registry
from conftest import committed_result
from tiny_models import build_tiny_model

torch.set_num_threads(1)

WNUT_YAML = """\
name: wnut17
description: WNUT-17 emerging and rare entities in user-generated text (6 types), short context.
version: "1.0"
task_type: token_classification
context: short
max_length: 128
local:
  format: conll
  files: {train: wnut17train.conll, validation: emerging.dev.conll, test: emerging.test.annotated}
fields: {id_format: "{split}-{index}", tokens: tokens, tags: ner_tags}
label_names: [O, B-corporation, I-corporation, B-creative-work, I-creative-work, B-group, I-group,
              B-location, I-location, B-person, I-person, B-product, I-product]
metrics: [f1, strict_f1, precision, recall, per_type]
primary_metric: f1
train_split: train
eval_splits: [validation, test]
budget: {epochs: 1, learning_rate: 5.0e-5, batch_size: 4}
"""
# Made-up tweets in the WNUT-17 layout (token TAB tag, IOB2, a blank line between tweets).
TWEETS = [
    [("@paul", "O"), ("off", "O"), ("to", "O"), ("new", "B-location"), ("york", "I-location"), ("tmrw", "O")],
    [("watching", "O"), ("stranger", "B-creative-work"), ("things", "I-creative-work"), ("again", "O")],
    [
        ("lol", "O"),
        ("taylor", "B-person"),
        ("swift", "I-person"),
        ("at", "O"),
        ("the", "O"),
        ("o2", "B-location"),
    ],
    [("my", "O"), ("iphone", "B-product"), ("died", "O"), ("#fail", "O")],
    [("google", "B-corporation"), ("maps", "B-product"), ("sent", "O"), ("me", "O"), ("wrong", "O")],
    [("the", "O"), ("beatles", "B-group"), ("forever", "O")],
]


def _conll(path: Path, tweets: list[list[tuple[str, str]]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n\n".join("\n".join(f"{w}\t{t}" for w, t in tweet) for tweet in tweets) + "\n")


@pytest.fixture
def package_copy(tmp_path, monkeypatch) -> Path:
    """The package's task folder copied, plus ``wnut17.yaml``; the registry reads the copy (no code edited)."""
    before = {s.name: s.spec_hash() for s in registry.all_tasks()}
    folder = tmp_path / "tasks"
    shutil.copytree(task_spec.TASKS_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "wnut17.yaml").write_text(WNUT_YAML)
    for module in (task_spec, registry, hooks):
        monkeypatch.setattr(module, "TASKS_DIR", folder)
    assert registry.task_names() == sorted([*before, "wnut17"])
    assert {s.name: s.spec_hash() for s in registry.all_tasks() if s.name != "wnut17"} == before
    return folder


@pytest.fixture
def wnut_data(tmp_path) -> Path:
    data = tmp_path / "data"
    _conll(data / "wnut17" / "wnut17train.conll", TWEETS * 2)
    _conll(data / "wnut17" / "emerging.dev.conll", TWEETS[:4])
    _conll(data / "wnut17" / "emerging.test.annotated", TWEETS[2:])
    return data


def test_the_task_list_and_count_follow(package_copy, capsys):
    from benchmark.leaderboard.submit import _n_tasks

    n = len(registry.task_names())
    assert n == len(list(package_copy.glob("*.yaml"))) and _n_tasks() == n
    assert main(["tasks", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert len(rows) == n and rows["wnut17"]["user"] is False and rows["wnut17"]["primary_metric"] == "f1"
    assert rows["wnut17"]["budget"]["batch_size"] == 4
    assert not registry.is_user_task("wnut17")


def test_it_loads_and_scores_like_any_ner_task(package_copy, wnut_data):
    spec = registry.get_task("wnut17")
    dev = load_examples(spec, "validation", data_dir=wnut_data)
    assert [ex.tags for ex in dev.examples] == [tuple(t for _, t in tweet) for tweet in TWEETS[:4]]
    assert dev.source["format"] == "conll" and dev.source["tag_scheme"] == "IOB2 as read"
    gold = score_predictions(spec, dev.examples, gold_as_predictions(dev.examples))
    assert gold["score"] == 100.0 and set(gold["metrics"]["per_type"]) == {
        "location", "creative-work", "person", "product"}  # fmt: skip
    none = score_predictions(spec, dev.examples, {ex.id: ["O"] * len(ex.tokens) for ex in dev.examples})
    assert none["score"] == 0.0


def _record(template: dict, task: str, score: float) -> dict:
    """A copy of a committed result file as if for ``task`` with headline score ``score``."""
    data = json.loads(json.dumps(template))
    data["task"] = {**data["task"], "name": task, "spec_hash": registry.get_task(task).spec_hash()}
    for split in data["metrics"].values():
        split["score"] = score
    return data


def _board_row(board: Path) -> dict[str, str]:
    """The one entry's row of the leaderboard's README, by column header."""
    from benchmark.leaderboard.views import render_all

    lines = render_all(board)["README.md"].decode().splitlines()
    header = next(line for line in lines if line.startswith("| Model |"))
    row = lines[lines.index(header) + 2]
    return dict(zip(header.strip("| ").split(" | "), row.strip("| ").split(" | "), strict=True))


def test_the_average_and_the_leaderboard_follow(package_copy, wnut_data, tmp_path):
    from benchmark.leaderboard.entries import load_entries

    tasks = registry.task_names()
    template = committed_result()
    entry_dir = tmp_path / "board" / "results" / "me"
    entry_dir.mkdir(parents=True)
    scores = {t: 40.0 + 5 * i for i, t in enumerate(t for t in tasks if t != "wnut17")}
    for task, score in scores.items():
        (entry_dir / f"{task}.json").write_text(json.dumps(_record(template, task, score)))
    entry = load_entries(tmp_path / "board")[0]
    assert entry.average(tasks) is None  # the seven alone no longer make a complete entry
    cells = _board_row(tmp_path / "board")
    assert [c for c in cells if c in tasks] == tasks  # a column per task, the new one included
    assert cells["wnut17"] == "—" and cells["Average"] == "—"

    # a real run of the new task (tiny model) completes the entry: the average is now over eight tasks
    model = build_tiny_model("bert", tmp_path / "tiny")
    argv = ["run", "--model", str(model), "--tasks", "wnut17", "--data-dir", str(wnut_data), "--output",
            str(tmp_path / "runs"), "--epochs", "1", "--limit", "3", "--device", "cpu"]  # fmt: skip
    assert main(argv) == 0
    run = tmp_path / "runs" / "tiny" / "wnut17.json"
    result = json.loads(run.read_text())
    assert result["task"]["spec_hash"] == registry.get_task("wnut17").spec_hash()
    assert result["splits"] == ["validation", "test"] and result["n_examples"]["test"] == 3
    shutil.copy(run, entry_dir / "wnut17.json")
    entry = load_entries(tmp_path / "board")[0]
    wnut = entry.score("wnut17")
    assert wnut is not None and wnut == result["metrics"]["test"]["score"]
    expected = (sum(scores.values()) + wnut) / len(tasks)
    assert len(tasks) == len(scores) + 1 and entry.average(tasks) == pytest.approx(expected)
    cells = _board_row(tmp_path / "board")
    assert cells["wnut17"] == f"{wnut:.2f}" and cells["Average"] == f"{expected:.2f}"
