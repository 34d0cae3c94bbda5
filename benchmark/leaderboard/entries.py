"""The submitted entries of a leaderboard directory and the per-model figures the views show."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean
from typing import Any

from ..architectures import canonical_attention_path
from . import RESULTS
from .compare import compare_records, task_score, timing_value
from .validate import MANIFEST, SPEED_FILE


@dataclass
class Entry:
    """One model on the leaderboard: its result records by task, optional speed curve and registry data."""

    slug: str
    model: dict[str, Any]
    records: dict[str, dict[str, Any]]
    speed: dict[str, Any] | None = None
    partial: bool = False
    baseline: dict[str, Any] | None = None
    teacher_share: float | None = None
    teacher_slug: str | None = None
    unverified: list[str] = field(default_factory=list)  # "<task>.<split>" not verified by re-scoring
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.model.get("model_id", self.slug))

    @property
    def label(self) -> str:
        """The name as plots label it: marked when some of its scores were not verified by re-scoring."""
        return f"{self.name} (unverified)" if self.unverified else self.name

    def score(self, task: str) -> float | None:
        return task_score(self.records[task]) if task in self.records else None

    def average(self, tasks: list[str]) -> float | None:
        """Mean primary metric over ``tasks``; None unless every one has a score."""
        scores = [self.score(t) for t in tasks]
        return mean(scores) if scores and all(s is not None for s in scores) else None  # type: ignore[arg-type]

    def latency_ms(self) -> float | None:
        """Mean over tasks of the median per-example inference latency (ms)."""
        values = [v for r in self.records.values() if (v := timing_value(r, "latency_ms_per_example_median"))]
        return mean(values) if values else None

    def peak_memory_mb(self) -> float | None:
        values = [v for r in self.records.values() if (v := timing_value(r, "peak_memory_mb")) is not None]
        return max(values) if values else None

    def devices(self) -> str:
        names = {
            f"{t.get('device')} ({t.get('device_name')})" if t.get("device_name") else str(t.get("device"))
            for r in self.records.values()
            if isinstance(t := r.get("timing"), dict)
        }
        return ", ".join(sorted(names))

    def remote_code(self) -> bool:
        info = next(iter(self.records.values()), {}).get("model", {})
        return bool(info.get("needs_remote_code")) or bool((self.baseline or {}).get("trust_remote_code"))


def baseline_for(model_id: str) -> dict[str, Any] | None:
    """Registry entry (as a dict) of a bundled baseline named ``model_id`` (NAME, baseline:NAME or Hub id)."""
    try:
        from baselines.registry import resolve
    except ImportError:
        return None
    try:
        return resolve(model_id).to_dict()
    except Exception:  # not a bundled baseline, or an unreadable registry: the entry simply has no role
        return None


def _json(path: Path) -> Any:
    from ..errors import BenchmarkError
    from ..limits import load_json_file

    try:
        return load_json_file(path)
    except BenchmarkError:
        return None


def board_unverified(folder: Path, records: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """``<task>.<split>`` of an entry not verified by re-scoring: those its ``submission.json`` lists as admitted
    with ``--unverified`` or, for an entry submitted before that list existed, those whose result records
    nothing identifying the gold data by sha256."""
    from ..tasks.registry import all_tasks
    from .rescore import verifiable

    saved = _json(folder / MANIFEST)
    if isinstance(saved, dict) and isinstance(saved.get("unverified"), list):
        return sorted(str(x) for x in saved["unverified"])
    specs = {spec.name: spec for spec in all_tasks()}
    if records is None:
        records = {t: r for t in specs if isinstance(r := _json(folder / f"{t}.json"), dict)}
    out = []
    for task, record in sorted(records.items()):
        for split in record.get("splits", []) if task in specs else []:
            try:
                if not verifiable(specs[task], record, split):
                    out.append(f"{task}.{split}")
            except (AttributeError, TypeError):
                out.append(f"{task}.{split}")
    return sorted(out)


def load_entries(leaderboard: str | Path) -> list[Entry]:
    """Every ``results/<slug>/`` with at least one readable result, sorted by slug; teacher shares filled in.

    Unreadable files are skipped here; ``benchmark leaderboard --check`` reports them."""
    from ..tasks.registry import task_names

    known = task_names()
    root = Path(leaderboard) / RESULTS
    entries = []
    for folder in (
        sorted(p for p in root.glob("*") if p.is_dir() and not p.is_symlink()) if root.is_dir() else []
    ):
        records = {t: r for t in known if isinstance(r := _json(folder / f"{t}.json"), dict) and "model" in r}
        if not records:
            continue
        model = dict(next(iter(records.values()))["model"])
        manifest = _json(folder / MANIFEST) or {}
        speed = _json(folder / SPEED_FILE)
        entries.append(
            Entry(
                slug=folder.name,
                model=model,
                records=records,
                speed=_speed_as_today(speed) if isinstance(speed, dict) else None,
                partial=bool(manifest.get("partial")) or len(records) < len(known),
                baseline=baseline_for(str(model.get("model_id", ""))),
                unverified=board_unverified(folder, records),
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
        if entry.model.get("revision"):
            by_revision.setdefault(str(entry.model["revision"]), entry)
    for entry in entries:
        recipe = entry.model.get("recipe") or {}
        teacher = by_name.get((entry.baseline or {}).get("teacher"))
        if teacher is None and recipe.get("teacher_revision"):
            teacher = by_revision.get(str(recipe["teacher_revision"]))
        if teacher is None:
            continue
        rows = compare_records(entry.records, teacher.records)
        if rows:
            entry.teacher_share = rows[-1]["share"]
            entry.teacher_slug = teacher.slug


def _speed_as_today(speed: dict[str, Any]) -> dict[str, Any]:
    """A speed.json record with its attention paths in today's vocabulary (older files spelled BigBird's fallback
    ``full (BigBird fallback at <= N tokens)``); the file itself is left as it was submitted."""
    model = speed.get("model")
    model_type = model.get("model_type") if isinstance(model, dict) else None
    lengths = speed.get("lengths")
    if not isinstance(lengths, list):
        return speed
    return {
        **speed,
        "lengths": [
            {**item, "attention_path": canonical_attention_path(item["attention_path"], model_type)}
            if isinstance(item, dict) and isinstance(item.get("attention_path"), str)
            else item
            for item in lengths
        ],
    }
