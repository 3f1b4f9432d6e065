"""ARM's and Compute's request limits as token buckets over simulated time.

Every request takes a token from each bucket it counts against (writes, deletes or reads
per principal and region; for VM operations also the per-VM and per-subscription Compute
limits). When a bucket is empty the request is refused with 429 and a Retry-After of the
seconds until it would fit, and takes nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fakecloud.models import ArmError
from fakecloud.profile import Bucket, Throttling
from restore import ops
from restore.ops import Operation

DELETES = (ops.DeleteDisk, ops.DeleteNic, ops.DeleteVm, ops.DeleteSnapshot,
           ops.DeleteResourceGroup)
READS = (ops.FindResources, ops.CheckExists, ops.CheckNamesFree, ops.CheckQuota)
NOT_ARM = (ops.RehydrateRestorePoint, ops.WriteDiskData)  # storage and the worker's agent
VM_OPERATIONS = {ops.CreateVm: "id", ops.DeleteVm: "id", ops.DeallocateVm: "id",
                 ops.AttachDisks: "vm", ops.DetachDisks: "vm"}


@dataclass(slots=True)
class TokenBucket:
    capacity: float
    per_s: float
    tokens: float
    at_s: float = 0.0

    @classmethod
    def full(cls, spec: Bucket) -> TokenBucket:
        return cls(spec.capacity, spec.per_s, spec.capacity)

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.at_s) * self.per_s)
        self.at_s = now

    def wait_s(self) -> float:
        """Seconds until one token is there (0: now)."""
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.per_s


class Throttle:
    """The buckets of one subscription and principal."""

    def __init__(self, limits: Throttling):
        self.limits = limits
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def admit(self, op: Operation, now: float) -> None:
        """Take the tokens ``op`` needs, or raise 429 with Retry-After."""
        buckets = [self._bucket(name, scope, now) for name, scope in self._scopes(op)]
        wait = max((b.wait_s() for b in buckets), default=0.0)
        if wait > 0:
            raise ArmError(429, "TooManyRequests", f"Too many requests for {op.kind}; retry "
                           f"after {math.ceil(wait)} s.", retry_after=float(math.ceil(wait)))
        for bucket in buckets:
            bucket.tokens -= 1

    @staticmethod
    def _scopes(op: Operation) -> list[tuple[str, str]]:
        """(bucket, scope) pairs: one principal, one region (the simulation's)."""
        if isinstance(op, NOT_ARM):
            return []
        kind = "arm_reads" if isinstance(op, READS) else (
            "arm_deletes" if isinstance(op, DELETES) else "arm_writes")
        scopes = [(kind, "")]
        vm_field = VM_OPERATIONS.get(type(op))
        if vm_field:
            scopes += [("compute_per_vm", getattr(op, vm_field).lower()),
                       ("compute_per_subscription", "")]
        return scopes

    def _bucket(self, name: str, scope: str, now: float) -> TokenBucket:
        bucket = self._buckets.get((name, scope))
        if bucket is None:
            bucket = self._buckets[(name, scope)] = TokenBucket.full(getattr(self.limits, name))
            bucket.at_s = now
        bucket.refill(now)
        return bucket
