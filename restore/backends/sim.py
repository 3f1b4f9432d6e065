"""The `sim` backend: the engine drives fakecloud's SimPy region in virtual time."""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import simpy

from fakecloud.faults import FaultInjector, FaultRule
from fakecloud.models import ArmError, CloudState
from fakecloud.profile import RegionProfile, Samplers, load_profile
from fakecloud.sim import OrchestratorCrash, SimRegion
from fakecloud.world import build_world
from restore.engine import RECOVERY_STEPS, Engine, Ticket
from restore.errors import CloudError, ScenarioError
from restore.ops import OPERATION_KINDS
from restore.plan import Plan, build_plan
from restore.report import Report, source_snapshot
from restore.scenario import Fault, Scenario

FAULT_SEED_SALT = 0x5EED_FA17  # faults draw from their own stream: adding one keeps latencies


@dataclass(frozen=True, slots=True)
class Prepared:
    """A scenario ready to simulate with any seed: its profile, plan and starting world."""

    scenario: Scenario
    profile: RegionProfile
    plan: Plan
    world: CloudState  # never run on: each restore gets a copy
    source_before: list[dict[str, Any]] | None
    samplers: Samplers


def prepare(scenario: Scenario, profile: RegionProfile | None = None) -> Prepared:
    """Validate, plan and seed the world once; the seed only changes the region's timing."""
    _refuse_unmodelled(scenario)
    profile = profile or load_profile(scenario.region_profile)
    plan = build_plan(scenario, profile.sizing)
    _check_disks(plan, profile)
    world = build_world(scenario, plan, profile.sizing.max_data_disks)
    return Prepared(scenario, profile, plan, world,
                    source_snapshot(plan.context, world.lookup), profile.samplers())


def simulate(scenario: Scenario, seed: int | None = None, profile: RegionProfile | None = None,
             faults: Iterable[Fault | FaultRule] = ()) -> Report:
    """Run one restore of ``scenario`` in a simulated region; same seed, same report.

    ``faults`` add to the scenario's own fault rules.
    """
    return run(_prepared(scenario, profile), scenario.seed if seed is None else seed,
               [*scenario.faults, *faults])


def run(prepared: Prepared, seed: int, faults: Iterable[Fault | FaultRule] = ()) -> Report:
    """One restore of a prepared scenario, in a fresh copy of its world."""
    faults = list(faults)
    _check_fault_targets(prepared.plan, faults)
    state = prepared.world.copy()
    env = simpy.Environment()
    injector = FaultInjector(faults, random.Random(seed ^ FAULT_SEED_SALT),
                             {*prepared.plan.step_names, *RECOVERY_STEPS}) if faults else None
    region = SimRegion(state, prepared.profile, random.Random(seed), prepared.samplers,
                       injector)
    engine = Engine(prepared.plan)

    def execute(tickets: list[Ticket]) -> None:
        for ticket in tickets:
            if ticket.delay_s:
                env.timeout(ticket.delay_s, ticket).callbacks.append(send_later)
            else:
                send(ticket)

    def send_later(event: simpy.Event) -> None:
        send(event.value)

    def send(ticket: Ticket) -> None:
        """Apply the operation now; it completes when its simulated time has passed."""
        if engine.finished:
            return
        try:
            delay, result = region.apply(ticket.op, ticket.step)
            done = env.timeout(delay, (ticket, result))
        except ArmError as exc:
            error = CloudError(exc.code, exc.message, exc.status, exc.retry_after)
            done = env.timeout(exc.after_s, (ticket, error))
        except OrchestratorCrash:
            engine.interrupt(ticket, env.now)
            return
        done.callbacks.append(completed)

    def completed(event: simpy.Event) -> None:
        ticket, outcome = event.value
        execute(engine.complete(ticket, outcome, env.now))

    execute(engine.start(env.now))
    env.run()
    return Report(engine, "sim", seed, env.now, prepared.source_before, state)


_recent: OrderedDict[tuple[int, int], Prepared] = OrderedDict()
RECENT_LIMIT = 16


def _prepared(scenario: Scenario, profile: RegionProfile | None) -> Prepared:
    """``prepare``, remembered for the last few scenarios: a loop of seeds plans once."""
    profile = profile or load_profile(scenario.region_profile)
    key = (id(scenario), id(profile))
    found = _recent.get(key)
    if found is None or found.scenario is not scenario or found.profile is not profile:
        found = _recent[key] = prepare(scenario, profile)
        if len(_recent) > RECENT_LIMIT:
            _recent.popitem(last=False)
    return found


def _refuse_unmodelled(scenario: Scenario) -> None:
    """Fields the schema accepts but this version does not simulate yet: say so, loudly."""
    if scenario.data is not None and scenario.data.mode == "bytes":
        raise ScenarioError("<scenario>", "data.mode", "byte-level data is not implemented yet")


def _check_fault_targets(plan: Plan, faults: list[Fault | FaultRule]) -> None:
    """A fault rule must name a step of this plan or an operation kind."""
    targets = {*plan.step_names, *RECOVERY_STEPS, *OPERATION_KINDS}
    for index, fault in enumerate(faults):
        if fault.at not in targets:
            raise ScenarioError("<scenario>", f"faults.{index}.at", f"{fault.at!r} is neither a "
                                f"step of this restore ({', '.join(plan.step_names)}) nor an "
                                "operation kind")


def _check_disks(plan: Plan, profile: RegionProfile) -> None:
    """Every restored disk's SKU and size must be one the region has figures for."""
    for index, disk in enumerate(plan.context.disks):
        try:
            profile.throughput.disk_mbps(disk.sku, disk.size_gb)
        except (KeyError, ValueError) as exc:
            where = "source_vm.os_disk" if index == 0 else f"source_vm.data_disks.{index - 1}"
            raise ScenarioError("<scenario>", f"{where}.size_gb",
                                str(exc).strip("'\"")) from None
