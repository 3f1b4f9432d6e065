"""Long-running operations as ARM tracks them: where a client polls (``Azure-AsyncOperation``
or ``Location``), when (``Retry-After``, whole seconds), and what the polls answer."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from typing import Any

from fakecloud.models import ArmError

ARM_HOST = "https://management.azure.com"
LOCATION = "fakecloud"  # the location segment of operation-status URLs
API_VERSION = "2025-04-01"
Response = tuple[int, dict[str, str], str]


def retry_after_s(done_s: float, now: float) -> int:
    """The Retry-After of a poll at ``now`` of an operation ending at ``done_s``."""
    return max(1, math.ceil(done_s - now))


def seen_done_s(start_s: float, latency_s: float) -> float:
    """When a client that polls at once and then after each Retry-After (as the SDK's
    ARM poller does) sees an operation started at ``start_s`` end."""
    done_s, now = start_s + latency_s, start_s
    while now < done_s:
        now += retry_after_s(done_s, now)
    return now


@dataclass(slots=True)
class Pending:
    """A long-running operation: done at ``done_s`` (virtual), failed with ``error``;
    ``output`` is an action's result (Run Command's)."""

    done_s: float
    error: ArmError | None = None
    style: str = "async"  # "async": Azure-AsyncOperation; "location": Location; "both"
    final_status: int = 200
    output: dict[str, Any] | None = None


class Operations:
    """The long-running operations of one fake, by operation id; clients poll them at
    ``host`` (an origin: ``https://management.azure.com``, or a local server's)."""

    def __init__(self, subscription: str, seed: int = 0, host: str = ARM_HOST):
        self.subscription, self.seed, self.host = subscription, seed, host
        self._pending: dict[str, Pending] = {}
        self._ids = itertools.count(1)

    def track(self, pending: Pending, provider: str, now: float) -> dict[str, str]:
        """Register ``pending``; the headers telling the client where to poll and when."""
        op_id = f"{next(self._ids):08x}-0000-4000-8000-{self.seed & 0xFFFFFFFFFFFF:012x}"
        self._pending[op_id] = pending
        base = f"{self.host}/subscriptions/{self.subscription}"
        headers = {"Retry-After": str(retry_after_s(pending.done_s, now))}
        if pending.style in ("location", "both"):
            headers["Location"] = f"{base}/operationresults/{op_id}?api-version={API_VERSION}"
        if pending.style != "location":
            headers["Azure-AsyncOperation"] = (f"{base}/providers/{provider}/locations/"
                                               f"{LOCATION}/operations/{op_id}"
                                               f"?api-version={API_VERSION}")
        return headers

    def status(self, op_id: str, now: float) -> Response:
        """An Azure-AsyncOperation poll."""
        pending = self._get(op_id)
        if now < pending.done_s:
            return 200, {"Retry-After": str(retry_after_s(pending.done_s, now))}, \
                json.dumps({"status": "InProgress"})
        if pending.error is not None:
            return 200, {}, json.dumps({"status": "Failed", "error": {
                "code": pending.error.code, "message": pending.error.message}})
        body: dict[str, Any] = {"status": "Succeeded"}
        if pending.output is not None:
            body["properties"] = {"output": pending.output}
        return 200, {}, json.dumps(body)

    def result(self, op_id: str, now: float, url: str) -> Response:
        """A Location poll: 202 while running, then the result (or the error)."""
        pending = self._get(op_id)
        if now < pending.done_s:
            return 202, {"Retry-After": str(retry_after_s(pending.done_s, now)),
                         "Location": url}, ""
        if pending.error is not None:
            return pending.error.status, {}, json.dumps({"error": {
                "code": pending.error.code, "message": pending.error.message}})
        if pending.output is not None:
            return 200, {}, json.dumps(pending.output)
        return pending.final_status, {}, ""

    def _get(self, op_id: str) -> Pending:
        pending = self._pending.get(op_id)
        if pending is None:
            raise ArmError(404, "OperationNotFound", f"Operation '{op_id}' was not found.")
        return pending
