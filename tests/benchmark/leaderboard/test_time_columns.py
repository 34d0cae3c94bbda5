"""The leaderboard's time columns: cost per 1,000 tokens at 512 and 4,096 tokens from speed.json (fixed protocol),
"—" with the reason otherwise, and the protocol stated under the table."""

from __future__ import annotations

import dataclasses
import json

import pytest

from benchmark.core.record import ResultRecord, SpeedLength, SpeedRecord, Timing
from benchmark.leaderboard.entries import Cost, Entry
from benchmark.leaderboard.views import render_html, render_markdown
from conftest import ROOT

BOARD = ROOT / "leaderboard" / "results" / "repro-mini__minilm-l6-bigbird4096"


def _entry(slug: str, speed: SpeedRecord | None) -> Entry:
    record = ResultRecord.from_dict(json.loads((BOARD / "conll2003.json").read_text(encoding="utf-8")))
    model = dataclasses.replace(record.model, model_id=f"org/{slug}")
    return Entry(slug, model, {"conll2003": record}, speed=speed)


def _speed(**changes) -> SpeedRecord:
    speed = SpeedRecord.from_dict(json.loads((BOARD / "speed.json").read_text(encoding="utf-8")))
    speed.model = dataclasses.replace(speed.model, max_input_length=4096)
    speed.lengths = [
        SpeedLength(
            length=512,
            status="ok",
            timing=Timing(device="cpu", latency_ms_per_example_median=25.6, n_tokens=1024, n_examples=2),
        ),
        SpeedLength(length=4096, status="skipped", reason="out of memory on cuda:0"),
    ]
    return dataclasses.replace(speed, **changes)


def test_cost_per_thousand_tokens_or_the_reason() -> None:
    fixed = _entry("fixed", _speed())
    assert fixed.cost(512) == Cost(pytest.approx(50.0))  # 25.6 ms per 512-token example
    assert fixed.cost(4096) == Cost(None, "out of memory")
    assert _entry("none", None).cost(512) == Cost(None, "no speed.json")
    assert _entry("variable", _speed(protocol="variable")).cost(512) == Cost(None, "variable protocol only")
    short = _speed()
    short.model = dataclasses.replace(short.model, max_input_length=512)
    short.lengths = short.lengths[:1]
    assert _entry("short", short).cost(4096) == Cost(None, "max 512 tokens")
    unmeasured = _speed()
    unmeasured.lengths = unmeasured.lengths[1:]
    assert _entry("unmeasured", unmeasured).cost(512) == Cost(None, "not measured")


def test_views_show_the_columns_the_reasons_and_the_protocol() -> None:
    entries = [_entry("fixed", _speed()), _entry("none", None)]
    text = render_markdown(entries, ["conll2003"])
    header = next(line for line in text.splitlines() if line.startswith("| Model"))
    assert "ms/1k tok @512 (fixed)" in header and "ms/1k tok @4096 (fixed)" in header
    assert "ms/example" not in header  # the mean over tasks that read different windows is gone
    fixed = next(line for line in text.splitlines() if "org/fixed" in line)
    assert "| 50.00 | — \\(out of memory\\) |" in fixed
    assert "— \\(no speed.json\\)" in next(line for line in text.splitlines() if "org/none" in line)
    assert "*Time columns* (fixed protocol)" in text and "exactly 512 and 4,096 real tokens" in text
    page = render_html(entries, ["conll2003"])
    assert 'data-key="time4096"' in page and 'data-value="50.0"' in page
    assert "— (no speed.json)" in page and "Time columns (fixed protocol)" in page
