"""``benchmark submit`` / ``benchmark leaderboard --check`` as library functions.

:func:`submit` checks a result directory (:mod:`.validate`), refuses duplicates of runs already on the
leaderboard (resubmitting a model's folder with something new updates its entry, keeping every task), then copies the checked files into ``results/<slug>/`` through a temporary folder and a rename,
writes ``submission.json`` (partial flag, sha256 of every copied file) and regenerates the views. When anything
is wrong, nothing in the leaderboard directory changes.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..results import OWNER_FILE, file_sha256
from . import RESULTS
from .validate import MANIFEST, MANIFEST_SCHEMA, Checked, check_results_dir, safe_slug


@dataclass
class Report:
    """What :func:`submit` or :func:`check_leaderboard` found and did."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    slug: str | None = None
    copied: list[str] = field(default_factory=list)
    regenerated: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def format(self) -> str:
        lines = [f"problem: {p}" for p in self.problems] + [f"warning: {w}" for w in self.warnings]
        if self.ok and self.slug:
            lines.append(f"submitted {len(self.copied)} files to {RESULTS}/{self.slug}/")
        return "\n".join(lines)


def _run_key(record: dict[str, Any]) -> tuple[str, ...]:
    model, task = record["model"], record["task"]
    return (
        str(model["model_id"]),
        str(model["revision"]),
        task["name"],
        record["config_hash"],
        task["spec_hash"],
    )


def existing_runs(leaderboard: Path) -> dict[tuple[str, ...], str]:
    """(model, revision, task, config hash, spec hash) -> ``<slug>/<task>.json`` of every run on the board."""
    runs = {}
    for path in sorted((leaderboard / RESULTS).glob("*/*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            runs[_run_key(record)] = f"{path.parent.name}/{path.name}"
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return runs


def _owner(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / OWNER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def manifest(checked: Checked, directory: Path, partial: bool) -> bytes:
    """``submission.json``: deterministic (sorted keys, no timestamps)."""
    data = {
        "schema": MANIFEST_SCHEMA,
        "model": checked.model,
        "partial": partial,
        "files": {name: file_sha256(directory / name) for name in sorted(checked.files)},
    }
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()


def submit(
    results_dir: str | Path,
    leaderboard: str | Path = "leaderboard",
    *,
    data_dir: str | Path | None = None,
    partial: bool = False,
) -> Report:
    """Check ``results_dir`` and, when it is valid, add it to ``leaderboard`` (see the module docstring)."""
    board = Path(leaderboard)
    checked = check_results_dir(results_dir, data_dir=data_dir, allow_partial=partial)
    report = Report(problems=list(checked.problems), warnings=list(checked.warnings), slug=checked.slug)
    target = board / RESULTS / checked.slug if checked.slug else None
    report.problems += _duplicates(checked, board, target)
    if target is not None and target.exists():
        owner = _owner(target)
        if owner is None or (owner.get("model_id"), owner.get("revision")) != (
            checked.model.get("model_id"),
            checked.model.get("revision"),
        ):
            report.problems.append(f"{RESULTS}/{checked.slug}/ already holds another model's results")
    if not report.ok or target is None:
        return report
    _install(checked, Path(results_dir), target, partial=partial or len(checked.records) < _n_tasks())
    report.copied = [*sorted(checked.files), MANIFEST]
    from .views import write_all

    report.regenerated = write_all(board)
    return report


def _duplicates(checked: Checked, board: Path, target: Path | None) -> list[str]:
    """A run already on the board is refused, except that resubmitting a model's folder may carry its earlier
    runs over when it adds something new (an update); an update must keep every task already on the board."""
    runs = existing_runs(board)
    own = f"{target.name}/" if target is not None else None
    found = {task: runs.get(_run_key(record)) for task, record in sorted(checked.records.items())}
    problems = [
        f"{task}.json: duplicate of {where} (same model, task, config and spec hash)"
        for task, where in found.items()
        if where and (own is None or not where.startswith(own))
    ]
    if target is None or not target.is_dir():
        return problems
    carried = {task for task, where in found.items() if where and where.startswith(own)}
    if carried and carried == set(checked.records) and set(checked.files) <= _listed(target):
        problems += [
            f"{task}.json: duplicate of {found[task]} (same model, task, config and spec hash); nothing new"
            for task in sorted(carried)
        ]
    on_board = {p.name for p in target.glob("*.json") if p.name not in (MANIFEST, OWNER_FILE)}
    submitted = {f"{task}.json" for task in checked.records} | set(checked.files)
    for name in sorted(on_board - submitted):
        problems.append(
            f"{RESULTS}/{target.name}/{name} is on the leaderboard but not in this submission: "
            "include it to update the entry (an update never drops results)"
        )
    return problems


def _listed(target: Path) -> set[str]:
    try:
        return set(json.loads((target / MANIFEST).read_text(encoding="utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return set()


def _n_tasks() -> int:
    from ..tasks.registry import task_names

    return len(task_names())


def _install(checked: Checked, source: Path, target: Path, *, partial: bool) -> None:
    """Copy the checked files to a temporary folder beside ``target``, then rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.incoming-", dir=target.parent))
    try:
        for name in sorted(checked.files):
            shutil.copyfile(source / name, staging / name, follow_symlinks=False)
        (staging / MANIFEST).write_bytes(manifest(checked, staging, partial))
        os.chmod(staging, 0o755)
        if target.exists():
            old = target.with_name(f".{target.name}.replaced-{os.getpid()}")
            os.replace(target, old)
            os.replace(staging, target)
            shutil.rmtree(old)
        else:
            os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def check_leaderboard(leaderboard: str | Path, *, data_dir: str | Path | None = None) -> Report:
    """Every submission re-checked (files unchanged since submission, results valid for the current specs)
    and every generated view up to date."""
    from .views import stale_files

    board = Path(leaderboard)
    report = Report()
    root = board / RESULTS
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if folder.name.startswith("."):
            report.problems.append(f"{RESULTS}/{folder.name}: leftover temporary folder")
            continue
        report.problems += [f"{RESULTS}/{folder.name}/{p}" for p in _check_entry(folder, data_dir)]
    report.problems += [f"{name}: stale; run `benchmark leaderboard`" for name in stale_files(board)]
    return report


def _check_entry(folder: Path, data_dir: str | Path | None) -> list[str]:
    if not folder.is_dir() or folder.is_symlink():
        return ["not a folder"]
    try:
        saved = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        files, partial = dict(saved["files"]), bool(saved["partial"])
    except (OSError, ValueError, KeyError, TypeError):
        return [f"{MANIFEST}: missing or unreadable (submit the entry with `benchmark submit`)"]
    checked = check_results_dir(folder, data_dir=data_dir, allow_partial=partial)
    problems = [p for p in checked.problems]
    present = sorted(p.name for p in folder.iterdir() if p.name != MANIFEST)
    for name in sorted(set(files) | set(present)):
        if name not in files:
            problems.append(f"{name}: not listed in {MANIFEST}")
        elif name not in present:
            problems.append(f"{name}: listed in {MANIFEST} but missing")
        elif file_sha256(folder / name) != files[name]:
            problems.append(f"{name}: changed since it was submitted (sha256 differs)")
    if checked.model and safe_slug(str(checked.model.get("model_id"))) != folder.name:
        problems.append(
            f"folder name is not the model's slug {safe_slug(str(checked.model.get('model_id')))!r}"
        )
    return problems
