"""benchmark.core.architectures: every entry is consistent with the registry and with what transformers does."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoConfig, AutoModel, NystromformerConfig, ReformerConfig, RobertaConfig

from baselines.registry import load_registry
from benchmark.core import architectures
from benchmark.core.record import ResultRecord
from benchmark.logs import quiet_transformers
from benchmark.model import precision
from conftest import ROOT
from tiny_models import tiny_config


def test_every_registry_baseline_has_an_entry() -> None:
    for entry in load_registry():
        assert entry.architecture in architectures.ARCHITECTURES, (entry.name, entry.architecture)


def test_entries_are_keyed_by_their_model_type() -> None:
    for key, entry in architectures.ARCHITECTURES.items():
        assert entry.model_type == key
        assert entry.detect is None  # model_type entries are found by key; only overlays detect
        assert entry.position_offset in (0, 2)
    for overlay in architectures.OVERLAYS:
        assert overlay.detect is not None and overlay.model_type not in architectures.ARCHITECTURES
    assert architectures.get("no-such-type") == architectures.DEFAULT


def _pads_to(model: torch.nn.Module, length: int) -> int:
    """Width of the ids the model's embeddings actually receive for an input of ``length`` tokens."""
    seen: list[int] = []
    hook = model.embeddings.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append(
            int((kwargs.get("input_ids") if not args else args[0]).shape[1])
        ),
        with_kwargs=True,
    )
    ids = torch.randint(5, 100, (1, length))
    extra = (
        {"global_attention_mask": torch.zeros_like(ids)} if architectures.of(model).global_attention else {}
    )
    try:
        with torch.inference_mode(), quiet_transformers():
            model(input_ids=ids, attention_mask=torch.ones_like(ids), **extra)
    finally:
        hook.remove()
    return seen[0]


@pytest.mark.parametrize(
    ("kind", "overrides", "multiple"),
    [
        ("longformer", {"attention_window": 16}, 16),
        ("longformer", {"attention_window": [8, 24]}, 24),  # per-layer windows: the largest
        ("bigbird", {"block_size": 8, "num_random_blocks": 2}, 8),
    ],
)
def test_pad_multiple_is_what_the_model_pads_to(kind: str, overrides: dict, multiple: int) -> None:
    config = tiny_config(kind, vocab_size=100, pad_token_id=1, max_length=256, **overrides)
    model = AutoModel.from_config(config).eval()
    length = architectures.full_attention_limit(config) + 3  # past BigBird's fallback (which does not pad)
    assert architectures.pad_multiple(config, length) == multiple
    assert _pads_to(model, length) == -(-length // multiple) * multiple
    assert architectures.computed_length(config, length) == _pads_to(model, length) > length
    if kind == "bigbird":
        assert architectures.attention_path(model, length) == "block_sparse"
        # In its full-attention fallback BigBird does not pad: the length costs what it is.
        short = architectures.full_attention_limit(config) - 3
        architectures.reset_sticky_attention(model)
        assert architectures.pad_multiple(config, short) is None
        assert architectures.computed_length(config, short) == _pads_to(model, short) == short


def test_bigbird_fallback_limit_is_where_the_model_switches() -> None:
    config = tiny_config("bigbird", vocab_size=100, pad_token_id=0, max_length=256, block_size=8)
    model = AutoModel.from_config(config).eval()
    limit = architectures.full_attention_limit(config)
    assert limit == (5 + 2 * config.num_random_blocks) * config.block_size
    for length, path in ((limit, "original_full"), (limit + 1, "block_sparse")):
        assert architectures.reset_sticky_attention(model) in (True, False)
        _pads_to(model, length)
        assert model.attention_type == path == architectures.attention_path(model, length)
    _pads_to(model, limit)  # switches to full attention, and it sticks
    assert architectures.reset_sticky_attention(model) is True and model.attention_type == "block_sparse"


def test_longformer_full_attention_limit_is_half_the_smallest_window() -> None:
    config = tiny_config("longformer", vocab_size=100, pad_token_id=1, attention_window=[8, 24])
    assert architectures.full_attention_limit(config) == 4
    assert architectures.of(config).global_attention
    assert architectures.attention_path(config, 100) == "sliding_window+global"


def test_nystromformer_fixed_length_and_offset() -> None:
    landmarks = NystromformerConfig(num_landmarks=8, segment_means_seq_len=32, max_position_embeddings=66)
    assert architectures.fixed_length(landmarks) == 32 and architectures.max_input_length(landmarks) == 32
    assert architectures.attention_path(landmarks, 32) == "nystrom"
    assert architectures.of(landmarks).input_multiple(landmarks) == 8
    same = NystromformerConfig(num_landmarks=64, segment_means_seq_len=64, max_position_embeddings=66)
    assert architectures.fixed_length(same) is None and architectures.max_input_length(same) == 64
    assert architectures.attention_path(same, 20) == "full"


def test_lsg_overlay_keeps_its_base_and_names_its_attention() -> None:
    lsg = RobertaConfig(max_position_embeddings=4098)
    lsg.sparsity_type = "norm"
    entry = architectures.of(lsg)
    assert entry.position_offset == 2 and entry.prefix_space  # from roberta
    assert architectures.max_input_length(lsg) == 4096
    assert architectures.attention_path(lsg, 4096) == "local+sparse (LSG norm)"
    assert architectures.attention_path(RobertaConfig(), 100) == "full"


def test_own_attention_is_not_compiled(monkeypatch, capsys) -> None:
    # warn_once remembers what it said for the whole process: a private set keeps other tests' warnings intact.
    monkeypatch.setattr(precision, "_warned", set())
    assert architectures.attention_path(ReformerConfig(), 64) == "lsh+local"
    for model_type, entry in architectures.ARCHITECTURES.items():
        assert precision.can_compile(model_type) is (not entry.own_attention)
    own = [t for t, e in architectures.ARCHITECTURES.items() if e.own_attention]
    assert capsys.readouterr().err.count("is not compiled") == len(own)


def test_old_spellings_read_as_the_one_vocabulary() -> None:
    canonical = architectures.canonical_attention_path
    assert canonical("full (BigBird fallback at <= 704 tokens)", "big_bird") == "original_full"
    assert (
        canonical("full", "big_bird") == "original_full"
    )  # speed.json of a BigBird configured original_full
    assert canonical("block_sparse", "big_bird") == "block_sparse"
    assert canonical("full", "reformer") == "lsh+local"
    assert canonical("full", "bert") == "full" and canonical("nystrom", "nystromformer") == "nystrom"


# Every name the architectures entries can write (LSG's carries its sparsity type).
VOCABULARY = {"full", "block_sparse", "original_full", "sliding_window+global", "nystrom", "lsh+local"}


def _paths_of(record: ResultRecord) -> list[str]:
    """Attention paths a committed result file records (per split, and per timed width)."""
    paths = [name for split in record.attention.values() for name in split]
    return paths + list(((record.timing and record.timing.attention_paths) or {}).values())


def test_committed_leaderboard_files_read_in_one_vocabulary() -> None:
    """Result and speed.json files of the committed board name attention paths in one vocabulary, BigBird's
    fallback included."""
    from benchmark.leaderboard.entries import load_entries

    entries = load_entries(ROOT / "leaderboard")
    assert entries
    bigbird_speed = 0
    for entry in entries:
        result_paths = {p for record in entry.records.values() for p in _paths_of(record)}
        lengths = entry.speed.lengths if entry.speed else []
        speed_paths = {item.attention_path for item in lengths if item.attention_path is not None}
        assert result_paths | speed_paths <= VOCABULARY, (entry.slug, result_paths | speed_paths)
        if entry.model.model_type == "big_bird" and entry.speed:
            bigbird_speed += 1
            assert "original_full" in speed_paths and "original_full" in result_paths
    assert bigbird_speed > 0


def test_old_speed_files_read_in_todays_vocabulary(tmp_path) -> None:
    """A speed.json written before the one vocabulary spelled BigBird's fallback ``full (BigBird fallback at <= N
    tokens)``; read through the leaderboard it is ``original_full``, and the file itself is left as submitted."""
    import shutil

    from benchmark.leaderboard.entries import load_entries

    source = next(p for p in sorted((ROOT / "leaderboard" / "results").glob("*/speed.json")))
    board = tmp_path / "board"
    entry_dir = board / "results" / source.parent.name
    shutil.copytree(source.parent, entry_dir)
    speed = json.loads(source.read_text())
    assert speed["model"]["model_type"] == "big_bird"
    old = "full (BigBird fallback at <= 704 tokens)"
    for item in speed["lengths"]:
        if item["attention_path"] == "original_full":
            item["attention_path"] = old
    text = json.dumps(speed)
    assert old in text
    (entry_dir / "speed.json").write_text(text)
    (entry,) = load_entries(board)
    paths = {item.attention_path for item in entry.speed.lengths}
    assert "original_full" in paths and old not in paths
    assert (entry_dir / "speed.json").read_text() == text


# --- today's long-context encoders ------------------------------------------------------------------------------


def _modernbert(**overrides):
    return tiny_config("modernbert", vocab_size=100, pad_token_id=1, max_length=256, **overrides)


def test_modernbert_window_and_global_period_are_the_attention_path() -> None:
    config = _modernbert(
        local_attention=16, num_hidden_layers=6
    )  # global, local, local, global, local, local
    assert architectures.modernbert_layer_pattern(config) == (16, 3)
    assert architectures.full_attention_limit(config) == 9  # 8 tokens on either side
    assert architectures.attention_path(config, 9) == "full"
    assert architectures.attention_path(config, 10) == "local+global (window 16, every 3rd layer global)"
    assert architectures.max_input_length(config) == 256  # rotary: no position offset
    assert architectures.of(config).rotary and architectures.position_offset(config) == 0
    every = _modernbert(local_attention=16, layer_types=["full_attention"] * 3, num_hidden_layers=3)
    assert (
        architectures.full_attention_limit(every) is None
        and architectures.attention_path(every, 200) == "full"
    )
    assert architectures.max_input_length(AutoConfig.for_model("modernbert")) == 8192


@pytest.mark.parametrize(("distance", "seen"), [(8, True), (9, False)])
def test_modernbert_local_layer_sees_half_its_window_on_either_side(distance: int, seen: bool) -> None:
    """One local layer (window 16): token 0's output changes with the token 8 places away, not with the one 9
    away (masked scores weigh exactly nothing, whatever the kernel)."""
    config = _modernbert(local_attention=16, layer_types=["sliding_attention"], num_hidden_layers=1)
    model = AutoModel.from_config(config, attn_implementation="eager").eval()
    ids = torch.randint(5, 100, (1, 24))
    changed = ids.clone()
    changed[0, distance] = 4 if ids[0, distance] != 4 else 3
    with torch.inference_mode():
        a = model(input_ids=ids).last_hidden_state[0, 0]
        b = model(input_ids=changed).last_hidden_state[0, 0]
    assert (not torch.equal(a, b)) is seen


def test_pooling_and_unpadding_per_architecture() -> None:
    from types import SimpleNamespace

    modern = _modernbert()
    assert architectures.pooling_value(modern, "mean") == "mean" and architectures.pooling_of(modern) == "cls"
    assert architectures.pooling_value(AutoConfig.for_model("eurobert"), "cls") == "bos"
    assert architectures.pooling_of(AutoConfig.for_model("eurobert")) == "late"
    assert architectures.pooling_value(AutoConfig.for_model("bert"), "mean") is None  # BERT's pooler is fixed
    assert architectures.pooling_value(modern, None) is None
    assert not architectures.unpadded(modern)  # sdpa / eager: padded batches with masks
    flash = SimpleNamespace(model_type="modernbert", _attn_implementation="flash_attention_2")
    assert architectures.unpadded(flash)
    assert not architectures.unpadded(
        SimpleNamespace(model_type="bert", _attn_implementation="flash_attention_2")
    )
    assert architectures.of(AutoConfig.for_model("eurobert")).native_over_remote
    for model_type in ("modernbert", "eurobert", "gte", "nomic_bert"):
        assert architectures.get(model_type).generic_heads and architectures.get(model_type).rotary
