"""Reading files that come from users: one layer for ``gonerd``, ``benchmark`` and ``baselines``.

Every file a user hands over (a result, predictions, a model's ``config.json``, ``speed.json``, a submission, a
dataset manifest, a GONERD source, ``--config``, a task's data) may be broken or hostile. These readers turn each
problem into one line naming the file (an exception of the caller's ``error`` class) and bound the work, not
only the size:

* only regular files are opened, without blocking (a FIFO or a device is refused before any read);
* JSON: nesting depth capped, integers longer than Python's int-string limit refused by name (instead of
  ``ValueError: Exceeds the limit (4300 digits)``), lone surrogates refused (they cannot be written as UTF-8);
* YAML: duplicate keys refused, aliases expanded at most :data:`MAX_YAML_NODES` nodes (an alias bomb is refused
  in milliseconds, before anything is built from it), nesting capped, no custom tags (safe loader).

``gonerd`` uses it directly; ``benchmark.limits`` wraps it with ``BenchmarkError`` (``gonerd`` never imports the
benchmark harness).
"""

from __future__ import annotations

import json
import os
import stat
import sys
from typing import IO, Any

MAX_DEPTH = 64
MAX_CONFIG_BYTES = 4 * 2**20  # a YAML/JSON settings file (--config, a task file, a registry)
MAX_YAML_NODES = 100_000  # nodes after aliases are expanded
INT_DIGITS = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 4300
INT_DIGITS = INT_DIGITS or 4300


class Refused(ValueError):
    """The default ``error`` class: a file refused, with a one-line reason."""


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def not_regular(path: str | os.PathLike) -> str | None:
    """Why ``path`` is no regular file (``"a FIFO (named pipe)"``, ...), or None when it is one or is absent.
    For paths handed to other libraries (pyarrow, safetensors, datasets) that open them themselves."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    return None if stat.S_ISREG(mode) else _kind(mode)


def check_regular(
    path: str | os.PathLike, where: str | None = None, error: type[Exception] = Refused
) -> None:
    """Refuse ``path`` when it exists and is not a regular file (one line: what it is)."""
    why = not_regular(path)
    if why:
        raise error(f"{where or path}: {why}, not a regular file; refused")


def open_regular(
    path: str | os.PathLike, where: str | None = None, error: type[Exception] = Refused
) -> IO[bytes]:
    """``open(path, "rb")`` that never blocks and only opens a regular file: opened with ``O_NONBLOCK`` (a FIFO
    with no writer does not hang the open) and checked with ``fstat`` on the opened descriptor."""
    where = where or str(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise error(f"{where}: no such file") from None
    except IsADirectoryError:
        raise error(f"{where}: a folder, not a regular file; refused") from None
    except OSError as exc:
        raise error(f"{where}: cannot open ({exc.strerror or exc.__class__.__name__})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise error(f"{where}: {_kind(mode)}, not a regular file; refused")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(
    path: str | os.PathLike, where: str | None = None, error: type[Exception] = Refused, *, limit: int
) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (read at most ``limit + 1``)."""
    where = where or str(path)
    with open_regular(path, where, error) as fh:
        try:  # read(n) allocates n bytes: ask for the file's size (+1 to see growth), never blindly the limit
            size = os.fstat(fh.fileno()).st_size
            if size > limit:
                raise error(
                    f"{where}: {size:,} bytes, larger than the {_size(limit)} such a file may have; refused"
                )
            data = fh.read(size + 1)
            while len(data) <= limit and (more := fh.read(1 << 20)):
                data += more
        except OSError as exc:
            raise error(f"{where}: cannot read ({exc.strerror or exc.__class__.__name__})") from None
    if len(data) > limit:
        raise error(f"{where}: larger than the {_size(limit)} such a file may have; refused")
    return data


def read_text(
    path: str | os.PathLike, where: str | None = None, error: type[Exception] = Refused, *, limit: int
) -> str:
    """A regular UTF-8 text file (a BOM is dropped) of at most ``limit`` bytes."""
    where = where or str(path)
    return decode(read_bytes(path, where, error, limit=limit), where, error)


def decode(data: bytes, where: str, error: type[Exception] = Refused) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(
            f"{where}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); refused"
        ) from None


def _size(n: int) -> str:
    return f"{n // 2**20} MiB" if n >= 2**20 else f"{n:,} bytes"


# ------------------------------------------------------------------------------------------------ JSON


class _LongInt(Exception):
    def __init__(self, digits: int):
        self.digits = digits


def _parse_int(text: str) -> int:
    digits = len(text) - text.startswith("-")
    if digits > INT_DIGITS:
        raise _LongInt(digits)
    return int(text)


def _surrogate(text: str) -> bool:
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def check_value(
    value: Any, where: str, error: type[Exception] = Refused, *, max_depth: int = MAX_DEPTH
) -> None:
    """Refuse nesting deeper than ``max_depth`` and strings (values or keys) holding lone surrogates;
    iterative, so hostile input cannot exhaust the stack."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if _surrogate(node):
                raise error(
                    f"{where}: a string holds a lone surrogate ({_first_surrogate(node)}), which is not "
                    "Unicode text; refused"
                )
            continue
        if isinstance(node, dict):
            children: Any = [*node.keys(), *node.values()]
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth + 1 > max_depth:
            raise error(f"{where}: JSON nested deeper than {max_depth} levels (the limit); refused")
        stack.extend((child, depth + 1) for child in children)


def _first_surrogate(text: str) -> str:
    return next((f"\\u{ord(c):04x}" for c in text if 0xD800 <= ord(c) <= 0xDFFF), "?")


def json_loads(
    data: str | bytes, where: str, error: type[Exception] = Refused, *, max_depth: int = MAX_DEPTH
) -> Any:
    """``json.loads`` with one-line errors naming ``where``: invalid JSON, not UTF-8, nesting deeper than
    ``max_depth``, an integer longer than Python's int-string limit, a lone surrogate."""
    deep = f"{where}: JSON nested deeper than {max_depth} levels (the limit); refused"
    if isinstance(data, bytes | bytearray):
        data = decode(bytes(data), where, error)
    try:
        value = json.loads(data, parse_int=_parse_int)
    except RecursionError:
        raise error(deep) from None
    except _LongInt as exc:
        raise error(
            f"{where}: a number of {exc.digits:,} digits, more than the {INT_DIGITS:,} an integer may have; refused"
        ) from None
    except json.JSONDecodeError as exc:
        raise error(f"{where}: invalid JSON ({exc.msg} at line {exc.lineno})") from None
    except ValueError as exc:  # e.g. a float literal Python cannot convert
        raise error(f"{where}: invalid JSON ({str(exc).splitlines()[0][:120]})") from None
    check_value(value, where, error, max_depth=max_depth)
    return value


def load_json(
    path: str | os.PathLike,
    where: str | None = None,
    error: type[Exception] = Refused,
    *,
    limit: int = MAX_CONFIG_BYTES,
    max_depth: int = MAX_DEPTH,
) -> Any:
    """A regular JSON file of at most ``limit`` bytes, read with :func:`json_loads`."""
    where = where or str(path)
    return json_loads(read_bytes(path, where, error, limit=limit), where, error, max_depth=max_depth)


# ------------------------------------------------------------------------------------------------ YAML


def yaml_loads(
    text: str,
    where: str,
    error: type[Exception] = Refused,
    *,
    max_nodes: int = MAX_YAML_NODES,
    max_depth: int = MAX_DEPTH,
) -> Any:
    """``yaml.safe_load`` of one document, refusing duplicate keys, more than ``max_nodes`` nodes once aliases
    are expanded (a "billion laughs" alias bomb), recursive aliases, nesting deeper than ``max_depth``, and
    integers longer than Python's int-string limit. The limits are checked on the node graph, before any Python
    object is built from it."""
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise error(f"{where}: YAML nested deeper than Python can read; refused") from None
        except yaml.YAMLError as exc:
            raise error(f"{where}: invalid YAML ({_yaml_reason(exc)})") from None
        if node is None:
            return None
        _check_nodes(node, where, error, max_nodes=max_nodes, max_depth=max_depth)
        try:
            return loader.construct_document(node)
        except yaml.YAMLError as exc:
            raise error(f"{where}: invalid YAML ({_yaml_reason(exc)})") from None
        except RecursionError:
            raise error(f"{where}: YAML nested deeper than Python can read; refused") from None
        except ValueError as exc:  # int() of more digits than Python's int-string limit
            if "digits" in str(exc):
                raise error(
                    f"{where}: a number of more than the {INT_DIGITS:,} digits an integer may have; refused"
                ) from None
            raise error(f"{where}: {str(exc).splitlines()[0][:120]}; refused") from None
    finally:
        loader.dispose()


def _yaml_reason(exc: Exception) -> str:
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    if problem:
        return f"{problem} at line {mark.line + 1}" if mark is not None else str(problem)
    return str(exc).splitlines()[0][:120]


def _check_nodes(root, where: str, error: type[Exception], *, max_nodes: int, max_depth: int) -> None:
    """Expanded size, depth, cycles and duplicate keys of a composed YAML node graph, iteratively."""
    import yaml

    size: dict[int, int] = {}  # id(node) -> nodes in its expansion
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if isinstance(node, yaml.ScalarNode):
            size[key], depth[key] = 1, 0
            continue
        children = (
            [c for pair in node.value for c in pair]
            if isinstance(node, yaml.MappingNode)
            else list(node.value)
        )
        if done:
            on_path.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in children)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            if size[key] > max_nodes:
                raise error(f"{where}: YAML expands to more than {max_nodes:,} values (aliases); refused")
            if depth[key] > max_depth:
                raise error(f"{where}: YAML nested deeper than {max_depth} levels (the limit); refused")
            continue
        if key in size:
            continue
        if key in on_path:
            raise error(f"{where}: a YAML alias refers to itself; refused")
        on_path.add(key)
        if isinstance(node, yaml.MappingNode):
            seen: dict[tuple[str, str], int] = {}
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                    ident = (key_node.tag, key_node.value)
                    if ident in seen:
                        raise error(
                            f"{where}: duplicate key {key_node.value!r} (lines {seen[ident]} and "
                            f"{key_node.start_mark.line + 1}); refused"
                        )
                    seen[ident] = key_node.start_mark.line + 1
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in size)


def load_yaml(
    path: str | os.PathLike,
    where: str | None = None,
    error: type[Exception] = Refused,
    *,
    limit: int = MAX_CONFIG_BYTES,
) -> Any:
    """A regular YAML file of at most ``limit`` bytes, read with :func:`yaml_loads`."""
    where = where or str(path)
    return yaml_loads(read_text(path, where, error, limit=limit), where, error)


def safe_name(name: str) -> bool:
    """Whether ``name`` can be one path component (no separator, not ``.``/``..``, no NUL, not too long)."""
    return (
        bool(name)
        and name not in (".", "..")
        and "/" not in name
        and "\\" not in name
        and "\0" not in name
        and len(name.encode("utf-8", "surrogatepass")) <= 200
    )
