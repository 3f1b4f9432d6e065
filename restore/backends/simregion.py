"""The `sim` backend's adapter onto fakecloud: each engine operation becomes the ARM calls
the azure backend sends (``arm_calls``), made to fakecloud's region layer in SimPy time,
and seen done when the SDK's poller would see it (the poll after its end)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy

from fakecloud.arm.lro import seen_done_s
from fakecloud.models import ArmError, CloudState
from fakecloud.region import Answer, ArmCall, Region
from restore.backends.arm_calls import Calls, calls_for
from restore.backends.data import RegionData
from restore.backends.drill_calls import Pause
from restore.backends.faults import FaultInjector, StepFaults
from restore.backends.guest import install
from restore.backends.profiles import RestoreProfile
from restore.engine import Ticket
from restore.errors import CloudError

Done = Callable[[Ticket, Any], None]
CallListener = Callable[[Ticket, ArmCall, Answer], None]


class OrchestratorCrash(Exception):
    """An injected crash: the orchestrator dies before sending an operation."""

    def __init__(self, step: str, op_kind: str):
        self.step, self.op_kind = step, op_kind
        super().__init__(f"injected crash before {op_kind} in {step}")


def restore_region(state: CloudState, profile: RestoreProfile, seed: int,
                   data: RegionData | None = None, run_archive: bool = False) -> Region:
    """fakecloud's region for a restore: the restore agent behind Run Command on its
    workers, and the scenario's bytes carried by the cloud's copies."""
    region = Region(state, profile, seed)
    install(region, data, run_archive)
    return region


class ListedInventory:
    """The report's view of a simulated region at ``now``, read as the azure backend reads
    Azure: each resource by its GET, the tagged ones as the list APIs answer them (a
    deleted one may still be listed: the profile's ``consistency``)."""

    def __init__(self, region: Region, now: float):
        self.state, self.lingering, self.now = region.state, region.lingering, now

    def lookup(self, arm_id: str) -> dict[str, Any] | None:
        return self.state.lookup(arm_id)

    def tagged(self, key: str, value: str) -> list[str]:
        return self.lingering.tagged(self.state, key, value, self.now)

    def export(self) -> list[dict[str, Any]]:
        return self.state.export()


class SimRegion:
    """Sends engine operations to a region in a SimPy environment; ``on_call`` hears each
    call the region answered, with the operation it belongs to."""

    def __init__(self, env: simpy.Environment, region: Region,
                 injector: FaultInjector | None = None, on_call: CallListener | None = None):
        self.env, self.region, self.on_call = env, region, on_call
        self.faults = StepFaults(injector, region)
        self.subscription = region.state.subscription

    def send(self, ticket: Ticket, done: Done) -> None:
        """Start ``ticket``'s operation now; ``done(ticket, outcome)`` hears its result
        (or CloudError) when its time has passed. Raises OrchestratorCrash for an
        injected crash: nothing is sent."""
        armed = self.faults.before(ticket.step, ticket.op)
        if armed is True:
            raise OrchestratorCrash(ticket.step, ticket.op.kind)
        calls = calls_for(ticket.op, self.subscription, ticket.recheck, self.env.now)
        self._advance(ticket, calls, armed, done, None, None, sent_now=True)

    def _advance(self, ticket: Ticket, calls: Calls, armed: Any, done: Done,
                 answer: Any, error: ArmError | None, sent_now: bool = False) -> None:
        """Make the operation's calls one after another until one takes time (then go on
        when it is over) or the operation ends."""
        env, region = self.env, self.region
        while True:  # errors are kept without their tracebacks: no frame cycles to collect
            try:
                call = calls.send(answer) if error is None else calls.throw(error)
            except StopIteration as end:
                outcome: Any = ticket.op.resource if end.value is None else end.value
                break
            except ArmError as exc:
                outcome = CloudError(exc.code, exc.message, exc.status, exc.retry_after)
                break
            except CloudError as exc:
                outcome = exc.with_traceback(None)
                break
            finally:
                error = None
            if call.__class__ is Pause:
                env.timeout(call.seconds).callbacks.append(
                    lambda _: self._advance(ticket, calls, armed, done, None, None))
                return
            now = env.now
            try:
                answer = region.call(call, now)
            except ArmError as exc:
                answer, error = None, exc.with_traceback(None)
                continue
            if self.on_call is not None:
                self.on_call(ticket, call, answer)
            if answer.long_running:
                wait = seen_done_s(now, answer.latency_s) - now
                if answer.failure is not None:
                    answer, error = None, answer.failure
            else:
                wait = answer.latency_s
            if wait > 0:
                env.timeout(wait).callbacks.append(
                    lambda _, a=answer, e=error: self._advance(ticket, calls, armed, done, a, e))
                return
        self.faults.after(armed)
        if sent_now:  # heard later, in its own event, like any other outcome
            env.timeout(0).callbacks.append(lambda _: done(ticket, outcome))
        else:
            done(ticket, outcome)
