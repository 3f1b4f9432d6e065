"""ARM's and the resource providers' request limits as token buckets over simulated time.

Every request takes a token from ARM's bucket of its kind (writes, deletes or reads per
principal and region) and from each bucket of the resource provider's policies it counts
against (``policies_of``): Compute's VM categories as "Compute throttling limits" on
Microsoft Learn has them (Put VM; Update VM, which actions such as Start, Power Off, Run
Command and the extensions count as; Delete VM, deallocate included; Low Cost Get VM; High
Cost Get VM for lists), each per VM and per subscription; Compute's disk windows; Network's
writes and reads. When a bucket is empty the request is refused with 429 and a Retry-After
of the seconds until it would fit, and takes nothing. The simulation has one principal and
one region scope.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from fakecloud.models import ArmError
from fakecloud.models.errors import key_of
from fakecloud.profile import Bucket, Throttling

REQUEST_CLASS = {"GET": "arm_reads", "HEAD": "arm_reads", "DELETE": "arm_deletes",
                 "PUT": "arm_writes", "PATCH": "arm_writes", "POST": "arm_writes"}
"""ARM's bucket of each HTTP method (ARM counts POST actions as writes)."""
VIRTUAL_MACHINES = "microsoft.compute/virtualmachines"
EXTENSIONS = VIRTUAL_MACHINES + "/extensions"
DISKS = "microsoft.compute/disks"
VM_CATEGORY = {"PUT": "PutVM", "PATCH": "UpdateVM", "POST": "UpdateVM", "DELETE": "DeleteVM",
               "GET": "LowCostGetVM"}
"""Compute's policy of a request on one VM by method (POST: an action)."""
DELETE_ACTIONS = frozenset({"deallocate"})
"""Actions that count as Delete VM."""
COMPUTE_BUSY = ("The server rejected the request because too many requests have been "
                "received for this subscription.")
"""Compute's message of a throttled request ("Troubleshooting API throttling errors")."""


@dataclass(slots=True)
class TokenBucket:
    capacity: float
    per_s: float
    tokens: float
    at_s: float = 0.0
    every_s: float = 0.0
    start_s: float = 0.0

    @classmethod
    def full(cls, spec: Bucket, now: float = 0.0) -> TokenBucket:
        return cls(spec.capacity, spec.per_s, spec.capacity, now, spec.every_s, now)

    def refill(self, now: float) -> float:
        """Add the tokens earned until ``now``; return the seconds until one is there."""
        if self.every_s:
            return self._refill_in_lumps(now)
        tokens = self.tokens + (now - self.at_s) * self.per_s
        self.tokens = tokens = tokens if tokens < self.capacity else self.capacity
        self.at_s = now
        return 0.0 if tokens >= 1 else (1 - tokens) / self.per_s

    def _refill_in_lumps(self, now: float) -> float:
        """``refill`` when the tokens come every ``every_s`` from the bucket's start."""
        lump = self.per_s * self.every_s
        lumps = math.floor((now - self.start_s) / self.every_s)
        earned = lumps - math.floor((self.at_s - self.start_s) / self.every_s)
        self.tokens = min(self.capacity, self.tokens + earned * lump)
        self.at_s = now
        if self.tokens >= 1:
            return 0.0
        needed = math.ceil((1 - self.tokens) / lump)
        return self.start_s + (lumps + needed) * self.every_s - now


def policies_of(method: str, resource_type: str, resource_id: str,
                action: str = "") -> tuple[tuple[str, ...], str]:
    """The resource provider's policies a request counts against, and the resource their
    per-resource buckets count it on (a VM's extensions count on the VM)."""
    kind = resource_type.lower()
    if kind in (VIRTUAL_MACHINES, EXTENSIONS):
        vm = key_of(resource_id).split("/extensions/")[0]
        if method == "GET" and len(vm.strip("/").split("/")) in (2, 4):  # a list
            return ("Microsoft.Compute/HighCostGetVM",), ""
        category = ("UpdateVM" if kind == EXTENSIONS and method != "GET"
                    else "DeleteVM" if action in DELETE_ACTIONS else VM_CATEGORY[method])
        return (f"Microsoft.Compute/{category}",), vm
    if kind == DISKS and method in ("PUT", "PATCH", "DELETE"):
        name = "DeleteDisks" if method == "DELETE" else "CreateUpdateDisks"
        return (f"Microsoft.Compute/{name}3Min", f"Microsoft.Compute/{name}30Min"), ""
    if kind.startswith("microsoft.network/"):
        return ("Microsoft.Network/Reads" if method == "GET" else "Microsoft.Network/Writes",), ""
    return (), ""


class Throttle:
    """The buckets of one subscription and principal."""

    def __init__(self, limits: Throttling):
        self.limits = limits
        self._arm = {name: TokenBucket.full(getattr(limits, name))
                     for name in ("arm_writes", "arm_deletes", "arm_reads")}
        self._policies: dict[tuple[str, str], TokenBucket] = {}  # (policy, resource or "")

    def admit(self, method: str, resource_type: str, resource_id: str, now: float,
              action: str = "") -> None:
        """Take the tokens an ARM request needs, or raise 429 with the Retry-After of the
        bucket it waits longest for."""
        buckets = [("", self._arm[REQUEST_CLASS[method]]),
                   *self._buckets(method, resource_type, resource_id, action, now)]
        wait, policy = max((bucket.refill(now), name) for name, bucket in buckets)
        if wait > 0:
            raise compute_busy(policy, wait) if policy.startswith("Microsoft.Compute/") \
                else too_many(f"{method} {resource_type}", wait)
        for _, bucket in buckets:
            bucket.tokens -= 1

    def remaining(self, now: float) -> dict[str, int]:
        """Whole requests left in each ARM bucket, as ARM's x-ms-ratelimit headers say."""
        left = {}
        for name, bucket in self._arm.items():
            bucket.refill(now)
            left[name] = int(bucket.tokens)
        return left

    def remaining_resource(self, method: str, resource_type: str, resource_id: str,
                           now: float, action: str = "") -> str:
        """``x-ms-ratelimit-remaining-resource`` of a request: each of its policies'
        buckets as ``<provider>/<policy>;<count>``, the resource's before the
        subscription's, comma-separated (empty when no policy counts it)."""
        shown = []
        for name, bucket in self._buckets(method, resource_type, resource_id, action, None):
            bucket.refill(now)
            shown.append(f"{name};{max(0, int(bucket.tokens))}")
        return ",".join(shown)

    def _buckets(self, method: str, resource_type: str, resource_id: str, action: str,
                 now: float | None) -> list[tuple[str, TokenBucket]]:
        """The request's policies' buckets in the profile, a bucket used for the first time
        made full at ``now`` (None: only those already used: a bucket's lumps count from
        its start)."""
        names, resource = policies_of(method, resource_type, resource_id, action)
        found = []
        for name in names:
            policy = self.limits.policies.get(name)
            if policy is None:
                continue
            levels = ((resource, policy.resource), ("", policy.subscription)) if resource \
                else (("", policy.subscription),)
            for key, spec in levels:
                bucket = self._policies.get((name, key))
                if bucket is None and spec is not None and now is not None:
                    bucket = self._policies[(name, key)] = TokenBucket.full(spec, now)
                if bucket is not None:
                    found.append((name, bucket))
        return found


def too_many(operation: str, wait_s: float) -> ArmError:
    """ARM's 429, with the whole seconds until the request would fit as Retry-After."""
    return ArmError(429, "TooManyRequests", f"Too many requests for {operation}; retry "
                    f"after {math.ceil(wait_s)} s.", retry_after=float(math.ceil(wait_s)))


def compute_busy(policy: str, wait_s: float) -> ArmError:
    """Compute's 429 ("Troubleshooting API throttling errors"): OperationNotAllowed, with a
    TooManyRequests detail naming the policy (its operation group) that is empty."""
    group = policy.split("/", 1)[1]
    detail = {"code": "TooManyRequests", "target": group,
              "message": json.dumps({"operationGroup": group})}
    return ArmError(429, "OperationNotAllowed", COMPUTE_BUSY,
                    retry_after=float(math.ceil(wait_s)), details=[detail])
