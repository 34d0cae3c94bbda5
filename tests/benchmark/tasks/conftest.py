"""Fixtures of the task tests: a user's own task folder (what ``--include-path`` reads), and the package's tasks
alone again after every test."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from benchmark.tasks import registry

JSONL_READER = """\
import json


def read(path, split):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
"""


@pytest.fixture(autouse=True)
def _forget_user_tasks():
    """A task a test included (``registry.set_include_paths``) is gone for the next test."""
    yield
    registry.set_include_paths([])


@pytest.fixture
def user_task_folder(tmp_path: Path) -> Callable[..., tuple[Path, Path]]:
    """``make(yaml_text, modules, files) -> (tasks, data_dir)``: ``tmp_path/tasks/<name>.yaml`` (the YAML's
    ``name``) with a JSON-lines reader ``my_reader.read`` and each of ``modules`` (``{module: source}``; a source
    of ``None`` leaves that module out) beside it, and each of ``files`` (``{file name: rows}``) as JSON lines in
    ``tmp_path/data/<name>/``; ``data_dir`` is ``tmp_path/data`` (the ``--data-dir``)."""

    def make(
        yaml_text: str, modules: dict[str, str | None], files: dict[str, list[dict]]
    ) -> tuple[Path, Path]:
        name = yaml.safe_load(yaml_text)["name"]
        tasks = tmp_path / "tasks"
        tasks.mkdir(exist_ok=True)
        (tasks / f"{name}.yaml").write_text(yaml_text)
        (tasks / "my_reader.py").write_text(JSONL_READER)
        for module, source in modules.items():
            if source is not None:
                (tasks / f"{module}.py").write_text(source)
        data = tmp_path / "data" / name
        data.mkdir(parents=True, exist_ok=True)
        for file_name, rows in files.items():
            (data / file_name).write_text("".join(json.dumps(r) + "\n" for r in rows))
        return tasks, data.parent

    return make
