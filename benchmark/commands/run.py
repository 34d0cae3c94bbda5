"""``benchmark run``: parse arguments, call :func:`benchmark.run.run`, print the result files."""

from __future__ import annotations

import argparse

EPILOG = """\
Each task fine-tunes the model on its training split with a per-task budget (see benchmark/budget.py), predicts
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
        "--revision",
        default=None,
        metavar="REV",
        help="Hub branch, tag or commit of the model (default: main; baseline:NAME uses the registry's pin)",
    )
    add(
        "--tasks",
        type=_tasks,
        default=None,
        metavar="A,B",
        help=f"comma-separated task names (default: all {task_count()}, and those of --include-path)",
    )
    add("--limit", type=int, default=None, metavar="N", help="at most N examples per split (default: all)")
    add("--output", default="runs", metavar="DIR", help="results directory (default: %(default)s)")
    add(
        "--data-dir",
        default=None,
        metavar="DIR",
        help="read the official files from DIR/<task>/ (default: the Hub)",
    )
    add(
        "--seed",
        type=int,
        default=None,
        help="random seed for head initialisation and training (default: 42)",
    )
    add(
        "--seeds",
        type=_seeds,
        default=None,
        metavar="A,B,C",
        help="fine-tune once per seed (each kept under OUTPUT/<slug>/seeds/<seed>/, resumable per seed); each "
        "task's result then carries mean, sd, n, min and max over seeds and a 95%% bootstrap interval",
    )
    add(
        "--batch-size",
        type=int,
        default=None,
        metavar="N",
        help="training/eval batch size (default: per task)",
    )
    add("--device", default=None, help="auto, cpu, cuda or cuda:N (default: auto)")
    add(
        "--max-length",
        type=int,
        default=None,
        metavar="N",
        help="cap on input tokens, at most the model's positions (default: per task, within the model's)",
    )
    add(
        "--eval-only", action="store_true", help="the model is already fine-tuned for the task: skip training"
    )
    add(
        "--config",
        default=None,
        metavar="FILE",
        help="YAML/JSON file of budgets and, under run:, run options (device, dtype, attn_implementation, "
        "compile, batching, seed, seeds, max_length); flags override it (see benchmark/run_config.py)",
    )
    add(
        "--epochs",
        type=float,
        default=None,
        help="training epochs, 0 = evaluate the fresh head (default: per task)",
    )
    add(
        "--learning-rate",
        type=float,
        default=None,
        metavar="LR",
        help="peak learning rate (default: per task)",
    )
    add(
        "--max-train-examples",
        type=int,
        default=None,
        metavar="N",
        help="cap on training examples (default: per task)",
    )
    add("--trust-remote-code", action="store_true", help="allow models that ship their own modelling code")
    add("--tokenizer", default=None, metavar="PATH", help="tokenizer to use when the model has none")
    add(
        "--model-name",
        default=None,
        metavar="ID",
        help="id to file results under (default: MODEL, or a local directory's name); e.g. the Hub id of a local copy",
    )
    add("--save-models", action="store_true", help="keep fine-tuned checkpoints under OUTPUT/<slug>/models/")
    add(
        "--teacher",
        default=None,
        metavar="RUN",
        help="task distillation: the output folder (OUTPUT/<slug>) of a `benchmark run --save-models` of a "
        "fine-tuned teacher with the same tokenizer; its soft labels join the gold loss on each task it has a "
        "model for (tasks without one train as usual)",
    )
    add(
        "--distill-alpha",
        type=float,
        default=None,
        metavar="A",
        help="with --teacher: weight of the teacher's KL term; 1 - A weighs the gold loss (default: 0.5)",
    )
    add(
        "--distill-temperature",
        type=float,
        default=None,
        metavar="T",
        help="with --teacher: softmax temperature of the KL term, scaled by T^2 (default: 2.0)",
    )
    add(
        "--dtype",
        default=None,
        choices=("float32", "bfloat16", "float16"),
        help="mixed precision for training (the Trainer's bf16/fp16) and inference (autocast); float32, the "
        "default, compares with published numbers; float16 needs a GPU (default: float32)",
    )
    add(
        "--attn-implementation",
        default=None,
        metavar="NAME",
        help="attention kernel passed to from_pretrained: sdpa, eager, flash_attention_2, ... (default: what "
        "transformers picks); architectures with their own attention ignore it with a warning",
    )
    add(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="torch.compile the model for training and inference (default: no)",
    )
    add(
        "--batching",
        default=None,
        choices=("grouped", "random"),
        help="training batches: length-grouped (little padding) or drawn at random (seeded), as before grouping "
        "existed; recorded in each result (default: grouped)",
    )
    add(
        "--dry-run",
        action="store_true",
        help="print per task the examples, windows, tokens, padded positions, optimiser steps and an estimated "
        "wall time from a short calibration on this device; trains nothing, writes nothing",
    )
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import sys

    from ..distributed import is_main_process
    from ..model_source import expand_models
    from ..run import run, run_models
    from ..run_config import RunConfig

    # Flags left out are None: the --config file's run options apply there, then the defaults.
    cfg = RunConfig.from_options(
        output=args.output,
        data_dir=args.data_dir,
        limit=args.limit,
        eval_only=args.eval_only,
        seed=args.seed,
        seeds=args.seeds,
        batch_size=args.batch_size,
        device=args.device,
        max_length=args.max_length,
        config=args.config,
        trust_remote_code=args.trust_remote_code,
        tokenizer_from=args.tokenizer,
        model_name=args.model_name,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        max_train_examples=args.max_train_examples,
        save_models=args.save_models,
        revision=args.revision,
        dtype=args.dtype,
        attn_implementation=args.attn_implementation,
        compile_model=args.compile,
        dry_run=args.dry_run,
        batching=args.batching,
        teacher=args.teacher,
        distill_alpha=args.distill_alpha,
        distill_temperature=args.distill_temperature,
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
