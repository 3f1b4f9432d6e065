"""ARM's and Compute's request limits as token buckets over simulated time.

Every request takes a token from each bucket it counts against (writes, deletes or reads
per principal and region; for VM writes also Compute's per-VM and per-subscription limits
of its category: Put VM, Update VM (actions such as Run Command or start), Delete VM
(deallocate counts here), as "Compute throttling limits" on Microsoft Learn has them).
When a bucket is empty the request is refused with 429 and a Retry-After of the seconds
until it would fit, and takes nothing. The simulation has one principal and one region
scope; every category has the profile's per-VM and per-subscription figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import armid as arm
from fakecloud.models import ArmError
from fakecloud.models.state import key_of
from fakecloud.profile import Bucket, Throttling

REQUEST_CLASS = {"GET": "arm_reads", "HEAD": "arm_reads", "DELETE": "arm_deletes",
                 "PUT": "arm_writes", "PATCH": "arm_writes", "POST": "arm_writes"}
"""ARM's bucket of each HTTP method (ARM counts POST actions as writes)."""
VIRTUAL_MACHINES = "microsoft.compute/virtualmachines"
COMPUTE_CATEGORY = {"PUT": "PutVM", "PATCH": "UpdateVM", "DELETE": "DeleteVM", "POST": "UpdateVM"}
"""Compute's throttling category of a VM request by method (POST: an action)."""
DELETE_ACTIONS = frozenset({"deallocate"})
"""Actions that count as Delete VM."""


@dataclass(slots=True)
class TokenBucket:
    capacity: float
    per_s: float
    tokens: float
    at_s: float = 0.0

    @classmethod
    def full(cls, spec: Bucket, now: float = 0.0) -> TokenBucket:
        return cls(spec.capacity, spec.per_s, spec.capacity, now)

    def refill(self, now: float) -> float:
        """Add the tokens earned until ``now``; return the seconds until one is there."""
        tokens = self.tokens + (now - self.at_s) * self.per_s
        self.tokens = tokens = tokens if tokens < self.capacity else self.capacity
        self.at_s = now
        return 0.0 if tokens >= 1 else (1 - tokens) / self.per_s


class Throttle:
    """The buckets of one subscription and principal."""

    def __init__(self, limits: Throttling):
        self.limits = limits
        self._arm = {name: TokenBucket.full(getattr(limits, name))
                     for name in ("arm_writes", "arm_deletes", "arm_reads")}
        self._compute: dict[tuple[str, str], TokenBucket] = {}  # (category, VM or "") ->

    def admit(self, method: str, resource_type: str, resource_id: str, now: float,
              action: str = "") -> None:
        """Take the tokens an ARM request needs, or raise 429 with Retry-After. Writes and
        deletes of a VM (actions included) also count against Compute's per-VM and
        per-subscription limits of their category."""
        bucket = self._arm[REQUEST_CLASS[method]]
        if method in ("GET", "HEAD") or (resource_type != arm.VIRTUAL_MACHINES
                                         and resource_type.lower() != VIRTUAL_MACHINES):
            wait = bucket.refill(now)
            if wait > 0:
                raise too_many(f"{method} {resource_type}", wait)
            bucket.tokens -= 1
            return
        category = "DeleteVM" if action in DELETE_ACTIONS else COMPUTE_CATEGORY[method]
        vm = self._compute_bucket(category, key_of(resource_id), now)
        subscription = self._compute_bucket(category, "", now)
        wait = max(bucket.refill(now), vm.refill(now), subscription.refill(now))
        if wait > 0:
            raise too_many(f"{method} {resource_type}", wait)
        bucket.tokens -= 1
        vm.tokens -= 1
        subscription.tokens -= 1

    def remaining(self, now: float) -> dict[str, int]:
        """Whole requests left in each ARM bucket, as ARM's x-ms-ratelimit headers say."""
        left = {}
        for name, bucket in self._arm.items():
            bucket.refill(now)
            left[name] = int(bucket.tokens)
        return left

    def _compute_bucket(self, category: str, vm: str, now: float) -> TokenBucket:
        """The category's bucket of one VM, or (``vm`` empty) of the subscription."""
        bucket = self._compute.get((category, vm))
        if bucket is None:
            spec = self.limits.compute_per_vm if vm else self.limits.compute_per_subscription
            bucket = self._compute[(category, vm)] = TokenBucket.full(spec, now)
        return bucket


def too_many(operation: str, wait_s: float) -> ArmError:
    """ARM's 429, with the whole seconds until the request would fit as Retry-After."""
    return ArmError(429, "TooManyRequests", f"Too many requests for {operation}; retry "
                    f"after {math.ceil(wait_s)} s.", retry_after=float(math.ceil(wait_s)))
