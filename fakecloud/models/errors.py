"""ARM's error responses, and how the state model keys ids (case-insensitively)."""

from __future__ import annotations

from functools import lru_cache

key_of = lru_cache(maxsize=4096)(str.lower)
"""The key an id (or group name) is looked up by: ids compare case-insensitively. The
same ids come back again and again, so their keys are kept."""


class ArmError(Exception):
    """An ARM error response: HTTP status, error code and message; ``retry_after`` is the
    Retry-After header's seconds (429s); ``details``: the body's inner errors."""

    def __init__(self, status: int, code: str, message: str, retry_after: float | None = None,
                 details: list[dict[str, str]] | None = None):
        self.status, self.code, self.message = status, code, message
        self.retry_after, self.details = retry_after, details
        super().__init__(f"{status} {code}: {message}")
