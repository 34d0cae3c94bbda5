"""Models that ship their own modelling code (LSG does): refused without ``--trust-remote-code``, their own classes
with it.

LSG's config.json keeps ``model_type: roberta`` and adds an ``auto_map``; without ``trust_remote_code``
transformers then silently loads plain RoBERTa, which would benchmark another model. The stand-in here has the
same shape (tests/tiny_models.py: ``add_remote_code``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.results.files import load_result
from conftest import CONLL_LINKS, link_fixtures
from tiny_models import add_remote_code, build_tiny_model


@pytest.fixture(scope="module")
def lsg_like(tmp_path_factory) -> Path:
    return add_remote_code(build_tiny_model("roberta", tmp_path_factory.mktemp("remote") / "lsg-like"))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return link_fixtures(tmp_path_factory.mktemp("data"), CONLL_LINKS)


def test_transformers_would_silently_run_the_builtin_class(lsg_like):
    """Why the harness refuses: this is what loading without the flag gives."""
    from transformers import AutoModelForTokenClassification

    plain = AutoModelForTokenClassification.from_pretrained(
        str(lsg_like), trust_remote_code=False, num_labels=3
    )
    own = AutoModelForTokenClassification.from_pretrained(str(lsg_like), trust_remote_code=True, num_labels=3)
    assert type(plain).__name__ == "RobertaForTokenClassification"
    assert type(own).__name__ == "LSGLikeRobertaForTokenClassification"


def test_run_refuses_remote_code_without_the_flag(lsg_like, data_dir, tmp_path, capsys):
    capsys.readouterr()
    out = tmp_path / "out"
    args = [
        "run",
        "--model",
        str(lsg_like),
        "--tasks",
        "conll2003",
        "--data-dir",
        str(data_dir),
        "--output",
        str(out),
    ]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ships its own modelling code" in err[0] and "--trust-remote-code" in err[0]
    assert "LSGLikeRobertaForTokenClassification" in err[0]
    assert not out.exists()  # refused before anything was written


@pytest.mark.fixtures
def test_run_with_the_flag_uses_the_model_s_own_classes(lsg_like, data_dir, tmp_path):
    out = tmp_path / "out"
    args = ["run", "--model", str(lsg_like), "--tasks", "conll2003", "--data-dir", str(data_dir), "--output", str(out),
            "--limit", "4", "--epochs", "1", "--batch-size", "4", "--device", "cpu", "--trust-remote-code"]  # fmt: skip
    assert main(args) == 0
    record = load_result(out / "lsg-like" / "conll2003.json")
    assert record["model"]["model_class"] == "LSGLikeRobertaForTokenClassification"
    assert record["model"]["needs_remote_code"] is True and record["model"]["model_type"] == "roberta"


def test_speed_refuses_then_measures_the_own_class(lsg_like, capsys):
    capsys.readouterr()
    base = [
        "speed",
        "--model",
        str(lsg_like),
        "--lengths",
        "16",
        "--warmup",
        "0",
        "--iterations",
        "1",
        "--json",
    ]
    assert main(base) == 2
    assert "ships its own modelling code" in capsys.readouterr().err
    assert main([*base, "--trust-remote-code"]) == 0
    assert '"class": "LSGLikeRobertaModel"' in capsys.readouterr().out
