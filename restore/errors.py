"""Errors the engine understands, whatever backend raised them."""

from __future__ import annotations


class RestoreLabError(Exception):
    """Base class of every error restorelab raises on purpose."""


class ScenarioError(RestoreLabError):
    """A scenario file or argument is wrong: names the file and the field."""

    def __init__(self, source: str, field: str, message: str):
        self.source, self.field, self.message = source, field, message
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {message}")


class JournalError(RestoreLabError):
    """The journal cannot be used: missing, not a journal, busy, or already finished."""


class AzureAccessError(RestoreLabError):
    """Azure could not be reached, or refused the credentials."""


class CloudError(RestoreLabError):
    """An operation failed in the cloud, with ARM's error code (e.g. OperationNotAllowed)."""

    def __init__(self, code: str, message: str, status: int | None = None,
                 retry_after: float | None = None):
        self.code, self.message, self.status = code, message, status
        self.retry_after = retry_after  # seconds the cloud asked to wait (Retry-After)
        super().__init__(f"{code}: {message}")
