"""The typed records (benchmark.core.record): every committed result, owner, speed and submission file round-trips byte
for byte, a bad one (a misspelt key included) is one line naming the file and the key path, every key the current
code writes is declared, and files written before a section existed still load."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import pytest

from benchmark.core.record import (
    LEGACY_EXECUTION,
    Owner,
    RecordError,
    ResultRecord,
    Section,
    SpeedRecord,
    Submission,
)
from benchmark.errors import BenchmarkError
from benchmark.results.files import OWNER_FILE, load_record, load_result, typed_result, write_result
from conftest import ROOT

BOARD = ROOT / "leaderboard"
NOT_RESULTS = {
    "submission.json",
    "speed.json",
    "distill_report.json",
}  # their own records (checked on submit)


def _committed(name_is_owner: bool) -> list[Path]:
    """Every result (or owner) file under leaderboard/, found by walking it (not a pinned list)."""
    return sorted(
        p
        for p in BOARD.rglob("*.json")
        if p.name not in NOT_RESULTS and (p.name == OWNER_FILE) == name_is_owner
    )


def _one_committed() -> Path:
    found = _committed(False)
    if not found:
        pytest.skip("no result files under leaderboard/")
    return found[0]


def test_the_board_holds_result_files_to_check():
    assert len(_committed(False)) >= 2 and len(_committed(True)) >= 1


@pytest.mark.parametrize("path", _committed(False), ids=lambda p: str(p.relative_to(BOARD)))
def test_every_committed_result_round_trips_byte_for_byte(path):
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    record = ResultRecord.from_dict(data, path.name)
    assert record.to_dict() == data
    assert json.dumps(record.to_dict(), indent=2, ensure_ascii=False) + "\n" == text  # as write_result writes
    assert record.task.name == path.stem and record.model.model_id == data["model"]["model_id"]
    assert set(record.metrics) == set(record.splits)


@pytest.mark.parametrize("path", _committed(True), ids=lambda p: str(p.relative_to(BOARD)))
def test_every_committed_owner_file_round_trips(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    assert Owner.problems(data) == []
    text = path.read_text(encoding="utf-8")
    assert json.dumps(Owner.parse(data, "", []).to_dict(), indent=2) + "\n" == text


@pytest.mark.parametrize(
    "path",
    sorted(p for p in BOARD.rglob("*.json") if p.name in NOT_RESULTS - {"distill_report.json"}),
    ids=lambda p: str(p.relative_to(BOARD)),
)
def test_every_committed_speed_and_submission_file_round_trips_byte_for_byte(path):
    text = path.read_text(encoding="utf-8")
    kind = SpeedRecord if path.name == "speed.json" else Submission
    record = kind.from_dict(json.loads(text), path.name)
    sort = kind is Submission  # benchmark.leaderboard.submit.manifest sorts the keys
    assert json.dumps(record.to_dict(), indent=2, ensure_ascii=False, sort_keys=sort) + "\n" == text


def test_write_result_writes_the_bytes_of_a_committed_file(tmp_path):
    source = _one_committed()
    target = tmp_path / source.parent.name / source.name
    record = json.loads(source.read_text(encoding="utf-8"))
    write_result(target, typed_result(record, target), {})
    assert target.read_bytes() == source.read_bytes()
    assert load_result(target) == record and load_record(target).to_dict() == record


def _bad(change) -> dict:
    data = json.loads(_one_committed().read_text(encoding="utf-8"))
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d.update(execution={"dtype": "int8", "compiled": False}),
            "execution.dtype must be one of 'float32', 'bfloat16', 'float16', got 'int8'",
        ),
        (lambda d: d["task"].pop("spec_hash"), "missing key 'task.spec_hash'"),
        (lambda d: d.update(seed=True), "seed must be an integer, got True"),
        (lambda d: d["model"].update(n_params=-3), "model.n_params must be a non-negative number, got -3"),
        (
            lambda d: next(iter(d["dataset"]["sources"].values()))["files"][0].update(sha256=None),
            ".files[0].sha256 must be a string, got None",
        ),
        (lambda d: d["timing"].pop("device"), "missing key 'timing.device'"),
        (
            lambda d: d["timing"].update(peak_memory_mb="12"),
            "timing.peak_memory_mb must be a number or null, got '12'",
        ),
        (lambda d: d["splits"].append("test2"), "no metrics for split 'test2'"),
        (lambda d: d.update(metrics=[]), "metrics must be an object, got a list"),
        (lambda d: d.update(schema="gonerd-bench/result/v9"), "schema must be 'gonerd-bench/result/v1'"),
        (
            lambda d: d.update(config={"budget": {"batch_size": 0}}),
            "config.budget.batch_size must be a positive",
        ),
    ],
)
def test_a_bad_record_is_one_line_naming_the_file_and_key_path(tmp_path, change, message):
    data = _bad(change)
    assert any(message in p for p in ResultRecord.problems(data)), ResultRecord.problems(data)
    with pytest.raises(
        RecordError, match=r"^bad\.json: not a valid gonerd-bench/result/v1 result: "
    ) as caught:
        ResultRecord.from_dict(data, "bad.json")
    assert "\n" not in str(caught.value) and message in str(caught.value)
    path = tmp_path / "conll2003.json"
    path.write_text(json.dumps(data))
    with pytest.raises(BenchmarkError, match=f"^{path}: ") as caught:
        load_record(path)
    assert "\n" not in str(caught.value)
    with pytest.raises(ValueError, match="refusing to write an invalid result"):
        write_result(tmp_path / "out" / "conll2003.json", typed_result(data, "conll2003.json"), {})
    assert not (tmp_path / "out" / "conll2003.json").exists()


def test_not_an_object_and_long_values_stay_one_short_line():
    assert ResultRecord.problems([1, 2]) == ["a result must be a JSON object"]
    data = _bad(lambda d: d["task"].update(name="x" * 10_000))
    data["task"]["version"] = ["x" * 10_000]
    (problem,) = ResultRecord.problems(data)
    assert problem == "task.version must be a string, got a list"
    data["task"]["version"] = "y" * 10_000
    data["harness"]["git_commit"] = "z" * 10_000
    data["seed"] = "s" * 10_000
    (problem,) = ResultRecord.problems(data)
    assert problem.startswith("seed must be an integer, got 'sss") and len(problem) < 100


def test_key_order_is_kept():
    data = json.loads(_one_committed().read_text(encoding="utf-8"))
    data = dict(reversed(list(data.items())))
    data["model"] = dict(reversed(list(data["model"].items())))
    back = ResultRecord.from_dict(data).to_dict()
    assert list(back) == list(data) and list(back["model"]) == list(data["model"]) and back == data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d.update(exection=d.pop("execution", None)),
            "unknown key 'exection' (did you mean 'execution'?)",
        ),
        (
            lambda d: d["config"].update(dtpye="bfloat16"),
            "unknown key 'config.dtpye' (did you mean 'dtype'?)",
        ),
        (
            lambda d: next(iter(d["dataset"]["sources"].values()))["files"][0].update(sha265="0" * 64),
            ".files[0].sha265' (did you mean 'sha256'?)",
        ),
        (lambda d: d["model"].update(future_key={"a": 1}), "unknown key 'model.future_key'"),
    ],
)
def test_an_unknown_key_is_one_line_naming_the_file_and_key_path_on_read_and_write(tmp_path, change, message):
    data = _bad(change)
    assert (
        [p for p in ResultRecord.problems(data) if "unknown key" in p]
        == [p for p in ResultRecord.problems(data) if message in p]
        != []
    )
    path = tmp_path / "conll2003.json"
    path.write_text(json.dumps(data))
    with pytest.raises(BenchmarkError) as caught:
        load_record(path)
    assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value)
    assert "\n" not in str(caught.value)
    with pytest.raises(ValueError, match="refusing to write an invalid result") as caught:
        write_result(tmp_path / "out" / "conll2003.json", typed_result(data, "conll2003.json"), {})
    assert message in str(caught.value) and not (tmp_path / "out" / "conll2003.json").exists()


@pytest.mark.parametrize(
    ("kind", "name", "change", "message"),
    [
        (
            SpeedRecord,
            "speed.json",
            lambda d: d.update(devise="cpu"),
            "unknown key 'devise' (did you mean 'device'?)",
        ),
        (
            SpeedRecord,
            "speed.json",
            lambda d: d["lengths"][0]["timing"].update(peak_memroy_mb=1.0),
            "unknown key 'lengths[0].timing.peak_memroy_mb' (did you mean 'peak_memory_mb'?)",
        ),
        (
            SpeedRecord,
            "speed.json",
            lambda d: d.update(batch_size=0),
            "batch_size must be a positive number, got 0",
        ),
        (
            Submission,
            "submission.json",
            lambda d: d.update(partail=True),
            "unknown key 'partail' (did you mean 'partial'?)",
        ),
        (
            Submission,
            "submission.json",
            lambda d: d["model"].update(revison="x"),
            "unknown key 'model.revison' (did you mean 'revision'?)",
        ),
        (Submission, "submission.json", lambda d: d["files"].update(x=1), "files.x must be a string, got 1"),
    ],
)
def test_speed_and_submission_files_are_checked_the_same_way(kind, name, change, message):
    data = json.loads(next(BOARD.rglob(name)).read_text(encoding="utf-8"))
    change(data)
    with pytest.raises(RecordError) as caught:
        kind.from_dict(data, f"results/x/{name}")
    line = str(caught.value)
    assert line.startswith(f"results/x/{name}: not a valid gonerd-bench/") and line.endswith(message)
    assert "\n" not in line


def test_files_written_before_a_key_existed_still_load():
    speed = json.loads(next(BOARD.rglob("speed.json")).read_text(encoding="utf-8"))
    del speed["model"]["revision"]  # speed.json before it recorded the revision
    assert SpeedRecord.from_dict(speed).model.revision is None
    manifest = json.loads(next(BOARD.rglob("submission.json")).read_text(encoding="utf-8"))
    manifest.pop("unverified", None)  # submission.json before --unverified existed
    assert Submission.from_dict(manifest).unverified is None


def _declared(section: type[Section]) -> set[str]:
    return {key for _, key, _, _ in section._fields()}


def test_every_key_the_current_code_writes_is_declared():
    """What the writers put in a result and a speed.json, taken from the writers themselves (their dataclasses and
    functions, not a list typed in here), is known to the record: a new key is declared, never refused later."""
    from benchmark.core import record
    from benchmark.core.task_spec import HubSource
    from benchmark.model.precision import execution_record
    from benchmark.run.config import RunConfig
    from benchmark.timing.hardware import hardware_info

    fields = lambda cls: {f.name for f in dataclasses.fields(cls)}  # noqa: E731
    assert fields(HubSource) == _declared(record.HubPin)
    assert set(hardware_info("cpu")) == _declared(record.Hardware)
    written = execution_record(
        dtype="bfloat16", attn_implementation="sdpa", requested_attn=None, compiled=True
    )
    assert set(written) == _declared(record.Execution)
    cfg = RunConfig.from_options(  # grouped batches: the one way megabatch_factor is written
        dtype="bfloat16", attn_implementation="sdpa", compile_model=True, seeds=[0, 1], batching="grouped"
    )
    config = cfg.result_config(cfg.budget("conll2003"), tokenizer="tok", processes=2)
    # device and save_models: benchmark.run.pipeline adds them; distillation: --teacher (benchmark.run.pipeline._TaskRun.section)
    assert set(config) | {"device", "save_models", "distillation"} == _declared(record.Config)
    from pathlib import Path

    from benchmark.train.distill import Teacher

    taught = Teacher(Path("runs/teacher"), {"conll2003": Path("m")}, "teacher", "sha256:0").record(0.5, 2.0)
    assert set(taught) == _declared(record.Distillation)


def test_a_result_from_before_the_execution_section_loads_as_it_ran():
    data = _bad(lambda d: d.pop("execution", None))
    record = ResultRecord.from_dict(data)
    assert record.execution is None and "execution" not in record.to_dict()  # migrated on read, not rewritten
    assert record.execution_or_legacy().to_dict() == LEGACY_EXECUTION
    old = copy.deepcopy(data)
    for run in (old.get("training") or {}).values():
        run.pop("batching", None)
    if old.get("training"):
        assert ResultRecord.from_dict(old).batching() == "random"
    old["training"] = None  # --eval-only: nothing trained
    assert ResultRecord.from_dict(old).training is None and ResultRecord.from_dict(old).batching() is None


def test_a_new_section_without_a_file_writes_its_keys_in_declared_order():
    owner = Owner(model_id="org/m", revision="abc")
    assert owner.to_dict() == {"model_id": "org/m", "revision": "abc", "created_at": None}
    assert Owner.problems({"model_id": "org/m"}) == ["missing key 'revision'"]


# Every key a timing made by measure_inference has, in the order result files and speed.json files have them.
TIMING_KEYS = [
    "device", "device_name", "dtype", "torch_version", "cuda_version", "cpu_threads", "timer", "batch_size",
    "seq_len", "n_batches", "n_examples", "n_tokens", "n_padded_tokens", "latency_ms_per_example_median",
    "latency_ms_per_example_p90", "latency_ms_per_example_mean", "latency_ms_per_batch_median",
    "latency_ms_per_batch_p90", "tokens_per_second", "examples_per_second", "timed_seconds", "peak_memory_mb",
    "memory_baseline_mb", "memory_kind", "warmup", "iterations", "percentile_method",
]  # fmt: skip


def test_a_section_made_in_code_writes_the_keys_it_was_given():
    """Section.made: a field not given is absent from to_dict (as from a file without the key), not written as
    null; the keys keep the declared order whatever order they were given in."""
    from benchmark.core.record import TrainingRun

    run = TrainingRun.made(steps=3, train_examples=2)
    assert run.to_dict() == {"train_examples": 2, "steps": 3}
    assert list(run.to_dict()) == ["train_examples", "steps"]
    assert run.has("steps") and not run.has("windows")
    assert TrainingRun.from_dict(run.to_dict()) == run
    run.windows = {"n": 1}  # a field set later is written only when it was given: the maker names every key
    assert "windows" not in run.to_dict()


def test_measure_inference_makes_the_timing_a_result_records():
    """The timing protocol's measurement is the record's Timing, typed where it is made: exactly the keys result
    files and speed.json files have always had, in their order, and no null attention paths or protocol."""
    import torch

    from benchmark.core.record import Timing, TimingConfig
    from benchmark.timing.protocol import measure_inference

    batch = {
        "input_ids": torch.ones(2, 5, dtype=torch.long),
        "attention_mask": torch.ones(2, 5, dtype=torch.long),
    }
    config = TimingConfig(warmup=0, min_iterations=2, trim_allocator=False)
    timing = measure_inference(
        lambda b: b["input_ids"] * 2, [batch], device="cpu", config=config, dtype="float32"
    )
    assert isinstance(timing, Timing)
    assert list(timing.to_dict()) == TIMING_KEYS
    assert timing.n_tokens == 10 and timing.iterations == 2 and timing.percentile_method == "linear"
    assert Timing.from_dict(timing.to_dict()).to_dict() == timing.to_dict()
