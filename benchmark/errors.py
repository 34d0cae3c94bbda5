"""Errors a user can cause: the CLI prints them as one line and exits non-zero. Anything else is a bug."""


class BenchmarkError(Exception):
    """A problem with the user's input (model path, task name, predictions file, output dir...)."""


class DivergedError(BenchmarkError):
    """A run whose loss or outputs are not finite numbers (a diverged training, NaN weights): an error, and no
    result is written for the task."""
