"""Shared test helpers: where ../shared/fixtures is, and skipping cleanly on a fresh clone without it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The repository root: every test finds the repo's files (README.md, leaderboard/, pyproject.toml) from this, never
# by counting parents of its own path (tests live at different depths: tests/README.md).
ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(os.environ.get("GONERD_FIXTURES", ROOT.parent / "shared" / "fixtures")).resolve()

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def fixture_path(*parts: str) -> Path:
    """Path under ../shared/fixtures; skips the calling test with a clear reason when it is absent."""
    path = FIXTURES.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs the shared data sample {path} (../shared/fixtures is not beside this clone)")
    return path


# The official CoNLL-2003 file names the spec reads -> the fixture samples.
CONLL_LINKS = {
    "conll2003/eng.train": "conll2003/eng.train.first300",
    "conll2003/eng.testa": "conll2003/eng.testa",
    "conll2003/eng.testb": "conll2003/eng.testb",
}


def link_fixtures(root: Path, links: dict[str, str]) -> Path:
    """A ``--data-dir`` layout under ``root``: each ``root/<link>`` a symlink to the fixture ``<target>`` (the
    samples keep their own names in ../shared; the task specs expect the official ones). Returns ``root``."""
    for link, target in links.items():
        source = fixture_path(*target.split("/"))
        (root / link).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(source, root / link)
    return root


@pytest.fixture
def fixtures_dir() -> Path:
    return fixture_path()


def wikitext_source(directory: Path, n: int) -> Path:
    """The first ``n`` real articles of WikiText-2's test split as a ``gonerd build --source`` file in
    ``directory`` (their ids are null there)."""
    lines = (
        fixture_path("wikipedia", "wikitext2_test_articles.jsonl").read_text(encoding="utf-8").splitlines()
    )
    path = directory / "articles.jsonl"
    path.write_text("\n".join(lines[:n]) + "\n", encoding="utf-8")
    return path


def committed_result(task: str = "conll2003") -> dict:
    """A committed result file of ``task`` from the repository's leaderboard as one fine-tuning: the first in sorted
    order (so every file system picks the same one), without its ``seeds`` aggregate and the ``bootstrap``
    replicates that belong to its saved predictions."""
    import json

    first = sorted((ROOT / "leaderboard" / "results").glob(f"*/{task}.json"))[0]
    data = json.loads(first.read_text())
    for section in ("seeds", "bootstrap"):
        data.pop(section, None)
    return data


def result_record(**changes: object):
    """A valid typed result (:class:`benchmark.core.record.ResultRecord`) of one fine-tuning (:func:`committed_result`)
    with the top-level sections in ``changes`` replaced (``execution=None`` drops the section)."""
    from benchmark.core.record import ResultRecord

    data = committed_result()
    data.update(changes)
    for section in ("execution", "seeds", "bootstrap"):
        if section in data and data[section] is None:
            data.pop(section)
    return ResultRecord.from_dict(data, "result_record")


# The launcher variables a child process must not inherit from a test run under accelerate/torchrun.
LAUNCH_VARS = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "ACCELERATE_USE_CPU")


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for a CLI run in a subprocess: offline, one thread, this checkout importable, and no launcher
    variables inherited (``extra`` is added last)."""
    env = {k: v for k, v in os.environ.items() if k not in LAUNCH_VARS}
    env.update(
        OMP_NUM_THREADS="1",
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def one_torch_thread():
    """One intra-op thread for a module (``pytestmark = pytest.mark.usefixtures("one_torch_thread")``): tiny models
    gain nothing from two, and the 2 shared cores are busy."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
