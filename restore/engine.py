"""Drives a plan's step generators; the caller executes the operations (sans-IO).

The caller asks ``start(now)`` for the first operations to execute, runs them however it
likes (SimPy events, a thread pool, nothing at all for a dry run) and reports each outcome
with ``complete(ticket, outcome, now)``, which returns the operations that became ready.
``now`` is the caller's clock in seconds: the engine never reads a clock itself.

A ticket may come back from ``complete`` to be sent again after ``ticket.delay_s``: a
retry of a transient failure, or of an AllocationFailed of the restored VM
(``create_vm``). When a step fails for good, the engine lets the running steps end, then
recovers: ``rollback`` (delete what the restore created, the source is untouched) or,
once the source may be gone, ``keep_restored_data`` (remove only the temporary
resources, keep the restored disks). A cleanup step that fails only leaves a leftover:
the restore goes on (``cleanup_errors``).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from typing import Any

from restore.errors import CloudError
from restore.ops import Operation, Tolerate
from restore.plan import Plan
from restore.retry import DEFAULT_RETRY, RetryPolicy
from restore.steps import (
    ALLOCATION_RETRY_STEPS,
    CLEANUP_STEPS,
    DESTRUCTIVE_STEPS,
    STEPS,
    recovery_step,
)

RECOVERY_STEPS = ("rollback", "keep_restored_data", "rollback_and_start_source")
ROLLBACK_STEPS = frozenset({"rollback", "rollback_and_start_source"})


@dataclass(slots=True, eq=False)
class StepRun:
    """A step in progress (its generator, its current batch) and its record."""

    name: str
    start_s: float
    gen: Generator[Any, Any, None] = field(repr=False)
    end_s: float | None = None
    status: str = "running"
    attempts: int = 1
    retries: int = 0
    single: bool = field(default=False, repr=False)
    tolerant: bool = field(default=False, repr=False)
    results: list[Any] = field(default_factory=list, repr=False)
    failure: CloudError | None = field(default=None, repr=False)  # first error of the batch
    waiting: int = field(default=0, repr=False)
    batch_start: float = field(default=0.0, repr=False)
    busy_s: float = 0.0


@dataclass(slots=True, eq=False)
class Ticket:
    """An operation the caller must execute, then report with ``Engine.complete``; once
    issued, also the engine's record of it (attempts, error codes, retry waits)."""

    id: int
    step: str
    op: Operation
    start_s: float
    _run: StepRun = field(repr=False)
    _index: int = field(repr=False)
    end_s: float | None = None
    status: str = "running"
    attempts: int = 1
    error_code: str | None = None
    errors: list[str] = field(default_factory=list)
    delay_s: float = 0.0  # wait this long before sending (again)
    retry_wait_s: float = 0.0
    recheck: bool = False  # its step ran before an interruption: check before acting


class Engine:
    """One restore in progress: which steps run, which operations are in flight."""

    def __init__(self, plan: Plan, retry: RetryPolicy | None = None,
                 on_step: Callable[[StepRun], None] | None = None):
        self.plan = plan
        context = plan.context  # with a worker pool, each restore binds its own workers
        self.context = context if context.pool is None else replace(context, bound={})
        self.retry = retry or DEFAULT_RETRY
        self.on_step = on_step or (lambda run: None)
        self.status = "running"
        self.error: dict[str, Any] | None = None  # the failure the restore recovers from
        self.recovery_error: dict[str, Any] | None = None
        self.interruption: dict[str, Any] | None = None
        self.cleanup_errors: list[dict[str, Any]] = []  # cleanups that failed: leftovers
        self.steps: list[StepRun] = []
        self.operations: list[Ticket] = []
        self._waiting_on = {s.name: len(s.after) for s in plan.steps}
        self._dependents = plan.dependents
        self._running = 0
        self._chain_s: dict[str, float] = {}  # step -> longest busy chain ending with it
        self._next_id = 0
        self._started: set[str] = set()
        self._rerun: set[str] = set()

    def resume(self, finished: list[StepRun], interrupted: set[str],
               error: dict[str, Any] | None, next_ticket: int) -> None:
        """Continue a journaled restore: ``finished`` steps are done, ``interrupted`` ones
        run again checking before acting; after a failure, recovery comes next."""
        for run in finished:
            self.steps.append(run)
            self._started.add(run.name)
            self._waiting_on.pop(run.name, None)
            self._chain(run)
            self._release_dependents(run.name)
        self._started |= interrupted
        self._rerun = set(interrupted)
        self._next_id = next_ticket
        if error is not None:
            self.error = error
            self._waiting_on.clear()

    @property
    def finished(self) -> bool:
        """Nothing runs or waits any more: succeeded, failed, rolled back or interrupted."""
        return self.status != "running"

    @property
    def source_touched(self) -> bool:
        """Whether a step that removes the source has started (no rollback past it)."""
        return not self._started.isdisjoint(DESTRUCTIVE_STEPS)

    def start(self, now: float) -> list[Ticket]:
        ready = [name for name, deps in self._waiting_on.items() if not deps]
        return self._start(ready, now) + self._settle(now)

    def complete(self, ticket: Ticket, outcome: Any, now: float) -> list[Ticket]:
        """Record an operation's result (or the CloudError it raised); returns new work,
        possibly the same ticket to send again after ``ticket.delay_s``."""
        if self.status != "running":
            return []
        run = ticket._run
        ticket.end_s = now
        if isinstance(outcome, CloudError) and outcome.status == 404 and ticket.op.removes:
            outcome = ticket.op.resource  # already gone (a list showed it late): done
        if isinstance(outcome, CloudError):
            ticket.error_code = outcome.code
            ticket.errors.append(outcome.code)
            delay = self.retry.delay_s(outcome, ticket.attempts, ticket.retry_wait_s,
                                       ticket.step in ALLOCATION_RETRY_STEPS)
            if delay is not None:
                ticket.attempts += 1
                ticket.delay_s, ticket.retry_wait_s = delay, ticket.retry_wait_s + delay
                ticket.status = "retrying"
                run.retries += 1
                return [ticket]
            ticket.status = "failed"
            if not run.tolerant:
                run.failure = run.failure or outcome
        else:
            ticket.status = "succeeded"
        run.results[ticket._index] = outcome
        run.waiting -= 1
        if run.waiting:
            return []
        run.busy_s += now - run.batch_start
        return self._advance(run, now)

    def interrupt(self, ticket: Ticket, now: float) -> None:
        """The orchestrator died before sending ``ticket``: stop; a journal may resume."""
        ticket.status, ticket.end_s = "not_sent", now
        for run in self.steps:
            if run.status == "running":
                run.status, run.end_s = "interrupted", now
                self.on_step(run)
        self.status = "interrupted"
        self.interruption = {"step": ticket.step, "operation": ticket.op.kind,
                             "code": "Interrupted",
                             "message": "the orchestrator stopped before sending this operation"}

    def critical_path_s(self) -> float:
        """Longest chain of dependent steps, each as long as its operations kept it busy."""
        return max(self._chain_s.values(), default=0.0)

    def _start(self, names: list[str], now: float) -> list[Ticket]:
        tickets: list[Ticket] = []
        context = self.context
        for name in names:
            self._waiting_on.pop(name, None)
            self._started.add(name)
            run = StepRun(name, now, STEPS[name](context))
            self.steps.append(run)
            self._running += 1
            self.on_step(run)
            tickets += self._advance(run, now)
        return tickets

    def _advance(self, run: StepRun, now: float) -> list[Ticket]:
        """Resume a step with its last batch's results until it yields work or ends."""
        while True:
            try:
                if run.failure is not None:
                    failure, run.failure = run.failure, None
                    batch = run.gen.throw(failure)
                else:
                    batch = run.gen.send(run.results[0] if run.single else run.results or None)
            except StopIteration:
                return self._finish_step(run, now)
            except CloudError as exc:
                return self._fail_step(run, exc, now)
            run.single = isinstance(batch, Operation)
            run.tolerant = isinstance(batch, Tolerate)
            ops = [batch] if run.single else batch.ops if run.tolerant else batch
            if ops:
                return self._issue(run, ops, now)
            run.results = []

    def _issue(self, run: StepRun, ops: list[Operation], now: float) -> list[Ticket]:
        run.results = [None] * len(ops)
        run.waiting = len(ops)
        run.batch_start = now
        step, first = run.name, self._next_id
        recheck = step in self._rerun
        tickets = [Ticket(first + index, step, op, now, run, index, recheck=recheck)
                   for index, op in enumerate(ops)]
        self._next_id += len(tickets)
        self.operations += tickets
        return tickets

    def _finish_step(self, run: StepRun, now: float) -> list[Ticket]:
        name = self._retire(run, "succeeded", now)
        if name in RECOVERY_STEPS:
            self.status = "rolled_back" if name in ROLLBACK_STEPS else "failed"
            return []
        ready = self._release_dependents(name)
        tickets = self._start(ready, now) if self.error is None else []
        return tickets + self._settle(now)

    def _release_dependents(self, name: str) -> list[str]:
        """``name`` has ended: the steps that waited only for it are ready."""
        ready = []
        for dependent in self._dependents.get(name, ()):
            if dependent in self._waiting_on:
                self._waiting_on[dependent] -= 1
                if not self._waiting_on[dependent]:
                    ready.append(dependent)
        return ready

    def _fail_step(self, run: StepRun, exc: CloudError, now: float) -> list[Ticket]:
        name = self._retire(run, "failed", now)
        failed_op = next((o for o in reversed(self.operations)
                          if o.step == name and o.status == "failed"), None)
        details = {"step": name, "operation": failed_op.op.kind if failed_op else None,
                   "code": exc.code, "message": exc.message}
        if name in RECOVERY_STEPS:
            self.recovery_error, self.status = details, "failed"
            return []
        if name in CLEANUP_STEPS and self.error is None:  # a leftover, not a failed restore
            self.cleanup_errors.append(details)
            return self._start(self._release_dependents(name), now) + self._settle(now)
        if self.error is None:
            self.error = details
        self._waiting_on.clear()
        return self._settle(now)

    def _settle(self, now: float) -> list[Ticket]:
        """When no step runs any more: done, or recover from the failure."""
        if self._running or self._waiting_on:
            return []
        if self.error is None:
            self.status = "succeeded"
            return []
        return self._start([recovery_step(self._started)], now)

    def _retire(self, run: StepRun, status: str, now: float) -> str:
        run.end_s, run.status = now, status
        self._running -= 1
        self.on_step(run)
        self._chain(run)
        return run.name

    def _chain(self, run: StepRun) -> None:
        """The longest busy chain ending with ``run``; a recovery step comes after
        everything that ran before it."""
        befores = self._chain_s if run.name in RECOVERY_STEPS else self.plan.prerequisites[
            run.name]
        longest_before = max((self._chain_s[b] for b in befores), default=0.0)
        self._chain_s[run.name] = longest_before + run.busy_s


def dry_run(plan: Plan) -> list[Ticket]:
    """Every operation the plan would issue, in order, if each one succeeded at once."""
    engine = Engine(plan)
    pending = engine.start(0.0)
    issued: list[Ticket] = []
    while pending:
        ticket = pending.pop(0)
        issued.append(ticket)
        pending += engine.complete(ticket, None, 0.0)
    return issued
