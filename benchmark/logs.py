"""One way to quiet transformers' logging around a block (expected warnings: a newly initialised head, BigBird's
fallback to full attention, load reports), used by ``benchmark run``, the timing protocol, ``benchmark speed``
and ``baselines convert`` / ``distill``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_transformers(*, progress_bars: bool = True) -> Iterator[None]:
    """transformers logs only errors inside the block (its verbosity is restored after); with
    ``progress_bars=False`` its progress bars are hidden too (and shown again after, if they were)."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    if not progress_bars:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if not progress_bars and bars:
            hf_logging.enable_progress_bar()
