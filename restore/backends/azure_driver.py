"""The driver of a restore on the SDK backends: each operation the engine sends runs on a
thread of its own, on the backend's clock, and its outcome goes back to the engine in the
order outcomes arrive (the azure backend, and fake-arm with a fake region's faults)."""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from restore.backends.azure import AzureExecutor, Clock, Sending, _sending
from restore.engine import Engine, Ticket
from restore.errors import CloudError
from restore.ops import Operation


class FaultHook(Protocol):
    """Decides, operation by operation before it is sent, on an injected fault: True is a
    crash of the orchestrator; anything else is handed back to ``after`` once the
    operation ended (see ``restore.backends.faults.StepFaults``)."""

    def before(self, step: str, op: Operation) -> Any: ...
    def after(self, armed: Any) -> None: ...


@dataclass
class Crash(Exception):
    """The orchestrator died while sending an operation (an injected fault)."""

    reason: BaseException


DRIVER = "driver"  # the driver's own task: it hears outcomes and sends follow-ups


@dataclass
class Driver:
    """Runs an engine's operations on threads, each as soon as the engine sends it, and
    hands the outcomes back in the order they arrive."""

    engine: Engine
    executor: AzureExecutor
    clock: Clock
    record: Callable[[Ticket], None] = lambda ticket: None
    faults: FaultHook | None = None  # a fake region's injected faults
    calls: dict[int, list[str]] = field(default_factory=dict)  # ticket id -> ARM requests
    end_s: float = 0.0

    def run(self) -> None:
        """Drive the restore to its end, in a context of its own (the clock's task marks
        stay out of the caller's)."""
        contextvars.copy_context().run(self._drive)

    def _drive(self) -> None:
        outcomes: queue.Queue[tuple[Ticket, Any]] = queue.Queue()
        self.clock.admit(DRIVER)
        self.clock.enter(DRIVER)
        in_flight = 0
        for ticket in self.engine.start(self.clock.now):
            self._send(ticket, outcomes)
            in_flight += 1
        self.clock.leave()
        while in_flight:
            ticket, outcome = outcomes.get()
            self.clock.enter(DRIVER)
            in_flight -= 1
            for follow_up in self._hear(ticket, outcome):
                self._send(follow_up, outcomes)
                in_flight += 1
            self.clock.leave()

    def _send(self, ticket: Ticket, outcomes: queue.Queue[tuple[Ticket, Any]]) -> None:
        self.clock.admit(ticket.id)
        self.record(ticket)
        calls = self.calls.setdefault(ticket.id, [])
        context = contextvars.copy_context()
        context.run(_sending.set, Sending(f"{ticket.step}/{ticket.op.kind}", calls,
                                          self.clock))
        threading.Thread(target=context.run, args=(self._work, ticket, outcomes),
                         name=f"restorelab-{ticket.op.kind}", daemon=True).start()

    def _work(self, ticket: Ticket, outcomes: queue.Queue[tuple[Ticket, Any]]) -> None:
        self.clock.enter(ticket.id)
        try:
            self.clock.sleep(ticket.delay_s)
            ticket.delay_s = 0.0  # waited: now it is sent
            outcome = self._execute(ticket)
        except CloudError as exc:
            outcome = exc
        except BaseException as exc:  # a bug, not a cloud answer: end the restore with it
            outcome = exc
        outcomes.put((ticket, outcome))
        self.clock.admit(DRIVER)
        self.clock.leave()

    def _execute(self, ticket: Ticket) -> Any:
        """The operation's outcome; with injected faults (a fake region's), a crash
        instead, or the fault armed for its ARM call."""
        armed = self.faults.before(ticket.step, ticket.op) if self.faults else False
        if armed is True:
            return Crash(RuntimeError(f"injected crash before {ticket.op.kind} in "
                                      f"{ticket.step}"))
        try:
            return self.executor.execute(ticket.op, ticket.recheck)
        finally:
            if self.faults:
                self.faults.after(armed)

    def _hear(self, ticket: Ticket, outcome: Any) -> list[Ticket]:
        engine = self.engine
        if engine.finished:
            return []  # the orchestrator is gone: nobody hears the answer
        if isinstance(outcome, Crash):
            engine.interrupt(ticket, self.clock.now)
        elif isinstance(outcome, BaseException) and not isinstance(outcome, CloudError):
            raise outcome
        else:
            follow_ups = engine.complete(ticket, outcome, self.clock.now)
        self.record(ticket)
        if engine.finished:
            self.end_s = self.clock.now
            return []
        return follow_ups
