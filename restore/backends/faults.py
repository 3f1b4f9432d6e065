"""Fault rules: make chosen operations fail the way Azure fails, seeded and deterministic.

A rule matches a step name, an operation kind, or an operation kind within a step
(``at``: ``create_empty_disks``, ``delete_disk``, ``launch_worker/create_vm``; a name that
is both a step and a kind, such as ``create_vm``, means the step), fires at most ``times``
times, each time it matches with ``probability``. Kinds: ``transient`` (500/503), ``throttle``
(429 with Retry-After), ``allocation_failed`` (the long-running operation ends Failed with
AllocationFailed), ``quota_exceeded`` (409 QuotaExceeded), ``crash`` (the orchestrator
dies before the operation is sent); and in a drill's guest, ``agent_not_ready`` (the
restored VM's agent never reports Ready) and ``check_failed`` (its next guest check exits 1).

A rule that fires on an operation becomes a one-time fault rule of fakecloud's, in ARM's
terms, on the ARM call the operation sends for it (``arm_rule``); so the `sim` and
`fake-arm` backends fail the same call the same way.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import armid as arm
from fakecloud.models import VirtualMachine
from fakecloud.region import REHYDRATE, ChaosRule, Region
from restore import ops
from restore.engine import RECOVERY_STEPS
from restore.ops import Operation
from restore.scenario import Fault, FaultKind
from restore.steps import RECOVERY_KINDS

ALLOCATING = frozenset({"create_vm", "start_vm"})  # a deallocated VM is allocated again
ONLY_ON = {FaultKind.ALLOCATION_FAILED: ALLOCATING,
           FaultKind.AGENT_NOT_READY: frozenset({"wait_vm_healthy"}),
           FaultKind.CHECK_FAILED: frozenset({"run_guest_check"})}
"""Kinds of fault that befall some operations only."""
GUEST_FAULTS = frozenset({FaultKind.AGENT_NOT_READY, FaultKind.CHECK_FAILED})
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

    def dump(self, times: int | None = None) -> dict[str, object]:
        """JSON-able data (for a journal or a report), with ``times`` left if given."""
        return {"at": self.at, "kind": self.kind.value,
                "times": self.times if times is None else times,
                "probability": self.probability}

    @classmethod
    def load(cls, data: dict[str, Any]) -> FaultRule:
        """The rule ``dump`` gave."""
        return cls(data["at"], FaultKind(data["kind"]), data["times"], data["probability"])


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
        return [r.dump(left) for r, left in zip(self.rules, self._left, strict=True) if left]

    def never_fired(self) -> list[dict[str, object]]:
        """The rules that did not fire in this run, as JSON-able data (for the report)."""
        return [r.dump() for r, left in zip(self.rules, self._left, strict=True)
                if left == r.times]

    def draw(self, step: str, op_kind: str) -> FaultRule | None:
        """The rule firing for this operation of this step, if any (uses up one time).
        Allocation failures only befall VM creation."""
        for index, rule in enumerate(self.rules):
            target = (f"{step}/{op_kind}" if "/" in rule.at
                      else step if rule.at in self._steps else op_kind)
            if self._left[index] and rule.at == target and (
                    op_kind in ONLY_ON.get(rule.kind, (op_kind,))) and (
                    rule.probability >= 1.0 or self._rng.random() < rule.probability):
                self._left[index] -= 1
                return rule
        return None


def never_fires(rule: FaultRule, sent: set[tuple[str, str]], steps: set[str]) -> str | None:
    """Why ``rule`` can never fire in a restore whose plan sends ``sent`` ((step, kind) of
    each operation, when all goes well) with ``steps``; None when it can. A recovery step,
    or a kind a recovery may send, can always be reached by some failure."""
    step, _, kind = rule.at.rpartition("/") if "/" in rule.at else (
        (rule.at, "", "") if rule.at in steps else ("", "", rule.at))
    if rule.probability <= 0:
        return "its probability is 0"
    if step in RECOVERY_STEPS or (not step and kind in RECOVERY_KINDS):
        return None
    kinds = {k for s, k in sent if s == step} if step else {k for _, k in sent}
    if kind:
        kinds &= {kind}
    if rule.kind is FaultKind.ALLOCATION_FAILED:
        kinds &= ALLOCATING
        if not kinds:
            return (f"{rule.at} creates no VM, and allocation failures befall VM creation "
                    "only" if step or kind in ALLOCATING or not kind else
                    f"this restore sends no {kind}")
    if rule.kind in GUEST_FAULTS:
        kinds &= ONLY_ON[rule.kind]
        if not kinds:
            return (f"{rule.at} sends no {', '.join(sorted(ONLY_ON[rule.kind]))}, which a "
                    f"{rule.kind.value} fault befalls (a drill's check_health)")
    if not kinds:
        return (f"step {step} sends no {kind or 'operation'}" if step else
                f"this restore sends no {kind}")
    return None


def target_call(op: Operation) -> tuple[str, str]:
    """The ARM operation and resource a fault of ``op`` strikes: the write it sends
    (after the reads some operations make first), or its first read."""
    if isinstance(op, ops.AttachDisks | ops.DetachDisks | ops.SwapDisks):
        return f"PUT {arm.VIRTUAL_MACHINES}", op.vm
    if isinstance(op, ops.TagDisk):
        return f"PATCH {arm.DISKS}", op.id
    if isinstance(op, ops.DeallocateVm):
        return f"POST {arm.VIRTUAL_MACHINES}/deallocate", op.id
    if isinstance(op, ops.WriteDiskData):
        return f"POST {arm.VIRTUAL_MACHINES}/runCommand", op.worker
    if isinstance(op, ops.RunGuestCheck):
        return f"POST {arm.VIRTUAL_MACHINES}/runCommand", op.id
    if isinstance(op, ops.WaitVmHealthy):
        return f"GET {arm.VIRTUAL_MACHINES}/instanceView", op.id
    if isinstance(op, ops.MoveResources):
        return f"POST {arm.RESOURCE_GROUPS}/validateMoveResources", op.source_group
    if isinstance(op, ops.RehydrateRestorePoint):
        return REHYDRATE, op.restore_point
    if isinstance(op, ops.FindResources):
        return "GET Microsoft.Resources/resources", "*"
    if isinstance(op, ops.ClaimWarmWorker | ops.FindIdleWorkers):
        return f"GET {arm.VIRTUAL_MACHINES}", op.group  # the list of the pool's VMs
    if isinstance(op, ops.TagWorker):
        return f"PATCH {arm.VIRTUAL_MACHINES}", op.id
    if isinstance(op, ops.StartVm):
        return f"POST {arm.VIRTUAL_MACHINES}/start", op.id
    if isinstance(op, ops.RemoveIdleWorker):
        return f"DELETE {arm.VIRTUAL_MACHINES}", op.id
    if isinstance(op, ops.CheckQuota):
        return "GET Microsoft.Compute/skus", "*"
    if isinstance(op, ops.CheckExists | ops.CheckNamesFree):
        return f"GET {arm.parse_id(op.ids[0]).type}", op.ids[0]
    method = "DELETE" if op.kind.startswith("delete_") else "PUT"
    return f"{method} {arm.parse_id(op.id).type}", op.id


def arm_rule(rule: FaultRule, op: Operation) -> ChaosRule:
    """The one-time ARM fault a cloud-side rule fired on ``op`` is (``crash`` is the
    orchestrator's own)."""
    operation, resource = target_call(op)
    kind = op.kind
    effects: dict[FaultKind, dict[str, object]] = {
        FaultKind.TRANSIENT: dict(status=503, code="ServiceUnavailable",
                                  message=f"Injected transient failure of {kind}."),
        FaultKind.THROTTLE: dict(status=429, code="TooManyRequests",
                                 retry_after=THROTTLE_RETRY_AFTER_S,
                                 message=f"Injected throttling of {kind}; retry after "
                                         f"{THROTTLE_RETRY_AFTER_S:g} s."),
        FaultKind.ALLOCATION_FAILED: dict(fail_lro=True, code="AllocationFailed",
                                          message=f"Injected: allocation failed for {kind}; the "
                                          "requested VM size is not available in the region "
                                          "or zone."),
        FaultKind.QUOTA_EXCEEDED: dict(status=409, code="QuotaExceeded",
                                       message=f"Injected: {kind} would exceed the "
                                       "subscription's quota in the region."),
    }
    if rule.kind not in effects:
        raise ValueError(f"{rule.kind} is not a cloud-side fault")
    return ChaosRule(operation=operation, resource=_literal(resource), times=1,
                     **effects[rule.kind])  # type: ignore[arg-type]


def _break_guest(region: Region, kind: FaultKind, vm_id: str) -> None:
    """The restored VM's guest as the fault has it: its agent never Ready, or its next
    check failing."""
    if kind is FaultKind.AGENT_NOT_READY:
        region.state.get(vm_id, VirtualMachine).agent_ready_at = math.inf
    else:
        region.guest.failing.add(vm_id.lower())


def _literal(pattern: str) -> str:
    """``pattern`` matching only itself (ids have no glob characters but ``[``)."""
    return pattern.replace("[", "[[]")


class StepFaults:
    """The scenario's rules for one restore, applied per operation before it is sent:
    a crash stops the orchestrator; any other rule that fires is armed in the region for
    the operation's ARM call, and taken back if the operation never sent that call."""

    def __init__(self, injector: FaultInjector | None, region: Region):
        self.injector, self.region, self.chaos = injector, region, region.chaos

    def before(self, step: str, op: Operation) -> ChaosRule | bool:
        """True: the orchestrator crashes now; a rule: armed for ``op``; False: none."""
        if self.injector is None:
            return False
        rule = self.injector.draw(step, op.kind)
        if rule is None:
            return False
        if rule.kind is FaultKind.CRASH:
            return True
        if rule.kind in GUEST_FAULTS:
            _break_guest(self.region, rule.kind, op.resource)
            return False
        armed = arm_rule(rule, op)
        self.chaos.add(armed)
        return armed

    def after(self, armed: ChaosRule | bool) -> None:
        if isinstance(armed, ChaosRule):
            self.chaos.discard(armed)

    def remaining(self) -> list[dict[str, object]]:
        return self.injector.remaining() if self.injector else []

    def never_fired(self) -> list[dict[str, object]]:
        return self.injector.never_fired() if self.injector else []
