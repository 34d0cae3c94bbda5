"""``benchmark speed``: inference time and peak memory of an encoder at several input lengths."""

from __future__ import annotations

import argparse
import json
import math
import sys

from ..errors import BenchmarkError
from ..speed import DEFAULT_LENGTHS, DTYPES, format_speed_table, parse_lengths, run_speed, write_speed_result
from ..timing import TimingConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``speed`` sub-command."""
    parser = subparsers.add_parser(
        "speed",
        help="measure inference time and peak memory at several input lengths",
        description=(
            "Measure an encoder (AutoModel, no task head) on synthetic inputs of exactly each length: warm-up, "
            "then timed forward calls (CUDA events on GPU, wall clock on CPU) and peak memory. Lengths beyond "
            "the model's positions are reported as skipped."
        ),
    )
    parser.add_argument(
        "--model", required=True, help="model directory (config.json + weights), Hub id, or baseline:NAME"
    )
    parser.add_argument(
        "--revision", default=None, metavar="REV", help="Hub branch, tag or commit (default: main)"
    )
    parser.add_argument(
        "--lengths",
        default=",".join(map(str, DEFAULT_LENGTHS)),
        help="comma-separated input lengths in tokens (default: %(default)s)",
    )
    parser.add_argument("--batch-size", type=int, default=1, help="sequences per forward call (default: 1)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    parser.add_argument(
        "--dtype", default="float32", choices=sorted(DTYPES), help="weights dtype (default: float32)"
    )
    parser.add_argument("--warmup", type=int, default=2, help="untimed forward calls per length (default: 2)")
    parser.add_argument(
        "--iterations", type=int, default=5, help="minimum timed calls per length (default: 5)"
    )
    parser.add_argument(
        "--min-seconds",
        type=float,
        default=0.0,
        help="keep timing each length at least this long (default: 0)",
    )
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice)")
    parser.add_argument("--output", metavar="DIR", help="also write DIR/speed.json")
    parser.add_argument(
        "--trust-remote-code", action="store_true", help="allow models that ship their own code"
    )
    parser.add_argument("--json", action="store_true", help="print the JSON result instead of the table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Parse, measure, print; exit 0 when at least one length was measured, 1 when every length was skipped."""
    lengths = parse_lengths(args.lengths)
    for flag, value, least in (("--warmup", args.warmup, 0), ("--iterations", args.iterations, 1)):
        if value < least:
            raise BenchmarkError(f"{flag} must be an integer >= {least}, got {value}")
    if not (math.isfinite(args.min_seconds) and args.min_seconds >= 0):
        raise BenchmarkError(f"--min-seconds must be a finite number >= 0, got {args.min_seconds}")
    config = TimingConfig(warmup=args.warmup, min_iterations=args.iterations, min_seconds=args.min_seconds)
    result = run_speed(
        args.model,
        lengths=lengths,
        batch_size=args.batch_size,
        device=args.device,
        dtype=args.dtype,
        config=config,
        trust_remote_code=args.trust_remote_code,
        threads=args.threads,
        revision=args.revision,
    )
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_speed_table(result))
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
                f"benchmark: no requested length fits {args.model} (max {result.max_input_length} tokens)",
                file=sys.stderr,
            )
        return 1
    return 0
