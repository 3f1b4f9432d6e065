"""Drives a plan's step generators; the caller executes the operations (sans-IO).

The caller asks ``start(now)`` for the first operations to execute, runs them however it
likes (SimPy processes, a thread pool, nothing at all for a dry run) and reports each
outcome with ``complete(ticket, outcome, now)``, which returns the operations that became
ready. ``now`` is the caller's clock in seconds: the engine never reads a clock itself.
"""

from __future__ import annotations

import itertools
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from restore.errors import CloudError
from restore.ops import Operation
from restore.plan import Plan
from restore.steps import STEPS


@dataclass(frozen=True, slots=True)
class Ticket:
    """An operation the caller must execute, then report with ``Engine.complete``."""

    id: int
    step: str
    op: Operation


@dataclass(slots=True)
class StepRecord:
    name: str
    start_s: float
    end_s: float | None = None
    status: str = "running"
    attempts: int = 1


@dataclass(slots=True)
class OpRecord:
    op: str
    resource: str
    step: str
    start_s: float
    end_s: float | None = None
    status: str = "running"
    attempts: int = 1
    error_code: str | None = None


@dataclass(slots=True)
class _StepRun:
    record: StepRecord
    gen: Generator[Any, Any, None]
    single: bool = False
    results: list[Any] = field(default_factory=list)
    waiting: int = 0
    batch_start: float = 0.0
    busy_s: float = 0.0


class Engine:
    """One restore in progress: which steps run, which operations are in flight."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.status = "running"
        self.error: dict[str, Any] | None = None
        self.steps: list[StepRecord] = []
        self.operations: list[OpRecord] = []
        self._waiting_on = {s.name: set(s.after) for s in plan.steps}
        self._runs: dict[str, _StepRun] = {}
        self._done: dict[str, _StepRun] = {}
        self._tickets: dict[int, tuple[_StepRun, int, OpRecord]] = {}
        self._ids = itertools.count()

    @property
    def finished(self) -> bool:
        """No step runs or waits: after a failure, once the steps already running end."""
        return not self._runs and not self._waiting_on

    def start(self, now: float) -> list[Ticket]:
        return self._start_ready(now)

    def complete(self, ticket: int, outcome: Any, now: float) -> list[Ticket]:
        """Record an operation's result (or the CloudError it raised); returns new work."""
        run, index, record = self._tickets.pop(ticket)
        record.end_s = now
        if isinstance(outcome, CloudError):
            record.status, record.error_code = "failed", outcome.code
        else:
            record.status = "succeeded"
        run.results[index] = outcome
        run.waiting -= 1
        if run.waiting:
            return []
        run.busy_s += now - run.batch_start
        return self._advance(run, now)

    def critical_path_s(self) -> float:
        """Longest chain of dependent steps, each as long as its operations kept it busy."""
        finish: dict[str, float] = {}
        for step in self.plan.steps:
            run = self._done.get(step.name)
            own = run.busy_s if run else 0.0
            finish[step.name] = own + max((finish.get(a, 0.0) for a in step.after), default=0.0)
        return max(finish.values(), default=0.0)

    def _start_ready(self, now: float) -> list[Ticket]:
        if self.status != "running":
            return []
        ready = [name for name, deps in self._waiting_on.items() if not deps]
        tickets: list[Ticket] = []
        for name in ready:
            del self._waiting_on[name]
            record = StepRecord(name, now)
            self.steps.append(record)
            run = _StepRun(record, STEPS[name](self.plan.context))
            self._runs[name] = run
            tickets += self._advance(run, now)
        return tickets

    def _advance(self, run: _StepRun, now: float) -> list[Ticket]:
        """Resume a step with its last batch's results until it yields work or ends."""
        while True:
            failure = next((r for r in run.results if isinstance(r, CloudError)), None)
            try:
                if failure is not None:
                    batch = run.gen.throw(failure)
                else:
                    batch = run.gen.send(run.results[0] if run.single else run.results or None)
            except StopIteration:
                return self._finish_step(run, now)
            except CloudError as exc:
                self._fail_step(run, exc, now)
                return []
            run.single = isinstance(batch, Operation)
            ops = [batch] if run.single else list(batch)
            if ops:
                return self._issue(run, ops, now)
            run.results = []

    def _issue(self, run: _StepRun, ops: list[Operation], now: float) -> list[Ticket]:
        run.results = [None] * len(ops)
        run.waiting = len(ops)
        run.batch_start = now
        tickets = []
        for index, op in enumerate(ops):
            record = OpRecord(op.kind, op.resource, run.record.name, now)
            self.operations.append(record)
            ticket = Ticket(next(self._ids), run.record.name, op)
            self._tickets[ticket.id] = (run, index, record)
            tickets.append(ticket)
        return tickets

    def _finish_step(self, run: _StepRun, now: float) -> list[Ticket]:
        name = run.record.name
        run.record.end_s, run.record.status = now, "succeeded"
        self._retire(name)
        for deps in self._waiting_on.values():
            deps.discard(name)
        if not self._runs and not self._waiting_on and self.status == "running":
            self.status = "succeeded"
        return self._start_ready(now)

    def _fail_step(self, run: _StepRun, exc: CloudError, now: float) -> None:
        run.record.end_s, run.record.status = now, "failed"
        self._retire(run.record.name)
        if self.status == "running":
            failed_op = next((o for o in reversed(self.operations)
                              if o.step == run.record.name and o.status == "failed"), None)
            self.status = "failed"
            self.error = {"step": run.record.name,
                          "operation": failed_op.op if failed_op else None,
                          "code": exc.code, "message": exc.message}
        self._waiting_on.clear()

    def _retire(self, name: str) -> None:
        self._done[name] = self._runs.pop(name)


def dry_run(plan: Plan) -> list[Ticket]:
    """Every operation the plan would issue, in order, if each one succeeded at once."""
    engine = Engine(plan)
    pending = engine.start(0.0)
    issued: list[Ticket] = []
    while pending:
        ticket = pending.pop(0)
        issued.append(ticket)
        pending += engine.complete(ticket.id, None, 0.0)
    return issued
