"""The task registry: every YAML loads into a consistent, pinned spec; bad specs fail with one-line errors."""

from __future__ import annotations

import json
import re

import pytest

from benchmark.cli import main
from benchmark.errors import BenchmarkError
from benchmark.tasks import registry
from benchmark.tasks.registry import all_tasks, get_task, load_spec_file

TASKS = ["arxiv", "conll2003", "glue", "gonerd", "hotpotqa", "squad", "triviaqa"]
UNPINNED = {"conll2003": "refs/convert/parquet", "gonerd": "v0.1.0"}  # see the YAML notes


def test_all_tasks_load():
    assert [t.name for t in all_tasks()] == TASKS


def test_the_tasks_are_counted_for_run_help(capsys):
    assert registry.task_count() == len(registry.task_names())
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert f"(default: all {len(TASKS)}, and those of --include-path)" in " ".join(
        capsys.readouterr().out.split()
    )


@pytest.mark.parametrize("name", TASKS)
def test_spec_is_consistent_and_pinned(name):
    spec = get_task(name)
    assert spec.primary_metric in spec.metrics
    assert spec.max_length == (512 if spec.context == "short" else 4096)
    assert spec.hub.revision == UNPINNED.get(name) or re.fullmatch(r"[0-9a-f]{40}", spec.hub.revision)
    assert spec.license and spec.notes and spec.version
    for sub in spec.subtasks or (spec,):
        assert set(sub.eval_splits) <= set(sub.hub.splits)


def test_label_names_in_hub_id_order():
    from gonerd.labels import label_names

    assert get_task("conll2003").label_names[:3] == ("O", "B-PER", "I-PER")
    assert get_task("gonerd").label_names == tuple(label_names("default"))
    assert len(get_task("gonerd").label_names) == 37
    assert get_task("arxiv").label_names[0] == "math.AC" and get_task("arxiv").label_names[-1] == "math.ST"
    assert get_task("arxiv").hub.config == "no_ref" and get_task("arxiv").fields["cleaning"] == "mteb"


def test_glue_subtasks_match_the_metric_module():
    from benchmark.metrics import glue

    spec = get_task("glue")
    assert [s.name for s in spec.subtasks] == list(glue.SUBTASKS)
    for sub in spec.subtasks:
        assert sub.metrics == glue.SUBTASKS[sub.name]
        if sub.task_type == "classification":
            assert sub.label_names == glue.LABELS[sub.name]
    assert get_task("glue/mnli_mismatched").hub.splits["validation"] == "validation_mismatched"
    assert get_task("glue/rte").hub.revision == spec.hub.revision


def test_unknown_task_lists_the_known_ones():
    with pytest.raises(BenchmarkError, match="unknown task 'nope'; known tasks: arxiv, conll2003, glue"):
        get_task("nope")
    with pytest.raises(BenchmarkError, match="has no subtask 'ax'"):
        get_task("glue/ax")


def test_spec_hash_is_stable_and_sensitive():
    a = get_task("squad")
    assert a.spec_hash() == load_spec_file(registry.TASKS_DIR / "squad.yaml").spec_hash()
    from dataclasses import replace

    assert replace(a, max_length=1024).spec_hash() != a.spec_hash()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("task_type: extractive_qa", "task_type: qa"), "task_type 'qa' is not one of"),
        (("primary_metric: f1", "primary_metric: bleu"), "primary_metric 'bleu' is not in metrics"),
        (("max_length: 512", "max_length: 0"), "max_length must be a positive integer"),
        (("revision: 7b6d24c440a36b6815f21b70d25016731768db1f", "revision: abc123"), "hub.revision 'abc123'"),
        (('version: "1.0"', 'versio: "1.0"'), "missing key"),
    ],
)
def test_bad_specs_fail_with_one_line_errors(tmp_path, edit, message):
    text = (registry.TASKS_DIR / "squad.yaml").read_text().replace(*edit)
    path = tmp_path / "squad.yaml"
    path.write_text(text)
    with pytest.raises(BenchmarkError, match=re.escape(message)) as info:
        load_spec_file(path)
    assert "\n" not in str(info.value)


def test_tasks_command_table_and_json(capsys):
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    assert "rajpurkar/squad@7b6d24c440" in out and "glue_score" in out
    assert main(["tasks", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == TASKS
    squad = next(r for r in rows if r["name"] == "squad")
    assert squad["data"] == "rajpurkar/squad@7b6d24c440a36b6815f21b70d25016731768db1f"
    assert squad["primary_metric"] == "f1" and squad["context"] == "short" and squad["max_length"] == 512
