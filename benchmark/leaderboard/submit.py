"""``benchmark submit`` / ``benchmark leaderboard --check`` as library functions.

:func:`submit` checks a result directory (:mod:`.validate`: every split re-scored from its predictions against
gold data identified by sha256), refuses duplicates of runs already on the leaderboard (resubmitting a model's
folder with something new updates its entry, keeping every task), then copies the checked files into
``results/<slug>/`` through a temporary folder and a rename (with the results' ``speed.json`` and a distilled
student's ``distill_report.json``, when present), writes ``submission.json`` (partial flag, the splits admitted
unverified, sha256 of every copied file) and regenerates the views. When anything is wrong,
nothing in the leaderboard directory changes: every change is made on a staged copy of the whole board, which is
rendered and checked there and then swapped in (:mod:`.staging`); a full disk or a read-only board is one line.

A split whose gold data is not at hand is refused, unless ``unverified=True`` (``--unverified``): the entry is
then marked unverified. An update never changes a result already on the board without re-scoring it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from gonerd.untrusted import not_regular

from ..core.record import Owner, RecordError, ResultRecord, Submission
from ..errors import BenchmarkError
from ..results.files import OWNER_FILE, file_sha256, predictions_path
from . import RESULTS
from .entries import board_unverified, read_typed
from .staging import change_board, copy_file, write_bytes
from .validate import (
    DISTILL_REPORT_FILE,
    MANIFEST,
    MANIFEST_SCHEMA,
    SEEDS_DIR,
    SPEED_FILE,
    Checked,
    check_results_dir,
    safe_slug,
)


@dataclass
class Report:
    """What :func:`submit` or :func:`check_leaderboard` found and did."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    slug: str | None = None
    copied: list[str] = field(default_factory=list)
    regenerated: list[str] = field(default_factory=list)
    already_listed: bool = False  # every problem is that these very results are on the board already

    @property
    def ok(self) -> bool:
        return not self.problems

    def format(self) -> str:
        """What went well (warnings, notes, what was copied); problems are :meth:`format_problems`."""
        lines = [f"warning: {w}" for w in self.warnings] + [f"note: {n}" for n in self.notes]
        if self.ok and self.slug:
            lines.append(f"submitted {len(self.copied)} files to {RESULTS}/{self.slug}/")
        return "\n".join(lines)

    def format_problems(self, command: str, outcome: str) -> str:
        """One line for one problem; otherwise one line each and a count."""
        if len(self.problems) == 1:
            return f"{command}: {self.problems[0]} ({outcome})"
        return "\n".join(
            [
                *(f"problem: {p}" for p in self.problems),
                f"{command}: {len(self.problems)} problems ({outcome})",
            ]
        )


def _run_key(record: ResultRecord) -> tuple[str, ...]:
    return (
        record.model.model_id,
        str(record.model.revision),
        record.task.name,
        record.config_hash,
        record.task.spec_hash,
    )


def existing_runs(leaderboard: Path) -> dict[tuple[str, ...], str]:
    """(model, revision, task, config hash, spec hash) -> ``<slug>/<task>.json`` of every valid result on the
    board."""
    runs = {}
    for path in sorted((leaderboard / RESULTS).glob("*/*.json")):
        record = (
            read_typed(path, ResultRecord)
            if path.name not in (MANIFEST, OWNER_FILE, SPEED_FILE, DISTILL_REPORT_FILE)
            else None
        )
        if record is not None:
            runs[_run_key(record)] = f"{path.parent.name}/{path.name}"
    return runs


def manifest(checked: Checked, directory: Path, partial: bool, unverified: list[str] | None = None) -> bytes:
    """``submission.json`` (:class:`benchmark.core.record.Submission`, checked before it is written): deterministic
    (sorted keys, no timestamps). ``unverified``: the ``<task>.<split>`` admitted without re-scoring
    (``--unverified``)."""
    data = {
        "schema": MANIFEST_SCHEMA,
        "model": checked.model.to_dict() if checked.model is not None else None,
        "partial": partial,
        "unverified": sorted(unverified or []),
        "files": {name: file_sha256(directory / name) for name in sorted(checked.files)},
    }
    try:
        record = Submission.from_dict(data, MANIFEST)
    except RecordError as exc:  # a bug of the caller: a checked directory always gives a valid manifest
        raise ValueError(f"refusing to write an invalid {exc}") from None
    return (json.dumps(record.to_dict(), indent=2, sort_keys=True) + "\n").encode()


def submit(
    results_dir: str | Path,
    leaderboard: str | Path = "leaderboard",
    *,
    data_dir: str | Path | None = None,
    partial: bool = False,
    unverified: bool = False,
) -> Report:
    """Check ``results_dir`` and, when it is valid, add it to ``leaderboard`` (see the module docstring)."""
    board = Path(leaderboard)
    checked = check_results_dir(results_dir, data_dir=data_dir, allow_partial=partial)
    report = Report(problems=list(checked.problems), warnings=list(checked.warnings), slug=checked.slug)
    target = board / RESULTS / checked.slug if checked.slug else None
    duplicates = _duplicates(checked, board, target)
    report.already_listed = (
        bool(duplicates) and not report.problems and all(p.endswith(NOTHING_NEW) for p in duplicates)
    )
    report.problems += duplicates
    if target is not None and target.exists():
        owner = read_typed(target / OWNER_FILE, Owner)
        if (
            owner is None
            or checked.model is None
            or (owner.model_id, owner.revision) != (checked.model.model_id, checked.model.revision)
        ):
            report.problems.append(f"{RESULTS}/{checked.slug}/ already holds another model's results")
    marked = _unverified(checked, target, unverified, report)
    if not report.ok or target is None:
        return report
    slug = checked.slug

    def apply(staged: Path) -> None:  # on a copy of the whole board, swapped in only when all of it worked
        _install(
            checked,
            Path(results_dir),
            staged / RESULTS / slug,
            partial=partial or len(checked.records) < _n_tasks(),
            unverified=marked,
        )
        report.regenerated = _regenerate(staged, slug)

    try:
        change_board(board, apply)
    except BenchmarkError as exc:  # a full disk, a read-only board, views that cannot be rendered with it
        report.problems.append(str(exc))
        return report
    report.copied = [*sorted(checked.files), MANIFEST]
    if marked:
        report.notes.append(f"entry marked unverified: {', '.join(marked)} not re-scored (--unverified)")
    return report


def _regenerate(staged: Path, slug: str) -> list[str]:
    """Regenerate the views of the staged board and check it as ``--check`` would (all but re-scoring, which
    was done): a submission the board cannot be rendered or checked with is refused. Returns the views that
    changed."""
    from .views import render_all

    try:
        rendered = render_all(staged)
    except BenchmarkError:
        raise
    except Exception as exc:  # a string some library parses (mathtext...), a value the views cannot show
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise BenchmarkError(
            f"the leaderboard cannot be regenerated with this submission ({exc.__class__.__name__}: {first})"
        ) from None
    changed = [name for name, data in sorted(rendered.items()) if not _same_bytes(staged / name, data)]
    for name in changed:
        write_bytes(staged / name, rendered[name])
    report = check_leaderboard(staged, rescore=False)
    mine = [p for p in report.problems if p.startswith(f"{RESULTS}/{slug}/") or ": stale;" in p]
    if mine:
        raise BenchmarkError(f"the leaderboard would not check with this submission: {mine[0]}")
    return changed


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        return path.read_bytes() == data
    except OSError:
        return False


def _task_files(checked: Checked, directory: Path, task: str) -> dict[str, str]:
    """sha256 of a task's result file and predictions files in ``directory``."""
    record = checked.records[task]
    names = [
        f"{task}.json",
        *(predictions_path(directory / f"{task}.json", s).name for s in record.splits),
    ]
    for relative in record.seeds.files.values() if record.seeds is not None else ():  # --seeds: every seed's
        names += [
            relative,
            *(f"{Path(relative).parent}/{predictions_path(Path(relative), s).name}" for s in record.splits),
        ]
    return {n: file_sha256(directory / n) for n in names if (directory / n).is_file()}


def _unverified(checked: Checked, target: Path | None, allowed: bool, report: Report) -> list[str]:
    """The splits the entry will carry as unverified; adds a problem when that is not allowed: without
    ``--unverified`` any split whose gold is not at hand, and always a change to a result already on the board
    that could not be re-scored."""
    if not checked.unverified:
        return []
    on_board = read_typed(target / MANIFEST, Submission) if target is not None else None
    listed = on_board.files if on_board is not None else {}
    was = set(board_unverified(target)) if target is not None and target.is_dir() else set()
    marked, changed = [], []
    for key in sorted(checked.unverified):
        task = key.split(".", 1)[0]
        if task not in checked.records:
            continue
        files = _task_files(checked, checked.directory, task)
        same = all(listed.get(n) == sha for n, sha in files.items())
        if same and key not in was:
            continue  # byte-identical to the copy on the board, which was verified: stays verified
        if not same and f"{task}.json" in listed:
            changed.append(key)
        marked.append(key)
    if changed:
        report.problems.append(
            f"{', '.join(changed)}: differ from the results on the leaderboard and could not be re-scored "
            f"({checked.unverified[changed[0]]}); an update changes results on the board only when re-scoring "
            "confirms them: pass --data-dir with the data the run read"
        )
    elif marked and not allowed:
        report.problems.append(
            f"gold data not at hand for {', '.join(marked)} ({checked.unverified[marked[0]]}); every score is "
            "re-scored before it is listed: pass --data-dir with the data the run read, or --unverified to "
            "list the entry marked unverified"
        )
    return marked


NOTHING_NEW = "; nothing new"


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
    problems += _copied_predictions(checked, board, target)
    if target is None or not target.is_dir():
        return problems
    carried = {task for task, where in found.items() if where and where.startswith(own)}
    clears = not set(board_unverified(target)) <= set(checked.unverified)  # re-scores what was unverified
    listed = _listed(target)
    changed = sorted(
        task
        for task in carried
        if any(listed.get(n) != sha for n, sha in _task_files(checked, checked.directory, task).items())
        and not any(key.startswith(f"{task}.") for key in checked.unverified)  # _unverified() says it
    )
    if changed:  # the same run with other files: not "already listed", and it cannot replace the listed one
        problems += [
            f"{task}.json: the same run (model, task, config and spec hash) as {found[task]}, with different "
            "files; a result on the board is replaced only by a new run"
            for task in changed
        ]
    elif carried and carried == set(checked.records) and set(checked.files) <= set(listed) and not clears:
        problems += [
            f"{task}.json: duplicate of {found[task]} (same model, task, config and spec hash){NOTHING_NEW}"
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


def _listed(target: Path) -> dict[str, str]:
    """name -> sha256 of the files an entry's ``submission.json`` lists."""
    on_board = read_typed(target / MANIFEST, Submission)
    return dict(on_board.files) if on_board is not None else {}


def _predictions_digest(path: Path) -> str | None:
    """sha256 of a predictions file's decompressed content (gzip headers may differ), None when unreadable."""
    import gzip
    import hashlib

    from ..limits import MAX_PREDICTIONS_BYTES

    if path.is_symlink() or not path.is_file():  # a FIFO or device is never opened (it could block for ever)
        return None
    digest, total = hashlib.sha256(), 0
    try:
        with gzip.open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                total += len(chunk)
                if total > MAX_PREDICTIONS_BYTES:
                    return None
                digest.update(chunk)
    except (OSError, EOFError, ValueError):
        return None
    return digest.hexdigest()


def _copied_predictions(checked: Checked, board: Path, target: Path | None) -> list[str]:
    """A submission whose every predictions file is identical to another entry's (another model's results under
    a new name) is refused. One file alike is not enough: on a tiny split two models may well agree."""
    from ..results.files import predictions_path

    if checked.problems:  # files that do not check are refused for that; comparing them says nothing more
        return []
    mine = {}
    for task, record in checked.records.items():
        for split in record.splits:
            name = predictions_path(checked.directory / f"{task}.json", split).name
            mine[name] = _predictions_digest(checked.directory / name)
    if not mine or None in mine.values():
        return []
    problems = []
    for folder in sorted((board / RESULTS).glob("*")) if (board / RESULTS).is_dir() else []:
        if (target is not None and folder.name == target.name) or folder.name.startswith("."):
            continue
        if all(_predictions_digest(folder / name) == digest for name, digest in mine.items()):
            problems.append(
                f"every predictions file ({', '.join(sorted(mine))}) is identical to those of "
                f"{RESULTS}/{folder.name}/ (another model's entry); a copy of another model's results is not a "
                "new entry"
            )
    return problems


def _n_tasks() -> int:
    from ..tasks.registry import task_names

    return len(task_names())


def _install(checked: Checked, source: Path, target: Path, *, partial: bool, unverified: list[str]) -> None:
    """The checked files and ``submission.json`` into ``target`` (a folder of the staged board), replacing what
    was there."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in sorted(checked.files):
        (target / name).parent.mkdir(parents=True, exist_ok=True)  # seeds/<seed>/ of a --seeds result
        copy_file(source / name, target / name)
    write_bytes(target / MANIFEST, manifest(checked, target, partial, unverified))


# What a leaderboard directory holds; anything else in it is flagged by --check.
BOARD_DIRS, BOARD_FILES = {RESULTS, "plots"}, {"README.md", "index.html"}


def check_leaderboard(
    leaderboard: str | Path, *, data_dir: str | Path | None = None, rescore: bool = True
) -> Report:
    """Every submission re-checked (files unchanged since submission, results valid for the current specs, every
    split re-scored against gold its task's spec pins) and every generated view up to date. A split that cannot
    be re-scored (gold not at hand) is a problem unless its entry is marked unverified; entries marked unverified
    are listed in ``notes``. ``rescore=False`` (``--no-rescore``) checks everything but the scores, which it
    lists as not re-scored."""
    from .views import stale_files

    board = Path(leaderboard)
    report = Report()
    root = board / RESULTS
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if folder.name.startswith("."):
            report.problems.append(f"{RESULTS}/{folder.name}: leftover temporary folder")
            continue
        problems, notes = _check_entry(folder, data_dir, rescore)
        report.problems += [f"{RESULTS}/{folder.name}/{p}" for p in problems]
        report.notes += [f"{RESULTS}/{folder.name}: {n}" for n in notes]
    for path in sorted(board.iterdir()):
        if path.is_symlink() or not (
            (path.name in BOARD_DIRS and path.is_dir()) or (path.name in BOARD_FILES and path.is_file())
        ):
            known = ", ".join(sorted(BOARD_DIRS | BOARD_FILES))
            report.problems.append(f"{path.name}: not part of a leaderboard (it holds only {known})")
    report.problems += [f"{name}: stale; run `benchmark leaderboard`" for name in stale_files(board)]
    return report


def _check_entry(
    folder: Path, data_dir: str | Path | None, rescore: bool = True
) -> tuple[list[str], list[str]]:
    if not folder.is_dir() or folder.is_symlink():
        return ["not a folder"], []
    saved, problem = _submission(folder / MANIFEST)
    if saved is None:
        return [problem], []
    files, partial = saved.files, saved.partial
    checked = check_results_dir(folder, data_dir=data_dir, allow_partial=partial, rescore=rescore)
    problems = [p for p in checked.problems]
    present = sorted(p.name for p in folder.iterdir() if p.name != MANIFEST and p.name != SEEDS_DIR)
    seeds = folder / SEEDS_DIR  # a --seeds entry's seeds/<seed>/ files, listed by their relative paths
    if seeds.is_dir() and not seeds.is_symlink():
        present += sorted(p.relative_to(folder).as_posix() for p in seeds.rglob("*") if not p.is_dir())
    for name in sorted(set(files) | set(present)):
        if name not in files:
            problems.append(f"{name}: not listed in {MANIFEST}")
        elif name not in present:
            problems.append(f"{name}: listed in {MANIFEST} but missing")
        elif not_regular(folder / name):
            continue  # a FIFO or device: named by the check of the folder, never read
        elif file_sha256(folder / name) != files[name]:
            problems.append(f"{name}: changed since it was submitted (sha256 differs)")
    if checked.model is not None and safe_slug(checked.model.model_id) != folder.name:
        problems.append(f"folder name is not the model's slug {safe_slug(checked.model.model_id)!r}")
    marked = board_unverified(folder, checked.records or None)
    notes = []
    for key, why in sorted(checked.unverified.items()):
        if key in marked or not rescore:
            notes.append(f"{key}: not re-scored ({why})")
        else:
            problems.append(
                f"{key}: cannot be re-scored ({why}) and the entry is not marked unverified; give --data-dir "
                "with the gold data the run read"
            )
    if marked:
        notes.append(f"marked unverified on the board: {', '.join(marked)}")
    return problems, notes


def _submission(path: Path) -> tuple[Submission | None, str]:
    """An entry's ``submission.json`` as its typed record, or None and the one-line problem."""
    from ..limits import load_json_file

    if not path.is_file():
        return None, f"{MANIFEST}: missing (submit the entry with `benchmark submit`)"
    try:
        return Submission.from_dict(load_json_file(path, MANIFEST), MANIFEST), ""
    except BenchmarkError as exc:
        return None, str(exc)
