"""The compiled fast path of a sweep: one restore's ARM calls as a fixed shape, sampled for
many runs at once with numpy.

A restore that can neither fail nor wait for anything but its own calls (no fault rules,
one VM, no throttling possible, no bytes) makes the same ARM calls in the same order
whatever the seed: only their latencies change. One traced run of the SimPy engine gives
that shape: steps after the steps they wait for, each a sequence of batches of operations
run side by side, each operation a sequence of calls. N restores are then N draws of every
call's latency from the profile, added up as the SimPy run adds them (a long-running call
is seen done at the SDK's poll after its end), and their costs the cost model's terms at
those times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import simpy

from fakecloud.models import CloudState
from fakecloud.profile import OPTIONAL_LATENCY_KINDS, Latency, RegionProfile
from fakecloud.region import Answer, ArmCall, GuestRun, Queued
from fakecloud.throttle import Throttle
from restore.backends.cost import cost_terms
from restore.backends.prepared import Prepared, Recent
from restore.backends.sim import Orchestrator
from restore.backends.simregion import SimRegion, restore_region
from restore.engine import Engine, Ticket
from restore.report import Report

STARVED_REFILL_PER_S = 1e-12
"""The traced run's buckets refill at about nothing: if it still never waits for one, no
restore of the scenario can, whatever its timing."""


class NotCompilable(ValueError):
    """The scenario's restores are not all the same calls: say why."""


@dataclass(frozen=True, slots=True)
class CallShape:
    """One ARM call: its latency, a lognormal draw (``median``, ``sigma``; ``sigma`` 0:
    fixed) clamped to [``low``, ``high``], plus ``extra_s`` (a script's run time);
    ``long_running``: seen done at the poll after its end."""

    median: float
    sigma: float
    low: float
    high: float
    extra_s: float
    long_running: bool

    @property
    def instant(self) -> bool:
        """It never takes time (a read answered at once)."""
        return self.sigma == 0 and self.median == 0 and self.extra_s == 0

    @property
    def fixed_s(self) -> float | None:
        """Its latency when it does not vary, else None."""
        return self.median + self.extra_s if self.sigma == 0 else None


@dataclass(frozen=True, slots=True)
class StepShape:
    name: str
    after: tuple[str, ...]
    batches: tuple[tuple[tuple[int, tuple[CallShape, ...]], ...], ...]
    """Each batch's operations: (ticket id, its calls)."""


@dataclass(slots=True)
class Sampled:
    """N restores (or one, in floats): each one's duration, per ticket id its operations'
    times, per step its times and how long its batches kept it busy."""

    end_s: np.ndarray
    op_start: dict[int, np.ndarray]
    op_end: dict[int, np.ndarray]
    step_start: dict[str, np.ndarray]
    step_end: dict[str, np.ndarray]
    step_busy: dict[str, np.ndarray]


@dataclass(frozen=True, slots=True)
class KeyedCall:
    """A traced call as the region drew its latency: what ``Region.latency_of`` takes."""

    ticket: int
    index: int
    call: ArmCall
    kind: str
    result: GuestRun | Queued | None


class CompiledRestore:
    """A scenario's restore as its shape; ``sample`` draws runs of it. The traced run is
    kept: its ``engine``, the region ``state`` it left (the same for every seed) and its
    calls that take time in the order they were made (``timed``)."""

    def __init__(self, steps: tuple[StepShape, ...], engine: Engine, state: CloudState,
                 keyed: list[KeyedCall], prepared: Prepared):
        self.steps, self.prepared = steps, prepared
        self.engine, self.state = engine, state
        self.report = Report(engine, "sim", prepared.scenario.seed,
                             max(run.end_s for run in engine.steps), prepared.source_before,
                             state)
        """The traced run's report (its times aside, every seed's)."""
        self.by_name = {step.name: step for step in steps}
        self.step_of = {ticket: step.name for step in steps for batch in step.batches
                        for ticket, _ in batch}
        shapes = {(ticket, index): call for step in steps for batch in step.batches
                  for ticket, calls in batch for index, call in enumerate(calls)}
        self.timed = [(k, shapes[k.ticket, k.index].long_running) for k in keyed
                      if not shapes[k.ticket, k.index].instant]
        """The calls that take time, in the order they were made, and whether each is a
        long-running one."""
        context, prices = prepared.plan.context, prepared.profile.prices
        self.fixed_costs, self.lives = cost_terms(engine.operations, context, prices)
        drawn = [call for step in steps for batch in step.batches for _, calls in batch
                 for call in calls if call.fixed_s is None]
        self._rows = {id(call): row for row, call in enumerate(drawn)}
        self._columns = {name: np.array([getattr(c, name) for c in drawn],
                                        dtype=np.float32)[:, None]
                         for name in ("median", "sigma", "low", "high", "extra_s")}

    def sample(self, runs: int, rng: np.random.Generator) -> Sampled:
        """``runs`` restores, every call's latency a fresh draw (a fixed one its value;
        in single precision: a few milliseconds on a day-long restore)."""
        column, rows = self._columns, self._rows
        normal = rng.standard_normal((len(rows), runs), dtype=np.float32)
        drawn = np.clip(column["median"] * np.exp(column["sigma"] * normal),
                        column["low"], column["high"]) + column["extra_s"]

        def latency(ticket: int, index: int, call: CallShape) -> np.ndarray | float:
            fixed = call.fixed_s
            return drawn[rows[id(call)]] if fixed is None else fixed

        return self.replay(latency, np.zeros(runs, dtype=np.float32))

    def replay(self, latency: Callable[[int, int, CallShape], np.ndarray | float],
               start: np.ndarray | float, maximum: Callable = np.maximum,
               seen_done: Callable = None) -> Sampled:
        """The runs whose calls took ``latency(ticket id, call index, call)``, timed as
        SimPy times them (an instant call adds nothing: it is not asked), from ``start``
        (zeros: arrays of runs; 0.0 with ``max`` and ``seen_done_s``: one run in floats)."""
        seen_done = seen_done or _seen_done
        sampled = Sampled(start, {}, {}, {}, {}, {})
        for step in self.steps:
            t = start
            for before in step.after:
                t = maximum(t, sampled.step_end[before])
            sampled.step_start[step.name], busy = t, 0.0
            for batch in step.batches:
                batch_end = t
                for ticket_id, calls in batch:
                    end = t
                    for index, call in enumerate(calls):
                        if call.instant:
                            continue
                        took = latency(ticket_id, index, call)
                        end = end + (seen_done(end, took) - end if call.long_running else took)
                    sampled.op_start[ticket_id], sampled.op_end[ticket_id] = t, end
                    batch_end = maximum(batch_end, end)
                busy, t = busy + (batch_end - t), batch_end
            sampled.step_end[step.name], sampled.step_busy[step.name] = t, busy
            sampled.end_s = maximum(sampled.end_s, t)
        return sampled

    def costs(self, sampled: Sampled) -> np.ndarray:
        """Each run's total cost, as ``restore_cost`` prices it."""
        items = {item: np.full(len(sampled.end_s), value)
                 for item, value in self.fixed_costs.items()}
        for life in self.lives:
            end = sampled.op_end[life.end.id] if life.end is not None else sampled.end_s
            items[life.item] = items[life.item] + life.rate_per_hour * (
                end - sampled.op_start[life.start.id]) / 3600
        return np.round(sum(items.values()), 4)


def _seen_done(start: np.ndarray, latency: np.ndarray) -> np.ndarray:
    """``fakecloud.arm.lro.seen_done_s``, element by element, with the same arithmetic:
    a poll at once, then after each Retry-After (whole seconds, at least one)."""
    done = start + latency
    now = np.where(start < done, start + np.maximum(1.0, np.ceil(done - start)), start)
    while True:
        early = now < done
        if not early.any():
            return now
        now = np.where(early, now + np.maximum(1.0, np.ceil(done - now)), now)


_compiled = Recent()


def compiled_for(prepared: Prepared) -> CompiledRestore:
    """``compile_restore``, its answer (or why there is none) kept for the prepared
    scenarios already seen (a study sweeps or simulates the same scenario again and
    again)."""
    found = _compiled.get((prepared,), lambda: _compiled_or_why(prepared))
    if isinstance(found, NotCompilable):
        raise found
    return found


def _compiled_or_why(prepared: Prepared) -> CompiledRestore | NotCompilable:
    try:
        return compile_restore(prepared)
    except NotCompilable as exc:
        return exc


def compile_restore(prepared: Prepared) -> CompiledRestore:
    """Trace one restore of ``prepared`` and take its shape; NotCompilable when its
    restores can differ by more than their latencies."""
    scenario = prepared.scenario
    if scenario.fleet is not None:
        raise NotCompilable("it is a fleet: its restores share workers and request limits")
    if scenario.faults:
        raise NotCompilable("it has fault rules")
    if prepared.data is not None:
        raise NotCompilable("it restores real bytes (data mode bytes)")
    if scenario.is_drill:
        raise NotCompilable("it is a drill: how often it reads the VM's instance view "
                            "depends on when its agent is Ready")
    calls: dict[int, list[CallShape]] = {}
    keyed: list[KeyedCall] = []

    def heard(ticket: Ticket, call: ArmCall, answer: Answer) -> None:
        made = calls.setdefault(ticket.id, [])
        took = answer.result if isinstance(answer.result, GuestRun | Queued) else None
        keyed.append(KeyedCall(ticket.id, len(made), call, answer.kind, took))
        made.append(_shape(call, answer, prepared.profile))

    state = prepared.world.copy()
    engine = _traced_run(prepared, heard, state)
    if engine.status != "succeeded":
        raise NotCompilable(f"its restore ends {engine.status}")
    if any(t.attempts > 1 or t.errors for t in engine.operations):
        raise NotCompilable("its restore retries or waits for a request limit")
    return CompiledRestore(_steps(engine, calls), engine, state, keyed, prepared)


def _traced_run(prepared: Prepared, on_call: Callable[[Ticket, ArmCall, Answer], None],
                state: CloudState | None = None) -> Engine:
    """One restore on the SimPy engine (in ``state``, default a copy of the scenario's
    world), each call heard by ``on_call``, with request limits that (nearly) never
    refill."""
    env = simpy.Environment()
    region = restore_region(state or prepared.world.copy(), prepared.profile,
                            prepared.scenario.seed)
    region.throttle = Throttle(region.throttle.limits.starved(STARVED_REFILL_PER_S))
    engine = Engine(prepared.plan)
    Orchestrator(env, SimRegion(env, region, on_call=on_call), engine).start()
    env.run()
    return engine


def _steps(engine: Engine, calls: dict[int, list[CallShape]]) -> tuple[StepShape, ...]:
    """Each step's batches, in the order the steps started (every step after those it
    waits for)."""
    batches: dict[str, list[list[tuple[int, tuple[CallShape, ...]]]]] = {}
    for ticket in engine.operations:
        step = batches.setdefault(ticket.step, [])
        if ticket._index == 0:
            step.append([])
        step[-1].append((ticket.id, tuple(calls.get(ticket.id, ()))))
    prerequisites = engine.plan.prerequisites
    return tuple(StepShape(run.name, prerequisites[run.name],
                           tuple(tuple(b) for b in batches.get(run.name, [])))
                 for run in engine.steps)


def _shape(call: ArmCall, answer: Answer, profile: RegionProfile) -> CallShape:
    """The call as the region drew its latency (``Region.latency_of``): a script's run
    time or a rehydration's wait for its account's budget (the same in every run of one
    restore: its account is idle until it asks) is added to the draw."""
    extra = answer.result.seconds if isinstance(answer.result, GuestRun | Queued) else 0.0
    if answer.kind == "rehydration":
        priority = call.body.get("priority", "standard")
        extra += profile.rehydration.extra_s(priority, float(call.body.get("sizeGB", 0)))
        latency: Latency = profile.rehydration.latency(priority)
    else:
        latency = profile.latency.get(answer.kind) or profile.latency[
            OPTIONAL_LATENCY_KINDS[answer.kind]]
    low, high = latency.min, latency.max
    if latency.fixed is not None:
        return CallShape(min(max(latency.fixed, low), high), 0.0, low, high, extra,
                         answer.long_running)
    return CallShape(latency.median, latency.sigma, low, high, extra, answer.long_running)
