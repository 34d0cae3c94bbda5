"""Budgets in the task YAML: the built-in tasks keep the defaults benchmark/core/budget.py had before they moved, a
budget change does not change a spec hash (the run's config hash records it), and a task without ``budget:``
gets its context's defaults, never the short-task batch of 32 at 4,096 tokens."""

from __future__ import annotations

import dataclasses
import re

import pytest

from benchmark.core.record import Budget
from benchmark.errors import BenchmarkError
from benchmark.run.config import default_budget, resolve_budget
from benchmark.tasks import registry
from benchmark.tasks.registry import load_spec_file

# benchmark/core/budget.py DEFAULT_BUDGETS as it was before the budgets moved into the YAML files (commit 65ccb27).
BEFORE = {
    "glue": Budget(epochs=3, learning_rate=2e-5),
    "squad": Budget(epochs=2, learning_rate=3e-5),
    "conll2003": Budget(epochs=3, learning_rate=5e-5),
    "hotpotqa": Budget(epochs=1, learning_rate=3e-5, max_train_examples=20_000, batch_size=8),
    "triviaqa": Budget(epochs=1, learning_rate=3e-5, max_train_examples=20_000, batch_size=8),
    "gonerd": Budget(epochs=3, learning_rate=5e-5, batch_size=8),
    "arxiv": Budget(epochs=1, learning_rate=3e-5, max_train_examples=10_000, batch_size=8),
}
# spec_hash() of each task at the same commit: the seeded leaderboard results record these.
HASHES_BEFORE = {
    "arxiv": "db8c2a76e3805b2a",
    "conll2003": "97fa5c412caed965",
    "glue": "bb789b9ab916386e",
    "gonerd": "05d15484ca9f8d89",
    "hotpotqa": "503ab3f76d9a88ac",
    "squad": "a92290ca9bc2c7d1",
    "triviaqa": "d68a280cdd89b4c1",
}


@pytest.mark.parametrize("task", sorted(BEFORE))
def test_defaults_are_unchanged_by_the_move(task):
    assert default_budget(task) == BEFORE[task]
    assert resolve_budget(task) == BEFORE[task]
    spec = registry.get_task(task)
    if task == "arxiv":  # since asked for mean pooling (classifier_pooling: mean), its hash is new on purpose
        assert spec.classifier_pooling == "mean" and spec.spec_hash() != HASHES_BEFORE[task]
        spec = dataclasses.replace(spec, classifier_pooling=None)
    assert spec.spec_hash() == HASHES_BEFORE[task]


def test_glue_subtasks_inherit_the_glue_budget():
    assert default_budget("glue/rte") == default_budget("glue") == BEFORE["glue"]


def test_a_budget_change_keeps_the_spec_hash_but_max_length_does_not(tmp_path):
    text = (registry.TASKS_DIR / "squad.yaml").read_text()
    path = tmp_path / "squad.yaml"
    path.write_text(text.replace("epochs: 2,", "epochs: 5,"))
    changed = load_spec_file(path)
    assert changed.budget["epochs"] == 5 and changed.spec_hash() == registry.get_task("squad").spec_hash()
    path.write_text(text.replace("max_length: 512", "max_length: 384"))
    assert load_spec_file(path).spec_hash() != registry.get_task("squad").spec_hash()


def _without_budget(tmp_path, name: str, context: str) -> dict:
    text = (registry.TASKS_DIR / "squad.yaml").read_text()
    text = re.sub(r"\nbudget: \{[^}]*\}", "", text).replace("name: squad", f"name: {name}")
    text = text.replace("context: short", f"context: {context}")
    assert "budget:" not in text
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return load_spec_file(path).budget


def test_without_budget_a_task_gets_its_contexts_defaults(tmp_path):
    short = _without_budget(tmp_path, "s", "short")
    assert Budget(**short) == Budget()  # the BERT recipe
    long = _without_budget(tmp_path, "l", "long")
    assert long["epochs"] == 1 and long["batch_size"] == 8 and long["max_train_examples"] == 10_000
    assert long == {**Budget().to_dict(), **registry.CONTEXT_BUDGETS["long"]}


def test_yaml_style_numbers_and_bad_budgets(tmp_path):
    text = (registry.TASKS_DIR / "squad.yaml").read_text()
    path = tmp_path / "squad.yaml"
    path.write_text(text.replace("learning_rate: 3.0e-5", "learning_rate: 3e-5"))  # a str in YAML 1.1
    assert load_spec_file(path).budget["learning_rate"] == 3e-5
    for edit, message in [
        (("batch_size: 32", "batch_size: 0"), "batch_size must be a positive integer"),
        (("epochs: 2,", "epochs: two,"), "epochs must be a number"),
        (("epochs: 2,", "epoch: 2,"), "unknown budget key(s) ['epoch']"),
    ]:
        path.write_text(text.replace(*edit))
        with pytest.raises(BenchmarkError, match=re.escape(message)) as info:
            load_spec_file(path)
        assert str(info.value).startswith(f"task spec {path}, budget:") and "\n" not in str(info.value)
    path.write_text(re.sub(r"budget: \{[^}]*\}", "budget: [1, 2]", text))
    with pytest.raises(BenchmarkError, match="budget must be a mapping"):
        load_spec_file(path)
