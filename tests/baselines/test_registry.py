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
  group: paper
  teacher: null
  tokenizer_from: org/teacher-a
  trust_remote_code: false
  license: apache-2.0
"""


def test_bundled_registry_has_the_paper_models():
    entries = [e for e in load_registry() if e.group == "paper"]
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
    if field == "name":  # the entry then starts at its hub_id (moved up: a key given twice is refused)
        lines = [line for line in lines if not line.strip().startswith("hub_id:")]
        lines[1] = "- hub_id: org/teacher-a"
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


# The config values each modern entry's parameter count comes from (the registry comments name their sources):
# model_type and AutoConfig keywords; the bare encoder built on the meta device must have exactly that many
# parameters. For entries whose parameters are null the same shapes give the number their comment quotes.
MODERN_SHAPES = {
    "modernbert-base": ("modernbert", dict(vocab_size=50368, hidden_size=768, intermediate_size=1152,
                                           num_hidden_layers=22, num_attention_heads=12)),
    "modernbert-large": ("modernbert", dict(vocab_size=50368, hidden_size=1024, intermediate_size=2624,
                                            num_hidden_layers=28, num_attention_heads=16)),
    "ettin-encoder-17m": ("modernbert", dict(vocab_size=50368, hidden_size=256, intermediate_size=384,
                                             num_hidden_layers=7, num_attention_heads=4)),
    "ettin-encoder-32m": ("modernbert", dict(vocab_size=50368, hidden_size=384, intermediate_size=576,
                                             num_hidden_layers=10, num_attention_heads=6)),
    "ettin-encoder-68m": ("modernbert", dict(vocab_size=50368, hidden_size=512, intermediate_size=768,
                                             num_hidden_layers=19, num_attention_heads=8)),
    "ettin-encoder-150m": ("modernbert", dict(vocab_size=50368, hidden_size=768, intermediate_size=1152,
                                              num_hidden_layers=22, num_attention_heads=12)),
    "ettin-encoder-400m": ("modernbert", dict(vocab_size=50368, hidden_size=1024, intermediate_size=2624,
                                              num_hidden_layers=28, num_attention_heads=16)),
    "ettin-encoder-1b": ("modernbert", dict(vocab_size=50368, hidden_size=1792, intermediate_size=3840,
                                            num_hidden_layers=28, num_attention_heads=28)),
    "mmbert-small": ("modernbert", dict(vocab_size=256000, hidden_size=384, intermediate_size=1152,
                                        num_hidden_layers=22, num_attention_heads=6)),
    "mmbert-base": ("modernbert", dict(vocab_size=256000, hidden_size=768, intermediate_size=1152,
                                       num_hidden_layers=22, num_attention_heads=12)),
    "eurobert-210m": ("eurobert", dict(vocab_size=128256, hidden_size=768, intermediate_size=3072,
                                       num_hidden_layers=12, num_attention_heads=12, num_key_value_heads=12)),
    "gte-en-mlm-base": ("gte", dict(vocab_size=30528, hidden_size=768, intermediate_size=3072,
                                    num_hidden_layers=12, num_attention_heads=12, type_vocab_size=0)),
}  # fmt: skip


def test_modern_group_lists_todays_encoders():
    from baselines.registry import select

    modern = select("modern")
    names = [e.name for e in modern]
    assert names[:2] == ["modernbert-base", "modernbert-large"]
    ettin = [e for e in modern if e.name.startswith("ettin-encoder-")]
    assert [e.name.removeprefix("ettin-encoder-") for e in ettin] == [
        "17m",
        "32m",
        "68m",
        "150m",
        "400m",
        "1b",
    ]
    assert [e.layers for e in ettin] == [7, 10, 19, 22, 28, 28]  # a size ladder
    assert {"mmbert-small", "mmbert-base", "eurobert-210m", "gte-en-mlm-base"} <= set(names)
    for e in modern:
        assert e.role == "encoder" and e.teacher is None and e.max_length == 8192, e.name
        assert e.revision is None  # nothing verified offline: the registry says so instead of guessing
    by_name = {e.name: e for e in modern}
    assert by_name["gte-en-mlm-base"].trust_remote_code and by_name["gte-en-mlm-base"].architecture == "new"
    assert not by_name["eurobert-210m"].trust_remote_code  # transformers' native EuroBERT classes
    assert set(names).isdisjoint(e.name for e in select("paper"))
    assert len(modern) + len(select("paper")) == len(load_registry()) == len(select("all"))


@pytest.mark.parametrize("name", sorted(MODERN_SHAPES))
def test_modern_parameters_are_computed_from_the_config(name):
    """The bare encoder of the recorded config, built on the meta device (no memory, no weights), has exactly the
    registry's parameter count; where the count is null (config not verified) its comment quotes this number."""
    import torch
    from transformers import AutoConfig, AutoModel

    from baselines.registry import REGISTRY_PATH

    model_type, shape = MODERN_SHAPES[name]
    with torch.device("meta"):
        model = AutoModel.from_config(AutoConfig.for_model(model_type, **shape))
    count = sum(p.numel() for p in model.parameters())
    entry = resolve(name)
    assert entry.layers == shape["num_hidden_layers"]
    if entry.parameters is not None:
        assert entry.parameters == count
    else:
        block = REGISTRY_PATH.read_text().split(f"- name: {name}\n", 1)[1].split("\n- name:", 1)[0]
        line = next(x for x in block.splitlines() if x.strip().startswith("parameters:"))
        assert "# unverified:" in line and str(count) in line, line


def test_cli_list_modern_group(capsys):
    assert main(["list", "--group", "modern"]) == 0
    table = capsys.readouterr().out
    assert "modernbert-base" in table and "ettin-encoder-1b" in table and "distil-bigbird" not in table
    assert "Alibaba-NLP/gte-en-mlm-base (remote code)" in table
    assert main(["list", "--json", "--role", "encoder"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["group"] == "modern" for r in rows)
