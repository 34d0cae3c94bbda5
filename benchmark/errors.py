"""Errors a user can cause: the CLI prints them as one line and exits non-zero. Anything else is a bug."""


class BenchmarkError(Exception):
    """A problem with the user's input (model path, task name, predictions file, output dir...)."""
