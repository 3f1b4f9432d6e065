"""An HTTP-level fake of Azure Resource Manager over the simulated region.

Every request is parsed into one ARM call (``responses.parse``) and answered by the region
layer, reads included: the region's fault rules, throttling, rules and latencies apply
the same way to any client. A synchronous call answers after its latency (in virtual
time); a long-running one answers at once as ARM does (``Azure-AsyncOperation`` or
``Location`` and ``Retry-After``) and ends when the virtual clock has passed its time.
A URL the fake does not implement gets 501 with an ARM error body naming it.

Any subscription id works, as any account does in moto: a subscription's region (state,
fault rules, throttling, latencies) is made empty on its first request. The subscriptions
the default state has (``CloudState.add_subscription``: its tenant's) share its region;
with ``any_subscription=False`` they are the only ones, and any other is answered as ARM
answers a subscription it does not know (404 SubscriptionNotFound). A malformed id is
refused as ARM refuses it (400 InvalidSubscriptionId).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from fakecloud.arm import responses
from fakecloud.arm.lro import ARM_HOST, Operations
from fakecloud.arm.urls import route_of
from fakecloud.clock import VirtualClock
from fakecloud.models import ArmError, CloudState
from fakecloud.profile import SUBSCRIPTION_ID_PATTERN, RegionProfile
from fakecloud.region import ChaosRule, Region

Response = tuple[int, dict[str, str], str]
SUBSCRIPTION_ID = re.compile(SUBSCRIPTION_ID_PATTERN)


@dataclass(slots=True)
class RequestRecord:
    method: str
    path: str
    status: int
    at_s: float


@dataclass(slots=True)
class Subscription:
    """One subscription the fake serves: its region layer and its long-running operations."""

    region: Region
    operations: Operations


class ArmFake:
    """ARM's endpoints for any subscription (``any_subscription``; else only the default
    state's), each answered by its own region layer; the default subscription is
    ``state``'s (or ``region``'s). ``host`` is the origin the long-running operations'
    polling URLs name (ARM's, or a local server's)."""

    def __init__(self, state: CloudState, profile: RegionProfile,
                 clock: VirtualClock | None = None, seed: int = 0,
                 rules: Iterable[ChaosRule] = (), region: Region | None = None,
                 host: str = ARM_HOST, any_subscription: bool = True):
        self.profile, self.seed, self.rules, self.host = profile, seed, list(rules), host
        self.any_subscription = any_subscription
        self.clock = clock or VirtualClock()
        self.requests: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._subscriptions: dict[str, Subscription] = {}
        self._default = self._serve(region or Region(state, profile, seed, self.rules))

    @property
    def subscription(self) -> str:
        """The default subscription's id."""
        return self.state.subscription

    @property
    def state(self) -> CloudState:
        """The default subscription's resources."""
        return self._default.region.state

    @property
    def region(self) -> Region:
        """The default subscription's region layer."""
        return self._default.region

    @property
    def operations(self) -> Operations:
        return self._default.operations

    def state_of(self, subscription: str) -> CloudState:
        """The resources of ``subscription`` (empty if nothing used it yet)."""
        return self._subscription(subscription).region.state

    def subscriptions(self) -> list[str]:
        """The ids of the subscriptions that exist so far, the default first."""
        regions = {id(s.region): s.region for s in self._subscriptions.values()}
        return [sub for region in regions.values() for sub in region.state.subscriptions]

    def reset(self) -> None:
        """Forget every resource, subscription and request; the default subscription (same
        id) starts empty. The clock goes on."""
        with self._lock:
            subscription = self.subscription
            self._subscriptions.clear()
            self.requests.clear()
            self._default = self._serve(self._empty_region(subscription))

    def _subscription(self, subscription: str) -> Subscription:
        """Who serves ``subscription``: the default region for the subscriptions of its
        state (and, but for ``any_subscription``, for any other: to refuse it)."""
        found = self._subscriptions.get(subscription.lower())
        if found is not None:
            return found
        if self.state.knows(subscription):
            return self._serve(self.region, subscription)
        if not self.any_subscription:
            return self._default
        return self._serve(self._empty_region(subscription))

    def _empty_region(self, subscription: str) -> Region:
        state = CloudState(subscription, self.profile.max_data_disks, self.profile.quota)
        return Region(state, self.profile, self.seed, self.rules)

    def _serve(self, region: Region, subscription: str | None = None) -> Subscription:
        subscription = subscription or region.state.subscription
        served = Subscription(region, Operations(subscription, self.seed, self.host))
        self._subscriptions[subscription.lower()] = served
        return served

    def _tenant_level(self, type_: str) -> Response:
        """The tenant the fake is (``/tenants``), or its subscriptions so far."""
        if type_ == "Microsoft.Resources/tenants":
            return 200, {}, json.dumps({"value": [responses.tenant()]})
        found = [responses.subscription(s) for s in self.subscriptions()]
        return 200, {}, json.dumps({"value": found,
                                    "count": {"type": "Total", "value": len(found)}})

    def handle(self, request: Any) -> Response:
        """Answer one request (a ``requests.PreparedRequest``); a synchronous answer
        comes after the call's latency, on the virtual clock."""
        url = urlsplit(request.url)
        with self._lock:
            (status, headers, body), delay, served = self._dispatch(
                request, unquote(url.path), parse_qs(url.query))
            self.requests.append(RequestRecord(request.method, url.path, status,
                                               self.clock.now))
        self.clock.sleep(delay)
        left = (served or self._default).region.throttle.remaining(self.clock.now)
        return status, {
            "Content-Type": "application/json",
            "x-ms-ratelimit-remaining-subscription-writes": str(left["arm_writes"]),
            "x-ms-ratelimit-remaining-subscription-deletes": str(left["arm_deletes"]),
            "x-ms-ratelimit-remaining-subscription-reads": str(left["arm_reads"]),
            **headers}, body

    def _dispatch(self, request: Any, path: str, query: dict[str, list[str]]
                  ) -> tuple[Response, float, Subscription | None]:
        found = route_of(request.method, path)
        if found is None:
            return responses.error(501, "NotImplementedInFake", f"fakecloud's ARM fake does "
                                   f"not implement {request.method} {path}"), 0.0, None
        route, match = found
        if "api-version" not in query:
            return responses.error(400, "MissingApiVersionParameter", "The api-version query "
                                   "parameter (?api-version=) is required for all "
                                   "requests."), 0.0, None
        if route.id == "tenant" and "sub" not in match.groupdict():
            return self._tenant_level(route.type), 0.0, None
        if not SUBSCRIPTION_ID.match(match["sub"]):
            return responses.error(400, "InvalidSubscriptionId", f"The provided subscription "
                                   f"identifier '{match['sub']}' is malformed or invalid."
                                   ), 0.0, None
        served = self._subscription(match["sub"])
        region, operations, now = served.region, served.operations, self.clock.now
        try:
            region.state.check_subscription(path)
            if route.id == "tenant":
                return (200, {}, json.dumps(responses.subscription(match["sub"]))), 0.0, served
            if route.id == "poll":
                poll = operations.status if route.action == "status" else (
                    lambda op_id, at: operations.result(op_id, at, request.url))
                return poll(match["op"], now), 0.0, served
            call = responses.parse(route, match, request, query, region.state)
        except ArmError as exc:
            return responses.error(exc.status, exc.code, exc.message, exc.retry_after,
                                   exc.details), 0.0, served
        try:
            answer = region.call(call, now)
        except ArmError as exc:
            return _rate_limited(responses.error(exc.status, exc.code, exc.message,
                                                 exc.retry_after, exc.details),
                                 region, call, now), 0.0, served
        delay = 0.0 if answer.long_running else answer.latency_s
        return _rate_limited(responses.respond(region, operations, call, answer, query, now),
                             region, call, now), delay, served


def _rate_limited(response: Response, region: Region, call: Any, now: float) -> Response:
    """``response`` with ``x-ms-ratelimit-remaining-resource`` when resource provider
    policies counted the call (as Compute answers on every response, "Compute throttling
    limits")."""
    left = region.throttle.remaining_resource(call.method, call.type, call.id, now,
                                              call.action)
    if not left:
        return response
    status, headers, body = response
    return status, {**headers, "x-ms-ratelimit-remaining-resource": left}, body
