"""The bundled registry of baselines: content, validation errors, resolve(), ``baselines list``."""

from __future__ import annotations

import json
import re

import pytest

from baselines.cli import main
from baselines.errors import BaselinesError
from baselines.registry import FIELDS, load_registry, resolve

VALID = """
- name: teacher-a
  hub_id: org/teacher-a
  revision: null
  architecture: longformer
  layers: 12
  parameters: 100
  max_length: 4096
  role: teacher
  teacher: null
  tokenizer_from: org/teacher-a
  trust_remote_code: false
  license: apache-2.0
"""


def test_bundled_registry_has_the_paper_models():
    entries = load_registry()
    by_name = {e.name: e for e in entries}
    assert len(entries) == 10
    assert [e.role for e in entries].count("student") == 4
    assert [e.role for e in entries].count("teacher") == 4
    assert {e.hub_id for e in entries if e.role == "reference"} == {
        "FacebookAI/roberta-base",
        "distilbert/distilroberta-base",
    }
    for e in entries:
        assert e.revision is None or re.fullmatch(r"[0-9a-f]{40}", e.revision), e.name
        if e.role == "student":
            teacher = by_name[e.teacher]
            assert teacher.role == "teacher"
            assert e.layers * 2 == teacher.layers, e.name  # students have half the teacher's layers
            assert e.max_length == teacher.max_length == 4096
    assert by_name["distil-longformer"].tokenizer_from == "allenai/longformer-base-4096"
    assert by_name["distil-lsg"].tokenizer_from == "giant-oak/lsg-roberta-base-4096"
    assert by_name["distil-lsg"].trust_remote_code and by_name["lsg"].trust_remote_code
    assert not by_name["distil-bigbird"].trust_remote_code


def test_resolve_accepts_spec_name_and_hub_id():
    assert resolve("baseline:distil-bigbird").hub_id == "giant-oak/distil-bigbird-roberta-base"
    assert resolve("longformer").spec == "baseline:longformer"
    assert resolve("uw-madison/nystromformer-4096").name == "nystromformer"
    with pytest.raises(BaselinesError, match=r"unknown baseline 'baseline:nope'; known: distil-longformer"):
        resolve("baseline:nope")


@pytest.mark.parametrize("field", FIELDS)
def test_missing_field_is_a_one_line_error_naming_entry_and_field(tmp_path, field):
    lines = [line for line in VALID.splitlines() if not line.strip().startswith(f"{field}:")]
    if field == "name":  # hub_id opens the entry instead (once: a duplicate key is an error of its own)
        lines[1:3] = ["- hub_id: org/teacher-a"]
    path = tmp_path / "registry.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(BaselinesError) as err:
        load_registry(path)
    message = str(err.value)
    assert "\n" not in message
    assert f"missing field {field!r}" in message
    assert ("'teacher-a'" in message) or (field == "name" and "#1" in message)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("revision: null", "revision: abc123", "full 40-hex commit"),
        ("role: teacher", "role: boss", "role must be one of"),
        ("layers: 12", "layers: twelve", "'layers' must be int"),
        ("teacher: null", "teacher: ghost", "teacher 'ghost' is not in the registry"),
        ("hub_id: org/teacher-a", "hub_id: null", "'hub_id' must not be null"),
    ],
)
def test_bad_values_are_rejected(tmp_path, old, new, expected):
    path = tmp_path / "registry.yaml"
    path.write_text(VALID.replace(old, new))
    with pytest.raises(BaselinesError, match=re.escape(expected)):
        load_registry(path)


def test_valid_custom_registry_loads(tmp_path):
    path = tmp_path / "registry.yaml"
    path.write_text(VALID)
    (entry,) = load_registry(path)
    assert entry.layers == 12 and entry.revision is None and entry.to_dict()["license"] == "apache-2.0"


def test_cli_list_table_and_json(capsys):
    assert main(["list"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split()[:3] == ["name", "role", "architecture"]
    assert "distil-nystromformer" in table and "(remote code)" in table
    assert main(["list", "--json", "--role", "student"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == [
        "distil-longformer",
        "distil-bigbird",
        "distil-nystromformer",
        "distil-lsg",
    ]
    assert set(rows[0]) == set(FIELDS)
