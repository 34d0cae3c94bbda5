"""Change a leaderboard directory all or nothing: copy the whole board to a staging folder beside it, make every
change there (new entry, regenerated views), then swap the two folders by renames.

A full disk, a read-only folder or a view that cannot be rendered fails before the board is touched: the staging
folder is removed and :class:`BoardWriteError` says what happened in one line. Every byte written goes through
:func:`write_bytes` (tests make it fail after N bytes to simulate a full disk). The board is small (MBs), so a
copy per change is cheap; one change at a time is assumed (two concurrent submissions: the later swap wins).
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..errors import BenchmarkError

CHUNK = 1 << 20


class BoardWriteError(BenchmarkError):
    """The leaderboard could not be written (disk full, read-only, ...); nothing on it changed."""


def _write_chunk(handle, chunk: bytes) -> None:
    """Write one chunk (the single place bytes reach the disk; tests replace it to simulate a full disk)."""
    handle.write(chunk)


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file ``path`` (its folder is created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        for start in range(0, len(data), CHUNK):
            _write_chunk(handle, data[start : start + CHUNK])


def copy_file(source: Path, target: Path) -> None:
    """Copy a regular file through :func:`write_bytes` (never follows a symbolic link)."""
    if source.is_symlink() or not source.is_file():
        raise BoardWriteError(f"{source}: not a regular file")
    write_bytes(target, source.read_bytes())


def _copy_board(board: Path, staging: Path) -> None:
    """Every regular file and folder of ``board`` into ``staging`` (symbolic links are not copied: --check
    reports them where they matter)."""
    for path in sorted(board.rglob("*")):
        if path.is_symlink():
            continue
        target = staging / path.relative_to(board)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif path.is_file():
            copy_file(path, target)


def _writable(board: Path) -> None:
    for folder in (board, board.parent):
        if folder.exists() and not os.access(folder, os.W_OK):
            raise BoardWriteError(f"{folder} is not writable")


def _reason(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno or 0, "")
    text = exc.strerror or str(exc) or exc.__class__.__name__
    return f"{text} ({name})" if name else text


def change_board(board: str | Path, change: Callable[[Path], None]) -> None:
    """Apply ``change(staging)`` to a copy of ``board`` and swap it in; BoardWriteError (nothing changed) when
    any of it fails with an OSError. Other exceptions of ``change`` propagate, also leaving the board as it was."""
    board = Path(board).absolute()
    staging: Path | None = None
    try:
        _writable(board)
        board.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{board.name}.staging-", dir=board.parent))
        os.chmod(staging, 0o755)
        if board.is_dir():
            _copy_board(board, staging)
        change(staging)
        _swap(board, staging)
        staging = None
    except OSError as exc:
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        raise BoardWriteError(f"cannot write the leaderboard {board}:{where} {_reason(exc)}") from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def _swap(board: Path, staging: Path) -> None:
    """Put ``staging`` in the place of ``board`` by renames (no bytes written), the old board restored on
    failure."""
    if not board.exists():
        os.replace(staging, board)
        return
    old = board.with_name(f".{board.name}.replaced-{os.getpid()}")
    shutil.rmtree(old, ignore_errors=True)
    os.replace(board, old)
    try:
        os.replace(staging, board)
    except BaseException:
        os.replace(old, board)
        raise
    shutil.rmtree(old, ignore_errors=True)
