"""Where loaded data came from: each file named relative to the data directory, with its sha256 and size (the
``files`` of a result's ``dataset.sources``, which re-scoring checks the gold against)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ..limits import open_regular


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open_regular(path) as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_record(path: Path, root: Path) -> dict[str, Any]:
    """``{"path": relative to root, "sha256", "bytes"}`` for the result's ``source``."""
    rel = None
    # The path as the user laid it out under --data-dir (symlinks kept), so a result names the file portably and
    # can be re-scored against any copy of the data; fall back to the resolved path only outside the data dir.
    for p, r in ((path.absolute(), root.absolute()), (path.resolve(), root.resolve())):
        try:
            rel = p.relative_to(r).as_posix()
            break
        except ValueError:
            continue
    if rel is None:
        rel = str(path.resolve())
    return {"path": rel, "sha256": sha256_file(path), "bytes": path.stat().st_size}
