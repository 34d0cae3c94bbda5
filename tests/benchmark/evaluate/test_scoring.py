"""Predictions files and ``benchmark score``: gold predictions score 100 on every task through the CLI,
perturbed ones score less, and each kind of bad predictions file is a one-line error."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.data.loader import load_examples
from benchmark.errors import BenchmarkError
from benchmark.evaluate.scoring import (
    gold_as_predictions,
    read_predictions,
    score_predictions,
    write_predictions,
)
from benchmark.tasks.registry import get_task
from conftest import fixture_path
from tests.benchmark.data.test_hub import arxiv_folder, gonerd_folder

# task, split, extra CLI args (data file names of the fixture samples)
CASES = [
    ("squad", "validation", ["--data-file", "dev-v1.1-sample.json"]),
    ("conll2003", "validation", []),
    ("conll2003", "test", []),
    ("hotpotqa", "validation", ["--data-file", "hotpot_dev_distractor_sample.json"]),
    ("triviaqa", "validation", []),
    ("glue/mrpc", "validation", []),
    ("glue/stsb", "validation", []),
    ("glue/rte", "validation", []),
    ("glue/wnli", "validation", []),
]


def _gold_file(tmp_path: Path, task: str, split: str, args: list[str], data_dir: Path) -> tuple[Path, list]:
    data_file = args[1] if args else None
    examples = load_examples(get_task(task), split, data_dir=data_dir, data_file=data_file).examples
    return write_predictions(tmp_path / "gold.jsonl.gz", gold_as_predictions(examples)), examples


def _score_cli(capsys, task, split, preds, data_dir, args=()) -> dict:
    code = main(
        [
            "score",
            "--task",
            task,
            "--split",
            split,
            "--predictions",
            str(preds),
            "--data-dir",
            str(data_dir),
            *args,
            "--json",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


@pytest.mark.parametrize(("task", "split", "args"), CASES)
def test_gold_predictions_score_100_through_the_cli(tmp_path, capsys, task, split, args):
    preds, examples = _gold_file(tmp_path, task, split, args, fixture_path())
    result = _score_cli(capsys, task, split, preds, fixture_path(), args)
    assert result["num_examples"] == len(examples)
    assert result["score"] == pytest.approx(100.0)
    assert result["source"]["kind"] == "local" and result["spec_hash"] == get_task(task).spec_hash()
    if get_task(task).task_type == "token_classification":
        assert result["metrics"]["strict_f1"] == pytest.approx(100.0)
        assert set(result["metrics"]["per_type"]) == {"PER", "ORG", "LOC", "MISC"}


def test_whole_glue_sample_scores_each_subtask(tmp_path, capsys):
    preds, _ = _gold_file(tmp_path, "glue", "validation", [], fixture_path())
    result = _score_cli(capsys, "glue", "validation", preds, fixture_path())
    subs = result["metrics"]["subtasks"]
    for name in ("sst2", "mrpc", "stsb", "mnli_matched", "mnli_mismatched", "qnli", "rte", "wnli"):
        assert all(v == pytest.approx(100.0) for v in subs[name].values()), name
    # CoLA's and QQP's 2-row samples hold one class only: MCC and positive-class F1 are 0 by definition there,
    # so the sample's glue_score is below 100 although every prediction is right.
    assert subs["cola"]["matthews_correlation"] == 0.0 and subs["qqp"]["accuracy"] == 100.0
    assert result["score"] == pytest.approx(100 * 6 / 8 + (0 + 100) / 2 / 8 + 0 / 8)


@pytest.mark.parametrize(("task", "split", "args"), CASES[:6])
def test_perturbed_predictions_score_below_100(tmp_path, capsys, task, split, args):
    examples = load_examples(
        get_task(task), split, data_dir=fixture_path(), data_file=args[1] if args else None
    ).examples
    preds = gold_as_predictions(examples)
    spec = get_task(task)
    first = examples[0].id
    if spec.task_type == "token_classification":
        for ex in examples[:50]:
            preds[ex.id] = ["O"] * len(ex.tokens)
    elif spec.task_type == "classification":
        preds[first] = next(n for n in spec.label_names if n != preds[first])
    else:
        preds[first] = "zzz qqq"
    path = write_predictions(tmp_path / "p.jsonl", preds)
    assert _score_cli(capsys, task, split, path, fixture_path(), args)["score"] < 100.0


def test_gonerd_and_arxiv_gold_via_hub_folders(tmp_path, capsys, monkeypatch):
    gonerd_folder(tmp_path / "gonerd")
    arxiv_folder(tmp_path / "arxiv")
    import datasets

    monkeypatch.setattr(
        datasets.config, "HF_DATASETS_CACHE", tmp_path / "cache"
    )  # keep the user's cache clean
    for task, split in (("gonerd", "test"), ("arxiv", "test")):
        examples = load_examples(get_task(task), split, data_dir=tmp_path, cache_dir=tmp_path / "c").examples
        gold = write_predictions(tmp_path / f"{task}.jsonl", gold_as_predictions(examples))
        result = _score_cli(capsys, task, split, gold, tmp_path)
        assert result["score"] == pytest.approx(100.0), task
        if task == "gonerd":
            assert result["metrics"]["per_type"]["ORG"]["f1"] == pytest.approx(100.0)
        else:
            assert (
                result["metrics"]["macro_f1"] == pytest.approx(100.0)
                and result["stats"]["removed"]["test"]["leak"] == 1
            )


# ---------------------------------------------------------------------------------- predictions-file errors


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.jsonl"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"id": "a", "prediction": "x"}\n{"id": "b", \n', r"p\.jsonl:2: invalid JSON"),
        (
            '{"id": "a", "prediction": "x"}\n{"id": "b"}\n',
            r"p\.jsonl:2: expected an object with keys 'id' and 'prediction'",
        ),
        (
            '{"id": "a", "prediction": "x"}\n\n{"id": "a", "prediction": "y"}\n',
            r"p\.jsonl:3: duplicate id 'a'",
        ),
        ('{"id": 3, "prediction": "x"}\n', r"p\.jsonl:1: 'id' must be a string"),
        ("\n", "has no predictions"),
    ],
)
def test_read_predictions_errors_name_file_and_line(tmp_path, text, message):
    with pytest.raises(BenchmarkError, match=message):
        read_predictions(_write(tmp_path, text))


def test_read_predictions_gzip_roundtrip_and_missing_file(tmp_path):
    path = write_predictions(tmp_path / "p.jsonl.gz", {"x-1": ["O", "B-PER"], "x-2": 3.5})
    with gzip.open(path, "rt") as fh:
        assert json.loads(fh.readline()) == {"id": "x-1", "prediction": ["O", "B-PER"]}
    assert read_predictions(path) == {"x-1": ["O", "B-PER"], "x-2": 3.5}
    with pytest.raises(BenchmarkError, match="not found"):
        read_predictions(tmp_path / "absent.jsonl")


def _examples(task: str, split: str = "validation", **kw):
    return load_examples(get_task(task), split, data_dir=fixture_path(), **kw).examples


def test_validation_errors_count_and_list_ids():
    spec = get_task("glue/mrpc")
    examples = _examples("glue/mrpc")
    gold = gold_as_predictions(examples)
    missing = {k: v for k, v in gold.items() if k not in ("mrpc-3", "mrpc-7")}
    with pytest.raises(BenchmarkError, match=r"predictions lack 2 of 200 mrpc ids \(e\.g\. mrpc-3, mrpc-7\)"):
        score_predictions(spec, examples, missing)
    with pytest.raises(BenchmarkError, match=r"predictions have 1 ids not in mrpc \(e\.g\. rte-0\)"):
        score_predictions(spec, examples, {**gold, "rte-0": "entailment"})
    with pytest.raises(
        BenchmarkError, match=r"1 mrpc predictions are not a known label name \(e\.g\. mrpc-0\)"
    ):
        score_predictions(spec, examples, {**gold, "mrpc-0": "yes"})
    stsb = _examples("glue/stsb")
    with pytest.raises(BenchmarkError, match=r"2 stsb predictions are not a finite number"):
        score_predictions(
            get_task("glue/stsb"), stsb, {**gold_as_predictions(stsb), "stsb-0": "4.0", "stsb-1": None}
        )


def test_ner_shape_errors():
    spec = get_task("conll2003")
    examples = _examples("conll2003", "test", limit=20)
    gold = gold_as_predictions(examples)
    with pytest.raises(
        BenchmarkError,
        match=r"1 conll2003 predictions have a tag count different from the number of words \(e\.g\. test-0\)",
    ):
        score_predictions(spec, examples, {**gold, "test-0": gold["test-0"][:-1]})
    with pytest.raises(BenchmarkError) as caught:
        score_predictions(
            spec,
            examples,
            {**gold, "test-1": ["B-PERSON"] * len(gold["test-1"]), "test-2": ["X"] * len(gold["test-2"])},
        )
    assert str(caught.value) == (
        "2 conll2003 predictions contain a tag that is not one of the task's labels "
        f"({', '.join(spec.label_names)}) (e.g. test-1, test-2)"
    )


def test_cli_reports_prediction_errors_in_one_line(tmp_path, capsys):
    path = _write(tmp_path, '{"id": "tc_33", "prediction": "x"}\n{"id": "tc_99", "prediction": "y"}\n')
    code = main(
        ["score", "--task", "triviaqa", "--predictions", str(path), "--data-dir", str(fixture_path())]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "predictions have 1 ids not in triviaqa (e.g. tc_99)" in err
    code = main(
        [
            "score",
            "--task",
            "triviaqa",
            "--predictions",
            str(path),
            "--limit",
            "0",
            "--data-dir",
            str(fixture_path()),
        ]
    )
    assert code == 2 and "--limit must be a whole number >= 1, got 0" in capsys.readouterr().err


def test_human_readable_output(tmp_path, capsys):
    preds, _ = _gold_file(tmp_path, "conll2003", "test", [], fixture_path())
    assert (
        main(
            [
                "score",
                "--task",
                "conll2003",
                "--split",
                "test",
                "--predictions",
                str(preds),
                "--data-dir",
                str(fixture_path()),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("conll2003 (test, 3453 examples)\n  f1: 100.00") and "PER: f1 100.00" in out


# ---------------------------------------------------------------------------------- as the official scripts


QA_SAMPLES = {
    "squad": ("squad", "dev-v1.1-sample.json"),
    "hotpotqa": ("hotpotqa", "hotpot_dev_distractor_sample.json"),
}


def _official(task: str, examples, preds) -> dict:
    """The ported official evaluation (missing ids skipped, total = every gold question)."""
    from benchmark.metrics import hotpotqa, squad, triviaqa

    if task == "hotpotqa":
        return hotpotqa.evaluate({ex.id: ex.answers[0] for ex in examples}, preds)
    module = triviaqa if task == "triviaqa" else squad
    return module.evaluate({ex.id: list(ex.answers) for ex in examples}, preds)


@pytest.mark.parametrize("task", ["squad", "hotpotqa"])
def test_allow_missing_scores_missing_ids_as_zero_like_the_official_scripts(tmp_path, capsys, task):
    data_file = QA_SAMPLES[task][1]
    examples = _examples(task, data_file=data_file)
    preds = gold_as_predictions(examples)
    preds[examples[1].id] = "zzz"
    dropped = [ex.id for ex in examples[::5]]
    kept = {k: v for k, v in preds.items() if k not in dropped}
    path = write_predictions(tmp_path / "p.jsonl", kept)
    args = ["score", "--task", task, "--predictions", str(path), "--data-dir", str(fixture_path())]
    args += ["--data-file", data_file]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"predictions lack {len(dropped)} of {len(examples)} {task} ids" in err
    assert "--allow-missing scores them as 0" in err
    result = _score_cli(
        capsys, task, "validation", path, fixture_path(), ["--data-file", data_file, "--allow-missing"]
    )
    official = _official(task, examples, kept)
    assert result["missing"] == len(dropped) and result["num_examples"] == len(examples)
    for name, value in official.items():
        assert result["metrics"][name] == pytest.approx(value, abs=1e-6), name
    assert 0 < result["score"] < 100
    assert main([*args, "--allow-missing"]) == 0
    assert (
        f"missing: {len(dropped)} of {len(examples)} ids had no prediction and scored 0"
        in capsys.readouterr().out
    )


@pytest.mark.parametrize("task", ["squad", "hotpotqa", "conll2003"])
def test_allow_missing_scores_a_file_with_no_prediction_zero(tmp_path, capsys, task):
    """An empty predictions file (or one of blank lines) is refused with a hint, and with --allow-missing every id
    scores 0, as the official scripts score it (NER: no entity found, so precision, recall and F1 are 0)."""
    data_file, split = (QA_SAMPLES[task][1], "validation") if task in QA_SAMPLES else (None, "test")
    extra = ["--data-file", data_file] if data_file else ["--limit", "40"]
    path = _write(tmp_path, "\n\n")
    args = [
        "score",
        "--task",
        task,
        "--split",
        split,
        "--predictions",
        str(path),
        "--data-dir",
        str(fixture_path()),
    ]
    assert main([*args, *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has no predictions; --allow-missing scores every id 0" in err
    result = _score_cli(capsys, task, split, path, fixture_path(), [*extra, "--allow-missing"])
    assert result["missing"] == result["num_examples"] > 0
    assert result["score"] == 0.0
    if task not in QA_SAMPLES:  # as if every word were predicted "O": token accuracy is the share of O tags
        examples = _examples(task, split, limit=40)
        all_o = {ex.id: ["O"] * len(ex.tokens) for ex in examples}
        assert result["metrics"] == score_predictions(get_task(task), examples, all_o)["metrics"]
        assert result["metrics"]["precision"] == result["metrics"]["recall"] == result["metrics"]["f1"] == 0.0
    else:
        examples = _examples(task, data_file=data_file)
        official = _official(task, examples, {})
        assert official and all(value == 0 for value in official.values())
        for name, value in official.items():
            assert result["metrics"][name] == pytest.approx(value, abs=1e-9), name


def test_an_empty_file_stays_refused_where_missing_has_no_official_score(tmp_path, capsys):
    path = _write(tmp_path, "")
    args = ["score", "--task", "glue/mrpc", "--predictions", str(path), "--data-dir", str(fixture_path())]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has no predictions" in err and "--allow-missing" not in err
    assert main([*args, "--allow-missing"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--allow-missing: mrpc is a classification task" in err


def test_allow_missing_ner_counts_no_entity_and_classification_refuses(tmp_path, capsys):
    spec = get_task("conll2003")
    examples = _examples("conll2003", "test", limit=40)
    gold = gold_as_predictions(examples)
    dropped = [ex.id for ex in examples[::3]]
    partial = {k: v for k, v in gold.items() if k not in dropped}
    all_o = {**partial, **{ex.id: ["O"] * len(ex.tokens) for ex in examples if ex.id in dropped}}
    scored = score_predictions(spec, examples, partial, allow_missing=True)
    assert scored["missing"] == len(dropped)
    assert scored["metrics"] == score_predictions(spec, examples, all_o)["metrics"]
    assert scored["score"] < 100.0
    mrpc = _examples("glue/mrpc")
    some = {k: v for k, v in gold_as_predictions(mrpc).items() if k != "mrpc-0"}
    with pytest.raises(BenchmarkError, match=r"--allow-missing: mrpc is a classification task, which has no"):
        score_predictions(get_task("glue/mrpc"), mrpc, some, allow_missing=True)


def test_triviaqa_web_domain_file_is_refused(tmp_path, capsys):
    path = _write(tmp_path, '{"id": "tc_33", "prediction": "Sunset Blvd"}\n')
    web = fixture_path("triviaqa", "triviaqa-rc", "qa", "web-dev.json")
    code = main(
        ["score", "--task", "triviaqa", "--predictions", str(path), "--data-dir", str(fixture_path()),
         "--data-file", "triviaqa-rc/qa/web-dev.json"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert f"{web}: a TriviaQA Web-domain file" in err and "the triviaqa task is the Wikipedia domain" in err


def test_triviaqa_verified_eval_uses_human_answers_and_verified_questions(tmp_path, capsys):
    """A verified-evaluation file: HumanAnswers count as ground truths and questions outside the verified set are
    left out, exactly as the official script (its port: ground_truths_from_dataset + evaluate) scores it."""
    from benchmark.metrics import triviaqa

    source = json.loads(fixture_path("triviaqa", "triviaqa-rc", "qa", "wikipedia-dev.json").read_text())
    verified = dict(source, VerifiedEval=True)
    first = dict(source["Data"][0], QuestionPartOfVerifiedEval=True)
    first["Answer"] = dict(first["Answer"], HumanAnswers=["The Sunset Boulevard musical"])
    other = dict(source["Data"][0], QuestionId="tc_not_verified", QuestionPartOfVerifiedEval=False)
    verified["Data"] = [first, other]
    root = tmp_path / "data"
    qa = root / "triviaqa" / "triviaqa-rc" / "qa" / "verified-wikipedia-dev.json"
    qa.parent.mkdir(parents=True)
    qa.write_text(json.dumps(verified))
    (root / "triviaqa" / "triviaqa-rc" / "evidence").mkdir()
    (root / "triviaqa" / "triviaqa-rc" / "evidence" / "wikipedia").symlink_to(
        fixture_path("triviaqa", "triviaqa-rc", "evidence", "wikipedia")
    )
    preds = {"tc_33": "the sunset boulevard musical!"}
    path = write_predictions(tmp_path / "p.jsonl", preds)
    result = _score_cli(
        capsys,
        "triviaqa",
        "validation",
        path,
        root,
        ["--data-file", "triviaqa-rc/qa/verified-wikipedia-dev.json"],
    )
    official = triviaqa.evaluate(triviaqa.ground_truths_from_dataset(verified), preds)
    assert official == {"exact_match": 100.0, "f1": 100.0}  # only the human answer matches
    assert result["num_examples"] == 1
    assert result["metrics"]["exact_match"] == official["exact_match"]
    assert result["metrics"]["f1"] == official["f1"]
