"""``run_speed`` / ``benchmark speed`` end to end on tiny model directories (CPU)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from benchmark.cli import main
from benchmark.errors import BenchmarkError
from benchmark.speed import SCHEMA, format_speed_table, parse_lengths, run_speed, write_speed_result
from benchmark.timing import TimingConfig
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
