"""The dataset manifest (``manifest.json``): version, provenance, and the sha256 of every data file.

It is what makes a release reproducible and checkable: ``gonerd validate`` recomputes every hash, and two builds
from the same inputs produce the same manifest. It holds no timestamps for that reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from . import untrusted
from .errors import ManifestError

MANIFEST_NAME = "manifest.json"
MANIFEST_SCHEMA = 1
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
SOURCE_KINDS = ("wikipedia", "jsonl")  # live MediaWiki fetch (`--selection`), local articles (`--source`)
MAX_MANIFEST_BYTES = 64 * 2**20
REQUIRED_KEYS = ("name", "version", "schema", "source", "annotation", "split", "configs", "files")


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with untrusted.open_regular(path, error=ManifestError) as fh:  # a FIFO: refused, never waited on
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def check_version(version: str) -> str:
    if not SEMVER.match(version):
        raise ManifestError(f"dataset version {version!r} is not a semantic version X.Y.Z")
    return version


def read_manifest_json(path: Path) -> object:
    """``manifest.json`` parsed within :mod:`gonerd.untrusted`'s limits (a regular file, nesting, number
    length, size); one-line ``ManifestError`` naming the file."""
    return untrusted.load_json(path, f"{path}: corrupt manifest", ManifestError, limit=MAX_MANIFEST_BYTES)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def write_manifest(dataset_dir: str | Path, manifest: dict) -> Path:
    path = Path(dataset_dir) / MANIFEST_NAME
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8"
    )
    os.replace(tmp, path)
    return path


def read_manifest(dataset_dir: str | Path) -> dict:
    """Load and structurally check ``manifest.json``; one-line ``ManifestError`` on any problem."""
    path = Path(dataset_dir) / MANIFEST_NAME
    if not path.exists():
        raise ManifestError(f"{path}: no manifest (run `gonerd build` first)")
    manifest = read_manifest_json(path)
    if not isinstance(manifest, dict):
        raise ManifestError(f"{path}: corrupt manifest, expected a JSON object")
    missing = [k for k in REQUIRED_KEYS if k not in manifest]
    if missing:
        raise ManifestError(f"{path}: manifest lacks {', '.join(missing)}")
    for key in ("source", "annotation", "split", "configs"):
        if not isinstance(manifest[key], dict):
            raise ManifestError(f"{path}: '{key}' must be a JSON object, got {_short(manifest[key])}")
    kind = manifest["source"].get("kind")
    if kind not in SOURCE_KINDS:
        raise ManifestError(
            f"{path}: source.kind must be one of {', '.join(SOURCE_KINDS)}, got {_short(kind)}"
        )
    if manifest["schema"] != MANIFEST_SCHEMA:
        raise ManifestError(
            f"{path}: manifest schema {manifest['schema']!r}, this gonerd reads {MANIFEST_SCHEMA}"
        )
    check_version(str(manifest["version"]))
    files = manifest["files"]
    if not isinstance(files, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("sha256"), str) for v in files.values()
    ):
        raise ManifestError(f"{path}: 'files' must map each path to an object with its sha256")
    for rel in files:
        parts = rel.split("/")
        if (
            len(parts) != 3
            or parts[0] != "data"
            or parts[1] in ("", ".", "..")
            or not parts[2].endswith(".parquet")
        ):
            raise ManifestError(f"{path}: file {rel!r} is not a data/<config>/<shard>.parquet path")
    return manifest
