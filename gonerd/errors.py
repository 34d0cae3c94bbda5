"""Errors a user can cause. The CLI prints them as one line and exits non-zero; anything else is a bug."""


class GonerdError(Exception):
    """A problem with the user's input or environment, explained in one line."""


class ManifestError(GonerdError):
    """A missing, unreadable or inconsistent manifest."""


class FetchError(GonerdError):
    """An article could not be fetched after all retries."""


class ValidationError(GonerdError):
    """The dataset files do not match their manifest, schema or card."""
