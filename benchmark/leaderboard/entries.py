"""The submitted entries of a leaderboard directory and the per-model figures the views show. Every file is read
as its typed record (:mod:`benchmark.core.record`); a file that is not a valid one is left out here (``benchmark
leaderboard --check`` reports it)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from statistics import mean
from typing import Any

from ..core.architectures import canonical_attention_path
from ..core.record import Model, ResultRecord, SpeedRecord, Submission
from ..errors import BenchmarkError
from . import RESULTS
from .compare import compare_records
from .distillation import DISTILL_REPORT_FILE, DistillCurve, read_curve
from .validate import MANIFEST, SPEED_FILE

COST_LENGTHS = (512, 4096)  # the fixed lengths the time columns show (benchmark speed, fixed protocol)


@dataclass(frozen=True)
class Cost:
    """Inference cost of an entry at one fixed length: ms per 1,000 tokens, or None with the reason."""

    value: float | None
    reason: str | None = None


@dataclass
class Entry:
    """One model on the leaderboard: its result records by task, optional speed curve and registry data."""

    slug: str
    model: Model  # of its first result file
    records: dict[str, ResultRecord]
    speed: SpeedRecord | None = None
    partial: bool = False
    baseline: dict[str, Any] | None = None
    teacher_share: float | None = None
    teacher_share_interval: list[float] | None = (
        None  # 95% paired bootstrap interval over evaluation examples
    )
    teacher_slug: str | None = None
    seed_records: dict[str, list[ResultRecord]] = field(default_factory=dict)  # task -> every seed's result
    unverified: list[str] = field(default_factory=list)  # "<task>.<split>" not verified by re-scoring
    samples: list[str] = field(default_factory=list)  # "<task>.<split> (<which sample>)" scored on a sample
    distill: DistillCurve | None = None  # a distilled student's loss curve (its distill_report.json)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.model.model_id

    @property
    def label(self) -> str:
        """The name as plots label it: marked when some of its scores were not verified by re-scoring."""
        return f"{self.name} (unverified)" if self.unverified else self.name

    def score(self, task: str) -> float | None:
        """The task's primary metric: the mean over seeds of a ``--seeds`` result."""
        return self.records[task].score() if task in self.records else None

    def n_seeds(self) -> int:
        """The fewest seeds any of the entry's scores averages (1: some score rests on one fine-tuning)."""
        return min((r.n_seeds() for r in self.records.values()), default=1)

    def nonstandard(self) -> list[str]:
        """Why the entry's scores are not on the tasks' standard data and budgets (empty: they are): a
        ``--limit`` on the examples, or a budget other than the task's default. Such entries (e.g. the mini
        reproduction) are shown apart, so that nobody reads them against standard ones."""
        reasons: list[str] = []
        for task, record in sorted(self.records.items()):
            config = record.config
            if config.limit is not None:
                reasons.append(f"{task}: first {config.limit} examples per split (--limit)")
            elif not config.eval_only and (changed := budget_changes(task, config.budget)):
                reasons.append(f"{task}: {changed}")
        return reasons

    def average(self, tasks: list[str]) -> float | None:
        """Mean primary metric over ``tasks``; None unless every one has a score."""
        scores = [self.score(t) for t in tasks]
        return mean(scores) if scores and all(s is not None for s in scores) else None  # type: ignore[arg-type]

    def cost(self, length: int) -> Cost:
        """Median inference time per 1,000 tokens at ``length`` tokens from the entry's ``speed.json`` (fixed
        protocol: every sequence exactly ``length`` real tokens): the median ms per example times 1,000 / the real
        tokens of an example. None with the reason when there is no such measurement."""
        speed = self.speed
        if speed is None:
            return Cost(None, "no speed.json")
        if not speed.fixed:
            return Cost(None, f"{speed.protocol} protocol only")
        item = next((i for i in speed.lengths if i.length == length), None)
        if length > speed.model.max_input_length:
            return Cost(None, f"max {speed.model.max_input_length} tokens")
        if item is None:
            return Cost(None, "not measured")
        if item.status != "ok" or item.timing is None:
            reason = item.reason or "skipped"
            if "usable positions" in reason:
                return Cost(None, f"max {speed.model.max_input_length} tokens")
            return Cost(None, "out of memory" if "out of memory" in reason else "skipped")
        median = item.timing.value("latency_ms_per_example_median")
        tokens, examples = item.timing.n_tokens, item.timing.n_examples
        per_example = tokens / examples if tokens and examples else length
        if median is None:
            return Cost(None, "no median")
        return Cost(median * 1000.0 / per_example)

    def peak_memory_mb(self) -> float | None:
        values = [v for r in self.records.values() if (v := r.timing_value("peak_memory_mb")) is not None]
        return max(values) if values else None

    def devices(self) -> str:
        """Where the entry's timings ran: its results' and its speed.json's devices."""
        names = {
            f"{t.device} ({t.device_name})" if t.device_name else t.device
            for r in self.records.values()
            if (t := r.timing) is not None
        }
        if self.speed is not None and self.speed.device:
            speed = self.speed
            names.add(f"{speed.device} ({speed.device_name})" if speed.device_name else speed.device)
        return ", ".join(sorted(names))

    def remote_code(self) -> bool:
        first = next(iter(self.records.values()), None)
        return bool(first and first.model.needs_remote_code) or bool(
            (self.baseline or {}).get("trust_remote_code")
        )


def regimes(entries: list[Entry]) -> list[tuple[str, list[Entry]]]:
    """The entries on the tasks' standard data and budgets, and apart from them those run on a sample or with a
    non-standard budget (:meth:`Entry.nonstandard`); each with its heading."""
    return [
        (STANDARD, [e for e in entries if not e.nonstandard()]),
        (NONSTANDARD, [e for e in entries if e.nonstandard()]),
    ]


STANDARD = "Standard data and budgets"
NONSTANDARD = "Sample data or non-standard budgets (not comparable with the table above)"


def budget_changes(task: str, budget: Any) -> str:
    """How a recorded budget differs from the task's default (``epochs 2 (default 3), ...``); empty when it is
    the default."""
    from ..run.config import default_budget

    if budget is None:
        return "no budget recorded"
    try:
        default = default_budget(task).to_dict()
    except BenchmarkError:
        return "not a known task"
    recorded = budget.to_dict()
    return ", ".join(
        f"{key} {recorded.get(key)} (default {value})"
        for key, value in default.items()
        if recorded.get(key) != value
    )


def baseline_for(model_id: str) -> dict[str, Any] | None:
    """Registry entry (as a dict) of a bundled baseline named ``model_id`` (NAME, baseline:NAME or Hub id)."""
    from ..model.model_source import lookup

    try:
        return lookup("baseline:", model_id).to_dict()
    except Exception:  # not a bundled baseline, or an unreadable registry: the entry simply has no role
        return None


def _json(path: Path) -> Any:
    from ..limits import load_json_file

    try:
        return load_json_file(path)
    except BenchmarkError:
        return None


def read_typed(path: Path, kind: type[Any]) -> Any:
    """``path`` read as a ``kind`` record (:mod:`benchmark.core.record`); None when missing, unreadable or invalid."""
    data = _json(path)
    try:
        return kind.from_dict(data, path.name) if data is not None else None
    except BenchmarkError:
        return None


def board_unverified(folder: Path, records: dict[str, ResultRecord] | None = None) -> list[str]:
    """``<task>.<split>`` of an entry not verified by re-scoring: those its ``submission.json`` lists as admitted
    with ``--unverified`` or, for an entry submitted before that list existed, those whose result records
    nothing identifying the gold data by sha256."""
    from ..tasks.registry import all_tasks
    from .rescore import verifiable

    saved = read_typed(folder / MANIFEST, Submission)
    if saved is not None and saved.unverified is not None:
        return sorted(saved.unverified)
    specs = {spec.name: spec for spec in all_tasks()}
    if records is None:
        records = {t: r for t in specs if (r := read_typed(folder / f"{t}.json", ResultRecord)) is not None}
    out = []
    for task, record in sorted(records.items()):
        for split in record.splits if task in specs else []:
            if not verifiable(specs[task], record, split):
                out.append(f"{task}.{split}")
    return sorted(out)


def sample_splits(records: dict[str, ResultRecord]) -> list[str]:
    """``<task>.<split> (<which sample>)`` of every split scored on a sample of the task's gold rather than the
    split the task defines: a run with ``--limit N`` (its first N examples), or gold the task's spec pins as a
    ``sample`` regime (``gold:`` of its YAML; :mod:`.rescore` checks the gold against the pins)."""
    from ..tasks.registry import all_tasks
    from .rescore import split_sources

    specs = {spec.name: spec for spec in all_tasks()}
    out = []
    for task, record in sorted(records.items()):
        spec = specs.get(task)
        for split in record.splits if spec is not None else []:
            if record.config.limit is not None:
                out.append(f"{task}.{split} (first {record.config.limit} examples)")
                continue
            names = []
            for sub, _, source in split_sources(spec, record, split):
                pin = sub.gold_pin(split, source.gold_sha256) if source is not None else None
                if pin is not None and pin.regime == "sample":
                    names.append(f"{sub.name} {pin.name}" if spec.subtasks else pin.name)
            if names:
                out.append(f"{task}.{split} ({', '.join(names)})")
    return sorted(out)


def load_entries(leaderboard: str | Path) -> list[Entry]:
    """Every ``results/<slug>/`` with at least one valid result, sorted by slug; teacher shares filled in.

    Files that are not valid records are skipped here; ``benchmark leaderboard --check`` reports them."""
    from ..tasks.registry import task_names

    known = task_names()
    root = Path(leaderboard) / RESULTS
    entries = []
    for folder in (
        sorted(p for p in root.glob("*") if p.is_dir() and not p.is_symlink()) if root.is_dir() else []
    ):
        records = {t: r for t in known if (r := read_typed(folder / f"{t}.json", ResultRecord)) is not None}
        if not records:
            continue
        model = next(iter(records.values())).model
        manifest = read_typed(folder / MANIFEST, Submission)
        speed = read_typed(folder / SPEED_FILE, SpeedRecord)
        entries.append(
            Entry(
                seed_records={task: _seed_records(folder, record) for task, record in records.items()},
                slug=folder.name,
                model=model,
                records=records,
                speed=_speed_as_today(speed) if speed is not None else None,
                partial=bool(manifest and manifest.partial) or len(records) < len(known),
                baseline=baseline_for(model.model_id),
                unverified=board_unverified(folder, records),
                samples=sample_splits(records),
                distill=read_curve(folder / DISTILL_REPORT_FILE),
            )
        )
    _fill_teacher_shares(entries)
    return entries


def _fill_teacher_shares(entries: list[Entry]) -> None:
    """A student's teacher: the registry's for a bundled baseline, else the entry whose model revision is the one
    the student's recipe (``baselines distill`` / ``baselines student``) started from."""
    by_name: dict[str, Entry] = {}
    by_revision: dict[str, Entry] = {}
    for entry in entries:
        if entry.baseline and entry.baseline["name"] not in by_name:
            by_name[entry.baseline["name"]] = entry
        if entry.model.revision:
            by_revision.setdefault(entry.model.revision, entry)
    for entry in entries:
        teacher = by_name.get((entry.baseline or {}).get("teacher"))
        if teacher is None and entry.model.teacher_revision():
            teacher = by_revision.get(entry.model.teacher_revision())
        if teacher is None:
            continue
        rows = compare_records(entry.records, teacher.records, entry.seed_records, teacher.seed_records)
        if rows:
            entry.teacher_share = rows[-1]["share"]
            entry.teacher_share_interval = rows[-1]["share_interval"]
            entry.teacher_slug = teacher.slug


def _seed_records(folder: Path, record: ResultRecord) -> list[ResultRecord]:
    """Every seed's result of a ``--seeds`` result (:func:`.compare.seed_records`); the record alone when they
    cannot be read (``benchmark leaderboard --check`` reports it)."""
    from .compare import seed_records

    try:
        return seed_records(folder, record)
    except BenchmarkError:
        return [record]


def _speed_as_today(speed: SpeedRecord) -> SpeedRecord:
    """A speed.json record with its attention paths in today's vocabulary (older files spelled BigBird's fallback
    ``full (BigBird fallback at <= N tokens)``); the file itself is left as it was submitted."""
    model_type = speed.model.model_type
    lengths = [
        replace(item, attention_path=canonical_attention_path(item.attention_path, model_type))
        if item.attention_path is not None
        else item
        for item in speed.lengths
    ]
    return replace(speed, lengths=lengths)
