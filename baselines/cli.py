"""``baselines`` command line: list the bundled baselines, convert a checkpoint, distil a teacher.

    baselines list [--json]
    baselines convert --from PATH --to longformer|bigbird [--max-length 4096] --out DIR
    baselines distill --teacher PATH --student-layers N --corpus FILE [FILE ...] --out DIR [options]

User mistakes print one line ``baselines: error: ...`` and exit with status 2; nothing is written then.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from baselines.errors import BaselinesError
from gonerd.help_format import HelpFormatter


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="baselines",
        description="Distilled efficient-attention baselines: registry, convert (full -> efficient attention), "
        "distil (teacher -> student with fewer layers).",
        formatter_class=HelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ls = sub.add_parser("list", help="list the bundled baselines", formatter_class=HelpFormatter)
    ls.add_argument("--json", action="store_true", help="print the registry as JSON")
    ls.add_argument(
        "--role", choices=("student", "teacher", "reference", "encoder"), help="only entries of this role"
    )
    ls.add_argument(
        "--group",
        choices=("paper", "modern"),
        help="only the paper's models, or today's long-context encoders",
    )

    cv = sub.add_parser(
        "convert",
        help="turn a BERT/RoBERTa checkpoint into a Longformer or BigBird one",
        formatter_class=HelpFormatter,
    )
    cv.add_argument(
        "--from", dest="source", required=True, metavar="PATH", help="BERT or RoBERTa model directory"
    )
    cv.add_argument("--to", required=True, choices=("longformer", "bigbird"), help="target architecture")
    cv.add_argument("--max-length", type=int, default=4096, help="tokens the converted model accepts")
    cv.add_argument("--out", required=True, metavar="DIR", help="output directory (must be empty or absent)")
    cv.add_argument("--attention-window", type=int, default=512, help="Longformer local attention window")
    cv.add_argument("--block-size", type=int, default=64, help="BigBird block size")
    cv.add_argument("--num-random-blocks", type=int, default=3, help="BigBird random blocks")
    cv.add_argument("--atol", type=float, default=1e-4, help="tolerance of the equivalence check")
    cv.add_argument("--overwrite", action="store_true", help="replace a non-empty output directory")

    ds = sub.add_parser(
        "distill",
        help="distil a teacher into a student with fewer layers (DistilBERT, TinyBERT, MiniLMv2 terms)",
        formatter_class=HelpFormatter,
    )
    ds.add_argument("--teacher", required=True, metavar="PATH", help="teacher model directory")
    ds.add_argument("--student-layers", type=int, required=True, metavar="N", help="layers of the student")
    ds.add_argument(
        "--corpus", required=True, nargs="+", metavar="FILE", help="text or JSONL ('text' field) files"
    )
    ds.add_argument(
        "--out", required=True, metavar="DIR", help="output directory (student, report, checkpoints)"
    )
    ds.add_argument("--max-steps", type=int, default=1000, help="optimisation steps in total")
    ds.add_argument("--batch-size", type=int, default=8, help="sequences per step")
    ds.add_argument(
        "--max-length", type=int, default=512, help="tokens of a long chunk (short ones: a quarter)"
    )
    ds.add_argument("--lr", type=float, default=5e-4, help="peak AdamW learning rate")
    ds.add_argument("--warmup-steps", type=int, default=0, help="linear warm-up steps")
    ds.add_argument(
        "--objective",
        default=None,
        metavar="NAME:W,...",
        help="loss terms and their weights, e.g. hidden:1,attention-relations:1. Terms: mlm (masked LM), kl "
        "(KL on the MLM logits; needs a teacher with a trained MLM head), cos (1 - cos of the last hidden states), "
        "hidden (layer-wise hidden states, TinyBERT), attention-relations (MiniLMv2 Q-Q/K-K/V-V relations of one "
        "layer; runs both models with eager attention). Default: mlm:2,kl:5,cos:1 (DistilBERT) for a teacher "
        "with a trained MLM head, hidden:1,cos:1 for one without (said in one line)",
    )
    ds.add_argument(
        "--hidden-loss", choices=("mse", "cosine"), default="mse", help="distance of the hidden term"
    )
    ds.add_argument(
        "--hidden-layer-map",
        default=None,
        metavar="T0,T1,...",
        help="hidden term: the teacher layer (0-based, -1 = last) whose output each student layer learns; "
        "default: uniform (TinyBERT), student layer i of S -> teacher layer (i+1)*T/S-1",
    )
    ds.add_argument(
        "--relation-teacher-layer",
        type=int,
        default=-1,
        metavar="N",
        help="attention-relations: teacher layer (0-based, -1 = last; MiniLMv2 takes an upper-middle one "
        "for large teachers)",
    )
    ds.add_argument(
        "--relation-student-layer",
        type=int,
        default=-1,
        metavar="N",
        help="attention-relations: student layer",
    )
    ds.add_argument(
        "--relation-heads",
        type=int,
        default=None,
        metavar="N",
        help="attention-relations: relation heads (default: the teacher's attention heads)",
    )
    ds.add_argument(
        "--alpha-mlm", type=float, default=None, help="older form of --objective mlm:W (default 2)"
    )
    ds.add_argument(
        "--alpha-kl",
        type=float,
        default=None,
        help="older form of --objective kl:W (default 5; off without head)",
    )
    ds.add_argument(
        "--alpha-cos", type=float, default=None, help="older form of --objective cos:W (default 1)"
    )
    ds.add_argument("--temperature", type=float, default=2.0, help="softening temperature of the KL loss")
    ds.add_argument("--seed", type=int, default=0, help="random seed")
    ds.add_argument("--save-every", type=int, default=500, help="steps between checkpoints")
    ds.add_argument(
        "--log-every",
        type=int,
        default=1,
        metavar="N",
        help="steps per row of distill_report.json's history (each row: every term's mean over them)",
    )
    ds.add_argument(
        "--keep-checkpoints",
        type=int,
        default=2,
        metavar="N",
        help="newest checkpoints kept in OUT/checkpoints (older ones are deleted once a new one is complete)",
    )
    ds.add_argument(
        "--no-resume", dest="resume", action="store_false", help="do not resume from a checkpoint"
    )
    ds.add_argument("--overwrite", action="store_true", help="start afresh in a non-empty output directory")
    ds.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress bar")

    st = sub.add_parser(
        "student",
        help="write a student initialised from a teacher's layers, not distilled (a control)",
        formatter_class=HelpFormatter,
    )
    st.add_argument("--teacher", required=True, metavar="PATH", help="teacher model directory")
    st.add_argument("--student-layers", type=int, required=True, metavar="N", help="layers of the student")
    st.add_argument("--out", required=True, metavar="DIR", help="output directory (absent or empty)")
    st.add_argument("--seed", type=int, default=0, help="random seed (as for distill)")

    rp = sub.add_parser(
        "reproduce",
        help="the paper's student-vs-teacher comparison: convert, distill, benchmark, submit",
        description="Run the reproduction plan (see baselines/reproduce.py). A rerun resumes after the last "
        "finished step.",
        formatter_class=HelpFormatter,
    )
    rp.add_argument(
        "scale",
        choices=["mini", "paper", "modern"],
        help="mini: CPU, shared samples; paper: GPU + network; modern: today's encoders and half-depth students "
        "of ModernBERT-base (GPU + network)",
    )
    rp.add_argument(
        "--work", default=None, metavar="DIR", help="working folder (default: runs/reproduce-SCALE)"
    )
    rp.add_argument("--shared", default="../shared/fixtures", metavar="DIR", help="the shared data samples")
    rp.add_argument(
        "--leaderboard",
        default=None,
        metavar="DIR",
        help="leaderboard to submit to (default: mini WORK/leaderboard, a board of the run's own, so a rerun never "
        "meets the committed entries of the same models; paper and modern: leaderboard)",
    )
    rp.add_argument("--dry-run", action="store_true", help="print the plan; run and download nothing")
    rp.add_argument(
        "--report",
        action="store_true",
        help="print the retention table (students vs teachers) from the finished results; run nothing",
    )
    rp.add_argument(
        "--stop-after", default=None, metavar="STEP", help="stop after this step (a name the plan lists)"
    )
    return p


def _run(args: argparse.Namespace) -> int:
    if args.command == "list":
        from baselines.registry import format_table, load_registry

        entries = [
            e
            for e in load_registry()
            if (args.role is None or e.role == args.role) and (args.group is None or e.group == args.group)
        ]
        if args.json:
            print(json.dumps([e.to_dict() for e in entries], indent=2))
        else:
            print(format_table(entries))
        return 0
    if args.command == "convert":
        from baselines.convert import convert

        out = convert(
            args.source,
            args.to,
            args.max_length,
            args.out,
            attention_window=args.attention_window,
            block_size=args.block_size,
            num_random_blocks=args.num_random_blocks,
            overwrite=args.overwrite,
            atol=args.atol,
        )
        record = json.loads((out / "conversion.json").read_text(encoding="utf-8"))
        eq = record["equivalence"]
        status = "passed" if eq["passed"] else "FAILED"
        print(
            f"wrote {out} ({args.to}, {args.max_length} tokens); equivalence {status}: "
            f"max |diff| {eq['max_abs_diff']:.2e} on {eq['num_texts']} texts of <= {eq['max_tokens']} tokens"
        )
        return 0 if eq["passed"] else 1
    if args.command == "student":
        from baselines.distill import init_student

        out = init_student(args.teacher, args.student_layers, args.out, seed=args.seed)
        print(f"wrote {out}: {args.student_layers}-layer student of {args.teacher}, not distilled")
        return 0
    if args.command == "reproduce":
        from baselines.reproduce import build_plan, check_stop_after, describe, execute, mini_report

        work = Path(args.work or f"runs/reproduce-{args.scale}")
        if args.report:
            if args.scale != "mini":
                raise BaselinesError("--report: only the mini scale has a retention report")
            print(mini_report(work))
            return 0
        board = args.leaderboard or (work / "leaderboard" if args.scale == "mini" else "leaderboard")
        plan = build_plan(args.scale, work, shared=Path(args.shared), leaderboard=Path(board))
        check_stop_after(plan, args.stop_after)  # a dry run names a bad step too
        print(describe(plan))
        if not args.dry_run:
            execute(plan, stop_after=args.stop_after)
        return 0
    from baselines.distill import distill
    from baselines.objectives import format_objective

    report = distill(
        args.teacher,
        args.student_layers,
        args.corpus,
        args.out,
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        max_length=args.max_length,
        lr=args.lr,
        warmup_steps=args.warmup_steps,
        objective=args.objective,
        alpha_mlm=args.alpha_mlm,
        alpha_kl=args.alpha_kl,
        alpha_cos=args.alpha_cos,
        temperature=args.temperature,
        hidden_loss=args.hidden_loss,
        hidden_layer_map=args.hidden_layer_map,
        relation_teacher_layer=args.relation_teacher_layer,
        relation_student_layer=args.relation_student_layer,
        relation_heads=args.relation_heads,
        seed=args.seed,
        resume=args.resume,
        save_every=args.save_every,
        keep_checkpoints=args.keep_checkpoints,
        log_every=args.log_every,
        overwrite=args.overwrite,
        progress=args.progress,
    )
    n = min(5, len(report.history))
    print(
        f"wrote {report.out}: {report.student_layers}-layer student (teacher layers {report.layer_map}), "
        f"steps {report.start_step}->{report.final_step}, loss {report.mean_loss(first=n):.3f} -> "
        f"{report.mean_loss(last=n):.3f}, objective {format_objective(report.objective)}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``baselines`` console script; returns the exit status."""
    from gonerd.interrupt import run_command

    return run_command(
        lambda: _run(_parser().parse_args(argv)),
        prog="baselines",
        errors=BaselinesError,
        interrupted="baselines: interrupted",
    )


if __name__ == "__main__":
    sys.exit(main())
