"""benchmark.logs.quiet_transformers: errors only inside the block, everything restored after."""

from __future__ import annotations

import pytest
from transformers.utils import logging as hf_logging

from benchmark.logs import quiet_transformers


@pytest.mark.parametrize("progress_bars", [True, False])
def test_quiet_transformers_restores_verbosity_and_progress_bars(progress_bars: bool) -> None:
    before = hf_logging.get_verbosity()
    hf_logging.set_verbosity_info()
    hf_logging.enable_progress_bar()
    try:
        with pytest.raises(RuntimeError), quiet_transformers(progress_bars=progress_bars):
            assert hf_logging.get_verbosity() == hf_logging.ERROR
            assert hf_logging.is_progress_bar_enabled() is progress_bars
            raise RuntimeError("restored even when the block fails")
        assert hf_logging.get_verbosity() == hf_logging.INFO and hf_logging.is_progress_bar_enabled()
    finally:
        hf_logging.set_verbosity(before)
