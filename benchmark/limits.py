"""Limits on files that come from users (predictions, result JSON), so a hostile or broken file is refused with
one line instead of exhausting memory or the Python stack.

* :data:`MAX_JSON_DEPTH`: nesting of any JSON value (a result file nests about 7 levels, a prediction 2).
* :data:`MAX_JSON_BYTES`: size of a result, ``model.json``, ``speed.json`` or ``submission.json`` file.
* :data:`MAX_PREDICTIONS_BYTES`: decompressed size of a predictions file, read as a stream (a gzip bomb stops
  there); :data:`MAX_PREDICTION_LINE_BYTES`: one line of it (one example's prediction);
  :data:`MAX_PREDICTION_LINES`: lines, blank ones included (a gzip of newlines stops there in a second, rather
  than after minutes of empty lines).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gonerd import untrusted

from .errors import BenchmarkError

MAX_JSON_DEPTH = 64
MAX_JSON_BYTES = 64 * 2**20
MAX_PREDICTIONS_BYTES = 512 * 2**20
MAX_PREDICTION_LINE_BYTES = 16 * 2**20
MAX_PREDICTION_LINES = 2_000_000


# The shared reader of untrusted files (regular files only, never blocking; depth, int digits, surrogates,
# YAML aliases and duplicate keys bounded): gonerd.untrusted, here with BenchmarkError.


def loads(text: str | bytes, where: str) -> Any:
    """``json.loads`` that refuses nesting deeper than :data:`MAX_JSON_DEPTH`, invalid JSON, integers beyond
    Python's int-string limit and lone surrogates, with one :class:`BenchmarkError` naming ``where``."""
    return untrusted.json_loads(text, where, BenchmarkError, max_depth=MAX_JSON_DEPTH)


def load_json_file(path: str | Path, where: str | None = None, *, limit: int = MAX_JSON_BYTES) -> Any:
    """A regular JSON file of at most ``limit`` bytes (default :data:`MAX_JSON_BYTES`), parsed with
    :func:`loads`; one-line errors (a FIFO or device is refused before it is read)."""
    path = Path(path)
    where = where or str(path)
    size = _size(path)
    if size is not None and size > limit:
        raise BenchmarkError(
            f"{where}: {size} bytes, larger than the {limit // 2**20} MiB a JSON file may have"
        )
    return loads(untrusted.read_bytes(path, where, BenchmarkError, limit=limit), where)


def load_yaml_file(
    path: str | Path, where: str | None = None, *, limit: int = untrusted.MAX_CONFIG_BYTES
) -> Any:
    """A regular YAML file, read by :func:`gonerd.untrusted.yaml_loads` (duplicate keys, alias bombs, depth)."""
    return untrusted.load_yaml(path, where or str(path), BenchmarkError, limit=limit)


def open_regular(path: str | Path, where: str | None = None):
    """Binary handle of a regular file (a FIFO, device or folder is one BenchmarkError, without blocking)."""
    return untrusted.open_regular(path, where, BenchmarkError)


def check_regular(path: str | Path, where: str | None = None) -> None:
    """Refuse ``path`` when it exists and is no regular file (for paths other libraries open)."""
    untrusted.check_regular(path, where, BenchmarkError)


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None
