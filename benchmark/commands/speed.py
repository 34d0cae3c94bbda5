"""``benchmark speed``: inference time and peak memory of an encoder at several input lengths."""

from __future__ import annotations

import argparse
import json
import math
import sys

from ..core.record import TimingConfig
from ..errors import BenchmarkError
from ..timing.paired import MIN_REPETITIONS
from ..timing.speed import (
    DEFAULT_LENGTHS,
    DEFAULT_MAX_BATCH,
    DEFAULT_VARIABLE_LENGTHS,
    DTYPES,
    PROTOCOLS,
    format_paired_table,
    format_speed_table,
    parse_lengths,
    run_speed,
    run_speed_paired,
    write_paired_results,
    write_speed_result,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``speed`` sub-command."""
    parser = subparsers.add_parser(
        "speed",
        help="measure inference time and peak memory at several input lengths",
        description=(
            "Measure an encoder (AutoModel, no task head) on synthetic inputs of each length: warm-up, "
            "then timed forward calls (CUDA events on GPU, wall clock on CPU) and peak memory. Lengths beyond "
            "the model's positions are reported as skipped. Several --model are timed interleaved in one "
            "process (A, B, A, B ...) and compared: median, interquartile range, ratio with a bootstrap interval."
        ),
    )
    parser.add_argument(
        "--model",
        required=True,
        nargs="+",
        help="model directory (config.json + weights), Hub id, or baseline:NAME; several: paired timing, "
        "ratios against the first",
    )
    parser.add_argument(
        "--protocol",
        default="fixed",
        choices=PROTOCOLS,
        help="fixed: every sequence exactly the length; variable: lengths drawn around length/2, largest "
        "batch that fits, tokens/s of real tokens (default: fixed)",
    )
    parser.add_argument(
        "--revision", default=None, metavar="REV", help="Hub branch, tag or commit (default: main)"
    )
    parser.add_argument(
        "--lengths",
        default=None,
        help="comma-separated input lengths in tokens (default: "
        f"{','.join(map(str, DEFAULT_LENGTHS))}; variable protocol: the longest a sequence may be, "
        f"{','.join(map(str, DEFAULT_VARIABLE_LENGTHS))})",
    )
    parser.add_argument(
        "--batch-size", type=int, default=1, help="sequences per forward call, fixed protocol (default: 1)"
    )
    parser.add_argument(
        "--max-batch-size",
        type=int,
        default=None,
        help="variable protocol: probing for the largest batch stops here (default: "
        + ", ".join(f"{k} {v}" for k, v in DEFAULT_MAX_BATCH.items())
        + ")",
    )
    parser.add_argument(
        "--attn-implementation",
        default=None,
        metavar="NAME",
        help="attention implementation to request (sdpa, eager, ...); a model that cannot use it runs its "
        "default, and the output names the difference (default: what transformers picks)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the inputs and the bootstrap (default: 0)"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    parser.add_argument(
        "--dtype", default="float32", choices=sorted(DTYPES), help="weights dtype (default: float32)"
    )
    parser.add_argument("--warmup", type=int, default=2, help="untimed forward calls per length (default: 2)")
    parser.add_argument(
        "--iterations",
        type=int,
        default=None,
        help=f"minimum timed calls per length (default: 5); with several models the repetitions of each "
        f"(at least and default {MIN_REPETITIONS})",
    )
    parser.add_argument(
        "--min-seconds",
        type=float,
        default=0.0,
        help="keep timing each length at least this long (default: 0)",
    )
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice)")
    parser.add_argument(
        "--output",
        metavar="DIR",
        help="also write DIR/speed.json (several models: DIR/<model>/speed.json each)",
    )
    parser.add_argument(
        "--trust-remote-code", action="store_true", help="allow models that ship their own code"
    )
    parser.add_argument("--json", action="store_true", help="print the JSON result instead of the table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Parse, measure, print; exit 0 when at least one length was measured, 1 when every length was skipped."""
    from ..model.precision import check_attn_implementation

    lengths = parse_lengths(args.lengths) if args.lengths is not None else None
    paired = len(args.model) > 1
    iterations = args.iterations if args.iterations is not None else (MIN_REPETITIONS if paired else 5)
    for flag, value, least in (("--warmup", args.warmup, 0), ("--iterations", iterations, 1)):
        if value < least:
            raise BenchmarkError(f"{flag} must be an integer >= {least}, got {value}")
    if not (math.isfinite(args.min_seconds) and args.min_seconds >= 0):
        raise BenchmarkError(f"--min-seconds must be a finite number >= 0, got {args.min_seconds}")
    check_attn_implementation(args.attn_implementation)
    common = dict(
        lengths=lengths,
        batch_size=args.batch_size,
        device=args.device,
        dtype=args.dtype,
        trust_remote_code=args.trust_remote_code,
        threads=args.threads,
        seed=args.seed,
        protocol=args.protocol,
        max_batch_size=args.max_batch_size,
        attn_implementation=args.attn_implementation,
    )
    if paired:
        if args.revision:
            raise BenchmarkError("--revision applies to one --model; pin each Hub model in its own run")
        if args.min_seconds:
            raise BenchmarkError(
                "--min-seconds applies to one --model; several are timed --iterations rounds"
            )
        both = run_speed_paired(args.model, warmup=args.warmup, repetitions=iterations, **common)
        if args.json:
            print(json.dumps([r.to_dict() for r in both.results], indent=2, ensure_ascii=False))
        else:
            print(format_paired_table(both))
        if both.load.warning and args.json:  # the table prints it
            print(both.load.warning, file=sys.stderr)
        if args.output:
            for path in write_paired_results(both, args.output):
                print(f"wrote {path}", file=sys.stderr)
        if not both.measured:
            print("benchmark: no requested length fits every model", file=sys.stderr)
            return 1
        return 0
    config = TimingConfig(warmup=args.warmup, min_iterations=iterations, min_seconds=args.min_seconds)
    result = run_speed(args.model[0], config=config, revision=args.revision, **common)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_speed_table(result))
    if result.load is not None and result.load.warning and args.json:  # the table prints it
        print(result.load.warning, file=sys.stderr)
    if args.output:
        path = write_speed_result(result, args.output)
        print(f"wrote {path}", file=sys.stderr)
    if not result.measured:
        memory = [e for e in result.entries if e.reason and e.reason.startswith("out of memory")]
        if memory:
            print(
                f"benchmark: no length measured: {memory[0].length}: {memory[0].reason}; try a smaller --batch-size",
                file=sys.stderr,
            )
        else:
            print(
                f"benchmark: no requested length fits {args.model[0]} (max {result.max_input_length} tokens)",
                file=sys.stderr,
            )
        return 1
    return 0
