"""The measurement protocol (CPU for real, CUDA through recording fakes), devices, and model-input helpers."""

from __future__ import annotations

import time
from typing import Any

import pytest
import torch
from transformers import (
    BertConfig,
    BertModel,
    BigBirdConfig,
    BigBirdModel,
    LongformerConfig,
    LongformerModel,
    NystromformerConfig,
    NystromformerModel,
    RobertaConfig,
)

from benchmark.core.architectures import attention_path, max_input_length
from benchmark.core.record import TimingConfig
from benchmark.errors import BenchmarkError
from benchmark.logs import quiet_transformers
from benchmark.timing import hardware
from benchmark.timing import protocol as timing
from benchmark.timing.hardware import hardware_info, resolve_device
from benchmark.timing.protocol import (
    measure_inference,
    percentile,
    prepare_model_inputs,
    speed_batches,
)

TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, vocab_size=100)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny_bert() -> BertModel:
    torch.manual_seed(0)
    return BertModel(BertConfig(max_position_embeddings=128, **TINY)).eval()


# --- percentiles and config -----------------------------------------------------------------------------------


def test_percentile_is_linear_interpolation() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == pytest.approx(2.5)
    assert percentile([1.0, 2.0, 3.0, 4.0], 90) == pytest.approx(3.7)  # rank 2.7 between 3 and 4
    assert percentile([1.0, 2.0, 3.0, 4.0], 0) == 1.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 100) == 4.0
    assert percentile([7.0], 90) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)


def _closest_ranks(values: list[float], q: float) -> float:
    """The hand-written formula timing.percentile used before numpy: rank (n - 1) * q / 100, interpolated."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    lo, hi = int(rank // 1), -int(-rank // 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def test_percentile_gives_the_numbers_of_the_former_formula() -> None:
    import random

    rng = random.Random(7)
    for n in (1, 2, 3, 5, 10, 37, 200):
        values = [rng.lognormvariate(0, 1) * 10 for _ in range(n)]
        for q in (0, 10, 25, 50, 75, 90, 99, 100):
            assert percentile(values, q) == pytest.approx(_closest_ranks(values, q), rel=1e-12, abs=0), (n, q)


@pytest.mark.parametrize(
    "kwargs", [{"warmup": -1}, {"min_iterations": 0}, {"min_seconds": -1.0}, {"rss_interval_s": 0.0}]
)
def test_timing_config_rejects_bad_values(kwargs: dict[str, Any]) -> None:
    with pytest.raises(BenchmarkError):
        TimingConfig(**kwargs)


# --- devices --------------------------------------------------------------------------------------------------


class _FakeProps:
    total_memory = 16 * 2**30


def _pretend_cuda(monkeypatch: pytest.MonkeyPatch, count: int = 1) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Fake GPU 16GB")
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device=None: _FakeProps())


def test_resolve_device_cpu_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device(None) == torch.device("cpu")
    assert resolve_device("CPU") == torch.device("cpu")
    for bad in ("cuda", "cuda:0", "tpu", "mps", "not a device"):
        with pytest.raises(BenchmarkError) as info:
            resolve_device(bad)
        assert "\n" not in str(info.value) and bad in str(info.value)


def test_resolve_device_with_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    _pretend_cuda(monkeypatch, count=2)
    assert resolve_device("auto") == torch.device("cuda", 0)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(BenchmarkError, match="only 2 CUDA"):
        resolve_device("cuda:2")


def test_hardware_info_cpu() -> None:
    info = hardware_info(torch.device("cpu"))
    assert info["device"] == "cpu" and info["device_type"] == "cpu"
    assert info["device_name"] and info["device_name"] == info["cpu_model"]
    assert info["torch_version"] == torch.__version__
    assert info["cuda_version"] == torch.version.cuda
    assert info["cpu_cores_logical"] >= 1 and info["memory_total_mb"] > 0
    assert info["transformers_version"] and info["python_version"].count(".") == 2
    # What bf16 timings depend on (issue #20: a bf16 measurement recorded nothing of the CPU's bf16 support).
    assert info["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    from benchmark.model.precision import cpu_has_bf16

    assert info["cpu_native_bf16"] is cpu_has_bf16()
    assert len(info["load_average"]) == 3


def test_hardware_info_cuda_uses_gpu_name_and_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    _pretend_cuda(monkeypatch)
    info = hardware_info(torch.device("cuda", 0))
    assert info["device"] == "cuda:0" and info["device_name"] == "Fake GPU 16GB"
    assert info["memory_total_mb"] == 16 * 1024


# --- CPU protocol ---------------------------------------------------------------------------------------------


def test_cpu_protocol_on_tiny_bert(tiny_bert: BertModel) -> None:
    batches = speed_batches(100, [20], 2, pad_to_multiple_of=16, n_batches=2, exclude_ids=[0])[20]
    config = TimingConfig(warmup=1, min_iterations=3)
    report = measure_inference(
        lambda b: tiny_bert(**b), batches, device="cpu", config=config, dtype=torch.float32
    )
    assert report.device == "cpu" and report.timer == "perf_counter"
    assert report.memory_kind == "cpu_peak_rss_delta" and report.peak_memory_mb >= 0
    assert report.memory_baseline_mb > 0
    assert report.dtype == "float32" and report.device_name == hardware.cpu_model_name()
    assert (
        report.batch_size == 2 and report.seq_len == 32 and report.n_batches == 2 and report.n_examples == 4
    )
    assert report.n_tokens == 2 * 2 * 20  # real tokens only
    assert report.n_padded_tokens == 2 * 2 * 32
    assert report.iterations == 3 and report.warmup == 1
    assert 0 < report.latency_ms_per_example_median <= report.latency_ms_per_example_p90
    assert report.latency_ms_per_batch_median == pytest.approx(2 * report.latency_ms_per_example_median)
    assert report.tokens_per_second > 0 and report.timed_seconds > 0
    # 3 calls over 2 batches: batches 0, 1, 0 -> 120 real tokens in the timed time
    assert report.tokens_per_second == pytest.approx(120 / report.timed_seconds)
    data = report.to_dict()
    assert data["percentile_method"] == "linear" and data["device"] == "cpu"


def test_every_batch_timed_at_least_once_and_warmup_not_counted() -> None:
    calls: list[int] = []

    def forward(batch: dict) -> None:
        calls.append(int(batch["input_ids"][0, 0]))
        time.sleep(0.06 if len(calls) <= 2 else 0.002)  # the two warm-up calls are slow

    batches = [{"input_ids": torch.full((1, 4), i), "attention_mask": torch.ones(1, 4)} for i in range(4)]
    report = measure_inference(
        forward, batches, device="cpu", config=TimingConfig(warmup=2, min_iterations=3)
    )
    assert report.iterations == 4  # max(min_iterations=3, 4 batches)
    assert calls == [0, 1, 0, 1, 2, 3, 0]  # warm-up cycles too, then every batch once, then the memory call
    assert TimingConfig(warmup=2, min_iterations=3).calls(4, torch.device("cpu")) == len(calls)
    assert report.latency_ms_per_example_p90 < 40  # the slow warm-up calls are not in the figures
    assert report.n_tokens == 16


def test_cpu_memory_pass_runs_once_on_the_largest_batch() -> None:
    seen: list[tuple[int, int]] = []
    batches = [{"input_ids": torch.ones(b, n, dtype=torch.long)} for b, n in [(2, 8), (3, 16), (4, 4)]]
    measure_inference(
        lambda b: seen.append(tuple(b["input_ids"].shape)),
        batches,
        device="cpu",
        config=TimingConfig(warmup=0, min_iterations=1),
    )
    assert seen == [(2, 8), (3, 16), (4, 4), (3, 16)]


def test_min_seconds_extends_timing() -> None:
    batches = [{"input_ids": torch.ones(1, 4, dtype=torch.long)}]
    report = measure_inference(
        lambda b: time.sleep(0.01), batches, device="cpu", config=TimingConfig(warmup=0, min_seconds=0.08)
    )
    assert report.timed_seconds >= 0.08 and report.iterations >= 6
    assert report.n_tokens == report.n_padded_tokens == 4  # no mask: every position is real


def test_cpu_memory_sees_a_large_allocation() -> None:
    def forward(batch: dict) -> torch.Tensor:
        big = torch.ones(64 * 2**20 // 4)  # 64 MiB of float32, touched
        time.sleep(0.03)
        return big.sum()

    batches = [{"input_ids": torch.ones(1, 4, dtype=torch.long)}]
    report = measure_inference(
        forward, batches, device="cpu", config=TimingConfig(warmup=0, min_iterations=2)
    )
    assert report.peak_memory_mb >= 48


def test_measure_inference_rejects_bad_batches() -> None:
    with pytest.raises(BenchmarkError, match="no batches"):
        measure_inference(lambda b: None, [], device="cpu")
    with pytest.raises(BenchmarkError, match="batch 0"):
        measure_inference(lambda b: None, [{"input_ids": torch.ones(3)}], device="cpu")


# --- CUDA protocol through recording fakes -------------------------------------------------------------------


class _CudaRecorder:
    """Stands in for torch.cuda's timing and memory calls; logs every call in order."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.synced_after: set[int] = set()
        self.events: list[Any] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        _pretend_cuda(monkeypatch)
        recorder = self

        class FakeEvent:
            def __init__(self, enable_timing: bool = False) -> None:
                assert enable_timing, "timing events must be created with enable_timing=True"
                self.id = len(recorder.events)
                self.recorded = False
                recorder.events.append(self)

            def record(self, stream: Any = None) -> None:
                self.recorded = True
                recorder.log.append(f"record{self.id}")

            def elapsed_time(self, end: FakeEvent) -> float:
                assert self.recorded and end.recorded
                assert end.id in recorder.synced_after, "elapsed_time read before synchronize"
                recorder.log.append("elapsed")
                return 10.0  # fake GPU milliseconds for the protocol check

        class FakeDeviceContext:
            def __init__(self, device: Any) -> None:
                recorder.log.append(f"device:{device}")

            def __enter__(self) -> None:
                return None

            def __exit__(self, *exc: object) -> None:
                return None

        def synchronize(device: Any = None) -> None:
            recorder.log.append("sync")
            recorder.synced_after.update(e.id for e in recorder.events if e.recorded)

        def reset_peak_memory_stats(device: Any = None) -> None:
            recorder.log.append("reset_peak")

        def memory_allocated(device: Any = None) -> int:
            recorder.log.append("allocated")
            return 100 * 2**20

        def max_memory_allocated(device: Any = None) -> int:
            recorder.log.append("max_allocated")
            return 250 * 2**20

        monkeypatch.setattr(torch.cuda, "Event", FakeEvent)
        monkeypatch.setattr(torch.cuda, "device", FakeDeviceContext)
        monkeypatch.setattr(torch.cuda, "synchronize", synchronize)
        monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", reset_peak_memory_stats)
        monkeypatch.setattr(torch.cuda, "memory_allocated", memory_allocated)
        monkeypatch.setattr(torch.cuda, "max_memory_allocated", max_memory_allocated)
        moved: list[str] = []
        monkeypatch.setattr(
            timing, "_to_device", lambda batch, device: moved.append(str(device)) or dict(batch)
        )
        self.moved = moved


def test_cuda_protocol_order(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = _CudaRecorder()
    rec.install(monkeypatch)

    def forward(batch: dict) -> None:
        rec.log.append(f"forward{int(batch['input_ids'][0, 0])}")

    batches = [
        {"input_ids": torch.full((2, 8), i), "attention_mask": torch.ones(2, 8, dtype=torch.long)}
        for i in range(2)
    ]
    report = measure_inference(
        forward, batches, device="cuda", config=TimingConfig(warmup=2, min_iterations=3)
    )
    assert rec.moved == ["cuda:0", "cuda:0"]  # batches moved to the device before anything runs
    log = rec.log
    assert log[:4] == ["device:cuda:0", "forward0", "forward1", "sync"]  # warm-up, then drain it
    assert log[4:6] == ["reset_peak", "allocated"]  # peak stats reset before the first timed call
    timed = log[6:-1]
    assert log[-1] == "max_allocated"  # peak read after the last timed call
    expected = []
    for k, b in enumerate([0, 1, 0]):
        expected += [f"record{2 * k}", f"forward{b}", f"record{2 * k + 1}", "sync", "elapsed"]
    assert timed == expected  # events around each timed call, synchronize before reading them
    assert report.device == "cuda:0" and report.device_name == "Fake GPU 16GB"
    assert report.timer == "cuda_event" and report.memory_kind == "cuda_max_allocated"
    assert report.peak_memory_mb == 250.0 and report.memory_baseline_mb == 100.0
    assert report.iterations == 3 and report.warmup == 2
    assert report.latency_ms_per_batch_median == 10.0 and report.latency_ms_per_example_median == 5.0
    assert report.tokens_per_second == pytest.approx(3 * 16 / 0.030)
    forwards = [entry for entry in log if entry.startswith("forward")]  # no memory pass on CUDA
    assert TimingConfig(warmup=2, min_iterations=3).calls(2, torch.device("cuda")) == len(forwards) == 5


def test_dry_run_counts_the_calls_of_the_run_s_timing_protocol() -> None:
    """``benchmark run --dry-run`` estimates the timing protocol with :func:`timing_calls`: the forward calls the
    run's :func:`time_inference` makes (its defaults, from :class:`TimingConfig`)."""
    from benchmark.core.record import Model
    from benchmark.timing.inference import time_inference, timing_calls

    calls: list[int] = []

    class Counting(torch.nn.Module):
        def forward(self, **batch: Any) -> None:
            calls.append(1)

    batches = [{"input_ids": torch.ones(2, 4, dtype=torch.long)} for _ in range(3)]
    info = Model(model_id="m", revision="r", model_type="bert", max_positions=128, n_params=0)
    assert time_inference(Counting(), info, batches, torch.device("cpu")) is not None
    assert timing_calls(3, torch.device("cpu")) == len(calls) == 2 + 5 + 1  # warm-up, timed, memory pass


# --- inputs ---------------------------------------------------------------------------------------------------


def test_speed_batches_exact_deterministic_and_without_special_ids() -> None:
    a = speed_batches(50, [7, 13], 3, exclude_ids=[0, 1, 2, 3])
    b = speed_batches(50, [13], 3, exclude_ids=[0, 1, 2, 3])
    assert sorted(a) == [7, 13]
    ids = a[13][0]["input_ids"]
    assert ids.shape == (3, 13) and ids.dtype == torch.long
    assert torch.equal(ids, b[13][0]["input_ids"])  # same length -> same ids, whatever else was asked
    assert int(ids.min()) >= 4 and int(ids.max()) < 50
    assert a[7][0]["attention_mask"].sum() == 21
    padded = speed_batches(50, [10], 1, pad_to_multiple_of=8, pad_id=0, exclude_ids=[0])[10][0]
    assert padded["input_ids"].shape == (1, 16)
    assert padded["attention_mask"][0].tolist() == [1] * 10 + [0] * 6
    assert padded["input_ids"][0, 10:].tolist() == [0] * 6 and int(padded["input_ids"][0, :10].min()) > 0
    assert not torch.equal(speed_batches(50, [13], 3, seed=1)[13][0]["input_ids"], ids)


def test_speed_batches_from_tokenizer_skips_its_special_ids() -> None:
    from tiny_models import build_tokenizer

    tok = build_tokenizer("bert")
    ids = speed_batches(tok, [200], 2)[200][0]["input_ids"]
    assert not set(ids.flatten().tolist()) & set(tok.all_special_ids)
    assert int(ids.max()) < len(tok)


@pytest.mark.parametrize("kwargs", [{"lengths": [0]}, {"lengths": [4.5]}, {"lengths": []}, {"batch_size": 0}])
def test_speed_batches_rejects_bad_arguments(kwargs: dict[str, Any]) -> None:
    args = {"lengths": [8], "batch_size": 1, **kwargs}
    with pytest.raises(BenchmarkError):
        speed_batches(50, args["lengths"], args["batch_size"])


def test_longformer_gets_global_attention_on_cls() -> None:
    model = LongformerModel(LongformerConfig(attention_window=8, max_position_embeddings=66, **TINY)).eval()
    batch = speed_batches(100, [24], 2, exclude_ids=[0, 1, 2])[24][0]
    prepared = prepare_model_inputs(model, batch)
    glob = prepared["global_attention_mask"]
    assert glob.shape == (2, 24) and glob[:, 0].tolist() == [1, 1] and int(glob.sum()) == 2
    assert "global_attention_mask" not in batch  # the input batch is not modified
    own = {**batch, "global_attention_mask": torch.ones(2, 24, dtype=torch.long)}
    assert int(prepare_model_inputs(model, own)["global_attention_mask"].sum()) == 48
    with torch.inference_mode():
        assert model(**prepared).last_hidden_state.shape == (2, 24, 32)
    assert attention_path(model, 24) == "sliding_window+global"
    assert max_input_length(model) == 64


def test_nystromformer_padding_to_segment_length() -> None:
    config = NystromformerConfig(
        segment_means_seq_len=32, num_landmarks=8, max_position_embeddings=130, pad_token_id=0, **TINY
    )
    model = NystromformerModel(config).eval()
    batch = speed_batches(100, [20], 2, exclude_ids=[0])[20][0]
    prepared = prepare_model_inputs(model, batch)
    assert prepared["input_ids"].shape == (2, 32)
    assert prepared["input_ids"][:, 20:].eq(0).all() and prepared["input_ids"][:, :20].ne(0).all()
    mask = prepared["attention_mask"]  # additive [batch, 1, 1, seq]: 0 on real tokens, dtype min on padding
    assert mask.shape == (2, 1, 1, 32) and mask.dtype == torch.float32
    assert mask[0, 0, 0, :20].eq(0).all() and mask[0, 0, 0, 20:].eq(torch.finfo(torch.float32).min).all()
    assert timing.count_tokens(prepared) == (40, 64)
    with torch.inference_mode():
        assert model(**prepared).last_hidden_state.shape == (2, 32, 32)
        with pytest.raises(RuntimeError):  # why padding is needed: 20 tokens break the landmark reshape
            model(**batch)
        two_d = {"input_ids": prepared["input_ids"], "attention_mask": (mask[:, 0, 0, :] == 0).long()}
        with pytest.raises(
            RuntimeError
        ):  # why the mask is additive 4-D: transformers 5.23 crashes on a 2-D one
            model(**two_d)
    assert attention_path(model, 32) == "nystrom"
    assert max_input_length(model) == 32
    with pytest.raises(BenchmarkError, match="segment_means_seq_len=32"):
        prepare_model_inputs(model, speed_batches(100, [40], 1)[40][0])
    full = NystromformerModel(
        NystromformerConfig(segment_means_seq_len=16, num_landmarks=16, max_position_embeddings=66, **TINY)
    )
    assert prepare_model_inputs(full, batch)["input_ids"].shape == (2, 20)  # full attention: any length
    assert attention_path(full, 20) == "full" and max_input_length(full) == 64


def test_bigbird_attention_path_matches_what_the_model_does() -> None:
    config = BigBirdConfig(block_size=8, num_random_blocks=2, max_position_embeddings=256, **TINY)
    model = BigBirdModel(config).eval()
    assert attention_path(model, 72) == "original_full"  # the name result files give it too
    assert attention_path(model, 80) == "block_sparse"
    short = prepare_model_inputs(model, speed_batches(100, [64], 1, exclude_ids=[0])[64][0])
    with torch.inference_mode(), quiet_transformers():
        model(**short)
        assert model.attention_type == "original_full"  # transformers' fallback, and it sticks
        model(**speed_batches(100, [128], 1, exclude_ids=[0])[128][0])
        assert model.attention_type == "original_full"  # a long input without the reset runs full attention
        long = prepare_model_inputs(model, speed_batches(100, [128], 1, exclude_ids=[0])[128][0])
        assert model.attention_type == "block_sparse"  # prepare_model_inputs undid the sticky switch
        model(**long)
        assert model.attention_type == "block_sparse"
    original = BigBirdConfig(attention_type="original_full", block_size=8, num_random_blocks=2, **TINY)
    assert attention_path(original, 2048) == "original_full"


def test_max_input_length_offsets() -> None:
    assert max_input_length(BertConfig(max_position_embeddings=512)) == 512
    assert max_input_length(RobertaConfig(max_position_embeddings=514)) == 512
    assert attention_path(BertConfig(), 512) == "full"


def test_position_offset_follows_the_padding_index() -> None:
    """RoBERTa-style position ids start after ``pad_token_id``: a Longformer converted from a BERT vocabulary (pad 0)
    loses one position, not two. Checked against the model itself: the usable length runs, one more does not."""
    from transformers import LongformerConfig, LongformerModel

    config = LongformerConfig(
        vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=65, attention_window=8, pad_token_id=0, bos_token_id=2, eos_token_id=3,
    )  # fmt: skip
    assert max_input_length(config) == 64
    assert max_input_length(LongformerConfig(max_position_embeddings=4098, pad_token_id=1)) == 4096
    model = LongformerModel(config).eval()
    with torch.no_grad():
        model(input_ids=torch.full((1, 64), 5))
        with pytest.raises(IndexError):
            model(input_ids=torch.full((1, 72), 5))
