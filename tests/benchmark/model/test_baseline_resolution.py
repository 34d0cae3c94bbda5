"""`benchmark run --model baseline:NAME` resolves registry entries before any download."""

from __future__ import annotations

import pytest

from benchmark.cli import main
from benchmark.errors import BenchmarkError
from benchmark.model.model_source import resolve_baseline


def test_baseline_resolves_hub_id_and_teacher_tokenizer():
    hub_id, tokenizer, _, _ = resolve_baseline(
        "baseline:distil-longformer", tokenizer_from=None, trust_remote_code=False
    )
    assert hub_id == "giant-oak/distil-longformer-base-4096"
    assert tokenizer == "allenai/longformer-base-4096"  # the student repository ships no tokenizer
    # an explicit --tokenizer wins over the registry
    assert (
        resolve_baseline("baseline:distil-longformer", tokenizer_from="x", trust_remote_code=False)[1] == "x"
    )


def test_plain_model_ids_pass_through():
    assert resolve_baseline("org/model", tokenizer_from=None, trust_remote_code=False) == (
        "org/model",
        None,
        None,
        None,
    )


def test_remote_code_baseline_needs_the_flag():
    with pytest.raises(BenchmarkError, match="--trust-remote-code"):
        resolve_baseline("baseline:distil-lsg", tokenizer_from=None, trust_remote_code=False)
    hub_id = resolve_baseline("baseline:distil-lsg", tokenizer_from=None, trust_remote_code=True).path
    assert hub_id == "giant-oak/distil-lsg-roberta-base-4096"


def test_unknown_baseline_is_one_line_exit_2(tmp_path, capsys):
    assert main(["run", "--model", "baseline:nope", "--tasks", "conll2003", "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown baseline" in err[0] and "distil-longformer" in err[0]
