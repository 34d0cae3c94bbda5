"""The argparse help formatter of the ``gonerd`` and ``baselines`` commands (one definition for both)."""

from __future__ import annotations

import argparse


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends "(default: X)" only where it says something: not where the help already states its default
    (that printed "(default: X) (default: None)"), nor for a None default, a required option or an on/off flag."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (
            "(default" in text
            or action.required
            or action.default is None
            or isinstance(action.default, bool)
        ):
            return text
        return super()._get_help_string(action)
