"""``benchmark run``: parse arguments, call :func:`benchmark.run.pipeline.run`, print the result files."""

from __future__ import annotations

import argparse

EPILOG = """\
Each task fine-tunes the model on its training split with a per-task budget (see benchmark/core/budget.py), predicts
its evaluation splits, scores them and times inference; results go to OUTPUT/<model-slug>/<task>.json with the
predictions beside them. A rerun skips tasks whose result is up to date and resumes an interrupted run.

examples:
  benchmark run --model ./my-encoder --tasks conll2003,squad --limit 200
  benchmark run --model org/encoder --eval-only --tasks gonerd          # a checkpoint already fine-tuned
  benchmark run --model baseline:longformer --config budgets.yaml
  benchmark run --model baseline:distil-bigbird baseline:bigbird --tasks gonerd   # a student and its teacher
  benchmark run --model baseline:all --trust-remote-code                        # every bundled baseline
  benchmark run --model org/encoder --revision v1.0                             # a pinned Hub revision
  benchmark run --model ./my-encoder --dry-run                  # per task: examples, tokens, steps, est. time
  benchmark run --model ./my-encoder --dtype bfloat16 --attn-implementation sdpa  # recorded in each result
  benchmark run --model ./my-encoder --seeds 0,1,2       # mean, sd, n, min, max and a 95% bootstrap interval

several processes (accelerate launch or torchrun; with --device auto each process takes the GPU it is given):
  accelerate launch --multi_gpu --num_processes 4 -m benchmark.cli run --model ./my-encoder --tasks squad
  # tested on CPU (2 processes over gloo; accelerate's --cpu flag would start only one process):
  accelerate launch --multi_gpu --num_processes 2 --num_machines 1 --mixed_precision no --dynamo_backend no \\
    -m benchmark.cli run --model DIR --tasks conll2003 --data-dir DIR --limit 8 --epochs 1 --batch-size 4 \\
    --device cpu --output runs
  Fine-tuning is data-parallel over all processes (--batch-size is per process, so an epoch takes 1/N of the
  steps; the result's training section records num_processes). Prediction, scoring, timing (single-process, so
  it compares with a plain run) and all files and progress lines are rank 0's alone; the other processes wait
  (up to GONERD_BENCH_WAIT_TIMEOUT seconds, default 6 h) and stop with rank 0's error if it fails.
"""


def _tasks(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list of task names")
    return names


def _seeds(value: str) -> list[int]:
    try:
        seeds = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {value!r}") from None
    if not seeds:
        raise argparse.ArgumentTypeError("expected comma-separated integers (e.g. 0,1,2)")
    return seeds


# How a run option's kind (benchmark.run.config.RunOption) is read from the command line.
FLAG_TYPES = {"int": int, "float": float, "seeds": _seeds}


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """One flag per run option, as its :class:`benchmark.run.config.RunConfig` field declares it. A flag left out
    is None, so the ``--config`` file's value, else the field's default, applies; a switch the file can set has
    a ``--no-`` form too."""
    from ..run.config import RUN_OPTIONS

    for option in RUN_OPTIONS.values():
        kwargs = {"dest": option.name, "default": None, "help": option.help_text()}
        if option.kind == "bool":
            kwargs["action"] = argparse.BooleanOptionalAction if option.config_key else "store_true"
        else:
            kwargs.update(type=FLAG_TYPES.get(option.kind), metavar=option.metavar, choices=option.choices)
        parser.add_argument(option.flag, **kwargs)


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..tasks.registry import task_count

    parser = subparsers.add_parser(
        "run",
        help="fine-tune and evaluate a model on the benchmark tasks",
        description="Run an encoder through the gonerd-bench tasks: fine-tune, predict, score, time.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add(
        "--model",
        required=True,
        nargs="+",
        metavar="PATH",
        help="local model directory, Hub id, or baseline:NAME; several run one after another, and "
        "baseline:all|students|teachers|references expands to those registry entries",
    )
    add(
        "--tasks",
        type=_tasks,
        default=None,
        metavar="A,B",
        help=f"comma-separated task names (default: all {task_count()}, and those of --include-path)",
    )
    add_run_options(parser)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import sys

    from ..distributed import is_main_process
    from ..model.model_source import expand_models
    from ..run.config import RUN_OPTIONS, RunConfig
    from ..run.pipeline import run, run_models

    # Flags left out are None: the --config file's run options apply there, then the defaults.
    cfg = RunConfig.from_options(
        config=args.config_file,
        **{name: getattr(args, name) for name in RUN_OPTIONS if name != "config_file"},
    )
    models = expand_models(args.model)
    if len(models) == 1:
        paths, failed = run(models[0], args.tasks, run_config=cfg), {}
    else:
        paths, failed = run_models(models, args.tasks, run_config=cfg)
    if not is_main_process():  # under accelerate launch / torchrun only rank 0 reports
        return 1 if failed else 0
    for path in paths:
        print(path)
    for model, error in failed.items():
        print(f"benchmark run: {model}: {error}", file=sys.stderr)
    if failed:
        print(f"benchmark run: {len(failed)} of {len(models)} models failed", file=sys.stderr)
    return 1 if failed else 0
