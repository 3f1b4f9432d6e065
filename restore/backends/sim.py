"""The `sim` backend: the engine drives fakecloud's SimPy region in virtual time."""

from __future__ import annotations

import random
from collections.abc import Generator
from typing import Any

import simpy

from fakecloud.models import ArmError
from fakecloud.profile import RegionProfile, load_profile
from fakecloud.sim import SimRegion
from fakecloud.world import build_world
from restore.engine import Engine, Ticket
from restore.errors import CloudError, ScenarioError
from restore.plan import Plan, build_plan
from restore.report import Report, build_report
from restore.scenario import Scenario


def simulate(scenario: Scenario, seed: int | None = None,
             profile: RegionProfile | None = None) -> Report:
    """Run one restore of ``scenario`` in a simulated region; same seed, same report."""
    _refuse_unmodelled(scenario)
    seed = scenario.seed if seed is None else seed
    profile = profile or load_profile(scenario.region_profile)
    plan = build_plan(scenario, profile.sizing, seed)
    _check_disks(plan, profile)
    state = build_world(scenario, plan, profile.sizing.max_data_disks)
    before = state.export()
    env = simpy.Environment()
    region = SimRegion(env, state, profile, random.Random(seed))
    engine = Engine(plan)

    def execute(ticket: Ticket) -> Generator[simpy.Event, Any, None]:
        try:
            outcome = yield from region.execute(ticket.op)
        except ArmError as exc:
            outcome = CloudError(exc.code, exc.message, exc.status)
        for follow_up in engine.complete(ticket.id, outcome, env.now):
            env.process(execute(follow_up))

    for ticket in engine.start(env.now):
        env.process(execute(ticket))
    env.run()
    return build_report(engine, "sim", seed, env.now, before, state.export())


def _refuse_unmodelled(scenario: Scenario) -> None:
    """Fields the schema accepts but this version does not simulate yet: say so, loudly."""
    if scenario.faults:
        raise ScenarioError("<scenario>", "faults", "fault injection is not implemented yet")
    if scenario.data is not None and scenario.data.mode == "bytes":
        raise ScenarioError("<scenario>", "data.mode", "byte-level data is not implemented yet")


def _check_disks(plan: Plan, profile: RegionProfile) -> None:
    for disk in plan.context.disks:
        try:
            profile.throughput.disk_mbps(disk.sku, disk.size_gb)
        except (KeyError, ValueError) as exc:
            where = "os_disk" if disk.lun is None else f"data disk at LUN {disk.lun}"
            raise ScenarioError("<scenario>", where, str(exc).strip("'\"")) from None
