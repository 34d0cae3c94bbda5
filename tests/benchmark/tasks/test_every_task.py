"""Generic checks over every registered task and sub-task, discovered from the registry (no pinned list): a new
YAML in benchmark/tasks/ is covered by adding it. Each spec loads from its file, has a complete budget, lists only
metric names its task type reports (checked against the scorer's real output on gold predictions), has its
primary metric among them, and every hook it names resolves."""

from __future__ import annotations

import pytest
import yaml

from benchmark.core.examples import ClassificationExample, QAExample, TokenExample
from benchmark.core.record import Budget
from benchmark.data.loader import CLEANINGS
from benchmark.evaluate.scoring import gold_as_predictions, score_predictions
from benchmark.run.config import default_budget
from benchmark.tasks import hooks, registry
from benchmark.tasks.metric_names import registered_metrics

SPECS = registry.all_tasks()
EVERY = [(spec.name, spec) for spec in SPECS] + [
    (f"{spec.name}/{sub.name}", sub) for spec in SPECS for sub in spec.subtasks
]


def test_the_registry_is_not_empty():
    assert len(SPECS) >= 7 and {"conll2003", "gonerd", "glue"} <= {s.name for s in SPECS}


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_spec_loads_from_its_file_with_its_hash(spec):
    path = registry.TASKS_DIR / f"{spec.name}.yaml"
    again = registry.load_spec_file(path)
    assert again == spec and again.spec_hash() == spec.spec_hash()
    assert registry.get_task(spec.name) is spec


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_budget_is_written_in_the_yaml(spec):
    raw = yaml.safe_load((registry.TASKS_DIR / f"{spec.name}.yaml").read_text(encoding="utf-8"))
    assert isinstance(raw.get("budget"), dict), f"{spec.name}.yaml has no budget: mapping"
    for key, value in raw["budget"].items():
        assert spec.budget[key] == value


@pytest.mark.parametrize(("name", "spec"), EVERY, ids=[n for n, _ in EVERY])
def test_budget_is_complete_and_sane(name, spec):
    budget = default_budget(name)
    assert isinstance(budget, Budget) and set(spec.budget) == set(Budget().to_dict())
    assert budget.epochs >= 0 and budget.learning_rate > 0 and budget.batch_size >= 1
    if spec.context == "long":  # 4,096-token inputs: never the short-task batch of 32
        assert budget.batch_size <= 8


@pytest.mark.parametrize(("name", "spec"), EVERY, ids=[n for n, _ in EVERY])
def test_metrics_are_registered_and_primary_among_them(name, spec):
    assert spec.metrics and spec.primary_metric in spec.metrics
    assert set(spec.metrics) <= registered_metrics(spec)


def _yaml_hooks(name: str) -> dict[str, str]:
    """Every hook reference the YAML gives ``name`` (a sub-task inherits reader, scorer and cleaning from its
    parent unless it sets its own; ``build`` is the parent's own), plus ``label_names_from.function``."""
    raw = yaml.safe_load((registry.TASKS_DIR / f"{name.split('/')[0]}.yaml").read_text(encoding="utf-8"))
    own = raw
    if "/" in name:
        own = next(s for s in raw["subtasks"] if s["name"] == name.split("/")[1])
        own = {**{k: raw[k] for k in ("reader", "scorer", "cleaning") if k in raw}, **own}
    refs = {k: own[k] for k in ("reader", "scorer", "cleaning") if own.get(k) is not None}
    for key in ("default_dir", "estimate"):
        if (own.get("build") or {}).get(key) is not None:
            refs[f"build.{key}"] = own["build"][key]
    if "label_names_from" in own:
        refs["label_names_from.function"] = own["label_names_from"]["function"]
    return refs


def _spec_hooks(spec) -> dict[str, str]:
    """The hook references the loaded spec keeps (``label_names_from`` is not kept: its result is)."""
    refs = {k: getattr(spec, k) for k in ("reader", "scorer", "cleaning") if getattr(spec, k) is not None}
    for key in ("default_dir", "estimate"):
        if spec.build is not None and getattr(spec.build, key) is not None:
            refs[f"build.{key}"] = getattr(spec.build, key)
    return refs


@pytest.mark.parametrize(("name", "spec"), EVERY, ids=[n for n, _ in EVERY])
def test_hooks_resolve(name, spec):
    """Every case asserts: the spec keeps exactly the hooks its YAML names (none dropped, none invented), each
    resolves to a function, a built-in cleaning name is known, and the label names are what the task type needs
    (computed by ``label_names_from`` where the YAML says so; none for regression, QA and a parent of sub-tasks)."""
    refs = _yaml_hooks(name)
    label_hook = refs.pop("label_names_from.function", None)
    assert _spec_hooks(spec) == refs, f"{name}: the spec's hooks differ from its YAML's"
    for key, ref in refs.items():
        assert callable(hooks.resolve(ref, spec.source_dir, f"{name}.yaml", key)), f"{name}: {key}"
    assert spec.fields.get("cleaning") in (None, *CLEANINGS), f"{name}: unknown fields.cleaning"
    if label_hook is not None:
        raw = yaml.safe_load((registry.TASKS_DIR / f"{name.split('/')[0]}.yaml").read_text(encoding="utf-8"))
        func = hooks.resolve(label_hook, spec.source_dir, f"{name}.yaml", "label_names_from.function")
        assert spec.label_names == tuple(func(*raw["label_names_from"].get("args", ())))
    if spec.task_type in ("classification", "token_classification") and not spec.subtasks:
        assert spec.label_names and len(set(spec.label_names)) == len(spec.label_names)
    else:  # regression, extractive QA, a parent whose sub-tasks carry the labels
        assert spec.label_names == (), f"{name}: {spec.task_type} takes no label names"


def _gold_examples(spec) -> list:
    """Three labelled examples of the spec's type (labels from the spec), enough for every metric."""
    prefix = f"{spec.name}-"
    if spec.task_type == "token_classification":
        entity = next(n[2:] for n in spec.label_names if n.startswith("B-"))
        tags = ("B-" + entity, "O", "B-" + entity)
        return [TokenExample(f"{prefix}{i}", ("a", "b", "c"), tags if i else ("O",) * 3) for i in range(3)]
    if spec.task_type == "extractive_qa":
        return [QAExample(f"{prefix}{i}", "q?", f"answer{i} here", (f"answer{i}",), (0,)) for i in range(3)]
    if spec.task_type == "regression":
        return [ClassificationExample(f"{prefix}{i}", "t", "u", float(i)) for i in range(3)]
    labels = list(spec.label_names)
    return [ClassificationExample(f"{prefix}{i}", "t", None, labels[i % len(labels)]) for i in range(4)]


@pytest.mark.parametrize(("name", "spec"), EVERY, ids=[n for n, _ in EVERY])
def test_scorer_reports_every_listed_metric(name, spec):
    """Gold predictions scored by the harness's own scorer give every metric the YAML lists (GLUE: the parent's
    aggregate from all sub-tasks)."""
    subs = spec.subtasks or (spec,)
    examples = [ex for sub in subs for ex in _gold_examples(sub)]
    result = score_predictions(spec, examples, gold_as_predictions(examples))
    for metric in spec.metrics:
        assert result["metrics"].get(metric) is not None, f"{name}: scorer gave no {metric}"
    assert isinstance(result["score"], float)
