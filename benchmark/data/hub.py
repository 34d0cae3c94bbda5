"""Hub-schema rows -> typed examples, and reading a split with ``datasets.load_dataset``.

Every task's rows are handled in the schema its Hub dataset uses (ClassLabel columns as ints, ``sequence`` of
structs as a dict of lists). The official-file readers in :mod:`benchmark.data.local` produce rows in the same
schema, so one converter per layout serves both sources. The task type's module (:mod:`benchmark.task_types`)
converts rows (for extractive QA, :mod:`benchmark.task_types.qa` with the converter of ``spec.fields["layout"]``:
``squad``, ``hotpotqa``, ``triviaqa``); :func:`rows_to_examples` picks the task's type.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .. import task_types
from ..core.examples import Example
from ..core.task_spec import TaskSpec
from ..errors import BenchmarkError
from ..task_types.rows import Row


def rows_to_examples(spec: TaskSpec, role: str, rows: Iterable[Row]) -> list[Example]:
    """Convert rows in the task's Hub schema to examples (ids per ``fields.id_format``), with the converter of
    the task's type (:meth:`benchmark.task_types.TaskType.rows_to_examples`)."""
    return task_types.get(spec.task_type).rows_to_examples(spec, role, rows)


# --------------------------------------------------------------------------------------------- loading


def hub_split_name(spec: TaskSpec, role: str) -> str:
    """The Hub split behind a role (train/validation/test); unknown roles name the available ones."""
    if role not in spec.hub.splits:
        known = ", ".join(spec.hub.splits) or "none"
        raise BenchmarkError(f"task {spec.name!r} has no {role!r} split with labels; available: {known}")
    return spec.hub.splits[role]


def load_hub_split(
    spec: TaskSpec, role: str, *, path: str | Path | None = None, cache_dir: str | Path | None = None
) -> tuple[Any, dict]:
    """``datasets.load_dataset(path, config, revision=..., split=...)`` for one role.

    ``path`` replaces the Hub id (a local folder laid out as the Hub repository: README.md with ``configs:`` and
    ``dataset_info`` + Parquet files); everything else is the same call, except that a folder is read afresh into
    memory through a temporary cache, so what is loaded is what its files hold now. Returns the ``datasets.Dataset`` and a
    ``source`` record.
    """
    import datasets

    split = hub_split_name(spec, role)
    where = spec.hub.path if path is None else str(Path(path).resolve())
    if path is not None and not Path(where).is_dir():
        raise BenchmarkError(f"{spec.name}: dataset folder {where} does not exist")
    kwargs: dict[str, Any] = {"split": split}
    if path is None:
        kwargs["revision"] = spec.hub.revision
    if cache_dir is not None:
        kwargs["cache_dir"] = str(cache_dir)
    try:
        if path is None:
            ds = datasets.load_dataset(where, spec.hub.config, **kwargs)
        else:  # a local folder is read by its files, never from a cache keyed by its path (stale after an edit)
            with tempfile.TemporaryDirectory(prefix="gonerd-bench-folder-") as fresh:
                kwargs["cache_dir"] = fresh
                ds = datasets.load_dataset(where, spec.hub.config, keep_in_memory=True, **kwargs)
    except (FileNotFoundError, ValueError, ConnectionError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise BenchmarkError(
            f"{spec.name}: cannot load {where} (config {spec.hub.config}, split {split}"
            f"{'' if path else ', revision ' + spec.hub.revision}): {first}"
        ) from None
    source = {
        "kind": "hub" if path is None else "hub_folder",
        "path": spec.hub.path if path is None else str(Path(path).absolute()),
        "revision": spec.hub.revision if path is None else None,
        "config": spec.hub.config,
        "split": split,
        "fingerprint": getattr(ds, "_fingerprint", None),
    }
    if path is not None:
        source["files"] = _folder_files(Path(path), spec.hub.config, split)
    return ds, source


def _folder_files(folder: Path, config: str | None, split: str) -> list[dict[str, Any]]:
    """The data files ``datasets`` read for ``split`` of a local Hub-layout folder, relative to the folder and
    with their sha256, so a result names its data portably (a local folder has no revision to pin)."""
    import datasets

    from .sources import file_record

    builder = datasets.load_dataset_builder(str(folder.resolve()), config)
    data_files = (builder.config.data_files or {}).get(split, [])
    return [file_record(Path(f), folder) for f in data_files]
