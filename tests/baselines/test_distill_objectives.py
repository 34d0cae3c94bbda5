"""Issue #20: the terms of `baselines distill --objective` (TinyBERT hidden states, MiniLMv2 attention relations,
DistilBERT's MLM / KL / cosine), a teacher without an MLM head, and the per-term report."""

from __future__ import annotations

import json

import pytest
import torch

from baselines import objectives
from baselines.cli import main
from baselines.distill import _make_student, load_teacher, loss_terms
from baselines.errors import BaselinesError
from benchmark.model.recipe import read_recipe
from tiny_models import build_tiny_model, tiny_corpus

pytestmark = pytest.mark.usefixtures("one_torch_thread")
ALL_TERMS = "mlm:1,kl:1,cos:1,hidden:1,attention-relations:1"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("c") / "corpus.txt"
    path.write_text("\n\n".join(" ".join(tiny_corpus(400)[i : i + 20]) for i in range(0, 400, 20)))
    return path


@pytest.fixture(scope="module")
def mlm_teacher(tmp_path_factory):
    return build_tiny_model(
        "bert", tmp_path_factory.mktemp("t") / "bert", task="masked_lm", max_length=64, num_hidden_layers=4
    )


def _args(teacher, corpus, out, *extra: str) -> list[str]:
    args = ["distill", "--teacher", str(teacher), "--student-layers", "2", "--corpus", str(corpus)]
    return [*args, "--out", str(out), "--no-progress", "--max-length", "32", "--batch-size", "2", *extra]


def test_parse_objective_and_its_one_line_errors():
    assert objectives.parse_objective("hidden:1.0, attention-relations:0.5,cos:0") == {
        "hidden": 1.0,
        "attention-relations": 0.5,
    }
    assert objectives.format_objective({"hidden": 1.0, "cos": 0.5}) == "hidden:1,cos:0.5"
    for spec, message in (
        ("hidden", "is not NAME:WEIGHT"),
        ("hiden:1", "unknown term 'hiden'"),
        ("cos:x", "not a number"),
        ("cos:-1", "finite number >= 0"),
        ("cos:nan", "finite number >= 0"),
        ("cos:1,cos:2", "given twice"),
        ("cos:0", "no term with a weight > 0"),
    ):
        with pytest.raises(BaselinesError, match=message):
            objectives.parse_objective(spec)


def test_layer_maps():
    assert objectives.uniform_layer_map(6, 3) == [1, 3, 5]  # TinyBERT: the last layers meet
    assert objectives.uniform_layer_map(12, 4) == [2, 5, 8, 11]
    assert objectives.uniform_layer_map(4, 1) == [3]
    assert objectives.parse_layer_map("0,-1", 6, 2) == [0, 5]
    assert objectives.parse_layer_map(None, 4, 2) == [1, 3]
    with pytest.raises(BaselinesError, match="one teacher layer per student layer"):
        objectives.parse_layer_map("1,2,3", 6, 2)
    with pytest.raises(BaselinesError, match="layers 0-5"):
        objectives.parse_layer_map("1,6", 6, 2)


def test_hidden_loss_projects_where_the_widths_differ():
    states = lambda width, layers: tuple(torch.randn(2, 5, width) for _ in range(layers + 1))  # noqa: E731
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    narrow = objectives.HiddenStateLoss([1, 3], student_width=16, teacher_width=32, seed=0)
    assert narrow.projection.weight.shape == (32, 16) and narrow.projection.bias.shape == (32,)
    again = objectives.HiddenStateLoss([1, 3], student_width=16, teacher_width=32, seed=0)
    assert torch.equal(narrow.projection.weight, again.projection.weight)  # drawn from the seed
    loss = narrow(states(16, 2), states(32, 4), mask)
    assert loss.shape == () and loss > 0
    loss.backward()
    assert narrow.projection.weight.grad is not None
    same = objectives.HiddenStateLoss([0], student_width=32, teacher_width=32, kind="cosine")
    assert same.projection is None and list(same.parameters()) == []
    s = states(32, 1)
    assert float(same(s, s, mask)) == pytest.approx(0.0, abs=1e-6)
    # Padding does not count: states that differ only there have no loss.
    t = tuple(x.clone() for x in s)
    t[1][1, 3:] += 100.0
    assert float(same(s, t, mask)) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("kind", ["bert", "longformer"])
def test_qkv_capture_reads_the_layer_projections(tmp_path, kind):
    """Q/K/V come back as (batch, tokens, width) for the layer asked, also from Longformer's (tokens, batch)
    layout and its padding to the attention window."""
    from transformers import AutoModelForMaskedLM

    path = build_tiny_model(kind, tmp_path / kind, task="masked_lm", max_length=64, num_hidden_layers=3)
    model = AutoModelForMaskedLM.from_pretrained(path, attn_implementation="eager").eval()
    ids = torch.randint(5, 100, (2, 11))
    mask = torch.ones_like(ids)
    with objectives.QKVCapture(model, 1) as capture, torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        q, k, v = capture.states(2, 11)
    assert q.shape == k.shape == v.shape == (2, 11, 32)
    attention = objectives.encoder_layers(model)[1][1].attention.self
    layer_input = out.hidden_states[1][:, :11]
    assert torch.allclose(q, attention.query(layer_input), atol=1e-5)
    assert torch.allclose(v, attention.value(layer_input), atol=1e-5)
    assert not attention.query._forward_hooks  # the hooks are gone after the block


def test_relation_loss_is_zero_for_equal_states_and_ignores_padding():
    states = [torch.randn(2, 6, 8) for _ in range(3)]
    mask = torch.tensor([[1] * 6, [1, 1, 1, 1, 0, 0]]).bool()
    assert float(objectives.relation_loss(states, states, mask, heads=2)) == pytest.approx(0.0, abs=1e-6)
    padded = [s.clone() for s in states]
    for s in padded:
        s[1, 4:] = 50.0
    assert float(objectives.relation_loss(states, padded, mask, heads=2)) == pytest.approx(0.0, abs=1e-6)
    other = [torch.randn(2, 6, 12) for _ in range(3)]  # another width, same relation heads
    assert float(objectives.relation_loss(states, other, mask, heads=2)) > 0


@pytest.mark.parametrize("term", objectives.TERMS)
def test_each_term_reduces_its_own_loss_on_a_fixed_batch(mlm_teacher, term):
    """A few Adam steps on that term alone lower it (relative: no number of a float kernel is asserted)."""
    torch.manual_seed(0)
    teacher, _ = load_teacher(mlm_teacher, seed=0, attn_implementation="eager")
    student = _make_student(teacher, 2, [0, 2], attn_implementation="eager")
    teacher.eval().requires_grad_(False)
    student.eval()  # no dropout: the same batch gives the same loss
    noise = torch.Generator().manual_seed(1)
    with torch.no_grad():  # away from the teacher: a copied student starts with a KL of about 1e-6
        for param in student.parameters():
            param.add_(torch.randn(param.shape, generator=noise) * 0.1)
    ids = torch.randint(5, 100, (2, 12))
    labels = torch.full_like(ids, -100)
    labels[:, 2:5] = ids[:, 2:5]
    masked = ids.clone()
    masked[:, 2:5] = 4  # [MASK]
    batch = {"input_ids": masked, "attention_mask": torch.ones_like(ids), "labels": labels}
    hidden = objectives.HiddenStateLoss([1, 3], 32, 32)
    optimizer = torch.optim.Adam(student.parameters(), lr=1e-3)
    with objectives.QKVCapture(teacher, 3) as t_qkv, objectives.QKVCapture(student, 1) as s_qkv:
        values = []
        for _ in range(6):
            terms = loss_terms(
                {term: 1.0}, teacher, student, batch, hidden_term=hidden, relations=(t_qkv, s_qkv, 2)
            )
            assert list(terms) == [term]
            values.append(float(terms[term].detach()))
            optimizer.zero_grad()
            terms[term].backward()
            optimizer.step()
    assert values[0] > 0 and values[-1] < 0.9 * values[0], values


def test_masked_lm_alone_never_runs_the_teacher(mlm_teacher):
    """The matched control of the mini reproduction (``--objective mlm:1``) learns without the teacher: the teacher
    is never called, and the MLM loss is the student's own."""
    torch.manual_seed(0)
    teacher, _ = load_teacher(mlm_teacher, seed=0)
    student = _make_student(teacher, 2, [0, 2])

    class Untouchable(torch.nn.Module):
        def forward(self, *args, **kwargs):
            raise AssertionError("the teacher ran")

        @property
        def base_model(self):
            return self

    ids = torch.randint(5, 100, (2, 12))
    labels = torch.full_like(ids, -100)
    labels[:, 2:5] = ids[:, 2:5]
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}
    terms = loss_terms({"mlm": 1.0}, Untouchable(), student, batch)
    assert list(terms) == ["mlm"] and float(terms["mlm"].detach()) > 0
    with pytest.raises(AssertionError, match="the teacher ran"):
        loss_terms({"mlm": 1.0, "cos": 1.0}, Untouchable(), student, batch)


def test_teacher_without_mlm_head_gets_no_mlm_term_in_one_line(tmp_path, corpus, capsys):
    bare = build_tiny_model("bert", tmp_path / "bare", max_length=64, num_hidden_layers=4)  # BertModel
    capsys.readouterr()
    assert main(_args(bare, corpus, tmp_path / "s", "--max-steps", "2")) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("baselines distill:")]
    assert len(lines) == 1 and "has no trained masked-LM head: no MLM or KL term" in lines[0]
    assert "objective hidden:1,cos:1" in lines[0] and "--objective mlm:W" in lines[0]
    report = json.loads((tmp_path / "s" / "distill_report.json").read_text())
    assert report["objective"] == {"hidden": 1.0, "cos": 1.0} and report["teacher_has_mlm_head"] is False
    assert report["kl_used"] is False and report["notes"] == [lines[0].removeprefix("baselines distill: ")]
    assert all(set(row) == {"step", "loss", "hidden", "cos", "lr"} for row in report["history"])
    # Asked for, the MLM term is trained (on the head drawn from the seed); KL against a random head is refused.
    assert main(_args(bare, corpus, tmp_path / "m", "--max-steps", "1", "--objective", "mlm:1")) == 0
    assert "mlm" in json.loads((tmp_path / "m" / "distill_report.json").read_text())["history"][0]
    capsys.readouterr()
    assert main(_args(bare, corpus, tmp_path / "k", "--max-steps", "1", "--objective", "kl:1,cos:1")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--objective kl: teacher" in err and "no trained masked-LM head" in err
    assert not (tmp_path / "k").exists()
    # The older --alpha-* flags: their MLM and KL defaults are not "asked"; --alpha-kl is refused as --objective kl.
    assert main(_args(bare, corpus, tmp_path / "a", "--max-steps", "1", "--alpha-cos", "0.5")) == 0
    err = capsys.readouterr().err
    assert err.count("baselines distill: ") == 1 and "no MLM or KL term (ask with --alpha-mlm W)" in err
    assert json.loads((tmp_path / "a" / "distill_report.json").read_text())["objective"] == {"cos": 0.5}
    assert main(_args(bare, corpus, tmp_path / "k", "--max-steps", "1", "--alpha-kl", "5")) == 2
    assert "--alpha-kl: teacher" in capsys.readouterr().err and not (tmp_path / "k").exists()


def test_report_has_every_term_per_logging_step(tmp_path, mlm_teacher, corpus, capsys):
    out = tmp_path / "s"
    extra = ["--max-steps", "4", "--save-every", "2", "--log-every", "2", "--objective", ALL_TERMS]
    capsys.readouterr()
    assert (
        main(_args(mlm_teacher, corpus, out, *extra, "--relation-heads", "4", "--hidden-loss", "cosine")) == 0
    )
    err = capsys.readouterr().err
    assert (
        err.count("baselines distill: attention-relations: the teacher and the student run with eager") == 1
    )
    report = json.loads((out / "distill_report.json").read_text())
    assert report["objective"] == dict.fromkeys(objectives.TERMS, 1.0)
    assert [row["step"] for row in report["history"]] == [2, 4] and all(
        r["steps"] == 2 for r in report["history"]
    )
    for row in report["history"]:
        assert set(row) == {"step", "steps", "loss", "lr", *objectives.TERMS}
        assert row["loss"] == pytest.approx(sum(row[t] for t in objectives.TERMS), rel=1e-5)
    settings = report["settings"]
    assert settings["objective"] == report["objective"] and settings["hidden_loss"] == "cosine"
    assert settings["hidden_layer_map"] == [1, 3] and settings["relation_heads"] == 4
    assert settings["relation_teacher_layer"] == 3 and settings["relation_student_layer"] == 1
    assert settings["attn_implementation"] == "eager"
    assert "attn_implementation" not in json.loads((out / "config.json").read_text())
    recipe = read_recipe(out)  # what `benchmark run` copies into a result
    assert recipe["kind"] == "distilled" and recipe["settings"]["objective"] == report["objective"]
    # A rerun with another objective does not continue this one.
    capsys.readouterr()
    assert main(_args(mlm_teacher, corpus, out, "--max-steps", "6", "--objective", "cos:1")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "was trained with --objective mlm:1,kl:1,cos:1,hidden:1" in err


def test_bad_objective_flags_exit_2_in_one_line(tmp_path, mlm_teacher, corpus, capsys):
    for extra, message in (
        (["--objective", "cos:1", "--alpha-mlm", "1"], "give --objective or --alpha-mlm, not both"),
        (["--objective", "hidden:1", "--hidden-layer-map", "1,2,3"], "one teacher layer per student layer"),
        (
            ["--objective", "attention-relations:1", "--relation-teacher-layer", "4"],
            "--relation-teacher-layer 4",
        ),
        (["--objective", "attention-relations:1", "--relation-heads", "3"], "--relation-heads 3 must divide"),
        (["--objective", "word:1"], "unknown term 'word'"),
    ):
        capsys.readouterr()
        assert main(_args(mlm_teacher, corpus, tmp_path / "o", "--max-steps", "1", *extra)) == 2, extra
        err = capsys.readouterr().err
        assert err.startswith("baselines: error: ") and message in err and err.count("\n") == 1, err
        assert not (tmp_path / "o").exists()
