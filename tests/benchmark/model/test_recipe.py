"""Recipes: what ``baselines`` leaves beside a model is read into results, and pairs a student with its teacher."""

from __future__ import annotations

import json
from dataclasses import replace

import torch

from baselines.convert import convert
from baselines.distill import init_student
from benchmark.core.record import Model, ResultRecord
from benchmark.leaderboard.entries import Entry, _fill_teacher_shares
from benchmark.model.modeling import content_sha256
from benchmark.model.recipe import read_recipe
from conftest import result_record
from tiny_models import build_tiny_model

torch.set_num_threads(2)


def test_recipes_name_their_starting_model_by_revision(tmp_path):
    source = build_tiny_model("bert", tmp_path / "bert", task="masked_lm", max_length=64, num_hidden_layers=2)
    assert read_recipe(source) is None
    converted = convert(source, "longformer", 128, tmp_path / "lf", attention_window=16)
    recipe = read_recipe(converted)
    assert recipe["kind"] == "converted" and recipe["target"] == "longformer"
    assert recipe["source_revision"] == content_sha256(source) and recipe["equivalence_passed"] is True

    control = init_student(converted, 1, tmp_path / "control")
    recipe = read_recipe(control)
    assert recipe["kind"] == "student_init" and recipe["layer_map"] == [0]
    assert recipe["teacher_revision"] == content_sha256(converted)

    (control / "student_init.json").write_text("[1, 2]")
    assert read_recipe(control) is None  # not a recipe object


def _record(score: float, latency: float) -> ResultRecord:
    """A valid result whose headline score and median latency are ``score`` and ``latency``."""
    data = result_record().to_dict()
    for split in data["metrics"].values():
        split["score"] = score
    data["timing"]["latency_ms_per_example_median"] = latency
    return ResultRecord.from_dict(data, "test")


def _model(model_id: str, revision: str | None, recipe: dict | None = None) -> Model:
    return replace(result_record().model, model_id=model_id, revision=revision, recipe=recipe)


def test_student_pairs_with_the_entry_of_its_teachers_revision():
    teacher = Entry("t", _model("repro:t", "sha256:aa"), {"conll2003": _record(80.0, 10.0)})
    other = Entry("o", _model("repro:o", "sha256:bb"), {"conll2003": _record(40.0, 1.0)})
    student = Entry(
        "s",
        _model("repro:s", "sha256:cc", {"teacher_revision": "sha256:aa"}),
        {"conll2003": _record(60.0, 5.0)},
    )
    orphan = Entry("x", _model("repro:x", None, {}), {"conll2003": _record(1, 1)})
    _fill_teacher_shares([other, teacher, student, orphan])
    assert student.teacher_slug == "t" and student.teacher_share == 75.0
    assert teacher.teacher_slug is None and orphan.teacher_slug is None
    assert json.dumps(student.model.to_dict())  # the recipe stays JSON
