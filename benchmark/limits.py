"""Limits on files that come from users (predictions, result JSON), so a hostile or broken file is refused with
one line instead of exhausting memory or the Python stack.

* :data:`MAX_JSON_DEPTH`: nesting of any JSON value (a result file nests about 7 levels, a prediction 2).
* :data:`MAX_JSON_BYTES`: size of a result, ``model.json``, ``speed.json`` or ``submission.json`` file.
* :data:`MAX_PREDICTIONS_BYTES`: decompressed size of a predictions file, read as a stream (a gzip bomb stops
  there); :data:`MAX_PREDICTION_LINE_BYTES`: one line of it (one example's prediction).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import BenchmarkError

MAX_JSON_DEPTH = 64
MAX_JSON_BYTES = 64 * 2**20
MAX_PREDICTIONS_BYTES = 512 * 2**20
MAX_PREDICTION_LINE_BYTES = 16 * 2**20


def _too_deep(value: Any, limit: int) -> bool:
    """Whether ``value`` nests deeper than ``limit`` (iterative: no recursion on hostile input)."""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth + 1 > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def loads(text: str | bytes, where: str) -> Any:
    """``json.loads`` that refuses nesting deeper than :data:`MAX_JSON_DEPTH` (and invalid JSON) with one
    :class:`BenchmarkError` naming ``where``."""
    deep = f"{where}: JSON nested deeper than {MAX_JSON_DEPTH} levels (the limit)"
    try:
        value = json.loads(text)
    except RecursionError:
        raise BenchmarkError(deep) from None
    except json.JSONDecodeError as exc:
        raise BenchmarkError(f"{where}: invalid JSON ({exc.msg} at line {exc.lineno})") from None
    except UnicodeDecodeError:
        raise BenchmarkError(f"{where}: not UTF-8 text") from None
    if _too_deep(value, MAX_JSON_DEPTH):
        raise BenchmarkError(deep)
    return value


def load_json_file(path: str | Path, where: str | None = None) -> Any:
    """A JSON file of at most :data:`MAX_JSON_BYTES`, parsed with :func:`loads`; one-line errors."""
    path = Path(path)
    where = where or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise BenchmarkError(
                f"{where}: {size} bytes, larger than the {MAX_JSON_BYTES // 2**20} MiB a JSON file may have"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise BenchmarkError(f"{where}: cannot read ({exc.__class__.__name__})") from None
    return loads(data, where)
