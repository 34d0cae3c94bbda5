"""The typed run configuration (``benchmark.run.config.RunConfig``): built from flags and a ``--config`` file's
``run:`` options (flag > file > default), checked when built (one line naming the flag, or the file and key), and
the result's ``config`` section and hash unchanged, so finished results stay up to date."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from benchmark.core.record import Budget
from benchmark.errors import BenchmarkError
from benchmark.results.files import config_hash
from benchmark.run.config import RUN_FILE_KEYS, RunConfig, read_config
from conftest import ROOT

LEADERBOARD_RESULTS = ROOT / "leaderboard" / "results"
CONLL_BUDGET = Budget(epochs=3, learning_rate=5e-05, batch_size=32)  # conll2003's default budget


def _file(tmp_path: Path, text: str, name: str = "run.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# ------------------------------------------------------------------------------------ config section and hash
# Hashes computed by the code before RunConfig existed (benchmark.run.pipeline.run with the same options, config_hash
# captured): a changed value would make every rerun train again instead of skipping finished tasks. Length-grouped
# batches were the default then (random since 2026-12-05): those runs name them.
GROUPED = {"batching": "grouped"}


@pytest.mark.parametrize(
    ("options", "budget", "expected"),
    [
        (GROUPED, CONLL_BUDGET, "5135f328b56a7ebb"),  # a default run of conll2003 then
        (
            {**GROUPED, "device": "cpu", "save_models": True, "dry_run": False},
            CONLL_BUDGET,
            "5135f328b56a7ebb",
        ),  # not hashed
        (
            GROUPED,
            Budget(epochs=3, learning_rate=5e-05, batch_size=8),
            "888bab77f41b8061",
        ),  # gonerd's default
        (GROUPED, Budget(epochs=3, learning_rate=2e-05, batch_size=32), "c85d88aad62d610e"),  # glue's default
        ({**GROUPED, "eval_only": True}, CONLL_BUDGET, "1868ca7c65d75185"),
        (
            {"dtype": "bfloat16", "batching": "random", "attn_implementation": "sdpa", "compile_model": True},
            CONLL_BUDGET,
            "577cfb6b40fc053e",
        ),
    ],
)
def test_config_hash_is_the_one_of_the_code_before(options, budget, expected):
    cfg = RunConfig.from_options(**options)
    section = cfg.result_config(budget, tokenizer=None)
    # the one key added since (mega-batches of 16, benchmark.encode.batching): only runs that train length-grouped
    # batches have it, so exactly those hash differently from results trained with 50 and rerun
    trains_grouped = options["batching"] == "grouped" and not options.get("eval_only")
    assert section.pop("megabatch_factor", None) == (16 if trains_grouped else None)
    assert config_hash(section) == expected
    assert section["train_batches"] == ("random" if options.get("batching") == "random" else "length_grouped")


def test_random_batches_are_the_default():
    """Since 2026-12-05 a run trains on random batches unless it asks for grouped ones (grouping cost about 1 F1 on
    CoNLL-2003 at batch 32): the default hashes as an explicit --batching random, and unlike grouped batches."""
    default = RunConfig.from_options()
    assert default.batching == "random"
    section = default.result_config(CONLL_BUDGET, tokenizer=None)
    assert section["train_batches"] == "random" and "megabatch_factor" not in section
    explicit = RunConfig.from_options(batching="random").result_config(CONLL_BUDGET, tokenizer=None)
    grouped = RunConfig.from_options(**GROUPED).result_config(CONLL_BUDGET, tokenizer=None)
    assert config_hash(section) == config_hash(explicit) != config_hash(grouped)


def test_default_budget_and_options_hash_as_before(tmp_path):
    assert RunConfig().result_config(RunConfig().budget("conll2003"), tokenizer=None) == {
        "budget": {**CONLL_BUDGET.to_dict()},
        "limit": None,
        "eval_only": False,
        "seed": 42,
        "max_length": None,
        "tokenizer": None,
        "data_dir": None,
        "train_batches": "random",  # length_grouped, with megabatch_factor 16, before 2026-12-05
    }
    cfg = RunConfig.from_options(
        data_dir=str(tmp_path), seed=0, limit=16, max_length=128, epochs=1, batch_size=4,
        learning_rate=1e-4, max_train_examples=50, batching="grouped",
    )  # fmt: skip
    section = cfg.result_config(cfg.budget("squad"), tokenizer="tok")
    assert section["data_dir"] == str(tmp_path.resolve())  # recorded as an absolute path, as before
    section["data_dir"] = "/tmp"  # the directory the reference hash was computed with
    assert section.pop("megabatch_factor") == 16  # added since the reference hash
    assert config_hash(section) == "32f09d3051905de8"
    assert cfg.result_config(cfg.budget("squad"), tokenizer="tok", processes=2)["num_processes"] == 2


def test_leaderboard_results_hash_the_same_with_run_config():
    """Every seeded leaderboard result written since --batching existed: the RunConfig of its recorded options
    gives the recorded config section and config hash (so `benchmark run` skips it as before)."""
    checked = 0
    for path in sorted(LEADERBOARD_RESULTS.glob("*/*.json")):
        record = json.loads(path.read_text())
        config = record.get("config")
        if not isinstance(config, dict) or "train_batches" not in config:
            continue  # speed.json, model.json, or written before --batching (its hash came from older code)
        batching = {"length_grouped": "grouped", "random": "random"}[config["train_batches"]]
        cfg = RunConfig(
            limit=config["limit"], eval_only=config["eval_only"], seed=config["seed"],
            max_length=config["max_length"], batching=batching, dtype=config.get("dtype", "float32"),
            attn_implementation=config.get("attn_implementation"),
            compile_model=config.get("compile_model", False), save_models=config["save_models"],
                seeds=config.get("seeds"),
        )  # fmt: skip
        section = cfg.result_config(Budget(**config["budget"]), tokenizer=config["tokenizer"])
        section["data_dir"] = config["data_dir"]  # a directory of the machine that ran it
        if "megabatch_factor" not in config:  # trained before mega-batches of 16 (with 50): no such key
            section.pop("megabatch_factor", None)
        assert {**section, "device": config["device"], "save_models": cfg.save_models} == config, path
        assert config_hash(section) == record["config_hash"], path
        checked += 1
    assert checked >= 6  # the mini reproduction: 4 CoNLL-2003 and 2 GONERD results


# ------------------------------------------------------------------------------------------ precedence
def test_flag_over_file_over_default(tmp_path):
    path = _file(
        tmp_path,
        "epochs: 2\nrun:\n  dtype: bfloat16\n  batching: grouped\n  seed: 7\n  compile: true\n"
        "  max_length: 64\n  device: cpu\n  attn_implementation: eager\n",
    )
    cfg = RunConfig.from_options(config=path, seed=3, batching=None, output="out")
    assert (cfg.seed, cfg.batching, cfg.dtype, cfg.compile_model, cfg.max_length) == (
        3,
        "grouped",
        "bfloat16",
        True,
        64,
    )
    assert (cfg.device, cfg.attn_implementation, cfg.output) == ("cpu", "eager", "out")
    assert cfg.from_file == {
        "batching",
        "dtype",
        "compile_model",
        "max_length",
        "device",
        "attn_implementation",
    }
    assert cfg.budget("conll2003").epochs == 2  # the file's budgets still apply
    assert RunConfig.from_options(config=path, epochs=1).budget("conll2003").epochs == 1
    flags = RunConfig.from_options(config=path, batching="random", dtype="float32", compile_model=False)
    assert (flags.batching, flags.dtype, flags.compile_model, flags.seed) == ("random", "float32", False, 7)
    default = RunConfig.from_options()
    assert (default.seed, default.batching, default.dtype, default.compile_model) == (
        42,
        "random",
        "float32",
        False,
    )
    assert default.device == "auto" and default.from_file == frozenset()
    assert read_config(path)["run"]["compile"] is True and set(RUN_FILE_KEYS) >= set(read_config(path)["run"])
    # a file's run options alone: the result's config says what was used, not where it came from
    only_file = RunConfig.from_options(config=_file(tmp_path, '{"run": {"batching": "random"}}', "b.json"))
    assert only_file.result_config(CONLL_BUDGET, tokenizer=None)["train_batches"] == "random"


def test_run_and_run_models_keep_their_keyword_arguments(tmp_path):
    """Scripts call ``run(model, tasks, **options)``; an unknown option is a TypeError as before."""
    from benchmark.run.pipeline import _run_config

    cfg = _run_config(None, {"seed": 5, "dtype": "bfloat16"})
    assert (cfg.seed, cfg.dtype) == (5, "bfloat16")
    assert _run_config(cfg, {}) is cfg
    with pytest.raises(TypeError, match="not both"):
        _run_config(cfg, {"seed": 1})
    with pytest.raises(TypeError, match=r"unknown run option.*colour"):
        _run_config(None, {"colour": "red"})


# ------------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("run: {dtype: int8}\n", "run.dtype must be one of float32, bfloat16, float16, got 'int8'"),
        ("run: {colour: red}\n", "run.colour: unknown run option; known: attn_implementation, batching,"),
        ("run: {limit: 3}\n", "run.limit: unknown run option"),  # what to run on stays on the command line
        ("run: {seed: -1}\n", "run.seed must be between 0 and 2**32 - 1, got -1"),
        ("run: {seed: abc}\n", "run.seed must be an integer, got 'abc'"),
        ("run: {seed: true}\n", "run.seed must be an integer, got True"),
        ("run: {compile: maybe}\n", "run.compile must be true or false, got 'maybe'"),
        ("run: {batching: sorted}\n", "run.batching must be one of grouped, random, got 'sorted'"),
        ("run: {max_length: 8}\n", "run.max_length must be at least 16 tokens, got 8"),
        ("run: {device: toaster}\n", "run.device 'toaster' is not a device"),
        ("run: {attn_implementation: magic}\n", "run.attn_implementation magic: not one of eager, sdpa"),
        ("run: {dtype: [1]}\n", "run.dtype must be a string, got [1]"),
        ("run: [dtype]\n", "'run' must map run options to values"),
        ("run: {seeds: [0, 0]}\n", "run.seeds lists a seed twice: [0, 0]"),
        ("run: {seeds: 3}\n", "run.seeds must be a non-empty list of integers, got 3"),
        ("run: {seeds: [1, x]}\n", "run.seeds must be a list of integers, got 'x' in it"),
        ("run: {seed: 1, seeds: [0, 1]}\n", "run.seed and run.seeds both given; keep one of them"),
    ],
)
def test_a_bad_file_value_is_one_line_naming_file_and_key(tmp_path, text, message):
    path = _file(tmp_path, text)
    with pytest.raises(BenchmarkError) as info:
        RunConfig.from_options(config=path)
    assert str(info.value) == f"--config {path}: {message}" or str(info.value).startswith(
        f"--config {path}: {message}"
    ), str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"seed": -1}, "--seed must be between 0 and 2**32 - 1, got -1"),
        ({"limit": 0}, "--limit must be a positive number of examples, got 0"),
        ({"max_length": 8}, "--max-length must be at least 16 tokens, got 8"),
        ({"batching": "sorted"}, "--batching must be one of grouped, random, got 'sorted'"),
        ({"compile_model": "yes"}, "--compile must be true or false, got 'yes'"),
        ({"epochs": float("nan")}, "--epochs must be a finite number >= 0, got nan"),
        ({"batch_size": 0}, "--batch-size must be a positive integer, got 0"),
        ({"data_dir": "/no/such/dir"}, "--data-dir /no/such/dir: no such directory"),
        ({"attn_implementation": "magic"}, "--attn-implementation magic: not one of"),
        ({"seeds": [-1]}, "--seeds must be between 0 and 2**32 - 1, got -1"),
        ({"seeds": []}, "--seeds must be a non-empty list of integers, got []"),
        ({"seed": 1, "seeds": [0, 1]}, "--seed and --seeds both given; pass one of them"),
    ],
)
def test_a_bad_flag_is_one_line_naming_the_flag(options, message):
    with pytest.raises(BenchmarkError) as info:
        RunConfig.from_options(**options)
    assert str(info.value).startswith(message), str(info.value)


def test_a_value_refused_at_run_time_names_the_file_when_it_came_from_there(tmp_path):
    """float16 is refused once the device is known (on CPU): the error names the file's key, not a flag."""
    from benchmark.model.precision import check_dtype

    path = _file(tmp_path, "run: {dtype: float16}\n")
    cfg = RunConfig.from_options(config=path)
    with pytest.raises(BenchmarkError) as info, cfg.blame("dtype"):
        check_dtype(cfg.dtype, torch.device("cpu"))
    assert (
        str(info.value)
        == f"--config {path}: run.dtype float16 is not supported on CPU; use bfloat16 (or float32)"
    )
    flagged = RunConfig.from_options(config=path, dtype="float16")  # the flag's value: the flag's message
    with (
        pytest.raises(BenchmarkError, match=r"^--dtype float16 is not supported on CPU"),
        flagged.blame("dtype"),
    ):
        check_dtype(flagged.dtype, torch.device("cpu"))


def test_cli_bad_run_option_in_config_is_one_line_before_any_model(tmp_path, capsys):
    from benchmark.cli import main

    path = _file(tmp_path, "run: {batching: sorted}\n")
    code = main(
        ["run", "--model", str(tmp_path / "no-model"), "--config", str(path), "--output", str(tmp_path / "o")]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == [
        f"benchmark: error: --config {path}: run.batching must be one of grouped, random, got 'sorted'"
    ]
    assert not (tmp_path / "o").exists()


def test_seeds_from_the_file_or_the_flag(tmp_path):
    """``run.seeds`` in --config, a --seeds or --seed flag replacing the file's choice; the seeds to train with."""
    path = _file(tmp_path, "run: {seeds: [0, 1, 2]}\n")
    cfg = RunConfig.from_options(config=path)
    assert (
        cfg.seeds == (0, 1, 2) and cfg.seed_list() == [0, 1, 2] and cfg.where("seeds").endswith("run.seeds")
    )
    assert RunConfig.from_options(config=path, seed=7).seed_list() == [7]  # the flag wins over the file
    assert RunConfig.from_options(config=path, seeds=[5]).seed_list() == [5]
    assert RunConfig.from_options().seed_list() == [42] and RunConfig.from_options().seeds is None


# ------------------------------------------------------------------------------------- one declaration
def _run_parser():
    import argparse

    from benchmark.cli import build_parser

    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return subparsers.choices["run"]


def test_flags_and_config_keys_come_from_the_fields():
    """``benchmark run``'s flags and the ``run:`` keys of --config are made from RunConfig's fields: one flag per
    declared field, with its help, metavar, choices and type; the config keys are exactly the fields marked so,
    named like their flag; nothing else declares an option."""
    import argparse
    import dataclasses

    from benchmark.commands.run import FLAG_TYPES
    from benchmark.run.config import RUN_OPTIONS

    fields = {f.name: f for f in dataclasses.fields(RunConfig)}
    declared = {name for name, f in fields.items() if "option" in f.metadata}
    assert set(RUN_OPTIONS) == declared and {"config_file", "compile_model", "max_length"} <= declared
    actions = {a.dest: a for a in _run_parser()._actions}
    assert set(actions) - {"help", "model", "tasks", "include_path"} == declared  # model, tasks: not options
    for name, option in RUN_OPTIONS.items():
        meta, action = fields[name].metadata["option"], actions[name]
        assert [s for s in action.option_strings if not s.startswith("--no-")] == [option.flag], name
        assert option.flag == (meta["flag"] or "--" + name.replace("_", "-"))
        assert action.help == option.help_text() and option.help == meta["help"], name
        assert "%(" not in action.help.replace("%%", ""), name  # every placeholder filled in
        assert option.default == fields[name].default and action.default is None, (
            name
        )  # absent: file, default
        assert action.choices == option.choices == meta["choices"], name
        if option.kind == "bool":
            switch = argparse.BooleanOptionalAction if option.config_key else argparse._StoreTrueAction
            assert type(action) is switch, name
        else:
            assert action.type is FLAG_TYPES.get(option.kind) and action.metavar == meta["metavar"], name
    assert {
        option.flag.removeprefix("--").replace("-", "_"): name
        for name, option in RUN_OPTIONS.items()
        if fields[name].metadata["option"]["config"]
    } == RUN_FILE_KEYS
    assert set(RUN_FILE_KEYS) == {
        "device", "dtype", "attn_implementation", "compile", "batching", "seed", "seeds", "max_length",
    }  # fmt: skip
    listed = actions["config_file"].help.split("run options (", 1)[1].split(")", 1)[0]
    assert listed.split(", ") == list(RUN_FILE_KEYS)  # the --config help names exactly the keys
    assert "(default: 42)" in actions["seed"].help and "(default: no)" in actions["compile_model"].help


# a value of the wrong type or outside the choices, per kind; and a good one as a flag's argument and a file's value
BAD = {"int": "x", "bool": "maybe", "str": [1], "seeds": 3}
GOOD = {
    "int": ("64", 64),
    "seeds": ("0,1", [0, 1]),
    "device": ("cpu", "cpu"),
    "attn_implementation": ("sdpa",) * 2,
}


def test_a_config_key_and_its_flag_share_type_choices_and_default(tmp_path):
    """Each ``run:`` key takes what its flag takes, to the same value, refuses what the flag's value is refused for
    with the same words, and left out gives the same default."""
    from benchmark.run.config import RUN_OPTIONS

    parser = _run_parser()
    none_given = vars(parser.parse_args(["--model", "m"]))
    absent = RunConfig.from_options(**{n: none_given[n] for n in RUN_OPTIONS if n != "config_file"})
    assert absent == RunConfig()
    for key, name in RUN_FILE_KEYS.items():
        option = RUN_OPTIONS[name]
        if option.choices:
            value = next(choice for choice in option.choices if choice != option.default)
            argv = [option.flag, value]
        elif option.kind == "bool":
            argv, value = [option.flag], True
        else:
            text, value = GOOD.get(key) or GOOD[option.kind]
            argv = [option.flag, text]
        given = vars(parser.parse_args(["--model", "m", *argv]))
        by_flag = RunConfig.from_options(**{name: given[name]})
        path = _file(tmp_path, json.dumps({"run": {key: value}}), f"{key}.json")
        by_file = RunConfig.from_options(config=path)
        assert getattr(by_flag, name) == getattr(by_file, name) != option.default, key
        bad = "nope" if option.choices else BAD[option.kind]
        with pytest.raises(BenchmarkError) as flag_error:
            RunConfig.from_options(**{name: bad})
        path = _file(tmp_path, json.dumps({"run": {key: bad}}), f"{key}-bad.json")
        with pytest.raises(BenchmarkError) as file_error:
            RunConfig.from_options(config=path)
        problem = str(flag_error.value).removeprefix(option.flag + " ")
        assert str(flag_error.value) == f"{option.flag} {problem}", key
        assert str(file_error.value) == f"--config {path}: run.{key} {problem}", key


def test_the_plan_the_run_and_the_dry_run_follow():
    """:meth:`RunConfig.plan`: per sub-task (GLUE's) the splits trained on and evaluated and their caps; training a
    task without a training split is refused before anything runs."""
    import dataclasses

    from benchmark.tasks.registry import get_task

    glue = get_task("glue")
    cfg = RunConfig.from_options(limit=100)
    plans = cfg.plan(glue, Budget(epochs=1, learning_rate=1e-5, batch_size=8, max_train_examples=50))
    assert [p.spec.name for p in plans] == [sub.name for sub in glue.subtasks]
    assert all(p.prefix == f"{p.spec.name}/" and p.train_split == p.spec.train_split for p in plans)
    assert {(p.train_limit, p.eval_limit) for p in plans} == {(50, 100)}  # the smaller cap trains
    assert [p.eval_splits for p in plans] == [tuple(sub.eval_splits) for sub in glue.subtasks]
    (conll,) = RunConfig.from_options(eval_only=True).plan(get_task("conll2003"), CONLL_BUDGET)
    assert (conll.prefix, conll.train_split, conll.train_limit, conll.eval_limit) == ("", None, None, None)
    untrainable = dataclasses.replace(get_task("conll2003"), train_split=None)
    with pytest.raises(
        BenchmarkError, match=r"^task 'conll2003' has no training split; run it with --eval-only"
    ):
        RunConfig().plan(untrainable, CONLL_BUDGET)
    assert RunConfig.from_options(eval_only=True).plan(untrainable, CONLL_BUDGET)[0].train_split is None
