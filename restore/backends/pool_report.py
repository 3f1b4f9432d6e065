"""A fleet's worker pool in the simulated region: its housekeeping (each released worker's
keep-warm time ends, then the pool's idle workers beyond its minimum are removed, by the
engine's own ``remove_idle_workers`` step, on what the region shows) and what the fleet
report says of it: workers created and started, warm workers kept, pool resources left."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import simpy

import armid as arm
from fakecloud.models import CloudState, VirtualMachine
from restore import ops
from restore.engine import Engine
from restore.plan import POOL_TAG, Plan, PlannedStep, PoolPlan

if TYPE_CHECKING:
    from restore.backends.fleet import PoolOutcome
    from restore.backends.simregion import SimRegion
    from restore.scenario import WorkerPool


class Housekeeping:
    """Runs the pool's housekeeping when a released worker's keep-warm time is over, as an
    appliance does: a restore of one step (``remove_idle_workers``) in the same region."""

    def __init__(self, env: simpy.Environment, region: SimRegion):
        self.env, self.region = env, region
        self.runs: list[Engine] = []

    def scheduler(self, plan: Plan) -> Callable[[ops.TagWorker], None] | None:
        if plan.context.pool is None:
            return None
        chore = Plan(plan.scenario, (PlannedStep("remove_idle_workers"),), plan.context)

        def released(op: ops.TagWorker) -> None:
            wait = op.keep_warm_s or 0.0
            self.env.timeout(wait).callbacks.append(lambda _: self._run(chore))

        return released

    def _run(self, chore: Plan) -> None:
        from restore.backends.sim import Orchestrator

        engine = Engine(chore)
        self.runs.append(engine)
        Orchestrator(self.env, self.region, engine).start()


def pool_outcome(pool: PoolPlan | None, settings: WorkerPool, engines: list[Engine],
                 state: CloudState, now: float) -> PoolOutcome:
    from restore.backends.fleet import PoolOutcome

    done = [t for e in engines for t in e.operations if t.status == "succeeded"]
    created = sum(isinstance(t.op, ops.CreateVm) and t.op.os_disk_from_image for t in done)
    started = sum(isinstance(t.op, ops.StartVm) for t in done)
    if pool is None:
        return PoolOutcome(None, settings.min, settings.keep_warm_s, created, started, [], [],
                           now)
    left = [state.find(i) for i in state.tagged(POOL_TAG, dict(pool.tags)[POOL_TAG])]
    kept = [r for r in left if isinstance(r, VirtualMachine)
            and arm.group_id_of(r.id).lower() == pool.group.lower()]
    owned = {i.lower() for vm in kept for i in (vm.id, vm.nic, vm.os_disk)}
    leaked = [r.id for r in left if r is not None and r.id.lower() not in owned
              and r.id.lower() != pool.group.lower()]  # the group stays, as Veeam's
    return PoolOutcome(pool.group, settings.min, settings.keep_warm_s, created, started,
                       [vm.id for vm in kept], leaked, now)


def pool_fields(pool: PoolOutcome | None) -> dict[str, Any]:
    """The fleet report's fields on its workers."""
    if pool is None:
        return {}
    fields: dict[str, Any] = {"workers_created": pool.created,
                              "workers_started": pool.started}
    if pool.group is None:
        return {**fields, "worker_pool": {"warm": False}}
    name, subscription = arm.name_of(pool.group), arm.parse_id(pool.group).subscription
    return {**fields, "worker_pool": {
        "warm": True, "group": pool.group, "min": pool.min, "keep_warm_s": pool.keep_warm_s,
        "kept": pool.kept, "leaked": pool.leaked, "idle_end_s": round(pool.idle_end_s, 3),
        "remove_with": f"az group delete --name {name} --subscription {subscription} --yes"
        if pool.kept else None}}
