"""Errors a user can cause in ``baselines``: the CLI prints them as one line and exits with status 2."""


class BaselinesError(Exception):
    """A problem with the user's input (registry entry, model path, corpus file, output directory...).

    The message is a single line that says what is wrong and, where possible, how to fix it.
    Anything that is not a ``BaselinesError`` is a bug and is allowed to raise a traceback.
    """
