"""An HTTP-level fake of Azure Resource Manager over the simulated region.

Every request is parsed into one ARM call (``responses.parse``) and answered by the region
layer, reads included: the region's fault rules, throttling, rules and latencies apply
the same way to any client. A synchronous call answers after its latency (in virtual
time); a long-running one answers at once as ARM does (``Azure-AsyncOperation`` or
``Location`` and ``Retry-After``) and ends when the virtual clock has passed its time.
A URL the fake does not implement gets 501 with an ARM error body naming it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fakecloud.arm import responses
from fakecloud.arm.lro import Operations
from fakecloud.arm.urls import route_of
from fakecloud.clock import VirtualClock
from fakecloud.models import ArmError, CloudState
from fakecloud.profile import RegionProfile
from fakecloud.region import ChaosRule, Region

Response = tuple[int, dict[str, str], str]


@dataclass(slots=True)
class RequestRecord:
    method: str
    path: str
    status: int
    at_s: float


class ArmFake:
    """ARM's endpoints for one simulated subscription, answered by its region layer."""

    def __init__(self, state: CloudState, profile: RegionProfile,
                 clock: VirtualClock | None = None, seed: int = 0,
                 rules: Iterable[ChaosRule] = (), region: Region | None = None):
        self.state, self.profile, self.seed = state, profile, seed
        self.clock = clock or VirtualClock()
        self.region = region or Region(state, profile, seed, rules)
        self.requests: list[RequestRecord] = []
        self.operations = Operations(state.subscription, seed)
        self._lock = threading.Lock()

    @property
    def subscription(self) -> str:
        return self.state.subscription

    def handle(self, request: Any) -> Response:
        """Answer one request (a ``requests.PreparedRequest``); a synchronous answer
        comes after the call's latency, on the virtual clock."""
        url = urlsplit(request.url)
        with self._lock:
            (status, headers, body), delay = self._dispatch(request, url.path,
                                                            parse_qs(url.query))
            self.requests.append(RequestRecord(request.method, url.path, status,
                                               self.clock.now))
        self.clock.sleep(delay)
        left = self.region.throttle.remaining(self.clock.now)
        return status, {
            "Content-Type": "application/json",
            "x-ms-ratelimit-remaining-subscription-writes": str(left["arm_writes"]),
            "x-ms-ratelimit-remaining-subscription-deletes": str(left["arm_deletes"]),
            "x-ms-ratelimit-remaining-subscription-reads": str(left["arm_reads"]),
            **headers}, body

    def _dispatch(self, request: Any, path: str,
                  query: dict[str, list[str]]) -> tuple[Response, float]:
        found = route_of(request.method, path)
        if found is None:
            return responses.error(501, "NotImplementedInFake", f"fakecloud's ARM fake does "
                                   f"not implement {request.method} {path}"), 0.0
        route, match = found
        if "api-version" not in query:
            return responses.error(400, "MissingApiVersionParameter", "The api-version query "
                                   "parameter (?api-version=) is required for all "
                                   "requests."), 0.0
        if match["sub"] != self.state.subscription:
            return responses.error(404, "SubscriptionNotFound", f"The subscription "
                                   f"'{match['sub']}' could not be found."), 0.0
        now = self.clock.now
        try:
            if route.id == "poll":
                poll = self.operations.status if route.action == "status" else (
                    lambda op_id, at: self.operations.result(op_id, at, request.url))
                return poll(match["op"], now), 0.0
            call = responses.parse(route, match, request, query, self.state)
            answer = self.region.call(call, now)
        except ArmError as exc:
            return responses.error(exc.status, exc.code, exc.message, exc.retry_after), 0.0
        delay = 0.0 if answer.long_running else answer.latency_s
        return responses.respond(self.region, self.operations, call, answer, query, now), delay
