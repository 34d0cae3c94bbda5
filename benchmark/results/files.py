"""Result files: one schema-versioned JSON per (model, task), per-example predictions beside it.

Layout::

    OUTPUT/<model-slug>/model.json                           which model (id + revision) owns this directory
    OUTPUT/<model-slug>/<task>.json                          schema "gonerd-bench/result/v1"
    OUTPUT/<model-slug>/<task>.<split>.predictions.jsonl.gz  {"id": ..., "prediction": ...} per line

Every file is written to a temporary name and renamed (``os.replace``), so an interrupted run never leaves half a
file and a rerun resumes with the tasks that are missing. Predictions are gzipped with ``mtime=0``, so equal
predictions give equal bytes. The shape of a result is :class:`benchmark.core.record.ResultRecord`: checked when a
result is written (:func:`write_result`) and read (:func:`load_record`, :func:`load_result`).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import math
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import __version__
from ..core.record import Owner, RecordError, ResultRecord
from ..errors import BenchmarkError
from ..model.recipe import DISTILL_REPORT

OWNER_FILE = "model.json"


def utc_now() -> str:
    """Current time, UTC, ISO 8601 with seconds (``2026-11-23T10:00:00Z``)."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def model_slug(model_id: str) -> str:
    """Directory name for a model: the Hub id with ``/`` -> ``__``, or a local directory's name."""
    path = Path(model_id).expanduser()
    name = path.name if path.exists() or model_id.startswith((".", "/", "~")) else model_id.replace("/", "__")
    slug = re.sub(r"[^A-Za-z0-9._\-]+", "-", name).strip("-.")
    return slug or "model"


def config_hash(config: Mapping[str, Any]) -> str:
    """sha256 (16 hex digits) over the canonical JSON of a run's config (budget + flags that change results)."""
    blob = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def git_commit() -> str | None:
    """Commit of the harness checkout, if it is one (None for an installed package)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def harness_info() -> dict[str, Any]:
    return {"name": "gonerd-bench", "version": __version__, "git_commit": git_commit()}


def file_sha256(path: Path) -> str:
    from ..limits import open_regular

    digest = hashlib.sha256()
    with open_regular(path) as handle:  # a FIFO is refused, never waited on
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same directory and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def result_path(output: Path, slug: str, task: str) -> Path:
    return Path(output) / slug / f"{task}.json"


def predictions_path(result: Path, split: str) -> Path:
    task = result.name.removesuffix(".json")
    return result.with_name(f"{task}.{split}.predictions.jsonl.gz")


def predictions_bytes(predictions: Mapping[str, Any]) -> bytes:
    """Deterministic gzip (mtime=0, no file name) of ``{"id", "prediction"}`` JSON lines, in the given order."""
    try:
        lines = "".join(
            json.dumps({"id": key, "prediction": value}, ensure_ascii=False, allow_nan=False) + "\n"
            for key, value in predictions.items()
        )
    except ValueError:  # JSON has no NaN / Infinity: name the first prediction that holds one
        bad = next(k for k, v in predictions.items() if non_finite_fields(v))
        raise BenchmarkError(
            f"the prediction of {bad!r} is not a finite number; predictions not written"
        ) from None
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as gz:
        gz.write(lines.encode("utf-8"))
    return buffer.getvalue()


def read_predictions(path: Path) -> dict[str, Any]:
    """Inverse of the predictions file writer, read within the limits of :mod:`benchmark.limits`."""
    from ..evaluate.scoring import read_predictions as read_bounded

    return read_bounded(path)


def typed_result(data: Mapping[str, Any], path: str | Path) -> ResultRecord:
    """The :class:`~benchmark.core.record.ResultRecord` of a result the harness has just made (``data``: its
    sections, keys in the order they are written), to be written to ``path``. :class:`BenchmarkError` naming the
    numbers that are not finite (a diverged training's loss: JSON has no NaN or Infinity, so no result is written);
    ValueError when ``data`` is not a valid result (a bug of the caller, never the user's)."""
    bad = non_finite_fields(data)
    if bad:
        raise BenchmarkError(
            f"refusing to write {path}: {', '.join(bad[:3])}: not a finite number (JSON has no NaN or Infinity)"
        )
    try:
        return ResultRecord.from_dict(data, str(path))
    except RecordError as exc:
        raise ValueError(f"refusing to write an invalid result {exc}") from None


def write_result(path: Path, record: ResultRecord, predictions: Mapping[str, Mapping[str, Any]]) -> Path:
    """Write the predictions of every split, then the result JSON (last, so it only exists when complete), as
    the record gives it back (the same keys, in the same order)."""
    data = record.to_dict()
    if bad := non_finite_fields(data):  # a record changed after typed_result
        raise BenchmarkError(f"refusing to write {path}: {', '.join(bad[:3])}: not a finite number")
    blobs = {predictions_path(path, split): predictions_bytes(preds) for split, preds in predictions.items()}
    text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False, allow_nan=False) + "\n"
    for target, blob in blobs.items():
        atomic_write_bytes(target, blob)
    atomic_write_bytes(path, text.encode())
    return path


def non_finite_fields(value: Any, where: str = "") -> list[str]:
    """Dotted paths (with values) of the NaN / infinite floats in ``value``, e.g. ``["training.loss=nan"]``."""
    found: list[str] = []
    stack: list[tuple[str, Any]] = [(where, value)]
    while stack:
        at, item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            found.append(f"{at or 'value'}={item}")
        elif isinstance(item, Mapping):
            stack += [(f"{at}.{k}" if at else str(k), v) for k, v in reversed(list(item.items()))]
        elif isinstance(item, list | tuple):
            stack += [(f"{at}[{i}]", v) for i, v in reversed(list(enumerate(item)))]
    return found


def validate_result(record: Any) -> list[str]:
    """Problems with a result's JSON data as a :class:`~benchmark.core.record.ResultRecord` (empty list: valid)."""
    return ResultRecord.problems(record)


def load_record(path: str | Path) -> ResultRecord:
    """Read a result file into its typed record; one-line BenchmarkError naming the file when it is not one."""
    from ..limits import load_json_file

    path = Path(path)
    if not path.exists():
        raise BenchmarkError(f"{path}: no such result file")
    data = load_json_file(path)  # size and nesting capped: a hostile file is one line, not a RecursionError
    if not isinstance(data, dict):
        raise BenchmarkError(f"{path}: not a JSON result file (not an object)")
    return ResultRecord.from_dict(data, str(path))


def load_result(path: str | Path) -> dict[str, Any]:
    """Read and validate a result file (:func:`load_record`); its JSON data, as in the file."""
    return load_record(path).to_dict()


def is_up_to_date(path: Path, *, spec_hash: str, cfg_hash: str, revision: str) -> bool:
    """A valid result for the same task spec, config and model revision already exists at ``path``."""
    if not path.is_file():
        return False
    try:
        record = load_record(path)
    except BenchmarkError:
        return False
    return (
        record.task.spec_hash == spec_hash
        and record.config_hash == cfg_hash
        and record.model.revision == revision
        and all(predictions_path(path, s).is_file() for s in record.splits)
    )


def claim_output_dir(output: Path, slug: str, model: Mapping[str, Any]) -> Path:
    """``OUTPUT/<slug>``, after checking it holds no results of another model; records the owner on first use."""
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise BenchmarkError(f"--output {output} is a file, not a directory")
    if (output / OWNER_FILE).is_file():
        owner = _read_owner(output / OWNER_FILE)
        raise BenchmarkError(
            f"--output {output} is the result directory of model {owner.model_id!r}; "
            f"pass its parent directory instead"
        )
    directory = output / slug
    owner_file = directory / OWNER_FILE
    if owner_file.is_file():
        owner = _read_owner(owner_file)
        if (owner.model_id, owner.revision) != (model["model_id"], model["revision"]):
            raise BenchmarkError(
                f"{directory} holds results of another model ({owner.model_id} "
                f"{str(owner.revision)[:19]}); choose another --output or remove it"
            )
    else:
        stale = list(directory.glob("*.json")) if directory.is_dir() else []
        if stale:
            raise BenchmarkError(
                f"{directory} holds result files of an unknown model; choose another --output"
            )
        owner = Owner(model_id=model["model_id"], revision=model["revision"], created_at=utc_now())
        atomic_write_bytes(owner_file, (json.dumps(owner.to_dict(), indent=2) + "\n").encode())
    return directory


def _read_owner(path: Path) -> Owner:
    """``model.json`` as its typed record; one line naming the file when it is not one."""
    from ..limits import load_json_file

    try:
        data = load_json_file(path)
    except BenchmarkError as exc:
        raise BenchmarkError(
            f"{exc}; not a readable owner file: remove it or choose another --output"
        ) from None
    return Owner.from_dict(data, str(path))


def local_files_source(files: Iterable[Path]) -> list[dict[str, str]]:
    """``[{"path", "sha256"}]`` for data files read from disk."""
    return [{"path": str(p), "sha256": file_sha256(Path(p))} for p in files if Path(p).is_file()]


def keep_distill_report(model_dir: str | Path, directory: Path) -> Path | None:
    """Copy the ``distill_report.json`` of a local model folder (its loss curve: every term over the steps) into
    the results directory ``directory``, so the curve stays with the results the model made; ``None`` when the
    model has none (or it is not a regular file within the size limit: then it is no report, as in
    :func:`read_recipe`)."""
    source = Path(model_dir) / DISTILL_REPORT
    if not source.is_file():
        return None
    from gonerd import untrusted

    try:
        data = untrusted.read_bytes(source, limit=untrusted.MAX_CONFIG_BYTES)
    except untrusted.Refused:
        return None
    target = directory / DISTILL_REPORT
    if not (target.is_file() and target.read_bytes() == data):
        atomic_write_bytes(target, data)
    return target
