"""A task is one frozen, declarative spec, read from ``benchmark/tasks/<name>.yaml``.

Evaluation code exists once per task *type*; a spec only says where the data is, what its fields are, which
metrics to report and how long its inputs may be. The spec's hash goes into every result, so results of a
changed spec never mix with old ones.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Literal

TaskType = Literal["classification", "regression", "extractive_qa", "token_classification"]
TASK_TYPES = ("classification", "regression", "extractive_qa", "token_classification")


@dataclass(frozen=True)
class HubSource:
    """A dataset on the Hugging Face Hub, pinned to a revision."""

    path: str
    revision: str
    config: str | None = None
    splits: dict[str, str] = field(default_factory=dict)  # role (train/validation/test) -> Hub split name


@dataclass(frozen=True)
class LocalSource:
    """The official files as their authors distribute them, under ``--data-dir DIR/<task>/``."""

    format: str  # reader name in benchmark.data.local
    files: dict[str, str] = field(default_factory=dict)  # role -> path relative to DIR/<task>/
    # Table formats (GLUE TSV): example role (text, text_pair, label) -> column name, or a 0-based column index
    # written as a string for files without a header line.
    columns: dict[str, str] = field(default_factory=dict)
    header: bool = True


@dataclass(frozen=True)
class TaskSpec:
    name: str
    description: str
    task_type: TaskType
    context: Literal["short", "long"]
    hub: HubSource
    local: LocalSource
    metrics: tuple[str, ...]
    primary_metric: str
    max_length: int
    version: str
    fields: dict[str, str] = field(default_factory=dict)  # role (text, text_pair, label, ...) -> source field
    label_names: tuple[str, ...] = ()  # classification / token classification, in id order
    train_split: str | None = "train"
    eval_splits: tuple[str, ...] = ("validation",)
    subtasks: tuple[TaskSpec, ...] = ()  # GLUE: one spec per sub-task; the score aggregates them
    aggregate: str | None = None  # how subtask primary metrics combine, e.g. "mean"
    license: str | None = None
    citation: str | None = None
    notes: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def spec_hash(self) -> str:
        """sha256 over the canonical JSON form of the spec (first 16 hex digits)."""
        blob = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
