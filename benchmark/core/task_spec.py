"""A task is one frozen, declarative spec, read from ``benchmark/tasks/<name>.yaml``.

Evaluation code exists once per task *type*; a spec only says where the data is, what its fields are, which
metrics to report and how long its inputs may be. The spec's hash goes into every result, so results of a
changed spec never mix with old ones.

Not hashed: ``budget`` (how a task fine-tunes by default; the config hash of every run records the budget it
used, so a budget change reruns a task without making its results incomparable), ``build`` (where a dataset the
project builds itself lands by default; the split's ``source`` records which files were read, by sha256), ``gold``
(the identities of the evaluation splits' gold data, which the leaderboard re-scores against),
``source_dir`` (where the YAML was read from) and ``suite`` (a sub-task's parent). ``reader`` and ``reader_sha256``
(the content of a reader module beside the YAML, so editing it reruns the task), and likewise ``scorer`` and
``scorer_sha256``, are hashed only when set, so the specs without one keep the hash they had before these keys
existed; so is ``classifier_pooling``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

# The folder of the built-in task YAMLs (this package); a spec read from elsewhere came from --include-path.
TASKS_DIR = Path(__file__).resolve().parents[1] / "tasks"

# A registered task type (benchmark.task_types.names()): classification, regression, extractive_qa,
# token_classification, or one a new module registers.
TaskType = str


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

    format: str  # a registered reader's name (benchmark.core.plugins.READERS; the built-in ones: benchmark.data.local)
    files: dict[str, str] = field(default_factory=dict)  # role -> path relative to DIR/<task>/
    # Table formats (GLUE TSV): example role (text, text_pair, label) -> column name, or a 0-based column index
    # written as a string for files without a header line.
    columns: dict[str, str] = field(default_factory=dict)
    header: bool = True


@dataclass(frozen=True)
class LocalBuild:
    """A dataset built by a command of its own (GONERD: ``gonerd build``), read when no ``--data-dir`` is given
    and the published Hub copy cannot be loaded (:mod:`benchmark.data.builds`). Hooks are ``module.function``
    references, looked up first beside the YAML like ``reader``."""

    command: str  # the build command, as the message names it ("gonerd build")
    default_dir: (
        str  # hook returning the folder the command writes to by default (a copy of the Hub repository)
    )
    how: str  # the commands that build it, for the message when nothing is found
    estimate: str | None = None  # hook returning a one-phrase time estimate for that message


@dataclass(frozen=True)
class GoldPin:
    """One accepted identity of an evaluation split's gold data: :func:`benchmark.data.loader.gold_sha256` of its
    ids and gold labels (the same whatever copy or file it is read from). ``regime``: ``full`` (the split the task
    defines) or ``sample`` (a named sample of it, marked as such on the leaderboard); ``name`` says which (shown on
    the board for a sample), ``what`` where it comes from."""

    gold_sha256: str
    regime: Literal["full", "sample"]
    name: str
    what: str = ""


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
    subtasks: tuple[TaskSpec, ...] = ()  # a suite (GLUE): one spec per sub-task; the score aggregates them
    # How a suite's sub-task metrics combine: a registered aggregation's name (benchmark.core.plugins.AGGREGATIONS,
    # e.g. "mean"); the suite's ``metrics:`` pick among the aggregations of that name.
    aggregate: str | None = None
    license: str | None = None
    citation: str | None = None
    notes: str | None = None
    # Default fine-tuning budget (keys of benchmark.core.record.Budget), from the YAML's ``budget:`` mapping over the
    # defaults of the task's context. Not hashed (see the module docstring).
    budget: dict[str, Any] = field(default_factory=dict)
    # Import path of a function ``reader(path, split)`` yielding Hub-schema rows from a local file, resolved
    # first in a module beside the YAML (see benchmark.tasks.hooks).
    reader: str | None = None
    reader_sha256: str | None = None  # sha256 of the reader's module file when it lies beside the YAML
    # Import path of a function ``scorer(examples, predictions) -> metrics`` replacing the type's scorers
    # (benchmark.tasks.hooks.call_scorer), or the name of a registered scorer (benchmark.core.plugins.SCORERS);
    # hashed only when set, like ``reader``.
    scorer: str | None = None
    scorer_sha256: str | None = None  # sha256 of the scorer's module file when it lies beside the YAML
    # Import path of a function ``cleaning({split: rows}) -> ({split: kept rows}, {split: {rule: removed}})``
    # applied to the loaded rows, train always included (cross-split rules such as dropping evaluation texts
    # found in train; benchmark.tasks.hooks.call_cleaning); hashed only when set, like ``reader``. arXiv's
    # ``fields.cleaning: mteb`` names the built-in one (benchmark.data.arxiv_cleaning.clean_splits).
    cleaning: str | None = None
    cleaning_sha256: str | None = None  # sha256 of the cleaning's module file when it lies beside the YAML
    # Sequence tasks: the pooling the classification head should use where the architecture lets it choose
    # (``cls`` or ``mean``; ModernBERT's and EuroBERT's ``classifier_pooling``, the generic head's). arXiv asks for
    # ``mean``: in a ModernBERT local layer the first token sees only its window. Hashed only when set.
    classifier_pooling: Literal["cls", "mean"] | None = None
    source_dir: str | None = field(default=None, compare=False)  # folder of the YAML; not hashed
    # A sub-task's suite (its parent's name): its local files lie in the suite's folder, DIR/<suite>/. Not hashed
    # (the parent's spec, which holds the sub-task, already says so).
    suite: str | None = None
    build: LocalBuild | None = None  # how the project builds the dataset itself; not hashed
    # The identities of each evaluation split's gold the leaderboard re-scores against (role -> pins); not hashed
    # (pinning the gold a task already had does not change what it measures). benchmark.leaderboard.rescore.
    gold: dict[str, tuple[GoldPin, ...]] = field(default_factory=dict)

    def gold_pin(self, role: str, gold_sha256: str | None) -> GoldPin | None:
        """The pin of ``role`` whose gold_sha256 is ``gold_sha256`` (None when none is)."""
        return next((p for p in self.gold.get(role, ()) if p.gold_sha256 == gold_sha256), None)

    def to_dict(self) -> dict:
        return asdict(self)

    def spec_hash(self) -> str:
        """sha256 over the canonical JSON form of the spec (first 16 hex digits), without the unhashed keys."""
        blob = json.dumps(_hashed(self.to_dict()), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


_UNHASHED = ("budget", "source_dir", "build", "gold", "suite")
_HASHED_WHEN_SET = (
    "reader",
    "reader_sha256",
    "scorer",
    "scorer_sha256",
    "cleaning",
    "cleaning_sha256",
    "classifier_pooling",
)


def _hashed(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (a spec's dict, sub-tasks included) without the keys that do not define what a task measures."""
    out = {k: v for k, v in data.items() if k not in _UNHASHED and not (k in _HASHED_WHEN_SET and v is None)}
    out["subtasks"] = [_hashed(sub) for sub in data.get("subtasks", ())]
    return out
