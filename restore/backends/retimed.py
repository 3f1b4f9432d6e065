"""``simulate`` of a compiled restore: the traced run re-timed for another seed.

A restore that only differs by its latencies (``compiled``) ends in the same state with
the same operations for every seed. Its report for a seed is the traced run's with every
call's latency drawn as the region draws it for that seed (the same keyed draws) and the
operations run again as events, in the order SimPy runs them (by time, then by when they
were scheduled): each operation's calls one after another, a batch after the one before
it, a step after the steps it waits for. So the operations are sent in the engine's order
and end at the engine's times: the same report, field for field (a test compares them),
without the engine, the region's rules or SimPy.
"""

from __future__ import annotations

import copy
import heapq
import itertools

from fakecloud.arm.lro import seen_done_s
from fakecloud.region import Region
from restore.backends.compiled import CompiledRestore, StepShape
from restore.backends.cost import restore_cost
from restore.engine import StepRun, Ticket
from restore.report import Report

HEARD = -1  # an operation that took no time: its outcome is heard in an event of its own


def retimed_report(compiled: CompiledRestore, seed: int) -> Report:
    """The report of ``compiled``'s restore with ``seed``."""
    prepared = compiled.prepared
    region = Region(compiled.state, prepared.profile, seed)  # for its latencies only
    took: dict[int, list[tuple[bool, float]]] = {ticket: [] for ticket in compiled.step_of}
    for k, long_running in compiled.timed:  # the seed's draws, key by key in call order
        took[k.ticket].append((long_running, region.latency_of(k.call, k.kind, k.result)))
    run = _Run(compiled, took)
    run.go()
    tickets = {t.id: t for t in compiled.engine.operations}
    steps = {s.name: s for s in compiled.engine.steps}
    engine = copy.copy(compiled.engine)
    engine.operations = [_ticket(tickets[i], *run.op_times[i]) for i in run.sent]
    engine.steps = [_step(steps[name], *run.step_times[name], run.busy[name])
                    for name in run.started]
    engine._chain_s = chain = {}
    for name in run.started:  # each step after all those it waits for
        before = [chain[b] for b in prepared.plan.prerequisites[name]]
        chain[name] = max(before, default=0.0) + run.busy[name]
    context, prices = prepared.plan.context, prepared.profile.prices
    return compiled.report.retimed(engine, seed, run.end_s, lambda: restore_cost(
        engine.operations, run.end_s, context, prices))


class _Run:
    """The restore's operations as SimPy events: the orchestrator's and the engine's
    order of sending, the SimPy region's way of waiting for each call."""

    def __init__(self, compiled: CompiledRestore, took: dict[int, list[tuple[bool, float]]]):
        self.took, self.steps, self.step_of = took, compiled.by_name, compiled.step_of
        plan = compiled.prepared.plan
        self.dependents = plan.dependents
        self.waiting = {name: len(after) for name, after in plan.prerequisites.items()}
        self.events: list[tuple[float, int, int, int]] = []
        self.order = itertools.count()
        self.sent: list[int] = []
        self.started: list[str] = []
        self.op_times: dict[int, list[float]] = {}
        self.step_times: dict[str, list[float]] = {}
        self.busy: dict[str, float] = {}
        self.batch: dict[str, int] = {}  # step -> index of its running batch
        self.batch_start: dict[str, float] = {}
        self.left: dict[str, int] = {}  # step -> operations of that batch still running
        self.end_s = 0.0

    def go(self) -> None:
        ready = [name for name, count in self.waiting.items() if not count]
        self._send(self._start(ready, 0.0), 0.0)
        events = self.events
        while events:
            now, _, ticket, index = heapq.heappop(events)
            if index == HEARD:
                self._send(self._completed(ticket, now), now)
            else:
                self._calls(ticket, index, now, sent_now=False)

    def _start(self, names: list[str], now: float) -> list[int]:
        """Engine._start: each step's first batch (a step with none ends at once)."""
        tickets: list[int] = []
        for name in names:
            self.started.append(name)
            self.step_times[name], self.busy[name] = [now, now], 0.0
            tickets += self._batch(self.steps[name], 0, now)
        return tickets

    def _batch(self, step: StepShape, index: int, now: float) -> list[int]:
        if index == len(step.batches):
            return self._finish(step.name, now)
        self.batch[step.name], self.left[step.name] = index, len(step.batches[index])
        self.batch_start[step.name] = now
        return [ticket for ticket, _ in step.batches[index]]

    def _finish(self, name: str, now: float) -> list[int]:
        self.step_times[name][1] = now
        self.end_s = max(self.end_s, now)
        ready = []
        for dependent in self.dependents.get(name, ()):
            self.waiting[dependent] -= 1
            if not self.waiting[dependent]:
                ready.append(dependent)
        return self._start(ready, now)

    def _send(self, tickets: list[int], now: float) -> None:
        for ticket in tickets:
            self.sent.append(ticket)
            self.op_times[ticket] = [now, now]
            self._calls(ticket, 0, now, sent_now=True)

    def _calls(self, ticket: int, index: int, now: float, sent_now: bool) -> None:
        """SimRegion._advance: the calls one after another until one takes time (the
        instant ones left out: they add nothing)."""
        calls = self.took[ticket]
        while index < len(calls):
            long_running, took = calls[index]
            index += 1
            wait = seen_done_s(now, took) - now if long_running else took
            if wait > 0:
                heapq.heappush(self.events, (now + wait, next(self.order), ticket, index))
                return
        if sent_now:
            heapq.heappush(self.events, (now, next(self.order), ticket, HEARD))
        else:
            self._send(self._completed(ticket, now), now)

    def _completed(self, ticket: int, now: float) -> list[int]:
        """Engine.complete: the batch's last operation sends the next batch."""
        self.op_times[ticket][1] = now
        name = self.step_of[ticket]
        self.left[name] -= 1
        if self.left[name]:
            return []
        self.busy[name] += now - self.batch_start[name]
        return self._batch(self.steps[name], self.batch[name] + 1, now)


def _ticket(t: Ticket, start_s: float, end_s: float) -> Ticket:
    """The traced run's record of an operation, with other times."""
    return Ticket(t.id, t.step, t.op, start_s, t._run, t._index, end_s, t.status, t.attempts,
                  t.error_code, [], t.delay_s, t.retry_wait_s, t.recheck)


def _step(s: StepRun, start_s: float, end_s: float, busy_s: float) -> StepRun:
    """The traced run's record of a step, with other times."""
    return StepRun(s.name, start_s, s.gen, end_s, s.status, s.attempts, s.retries,
                   busy_s=busy_s)
