"""Fault rules: make chosen operations fail the way Azure fails, seeded and deterministic.

A rule matches a step name, an operation kind, or an operation kind within a step
(``at``: ``create_empty_disks``, ``delete_disk``, ``launch_worker/create_vm``; a name that
is both a step and a kind, such as ``create_vm``, means the step), fires at most ``times``
times, each time it matches with ``probability``. Kinds: ``transient`` (500/503), ``throttle``
(429 with Retry-After), ``allocation_failed`` (the long-running operation ends Failed with
AllocationFailed), ``quota_exceeded`` (409 QuotaExceeded), ``crash`` (the orchestrator
dies before the operation is sent).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

from fakecloud.models import ArmError
from restore.scenario import Fault, FaultKind

ALLOCATING = frozenset({"create_vm"})
THROTTLE_RETRY_AFTER_S = 17.0  # a typical Retry-After of ARM's write throttling, estimate


@dataclass(frozen=True, slots=True)
class FaultRule:
    at: str
    kind: FaultKind
    times: int = 1
    probability: float = 1.0

    @classmethod
    def of(cls, fault: Fault | FaultRule) -> FaultRule:
        return fault if isinstance(fault, FaultRule) else cls(
            fault.at, FaultKind(fault.kind), fault.times, fault.probability)


class FaultInjector:
    """Decides, operation by operation, whether a rule fires; one seeded random source."""

    def __init__(self, rules: Iterable[Fault | FaultRule], rng: random.Random,
                 steps: Iterable[str] = ()):
        self.rules = [FaultRule.of(r) for r in rules]
        self._left = [r.times for r in self.rules]
        self._rng = rng
        self._steps = frozenset(steps)

    def remaining(self) -> list[dict[str, object]]:
        """The rules with the times they have left, as JSON-able data (for a journal)."""
        return [{"at": r.at, "kind": r.kind.value, "times": left, "probability": r.probability}
                for r, left in zip(self.rules, self._left, strict=True) if left]

    def draw(self, step: str, op_kind: str) -> FaultRule | None:
        """The rule firing for this operation of this step, if any (uses up one time).
        Allocation failures only befall VM creation."""
        for index, rule in enumerate(self.rules):
            target = (f"{step}/{op_kind}" if "/" in rule.at
                      else step if rule.at in self._steps else op_kind)
            if self._left[index] and rule.at == target and (
                    rule.kind is not FaultKind.ALLOCATION_FAILED or op_kind in ALLOCATING) and (
                    rule.probability >= 1.0 or self._rng.random() < rule.probability):
                self._left[index] -= 1
                return rule
        return None


def error_for(rule: FaultRule, op_kind: str, latency_s: float) -> ArmError:
    """The ARM error a cloud-side fault produces (``crash`` is the orchestrator's)."""
    if rule.kind is FaultKind.TRANSIENT:
        return ArmError(503, "ServiceUnavailable", f"Injected transient failure of {op_kind}.")
    if rule.kind is FaultKind.THROTTLE:
        return ArmError(429, "TooManyRequests", f"Injected throttling of {op_kind}; retry "
                        f"after {THROTTLE_RETRY_AFTER_S:g} s.", retry_after=THROTTLE_RETRY_AFTER_S)
    if rule.kind is FaultKind.ALLOCATION_FAILED:
        return ArmError(200, "AllocationFailed", f"Injected: allocation failed for {op_kind}; "
                        "the requested VM size is not available in the region or zone.",
                        after_s=latency_s)
    if rule.kind is FaultKind.QUOTA_EXCEEDED:
        return ArmError(409, "QuotaExceeded", f"Injected: {op_kind} would exceed the "
                        "subscription's quota in the region.")
    raise ValueError(f"{rule.kind} is not a cloud-side fault")
