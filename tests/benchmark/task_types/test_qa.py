"""Extractive QA's yes/no answers are a property of the QA layout (``fields.layout: hotpotqa``) or of
``fields.yes_no``, never of a task's name."""

from __future__ import annotations

from dataclasses import replace

import pytest

from benchmark.core import plugins
from benchmark.encode import features
from benchmark.errors import BenchmarkError
from benchmark.task_types import qa
from benchmark.tasks.registry import get_task


def _with(spec, **fields):
    return replace(spec, fields={**spec.fields, **fields})


def test_the_hotpotqa_layout_has_yes_no_answers_whatever_the_name():
    hotpot = get_task("hotpotqa")
    assert qa.uses_yes_no(hotpot)
    assert qa.uses_yes_no(replace(hotpot, name="my_multi_hop"))
    assert not qa.uses_yes_no(replace(get_task("squad"), name="hotpotqa"))  # the name alone means nothing


@pytest.mark.parametrize(
    ("task", "value", "want"),
    [
        ("squad", "true", True),
        ("squad", "True", True),
        ("triviaqa", "yes", True),
        ("hotpotqa", "false", False),
    ],
)
def test_fields_yes_no_overrides_the_layout(task, value, want):
    assert qa.uses_yes_no(_with(get_task(task), yes_no=value)) is want


def test_a_bad_yes_no_value_is_one_line():
    with pytest.raises(BenchmarkError, match=r"fields\.yes_no must be true or false, got 'maybe'"):
        qa.uses_yes_no(_with(get_task("squad"), yes_no="maybe"))


def test_no_task_name_special_case_is_left():
    assert not hasattr(features, "YES_NO_TASKS") and not hasattr(qa, "YES_NO_TASKS")
    assert features.uses_yes_no is qa.uses_yes_no and features.YES_NO_PREFIX == qa.YES_NO_PREFIX


def test_each_layout_has_its_official_scorer():
    for layout in plugins.QA_LAYOUTS.names():
        scorers = plugins.QA_LAYOUTS.get(layout).scorers
        assert scorers and all({"exact_match", "f1"} <= s.reports for s in scorers), layout
    assert qa.ExtractiveQAType().scorers(_with(get_task("squad"), layout="no_such_layout")) == ()
