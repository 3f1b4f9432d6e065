"""The region layer: every ARM call, from the HTTP fake or from a SimPy model, goes one
way: fault rules, throttling, the state model's rules, then a latency from the profile."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fakecloud.models import ArmError, CloudState, VirtualMachine
from fakecloud.profile import RegionProfile
from fakecloud.region.call import Answer, ArmCall
from fakecloud.region.chaos import Chaos, ChaosRule
from fakecloud.region.common import check_location
from fakecloud.region.consistency import Lingering
from fakecloud.region.latency import Latencies
from fakecloud.region.operations import HANDLERS, REHYDRATE
from fakecloud.region.storage import Queued, RehydrationBudgets
from fakecloud.throttle import Throttle

GuestHook = Callable[["Region", VirtualMachine, dict[str, Any]], "GuestRun"]
Listener = Callable[[ArmCall, Answer], None]
DATA_PLANE = frozenset({REHYDRATE})
"""Calls that are not ARM requests: no ARM throttling."""
READS_CREATING = frozenset({VirtualMachine.type})
BOOT_KINDS = frozenset({"create_vm", "start_vm", "restart_vm"})
"""Calls that boot a VM: its VM agent reports Ready ``vm_agent_ready`` after they end."""
"""Types whose create reads ``Creating`` while it runs (ARM's VM examples); others, disks
and snapshots included, read ``Updating``."""


class GuestRun:
    """What a script run through Run Command did: its ``output`` (Run Command's
    instance-view statuses) and how many ``seconds`` it ran."""

    __slots__ = ("output", "seconds")

    def __init__(self, output: dict[str, Any], seconds: float = 0.0):
        self.output, self.seconds = output, seconds

    @classmethod
    def printed(cls, stream: str, message: str, seconds: float = 0.0) -> GuestRun:
        """A script that wrote ``message`` on ``stream`` (StdOut or StdErr)."""
        return cls({"value": [{"code": f"ComponentStatus/{stream}/succeeded", "level": "Info",
                               "message": message}]}, seconds)


def no_guest(region: Region, vm: VirtualMachine, body: dict[str, Any]) -> GuestRun:
    """A guest that runs nothing: the script ends at once with no output."""
    return GuestRun.printed("StdOut", "")


class Region:
    """One simulated subscription in one principal's view: its state, its profile, the
    fault rules and throttling in force, and keyed latencies (``seed``)."""

    def __init__(self, state: CloudState, profile: RegionProfile, seed: int = 0,
                 rules: Iterable[ChaosRule] = ()):
        self.state, self.profile = state, profile
        self.chaos = Chaos(rules, seed)
        self.throttle = Throttle(profile.throttling)
        self.latencies = Latencies(profile, seed)
        self.lingering = Lingering(profile.consistency.listed_after_delete_s, self.latencies)
        self.rehydrations = RehydrationBudgets(profile.rehydration.high)
        self.guest: GuestHook = no_guest
        self.listeners: list[Listener] = []
        self.busy: dict[str, tuple[float, str]] = {}  # resource (lower) -> end of its
        # operation, and its provisioningState until then

    def call(self, call: ArmCall, now: float) -> Answer:
        """Answer ``call`` made at ``now``: the state changes at once, as ARM validates and
        accepts a request; ``latency_s`` says when it answers or ends. A refusal is
        raised as ArmError."""
        self.state.now = now  # what the call creates, it creates now
        self.state.check_subscription(call.id)
        handler = HANDLERS.get(call.operation)
        if handler is None:
            raise ArmError(501, "NotImplementedInFake", f"fakecloud does not implement "
                           f"{call.operation}")
        rule = self.chaos.draw(call.operation, call.id, self._location(call)) \
            if self.chaos.rules else None
        if call.operation not in DATA_PLANE:
            self.throttle.admit(call.method, call.type, call.id, now, call.action)
        if call.method == "PUT" and self.profile.locations is not None:
            check_location(self.profile, call)
        if rule is not None and rule.fail_lro:
            status, _, kind, _ = _dry_run(handler, self, call)
            return Answer(status, None, self.latency_of(call, kind), True,
                          rule.error(call.operation), kind)
        if rule is not None and rule.status:
            raise rule.error(call.operation)
        before = self.lingering.before_delete(self.state) if call.method == "DELETE" else None
        status, result, kind, long_running = handler(self, call)
        latency = self.latency_of(call, kind, result) + (rule.added_latency_s if rule else 0.0)
        if before:
            self.lingering.deleted(before, self.state, now + latency)
        if kind in BOOT_KINDS and result.__class__ is VirtualMachine:
            result.agent_ready_at = now + latency + self.latencies.draw(
                "vm_agent_ready", f"{call.operation}/agent", call.id)
        answer = Answer(status, result, latency, long_running, kind=kind)
        if long_running:
            phase = "Creating" if status == 201 and call.type in READS_CREATING else "Updating"
            self.busy[call.id.lower()] = (now + latency, phase)
        for listener in self.listeners:
            listener(call, answer)
        return answer

    def provisioning(self, arm_id: str, now: float) -> str:
        """``Creating`` or ``Updating`` while an operation on the resource runs, else
        ``Succeeded``."""
        until, phase = self.busy.get(arm_id.lower(), (0.0, ""))
        return phase if until > now else "Succeeded"

    def latency_of(self, call: ArmCall, kind: str, result: Any = None) -> float:
        """The call's latency of ``kind``, drawn by the call's key (the next draw of that
        key); Run Command's adds the time its script ran (``result``, a GuestRun), a
        rehydration its wait for the account's budget (a Queued)."""
        if kind == "rehydration":
            took = self.profile.rehydration.at(call.body.get("priority", "standard"),
                                               float(call.body.get("sizeGB", 0)),
                                               self.latencies.normal(call.operation, call.id))
        else:
            took = self.latencies.draw(kind, call.operation, call.id)
        if result.__class__ is GuestRun or result.__class__ is Queued:
            took += result.seconds
        return took

    def _location(self, call: ArmCall) -> str | None:
        found = self.state.find(call.id)
        return found.location if found is not None else call.body.get("location")


def _dry_run(handler: Callable[..., Any], region: Region, call: ArmCall) -> tuple:
    """What the call would answer, without applying it (a copy of the state answers): a
    long-running operation that will fail is accepted the same way and runs its time;
    ARM's own refusal of the request comes before any fault of its operation."""
    return handler(Region(region.state.copy(), region.profile), call)
