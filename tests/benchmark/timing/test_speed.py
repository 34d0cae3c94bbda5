"""``run_speed`` / ``benchmark speed`` end to end on tiny model directories (CPU)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from benchmark.cli import main
from benchmark.core.record import TimingConfig
from benchmark.errors import BenchmarkError
from benchmark.timing.speed import SCHEMA, format_speed_table, parse_lengths, run_speed, write_speed_result
from tiny_models import build_tiny_model

FAST = TimingConfig(warmup=1, min_iterations=2)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model("bert", tmp_path_factory.mktemp("models") / "bert", max_length=64)


@pytest.fixture(scope="module")
def longformer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model("longformer", tmp_path_factory.mktemp("models") / "longformer", max_length=64)


def test_cli_bert_table_json_and_skipped_length(
    bert_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["speed", "--model", str(bert_dir), "--lengths", "64,32,128", "--device", "cpu"]
    rc = main([*argv, "--warmup", "1", "--iterations", "2", "--batch-size", "2", "--output", str(out)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    rows = {
        line.split()[0]: line
        for line in captured.out.splitlines()
        if line.split() and line.split()[0].isdigit()
    }
    assert list(rows) == ["32", "64", "128"]  # every length, sorted
    assert rows["32"].rstrip().endswith("cpu") and rows["64"].rstrip().endswith("cpu")
    assert "1.00x" in rows["32"] and "full" in rows["32"]
    assert "skipped: 128 tokens > the model's 64 usable positions" in rows["128"]
    assert "device cpu" in captured.out and "cpu_peak_rss_delta" in captured.out
    assert f"wrote {out / 'speed.json'}" in captured.err
    data = json.loads((out / "speed.json").read_text(encoding="utf-8"))
    assert data["schema"] == SCHEMA and data["device"] == "cpu" and data["hardware"]["device"] == "cpu"
    assert data["model"]["model_type"] == "bert" and data["model"]["max_input_length"] == 64
    assert data["batch_size"] == 2 and data["timing_config"]["min_iterations"] == 2
    by_len = {e["length"]: e for e in data["lengths"]}
    assert [by_len[n]["status"] for n in (32, 64, 128)] == ["ok", "ok", "skipped"]
    t32 = by_len[32]["timing"]
    assert t32["device"] == "cpu" and t32["n_tokens"] == 64 and t32["n_padded_tokens"] == 64
    assert t32["iterations"] == 2 and t32["warmup"] == 1 and t32["batch_size"] == 2
    assert 0 < t32["latency_ms_per_example_median"] <= t32["latency_ms_per_example_p90"]
    assert by_len[128]["timing"] is None and "usable positions" in by_len[128]["reason"]
    assert [p.name for p in out.iterdir()] == ["speed.json"]  # no temporary file left behind


def test_cli_longformer_json_output(longformer_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["speed", "--model", str(longformer_dir), "--lengths", "32,64", "--device", "cpu", "--json"]
    rc = main([*argv, "--warmup", "1", "--iterations", "2"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    data = json.loads(captured.out)
    assert data["model"]["model_type"] == "longformer"
    assert [(e["length"], e["status"], e["attention_path"]) for e in data["lengths"]] == [
        (32, "ok", "sliding_window+global"),
        (64, "ok", "sliding_window+global"),
    ]
    assert all(
        e["timing"]["device"] == "cpu" and e["timing"]["n_tokens"] == e["length"] for e in data["lengths"]
    )


@pytest.mark.parametrize("lengths", ["32,abc", "0", "-5", " , ", "32,0.5"])
def test_cli_bad_lengths_are_one_line_errors(
    bert_dir: Path, lengths: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["speed", "--model", str(bert_dir), f"--lengths={lengths}", "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("benchmark: error: --lengths") and err.count("\n") == 1


def test_cli_not_a_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    for path, message in [
        (tmp_path / "empty", "is not a model: no config.json"),
        (tmp_path / "missing", "is not a model: no such directory"),
    ]:
        rc = main(["speed", "--model", str(path), "--lengths", "32", "--device", "cpu"])
        err = capsys.readouterr().err
        assert rc == 2 and message in err and err.count("\n") == 1


def test_cli_bad_device_and_all_lengths_skipped(bert_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["speed", "--model", str(bert_dir), "--lengths", "32", "--device", "tpu"])
    assert rc == 2 and "--device 'tpu'" in capsys.readouterr().err
    rc = main(["speed", "--model", str(bert_dir), "--lengths", "512", "--device", "cpu"])
    captured = capsys.readouterr()
    assert rc == 1 and "no requested length fits" in captured.err and "skipped" in captured.out


def test_run_speed_nystromformer_pads_to_segment_length(tmp_path: Path) -> None:
    path = build_tiny_model(
        "nystromformer", tmp_path / "nys", max_length=64, num_landmarks=8, segment_means_seq_len=32
    )
    result = run_speed(str(path), lengths=[20, 32, 64], device="cpu", config=FAST)
    assert result.max_input_length == 32
    ok = {e.length: e for e in result.measured}
    assert sorted(ok) == [20, 32] and [e.length for e in result.skipped] == [64]
    assert ok[20].input_length == 32 and ok[20].attention_path == "nystrom"
    assert ok[20].report is not None and ok[20].report.n_tokens == 20 and ok[20].report.n_padded_tokens == 32
    assert "input" in format_speed_table(result) and result.to_dict()["lengths"][0]["input_length"] == 32


def test_run_speed_bigbird_reports_each_attention_path(tmp_path: Path) -> None:
    path = build_tiny_model("bigbird", tmp_path / "bb", max_length=256, block_size=8, num_random_blocks=2)
    result = run_speed(str(path), lengths=[64, 128], device="cpu", config=FAST)
    paths = {e.length: e.attention_path for e in result.entries}
    assert paths == {64: "original_full", 128: "block_sparse"}  # the result files' names
    assert all(e.status == "ok" for e in result.entries)


def test_api_errors_and_atomic_write(bert_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match="--dtype"):
        run_speed(str(bert_dir), lengths=[32], device="cpu", dtype="int8")
    with pytest.raises(BenchmarkError, match="--batch-size"):
        run_speed(str(bert_dir), lengths=[32], batch_size=0, device="cpu")
    with pytest.raises(BenchmarkError, match="--threads"):
        run_speed(str(bert_dir), lengths=[32], device="cpu", threads=0)
    assert parse_lengths("64, 32,64") == (32, 64)
    before = torch.get_num_threads()
    result = run_speed(str(bert_dir), lengths=[16, 32], device="cpu", config=FAST, threads=before + 1)
    assert torch.get_num_threads() == before  # restored
    assert all(e.report is not None and e.report.cpu_threads == before + 1 for e in result.entries)
    assert result.hardware["torch_num_threads"] == before + 1
    table = format_speed_table(result)
    assert "1.00x" in table and table.count(" cpu") >= 2
    written = write_speed_result(result, tmp_path / "a" / "b")
    assert json.loads(written.read_text(encoding="utf-8"))["lengths"][1]["length"] == 32
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(BenchmarkError, match="--output"):
        write_speed_result(result, blocker)


# ------------------------------------------------------------------------------------ paired timing (issue #20)
def test_cli_paired_interleaves_compares_and_writes_each_speed_json(
    bert_dir: Path, longformer_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmark.core.record import SpeedRecord

    out = tmp_path / "out"
    argv = ["speed", "--model", str(bert_dir), str(longformer_dir), "--lengths", "16,128", "--device", "cpu"]
    rc = main([*argv, "--warmup", "1", "--output", str(out)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "2 models interleaved in one process, 20 repetitions each" in captured.out
    rows = [line.split() for line in captured.out.splitlines() if line.split()[:1] == ["16"]]
    assert [r[1] for r in rows] == [str(bert_dir), str(longformer_dir)]
    assert rows[0][-2:] == ["1.00", "cpu"] and "-" in rows[0][-3]  # the reference: IQR, ratio 1, no interval
    ratio, low, high = float(rows[1][-4]), float(rows[1][-3][1:-1]), float(rows[1][-2][:-1])
    assert low <= ratio <= high and rows[1][-1] == "cpu"
    assert "128  skipped:" in captured.out and "usable positions" in captured.out
    assert "note: attention implementation differs" in captured.out  # bert sdpa, longformer its own
    for path in (bert_dir, longformer_dir):
        data = json.loads((out / path.name / "speed.json").read_text(encoding="utf-8"))
        record = SpeedRecord.from_dict(data)
        assert record.protocol == "fixed" and record.load is not None and record.load.cores >= 1
        assert record.paired is not None and record.paired.models == [str(bert_dir), str(longformer_dir)]
        first = record.paired.lengths[0]
        assert (
            first.status == "ok"
            and first.models is not None
            and first.models[1].ratio == pytest.approx(ratio, abs=0.005)
        )
        assert record.paired.lengths[1].status == "skipped"
        ok = record.lengths[0]
        assert ok.timing is not None and ok.timing.iterations == 20 and ok.timing.n_tokens == 16
    assert record.model.attn_implementation == "eager" and record.paired.attn_implementations == [
        "sdpa",
        "eager",
    ]


def test_cli_paired_needs_twenty_repetitions_and_warns_when_busy(
    bert_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["speed", "--model", str(bert_dir), str(bert_dir), "--lengths", "16", "--device", "cpu"]
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2 and "the same model is named twice" in err and err.count("\n") == 1
    argv[3] = str(bert_dir.parent / "other")
    rc = main([*argv, "--iterations", "5"])
    err = capsys.readouterr().err
    assert rc == 2 and "--iterations must be at least 20" in err and err.count("\n") == 1
    rc = main([*argv, "--min-seconds", "1"])
    err = capsys.readouterr().err
    assert rc == 2 and "--min-seconds applies to one --model" in err and err.count("\n") == 1
    import benchmark.timing.speed as speed

    monkeypatch.setattr(speed, "load_average", lambda: [64.0, 60.0, 50.0])
    rc = main(["speed", "--model", str(bert_dir), "--lengths", "16", "--device", "cpu", "--iterations", "1"])
    captured = capsys.readouterr()
    assert rc == 0 and "warning: busy machine: 1-minute load average 64.00 before" in captured.out
    result = run_speed(str(bert_dir), lengths=[16], device="cpu", config=FAST)
    assert result.load is not None and result.load.busy
    assert result.to_dict()["load"]["warning"].startswith("warning: busy machine")


def test_lengths_reach_8192_and_beyond_the_model_are_skipped_in_one_line(bert_dir: Path) -> None:
    from benchmark.timing.speed import DEFAULT_LENGTHS

    assert DEFAULT_LENGTHS[-1] == 8192
    result = run_speed(str(bert_dir), lengths=[8192], device="cpu", config=FAST)
    assert [(e.status, e.reason) for e in result.entries] == [
        ("skipped", "8192 tokens > the model's 64 usable positions")
    ]


# ------------------------------------------------------------------------------- variable protocol (issue #21)
@pytest.fixture(scope="module")
def modernbert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random ModernBERT (transformers' ModernBertConfig), no tokenizer (speed inputs are synthetic)."""
    from transformers import AutoModel, ModernBertConfig

    path = tmp_path_factory.mktemp("models") / "modernbert"
    config = ModernBertConfig(
        vocab_size=100,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=128,
        local_attention=16,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        cls_token_id=1,
        sep_token_id=2,
    )
    torch.manual_seed(0)
    AutoModel.from_config(config).save_pretrained(path)
    return path


def test_variable_protocol_charges_real_tokens_only(modernbert_dir: Path) -> None:
    from benchmark.timing.speed import VARIABLE_BATCHES, draw_lengths

    result = run_speed(
        str(modernbert_dir),
        lengths=[64, 256],
        device="cpu",
        config=FAST,
        protocol="variable",
        max_batch_size=3,
    )
    assert result.protocol == "variable" and result.to_dict()["protocol"] == "variable"
    entry, skipped = result.entries
    assert skipped.status == "skipped" and skipped.reason == "256 tokens > the model's 128 usable positions"
    assert entry.status == "ok" and entry.report is not None and entry.variable is not None
    drawn = draw_lengths(64, 3 * VARIABLE_BATCHES, 0)
    assert entry.variable["probed"] == [1, 2, 3] and entry.variable["probe_stop"] == "max_batch_size"
    assert entry.variable["batch_size"] == 3 and entry.variable["n_sequences"] == len(drawn)
    padded = sum(max(drawn[i : i + 3]) * 3 for i in range(0, len(drawn), 3))
    rep = entry.report
    assert rep.n_tokens == sum(drawn) == entry.variable["real_tokens"]  # the drawn lengths, not batch x max
    assert rep.n_padded_tokens == padded == entry.variable["padded_positions"] > rep.n_tokens
    passes = rep.iterations // rep.n_batches
    assert rep.iterations % rep.n_batches == 0  # whole passes over the batches
    assert rep.tokens_per_second == pytest.approx(passes * sum(drawn) / rep.timed_seconds)
    assert "tokens/s counts real tokens only" in format_speed_table(result)
    assert result.attn_implementation == "sdpa"


def test_modernbert_does_not_unpad_on_cpu_in_this_transformers(modernbert_dir: Path) -> None:
    """What docs/speed-and-statistics.md states: transformers 5.23's ModernBertModel runs every padded position (no unpadding at
    embedding level as in ModernBERT's own code) with sdpa and eager on CPU; only the padding's attention is masked."""
    from transformers import AutoModel

    ids = torch.tensor([[5, 6, 7, 8], [5, 6, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    for attn in ("sdpa", "eager"):
        model = AutoModel.from_pretrained(modernbert_dir, attn_implementation=attn).eval()
        with torch.inference_mode():
            out = model(input_ids=ids, attention_mask=mask).last_hidden_state
        assert out.shape == (2, 4, 32)  # padded positions computed and returned
        assert bool(out[1, 2:].abs().sum() > 0)
        alone = model(input_ids=ids[1:, :2], attention_mask=mask[1:, :2]).last_hidden_state
        assert torch.allclose(out[1, :2], alone[0], atol=1e-5)  # padding masked, not removed


def test_probe_stops_at_the_first_out_of_memory_or_the_max_batch() -> None:
    from benchmark.timing.speed import draw_lengths, probe_batch_size

    def fits_up_to(limit: int):
        def fits(size: int) -> None:
            if size > limit:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

        return fits

    assert probe_batch_size(fits_up_to(5), 64) == (4, [1, 2, 4, 8], "out_of_memory")
    assert probe_batch_size(fits_up_to(100), 6) == (6, [1, 2, 4, 6], "max_batch_size")
    assert probe_batch_size(fits_up_to(0), 8) == (0, [1], "out_of_memory")

    def cpu_oom(size: int) -> None:
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")

    assert probe_batch_size(cpu_oom, 8) == (0, [1], "out_of_memory")

    def broken(size: int) -> None:
        raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):
        probe_batch_size(broken, 8)
    drawn = draw_lengths(8192, 400, 0)
    assert drawn == draw_lengths(8192, 400, 0) != draw_lengths(8192, 400, 1)
    assert min(drawn) >= 1 and max(drawn) <= 8192 and 3900 < sum(drawn) / len(drawn) < 4300


def test_paired_variable_protocol_gives_every_model_the_same_drawn_lengths(
    modernbert_dir: Path, bert_dir: Path
) -> None:
    from benchmark.timing.speed import VARIABLE_BATCHES, draw_lengths, run_speed_paired

    both = run_speed_paired(
        [str(modernbert_dir), str(bert_dir)],
        lengths=[32],
        device="cpu",
        protocol="variable",
        max_batch_size=2,
    )
    drawn = draw_lengths(32, 2 * VARIABLE_BATCHES, 0)
    for result in both.results:
        entry = result.entries[0]
        assert entry.report is not None and entry.variable is not None and result.protocol == "variable"
        assert entry.report.n_tokens == sum(drawn) and entry.variable["batch_size"] == 2
        assert entry.report.iterations == 20 * VARIABLE_BATCHES  # 20 passes over the 4 batches
    stats = both.paired["lengths"][0]["models"]
    assert stats[0]["ratio"] is None and stats[1]["ratio_low"] <= stats[1]["ratio"] <= stats[1]["ratio_high"]


def test_eurobert_with_the_hubs_auto_map_is_timed_with_the_native_class(tmp_path: Path) -> None:
    """EuroBERT's Hub config names remote code that transformers ships natively: ``benchmark speed`` loads the
    native class without --trust-remote-code, as ``benchmark run`` does; other remote code is still refused."""
    import json

    path = build_tiny_model("eurobert", tmp_path / "eurobert", max_length=64)
    config = json.loads((path / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "modeling_eurobert.EuroBertModel"}
    (path / "config.json").write_text(json.dumps(config))
    result = run_speed(str(path), lengths=[16], device="cpu", config=FAST)
    assert [e.length for e in result.measured] == [16]
    assert result.model_class.startswith("EuroBert")
