"""ARM's and Compute's request limits as token buckets over simulated time.

Every request takes a token from each bucket it counts against (writes, deletes or reads
per principal and region; for VM operations also the per-VM and per-subscription Compute
limits). When a bucket is empty the request is refused with 429 and a Retry-After of the
seconds until it would fit, and takes nothing. The simulation has one principal and one
region scope.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fakecloud.models import ArmError
from fakecloud.profile import Bucket, Throttling
from restore import ops
from restore.ops import Operation

ARM_LIMIT: dict[type, str] = {
    **dict.fromkeys((ops.DeleteDisk, ops.DeleteNic, ops.DeleteVm, ops.DeleteSnapshot,
                     ops.DeleteResourceGroup), "arm_deletes"),
    **dict.fromkeys((ops.FindResources, ops.CheckExists, ops.CheckNamesFree, ops.CheckQuota),
                    "arm_reads"),
    **dict.fromkeys((ops.CreateResourceGroup, ops.CreateDisk, ops.CreateSnapshot, ops.CreateNic,
                     ops.CreateVm, ops.AttachDisks, ops.DetachDisks, ops.DeallocateVm,
                     ops.MoveResources), "arm_writes"),
}
"""The ARM bucket of each operation; the others (rehydration in storage, the worker's
agent writing data) are not ARM requests."""
VM_OPERATIONS = {ops.CreateVm: "id", ops.DeleteVm: "id", ops.DeallocateVm: "id",
                 ops.AttachDisks: "vm", ops.DetachDisks: "vm"}


@dataclass(slots=True)
class TokenBucket:
    capacity: float
    per_s: float
    tokens: float
    at_s: float = 0.0

    @classmethod
    def full(cls, spec: Bucket, now: float = 0.0) -> TokenBucket:
        return cls(spec.capacity, spec.per_s, spec.capacity, now)

    def refill(self, now: float) -> None:
        tokens = self.tokens + (now - self.at_s) * self.per_s
        self.tokens = tokens if tokens < self.capacity else self.capacity
        self.at_s = now

    def wait_s(self) -> float:
        """Seconds until one token is there (0: now)."""
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.per_s


class Throttle:
    """The buckets of one subscription and principal."""

    def __init__(self, limits: Throttling):
        self.limits = limits
        self._arm = {name: TokenBucket.full(getattr(limits, name))
                     for name in ("arm_writes", "arm_deletes", "arm_reads")}
        self._subscription = TokenBucket.full(limits.compute_per_subscription)
        self._per_vm: dict[str, TokenBucket] = {}

    def admit(self, op: Operation, now: float) -> None:
        """Take the tokens ``op`` needs, or raise 429 with Retry-After."""
        limit = ARM_LIMIT.get(type(op))
        if limit is None:
            return
        buckets = [self._arm[limit]]
        vm_field = VM_OPERATIONS.get(type(op))
        if vm_field is not None:
            buckets += [self._vm_bucket(getattr(op, vm_field).lower(), now), self._subscription]
        wait = 0.0
        for bucket in buckets:
            bucket.refill(now)
            wait = max(wait, bucket.wait_s())
        if wait > 0:
            raise ArmError(429, "TooManyRequests", f"Too many requests for {op.kind}; retry "
                           f"after {math.ceil(wait)} s.", retry_after=float(math.ceil(wait)))
        for bucket in buckets:
            bucket.tokens -= 1

    def remaining(self, now: float) -> dict[str, int]:
        """Whole requests left in each ARM bucket, as ARM's x-ms-ratelimit headers say."""
        left = {}
        for name, bucket in self._arm.items():
            bucket.refill(now)
            left[name] = int(bucket.tokens)
        return left

    def _vm_bucket(self, vm: str, now: float) -> TokenBucket:
        bucket = self._per_vm.get(vm)
        if bucket is None:
            bucket = self._per_vm[vm] = TokenBucket.full(self.limits.compute_per_vm, now)
        return bucket
