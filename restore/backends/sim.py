"""The `sim` backend: the engine drives fakecloud's SimPy region in virtual time."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

import simpy

from fakecloud.models import CloudState
from restore import ops
from restore.backends.cost import restore_cost
from restore.backends.faults import FaultRule
from restore.backends.journal import Journal, JournalError, simulated_session
from restore.backends.prepared import (
    Prepared,
    Resumption,
    check_fault_targets,
    data_for,
    engine_for,
    injector_for,
    prepare,
    remembered,
)
from restore.backends.profiles import RestoreProfile
from restore.backends.simregion import (
    ListedInventory,
    OrchestratorCrash,
    SimRegion,
    restore_region,
)
from restore.engine import Engine, Ticket
from restore.errors import CloudError
from restore.report import Report
from restore.scenario import Fault, Scenario, parse_scenario


def simulate(scenario: Scenario, seed: int | None = None, profile: RestoreProfile | None = None,
             faults: Iterable[Fault | FaultRule] = (), journal: str | Path | None = None,
             backend: str = "sim") -> Report:
    """Run one restore of ``scenario`` in a simulated region; same seed, same report.
    A restore that can only differ by its latencies is traced once and re-timed for
    each seed (``retimed``: the same report, without running the engine again).

    ``backend`` "fake-arm" sends every operation through the azure-mgmt-* SDK to
    fakecloud's ARM fake of the same region, instead of applying it directly.

    ``faults`` add to the scenario's own fault rules. With ``journal`` (a new file) the
    restore's progress and, at the end, the simulated region are kept there, so an
    interrupted restore can be finished with ``resume``.
    """
    if profile is not None and journal is not None:
        raise ValueError("a journaled restore takes its profile from the scenario's "
                         "region_profile (resume reads it there), not from profile=")
    prepared = remembered(scenario, profile)
    seed = scenario.seed if seed is None else seed
    faults = [*scenario.faults, *faults]
    check_fault_targets(prepared.plan, faults)  # on every backend, before anything runs
    runner = _runner(backend)
    if journal is None:
        found = _retimed(prepared, seed) if backend == "sim" and not faults else None
        return found or runner(prepared, seed, faults)
    meta = {"scenario": scenario.model_dump(mode="json"), "seed": seed, "backend": backend,
            "restore_id": prepared.plan.context.restore_id,
            "source_before": prepared.source_before, "status": "interrupted",
            "faults_left": [FaultRule.of(f).dump() for f in faults]}  # until its first record
    with Journal(journal, create=True, meta=meta) as book:
        return runner(prepared, seed, faults, book)


def resume(journal: str | Path) -> Report:
    """Finish the restore kept in ``journal``: steps that ended stay done, the interrupted
    ones run again, checking before acting; the result is the same final state."""
    with Journal(journal, create=False) as book:
        if book.meta("status") != "interrupted":
            raise JournalError(f"{journal}: nothing to resume: the restore ended "
                               f"{book.meta('status')}")
        scenario = parse_scenario(book.meta("scenario"), source=str(journal))
        prepared = prepare(scenario)
        if prepared.plan.context.restore_id != book.meta("restore_id"):
            raise JournalError(f"{journal}: the journal's restore id does not match its plan")
        region = book.meta("region")  # none yet: stopped before its first record
        state = prepared.world.copy() if region is None else prepared.profile.add_subscriptions(
            CloudState.load(scenario.subscription, prepared.profile.sizing.max_data_disks, region,
                            prepared.profile.quota))
        finished, interrupted = book.stopped_at()
        resumption = Resumption(finished, interrupted, error=book.meta("error"),
                                next_ticket=book.meta("next_ticket") or 0,
                                clock_s=book.meta("clock_s") or 0.0,
                                data_verified=book.meta("data_verified"))
        faults = [FaultRule.load(f) for f in book.meta("faults_left")]
        runner = _runner(book.meta("backend") or "sim")
        report = runner(replace(prepared, source_before=book.meta("source_before")),
                        book.meta("seed"), faults, book, state, resumption)
        report.earlier_operations = book.earlier_operations()
        return report


def run(prepared: Prepared, seed: int, faults: Iterable[Fault | FaultRule] = (),
        book: Journal | None = None, state: CloudState | None = None,
        resuming: Resumption | None = None) -> Report:
    """One restore of a prepared scenario, in a fresh copy of its world (or, resuming,
    in the region state the journal kept)."""
    faults = list(faults)
    check_fault_targets(prepared.plan, faults)
    state = state or prepared.world.copy()
    env = simpy.Environment(resuming.clock_s if resuming else 0)
    data = data_for(prepared, resuming)
    region = SimRegion(env, restore_region(state, prepared.profile, seed, data),
                       injector_for(faults, seed, prepared.plan))
    engine = engine_for(prepared.plan, book, resuming)
    driver = Orchestrator(env, region, engine, book.record_operation if book else None)
    if book:
        book.follow(simulated_session(engine, state, lambda: env.now, region.faults, data,
                                      resuming))
    driver.start()
    env.run()
    if book:
        book.save()
    report = Report(engine, "sim", seed, driver.end_s, prepared.source_before,
                    ListedInventory(region.region, driver.end_s),
                    lambda: restore_cost(engine.operations, driver.end_s, prepared.plan.context,
                                         prepared.profile.prices))
    report.faults_never_fired = region.faults.never_fired()
    if data is not None:
        report.data_verified = engine.status == "succeeded" and data.all_verified()
    return report


def _retimed(prepared: Prepared, seed: int) -> Report | None:
    """The report re-timed from the scenario's compiled restore (the engine's, field for
    field), or None when it has none, or numpy is not installed."""
    try:
        from restore.backends.compiled import NotCompilable, compiled_for
        from restore.backends.retimed import retimed_report
    except ImportError:
        return None
    try:
        return retimed_report(compiled_for(prepared), seed)
    except NotCompilable:
        return None


def _runner(backend: str) -> Callable[..., Report]:
    """``run`` of the backend named: "sim", or "fake-arm" (the SDK against the ARM fake)."""
    if backend == "sim":
        return run
    if backend == "fake-arm":
        from restore.backends import fake_arm  # needs the azure extra

        return lambda prepared, seed, faults, *rest: fake_arm.run(
            prepared, seed, [FaultRule.of(f) for f in faults], *rest)
    raise ValueError(f"unknown backend {backend!r} (available: sim, fake-arm)")


class WorkerPool:
    """At most ``capacity`` workers exist at once across a fleet's restores; the lowest
    priority number gets the next free slot."""

    def __init__(self, env: simpy.Environment, capacity: int):
        self.env, self.capacity = env, capacity
        self.slots = simpy.PriorityResource(env, capacity)
        self.held: dict[str, tuple[simpy.Event, float]] = {}
        self.busy_s = 0.0  # slot-seconds held, for the makespan's lower bound
        self.in_use = self.peak = 0

    def acquire(self, vm: str, priority: int, then: Callable[[], None]) -> None:
        if vm.lower() in self.held:
            then()
            return
        request = self.slots.request(priority=priority)
        self.held[vm.lower()] = (request, 0.0)

        def granted(_: simpy.Event) -> None:
            self.held[vm.lower()] = (request, self.env.now)
            self.in_use += 1
            self.peak = max(self.peak, self.in_use)
            then()

        request.callbacks.append(granted)

    def release(self, vm: str) -> None:
        found = self.held.pop(vm.lower(), None)
        if found is not None:
            request, since = found
            if request.triggered:
                self.in_use -= 1
                self.busy_s += self.env.now - since
            self.slots.release(request)


class Orchestrator:
    """Drives one engine's operations in a simulated region: applies each when it is sent
    (after any retry delay), hands its outcome back when its time has passed."""

    def __init__(self, env: simpy.Environment, region: SimRegion, engine: Engine,
                 record: Callable[[Ticket], None] | None = None,
                 pool: WorkerPool | None = None, priority: int = 0):
        self.env, self.region, self.engine = env, region, engine
        self.record = record or (lambda ticket: None)
        self.pool, self.priority = pool, priority
        self.end_s = env.now
        self.waited_s = 0.0  # for a worker slot
        self.waits: dict[str, float] = {}  # per step, its longest wait for a worker slot
        self.first_ask_s: float | None = None  # when it first asked for a worker slot
        self.last_release_s: float | None = None  # when its last worker slot went back
        self.placed_s: float | None = None  # when it first got a worker slot
        self.done = env.event()  # the restore ended
        self.on_release: Callable[[ops.TagWorker], None] | None = None  # a worker went warm

    def start(self) -> None:
        self._execute(self.engine.start(self.env.now))

    def _execute(self, tickets: list[Ticket]) -> None:
        for ticket in tickets:
            if ticket.delay_s:
                self.env.timeout(ticket.delay_s, ticket).callbacks.append(self._send_later)
            elif self.pool and _creates_worker(ticket.op):
                if self.first_ask_s is None:
                    self.first_ask_s = self.env.now
                self.pool.acquire(ticket.op.id, self.priority,
                                  lambda t=ticket, asked=self.env.now: self._send_slotted(t, asked))
            else:
                self._send(ticket)

    def _send_later(self, event: simpy.Event) -> None:
        ticket = event.value
        ticket.delay_s = 0.0  # waited: now it is sent (through the pool, if it needs one)
        self._execute([ticket])

    def _send_slotted(self, ticket: Ticket, asked_s: float) -> None:
        waited = self.env.now - asked_s
        self.waited_s += waited
        self.waits[ticket.step] = max(self.waits.get(ticket.step, 0.0), waited)
        if self.placed_s is None:
            self.placed_s = self.env.now
        self._send(ticket)

    def _send(self, ticket: Ticket) -> None:
        """Send the operation now; it completes when its simulated time has passed."""
        engine = self.engine
        if engine.finished:
            return
        self.record(ticket)
        try:
            self.region.send(ticket, self._completed)
        except OrchestratorCrash:
            engine.interrupt(ticket, self.env.now)
            self.record(ticket)
            self._ended()

    def _completed(self, ticket: Ticket, outcome: object) -> None:
        engine = self.engine
        if engine.finished:
            return  # the orchestrator is gone: nobody hears the answer
        if self.pool and _frees_worker(ticket.op, outcome):
            self.pool.release(self._slot_of(ticket.op.id))
            self.last_release_s = self.env.now
            if isinstance(ticket.op, ops.TagWorker) and self.on_release:
                self.on_release(ticket.op)
        follow_ups = engine.complete(ticket, outcome, self.env.now)
        self.record(ticket)
        if engine.finished:
            self._ended()
        self._execute(follow_ups)

    def _slot_of(self, vm: str) -> str:
        """The planned worker whose pool slot ``vm`` holds (a claimed warm worker is not
        the one the plan named)."""
        bound = self.engine.context.bound or {}
        return next((planned for planned, got in bound.items() if got.lower() == vm.lower()),
                    vm)

    def _ended(self) -> None:
        self.end_s = self.env.now
        self.done.succeed()
        if self.pool:
            for worker in self.engine.plan.context.workers:
                self.pool.release(worker.vm)


def _creates_worker(op: object) -> bool:
    """An operation that needs a worker slot: a worker's creation, or (with a worker pool)
    the claim of a warm one, which comes first."""
    return isinstance(op, ops.CreateVm) and op.os_disk_from_image or isinstance(
        op, ops.ClaimWarmWorker)


def _frees_worker(op: object, outcome: object) -> bool:
    """A worker's deletion done, its release to the pool done, or its creation failed:
    its pool slot is free again."""
    if isinstance(op, ops.DeleteVm):
        return not isinstance(outcome, CloudError)
    if isinstance(op, ops.TagWorker):
        return op.keep_warm_s is not None and not isinstance(outcome, CloudError)
    return isinstance(op, ops.CreateVm) and op.os_disk_from_image and isinstance(
        outcome, CloudError)


