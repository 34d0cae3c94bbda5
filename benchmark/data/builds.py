"""Datasets this project builds itself (GONERD): what the benchmark reads when no ``--data-dir`` is given.

A task declares its build in its YAML (``build: {command, default_dir, how, estimate}``, parsed into
:class:`benchmark.core.task_spec.LocalBuild`); nothing here is specific to one task.

Order: ``--data-dir`` (handled by the loader); else the published Hub copy at the spec's pinned revision when it
can be loaded; else the dataset ``gonerd build`` wrote to its default location (the ``gonerd/`` package folder,
the folder ``datasets.load_dataset("gonerd")`` reads from the repository root). The split's ``source`` records
which one was read (``origin``), the manifest's version and the sha256 of the data files, so a result can be
re-scored against the same data. When none exists, one line says so and gives both fixes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.task_spec import TaskSpec
from ..errors import BenchmarkError
from ..tasks import hooks
from . import hub

# Hub loads tried in this process: (path, revision, config) -> None when it loaded, else the reason it did not.
# The decision is made once per process, so three splits do not each wait for an unreachable Hub.
_HUB_TRIED: dict[tuple[str, str, str | None], str | None] = {}


def has_local_build(spec: TaskSpec) -> bool:
    """Whether the task's YAML declares a ``build:`` (a dataset built by a command of its own)."""
    return spec.build is not None and spec.local.format == "hub_folder"


def _call(spec: TaskSpec, key: str) -> Any:
    """Call the ``build.<key>`` hook of the task's YAML (looked up beside the YAML first)."""
    where = (
        f"{spec.name}.yaml" if spec.source_dir is None else str(Path(spec.source_dir) / f"{spec.name}.yaml")
    )
    return hooks.resolve(getattr(spec.build, key), spec.source_dir, where, f"build.{key}")()


def build_folder(spec: TaskSpec) -> Path:
    """The default output folder of the task's own build command (it may hold no data yet)."""
    return Path(_call(spec, "default_dir"))


def _manifest(folder: Path) -> dict[str, Any] | None:
    path = folder / "manifest.json"
    from ..errors import BenchmarkError
    from ..limits import load_json_file

    try:  # a FIFO, a deep or a huge manifest: not a finished build (never a hang or a RecursionError)
        return load_json_file(path)
    except BenchmarkError:
        return None


def _built(folder: Path) -> bool:
    """A finished build: card, manifest and at least one data file."""
    return (
        (folder / "README.md").is_file()
        and _manifest(folder) is not None
        and any((folder / "data").glob("*/*.parquet"))
    )


def _manifest_record(folder: Path) -> dict[str, Any]:
    from .sources import sha256_file

    manifest = _manifest(folder) or {}
    return {"version": manifest.get("version"), "sha256": sha256_file(folder / "manifest.json")}


def _hub_manifest(spec: TaskSpec) -> dict[str, Any] | None:
    """The published copy's ``manifest.json`` at the pinned revision: its version and files' sha256 (None when
    the copy has none or it cannot be fetched)."""
    try:
        from huggingface_hub import hf_hub_download

        path = hf_hub_download(
            spec.hub.path, "manifest.json", repo_type="dataset", revision=spec.hub.revision
        )
        from ..limits import load_json_file

        manifest = load_json_file(path)
    except Exception:  # offline, no such file, a damaged file: the result then records no manifest
        return None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    return {
        "version": manifest.get("version"),
        "files": {p: m.get("sha256") for p, m in files.items()} if isinstance(files, dict) else None,
    }


def missing_message(spec: TaskSpec, hub_reason: str | None) -> str:
    build = spec.build
    when = ""
    if build.estimate:
        try:
            when = f" ({_call(spec, 'estimate')})"
        except Exception:  # an estimate is a courtesy: the message stands without it
            when = ""
    reason = f" ({hub_reason})" if hub_reason else ""
    return (
        f"{spec.name}: no dataset to read: the published copy {spec.hub.path}@{spec.hub.revision} cannot be "
        f"loaded{reason} and `{build.command}` has written nothing to {build_folder(spec)}; build it with "
        f"{build.how}{when}, or pass --data-dir DIR with a copy of the dataset at DIR/{spec.name}/"
    )


def _try_hub(spec: TaskSpec, role: str, cache_dir: Any) -> tuple[Any, dict] | str:
    key = (spec.hub.path, spec.hub.revision, spec.hub.config)
    reason = _HUB_TRIED.get(key, "")
    if reason:  # failed before in this process
        return reason
    try:
        loaded = hub.load_hub_split(spec, role, cache_dir=cache_dir)
    except BenchmarkError as exc:
        text = str(exc)
        reason = text.split("): ", 1)[1] if "): " in text else text
        _HUB_TRIED[key] = reason[:200] or "not loadable"
        return _HUB_TRIED[key]
    except (
        Exception
    ) as exc:  # any other Hub failure (e.g. a missing revision) also means: use the local build
        first = (str(exc).strip().splitlines() or [""])[0]
        _HUB_TRIED[key] = f"{type(exc).__name__}: {first}"[:200]
        return _HUB_TRIED[key]
    _HUB_TRIED[key] = None
    return loaded


def load_split(spec: TaskSpec, role: str, cache_dir: Any = None) -> tuple[Any, dict]:
    """One split of a project-built dataset, from the Hub copy or the local build (see the module docstring)."""
    got = _try_hub(spec, role, cache_dir)
    if not isinstance(got, str):
        ds, source = got
        source["origin"] = "hub"
        source["manifest"] = _hub_manifest(spec)
        return ds, source
    folder = build_folder(spec)
    if not _built(folder):
        raise BenchmarkError(missing_message(spec, got))
    ds, source = hub.load_hub_split(spec, role, path=folder, cache_dir=cache_dir)
    source["origin"] = f"{spec.name}_build"  # "gonerd_build"
    source["manifest"] = _manifest_record(folder)
    source["hub_unavailable"] = got
    return ds, source


def check(spec: TaskSpec, cache_dir: Any = None) -> None:
    """Before any model is loaded: fail with the one-line message when neither the Hub copy nor a build exists.
    Cheap when a build exists (no Hub call); otherwise one Hub load, remembered for the run."""
    if _built(build_folder(spec)):
        return
    role = spec.train_split or spec.eval_splits[0]
    got = _try_hub(spec, role, cache_dir)
    if isinstance(got, str):
        raise BenchmarkError(missing_message(spec, got))
