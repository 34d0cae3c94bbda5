"""Ctrl-C anywhere in a command, imports included, ends with one line and exit status 130.

Python turns SIGINT into ``KeyboardInterrupt`` wherever the main thread is, and an extension module interrupted
while it initialises (numpy, torch, pyarrow under spaCy or transformers) re-raises it as something else, such as
``ImportError: initialization failed``. :class:`SigintGuard` records that SIGINT arrived, so the command line can
tell an interrupted import from a real failure and print its one line instead of a traceback.
:func:`run_command` is that handling, shared by the ``gonerd``, ``benchmark`` and ``baselines`` command lines.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any


class SigintGuard:
    """``with SigintGuard() as guard:`` ... ``guard.interrupted`` is True once SIGINT arrived (the handler still
    raises ``KeyboardInterrupt``, as Python's own does). Outside the main thread it does nothing."""

    def __init__(self) -> None:
        self.interrupted = False
        self._previous: Any = None
        self._installed = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.interrupted = True
        raise KeyboardInterrupt

    def __enter__(self) -> SigintGuard:
        if threading.current_thread() is threading.main_thread():
            try:
                self._previous = signal.signal(signal.SIGINT, self._handle)
                self._installed = True
            except (ValueError, OSError):
                pass
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False

    def caused(self, exc: BaseException) -> bool:
        """Whether ``exc`` is (or comes from) the interrupt: a KeyboardInterrupt, or any error raised after
        SIGINT arrived (an extension's import that failed because it was interrupted)."""
        return isinstance(exc, KeyboardInterrupt) or self.interrupted


def run_command(
    command: Callable[[], int | None],
    *,
    prog: str,
    errors: type[Exception] | tuple[type[Exception], ...],
    interrupted: str,
    silent: tuple[type[Exception], ...] = (),
) -> int:
    """Run one command line's ``command()`` under a :class:`SigintGuard` and return its exit status.

    One of ``errors`` prints ``<prog>: error: <message>`` (nothing for one of ``silent``, already reported) and
    gives 2; Ctrl-C, or any error raised after it (an interrupted import), prints the one line ``interrupted``
    and gives 130. Any other exception propagates."""
    with SigintGuard() as guard:
        try:
            return int(command() or 0)
        except errors as exc:
            if not guard.interrupted:
                if not isinstance(exc, silent):
                    print(f"{prog}: error: {exc}", file=sys.stderr)
                return 2
        except (KeyboardInterrupt, Exception) as exc:
            if not guard.caused(exc):
                raise
        print(interrupted, file=sys.stderr)
        return 130
