"""Mass restore in the simulated region: a fleet of VMs restored at once, sharing the
region's state, quotas and throttling, and a pool of at most ``max_workers`` workers that
goes to the lowest priority number first."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import simpy

from fakecloud.models import CloudState
from restore.backends.cost import restore_cost
from restore.backends.pool_report import Housekeeping, pool_fields, pool_outcome
from restore.backends.prepared import check_disks, injector_for, scenario_profile, tenant
from restore.backends.profiles import RestoreProfile
from restore.backends.sim import Orchestrator, WorkerPool
from restore.backends.simregion import SimRegion, restore_region
from restore.backends.sweep_rto import Retried, retried_of, vm_path
from restore.backends.world import build_world
from restore.engine import Engine
from restore.plan import Plan, PoolSettings, build_plan
from restore.report import leaked_and_kept, source_snapshot
from restore.scenario import Scenario

if TYPE_CHECKING:
    from pathlib import Path

    from matplotlib.figure import Figure


@dataclass(frozen=True, slots=True)
class VmOutcome:
    name: str
    priority: int
    status: str
    error: str | None  # the failure's code
    end_s: float
    critical_path_s: float  # its own chain of work, without waiting for a worker slot
    waited_s: float
    placed_s: float | None  # when it got its worker slot
    head_s: float | None  # before it first asked for a worker
    tail_s: float | None  # after its last worker was gone
    cost: float
    leaked: int
    source_intact: bool
    failed_step: str | None = None  # the step its failure came from
    path: tuple[tuple[str, float], ...] = ()  # its critical path in seconds (vm_path)
    retried: tuple[Retried, ...] = ()  # its operations that retried
    start_s: float = 0.0  # when its first step started (admitted)


@dataclass(slots=True)
class PoolOutcome:
    """What the fleet's worker pool did, and what of it is left in the region."""

    group: str | None  # None: each restore made and removed its own workers
    min: int
    keep_warm_s: float
    created: int  # workers created
    started: int  # warm workers started instead
    kept: list[str]  # warm workers the pool keeps (its minimum), deallocated
    leaked: list[str]  # pool resources left that no kept worker owns
    idle_end_s: float  # when the pool's last housekeeping ended


@dataclass(slots=True)
class FleetReport:
    scenario: str
    seed: int
    max_workers: int
    makespan_s: float
    work_s: float  # slot-seconds the workers were held
    peak_workers: int
    vms: list[VmOutcome]
    pool: PoolOutcome | None = None
    faults_never_fired: list[dict[str, Any]] = field(default_factory=list)
    currency: str = "USD"  # of the costs (the region profile's prices)
    holds: list[tuple[str, float, float]] = field(default_factory=list)  # worker slots
    """Each time a restore held a worker slot: (its VM, from, to); not in the JSON."""

    @property
    def status(self) -> str:
        return "succeeded" if all(v.status == "succeeded" for v in self.vms) else "failed"

    @property
    def exit_code(self) -> int:
        return 0 if self.status == "succeeded" else 1

    @property
    def cost(self) -> float:
        """What the fleet's restores cost together."""
        return round(sum(v.cost for v in self.vms), 4)

    @property
    def lower_bound_s(self) -> float:
        """No schedule ends sooner: the longest restore's own chain, or all the worker
        time spread evenly over the pool between the shortest lead-in before a restore
        needs a worker and the shortest wind-down after it lets go."""
        longest = max((v.critical_path_s for v in self.vms), default=0.0)
        heads = [v.head_s for v in self.vms if v.head_s is not None]
        tails = [v.tail_s for v in self.vms if v.tail_s is not None]
        pooled = min(heads, default=0.0) + self.work_s / self.max_workers + min(tails, default=0.0)
        return max(longest, pooled)

    def gantt(self, path: str | Path | None = None, *, by: str = "vm") -> Figure:
        """The fleet as a Gantt chart (matplotlib), coloured by priority group: ``by``
        "vm", a row per VM (its wait for a worker slot, its restore, its worker holds);
        "worker", a row per worker slot (which VM held it when). Returns the figure;
        ``path`` also saves it there (the format from the suffix)."""
        from restore.plots_fleet import fleet_gantt

        return fleet_gantt(self, path, by=by)

    def to_dict(self) -> dict[str, Any]:
        groups: dict[int, list[VmOutcome]] = {}
        for vm in self.vms:
            groups.setdefault(vm.priority, []).append(vm)
        return {
            "scenario": self.scenario, "backend": "sim", "seed": self.seed,
            "status": self.status, "vms": len(self.vms), "max_workers": self.max_workers,
            "succeeded": sum(v.status == "succeeded" for v in self.vms),
            "makespan_s": round(self.makespan_s, 3),
            "lower_bound_s": round(self.lower_bound_s, 3),
            "critical_path_s": round(max(v.critical_path_s for v in self.vms), 3),
            "work_s": round(self.work_s, 3), "peak_workers": self.peak_workers,
            "leaked": sum(v.leaked for v in self.vms) + (
                len(self.pool.leaked) if self.pool else 0),
            **pool_fields(self.pool),
            "cost": self.cost, "currency": self.currency,
            "by_priority": {str(p): {"vms": len(vs), "makespan_s": round(max(
                v.end_s for v in vs), 3)} for p, vs in sorted(groups.items())},
            "errors": dict(Counter(v.error for v in self.vms if v.error)),
            "faults_never_fired": self.faults_never_fired,
            "per_vm": [{"name": v.name, "priority": v.priority, "status": v.status,
                        "error": v.error,
                        "end_s": round(v.end_s, 3), "waited_s": round(v.waited_s, 3),
                        "critical_path_s": round(v.critical_path_s, 3),
                        "cost": round(v.cost, 4), "source_intact": v.source_intact}
                       for v in self.vms],
        }


def simulate_fleet(scenario: Scenario, seed: int | None = None,
                   profile: RestoreProfile | None = None) -> FleetReport:
    """Restore every VM of ``scenario.fleet`` at once; same seed, same report."""
    fleet = scenario.fleet
    if fleet is None:
        raise ValueError("the scenario has no fleet block")
    seed = scenario.seed if seed is None else seed
    profile = scenario_profile(scenario, profile)
    members, state = [], None
    settings = fleet.worker_pool
    pooled = PoolSettings(settings.min, settings.keep_warm_s, settings.subnet) \
        if settings.warm else None
    for replica, priority in scenario.replicas():
        plan = build_plan(replica, profile.sizing, pool=pooled)
        check_disks(plan, profile)
        state = build_world(replica, plan, profile.sizing.max_data_disks,
                            state=state or tenant(replica, profile))
        members.append((replica, plan, priority))
    state.quotas = profile.quota
    env = simpy.Environment()
    region = SimRegion(env, restore_region(state, profile, seed),
                       injector_for(list(scenario.faults), seed, members[0][1]))
    pool = _HoldingPool(env, fleet.max_workers, {
        worker.vm.lower(): replica.name for replica, plan, _ in members
        for worker in plan.context.workers})
    housekeeping = Housekeeping(env, region)
    drivers = []
    for replica, plan, priority in members:
        before = source_snapshot(plan.context, state.lookup)
        driver = Orchestrator(env, region, Engine(plan), pool=pool, priority=priority)
        driver.on_release = housekeeping.scheduler(plan)
        drivers.append((replica, plan, priority, before, driver))
    env.process(_admit(env, [d[-1] for d in drivers], fleet.active_limit))
    env.run()  # the restores, then the pool's housekeeping after the last release
    vms = [_outcome(replica, plan, priority, before, driver, state, profile)
           for replica, plan, priority, before, driver in drivers]
    makespan = max((driver.end_s for *_, driver in drivers), default=0.0)
    engines = [driver.engine for *_, driver in drivers]
    outcome = pool_outcome(members[0][1].context.pool, settings, engines, state, env.now)
    return FleetReport(scenario.name, seed, fleet.max_workers, makespan, pool.busy_s,
                       pool.peak, vms, outcome, region.faults.never_fired(),
                       profile.prices.currency, pool.holds)


class _HoldingPool(WorkerPool):
    """The fleet's worker pool, also recording each hold of a slot: the VM whose restore
    held it (``owners``: planned worker -> VM), from when to when."""

    def __init__(self, env: simpy.Environment, capacity: int, owners: dict[str, str]):
        super().__init__(env, capacity)
        self.owners = owners
        self.holds: list[tuple[str, float, float]] = []

    def release(self, vm: str) -> None:
        found = self.held.get(vm.lower())
        if found is not None and found[0].triggered:  # granted: held since found[1]
            self.holds.append((self.owners.get(vm.lower(), vm), found[1], self.env.now))
        super().release(vm)


def _admit(env: simpy.Environment, drivers: list[Orchestrator], limit: int):
    """Start the restores lowest priority number first (file order among equals), at most
    ``limit`` at once: a new one starts when one ends. Like an appliance's job queue, it
    keeps a large fleet from flooding ARM and the worker pool's queue."""
    running: list[Orchestrator] = []
    for driver in sorted(drivers, key=lambda d: d.priority):
        while len(running) >= limit:
            yield env.any_of([d.done for d in running])
            running = [d for d in running if not d.done.triggered]
        driver.start()
        running.append(driver)


def _outcome(replica: Scenario, plan: Plan, priority: int, before: list[dict] | None,
             driver: Orchestrator, state: CloudState, profile: RestoreProfile) -> VmOutcome:
    engine, ctx = driver.engine, plan.context
    cost = restore_cost(engine.operations, driver.end_s, ctx, profile.prices)["total"]
    leaked, _ = leaked_and_kept(engine, state)
    tail = None if driver.last_release_s is None else driver.end_s - driver.last_release_s
    error = engine.error or {}
    spans = [(s.name, s.start_s, s.end_s) for s in engine.steps if s.end_s is not None]
    return VmOutcome(replica.name, priority, engine.status, error.get("code"), driver.end_s,
                     engine.critical_path_s() - driver.waited_s, driver.waited_s,
                     driver.placed_s, driver.first_ask_s, tail, cost, len(leaked),
                     before == source_snapshot(ctx, state.lookup), error.get("step"),
                     vm_path(spans, plan.prerequisites, driver.waits),
                     retried_of([(t.step, t.op.kind, t.attempts) for t in engine.operations]),
                     min((s.start_s for s in engine.steps), default=driver.end_s))

