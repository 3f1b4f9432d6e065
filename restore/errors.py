"""Errors the engine understands, whatever backend raised them; none carries a secret."""

from __future__ import annotations

import re

SECRETS = [
    (re.compile(r"\?[^\s'\"?#]*\bsig=[^\s'\"#]*"), "?<SAS redacted>"),  # a SAS query
    (re.compile(r"\bsig=[^\s&'\"#]+"), "sig=<redacted>"),
    (re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer <redacted>"),  # even in a word
    (re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "<token redacted>"),
]
"""What looks like a secret in a text: a SAS (its whole query), a signature, a bearer
token, a JWT."""


def redact(text: str) -> str:
    """``text`` with anything that looks like a secret replaced: every error, report,
    journal row and log line passes here."""
    for pattern, replacement in SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RestoreLabError(Exception):
    """Base class of every error restorelab raises on purpose; its text is redacted."""

    def __init__(self, *args: object):
        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args))


class ScenarioError(RestoreLabError):
    """A scenario file or argument is wrong: names the file and the field."""

    def __init__(self, source: str, field: str, message: str):
        self.source, self.field, self.message = source, field, redact(message)
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {message}")

    def __reduce__(self) -> tuple:  # crosses process boundaries (sweeps) whole
        return type(self), (self.source, self.field, self.message)


class JournalError(RestoreLabError):
    """The journal cannot be used: missing, not a journal, busy, or already finished."""


class SessionError(RestoreLabError):
    """The sessions store cannot be used, holds no such session, or was asked wrongly."""


class AzureAccessError(RestoreLabError):
    """Azure could not be reached, or refused the credentials."""


class CloudError(RestoreLabError):
    """An operation failed in the cloud, with ARM's error code (e.g. OperationNotAllowed)."""

    def __init__(self, code: str, message: str, status: int | None = None,
                 retry_after: float | None = None):
        self.code, self.message, self.status = code, redact(message), status
        self.retry_after = retry_after  # seconds the cloud asked to wait (Retry-After)
        super().__init__(f"{code}: {message}")

    def __reduce__(self) -> tuple:
        return type(self), (self.code, self.message, self.status, self.retry_after)
