"""A scenario made ready to restore in a simulated region, with any seed: its profile,
plan, starting world and fault rules (shared by the `sim` and `fake-arm` backends)."""

from __future__ import annotations

import difflib
import random
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fakecloud.models import CloudState
from restore.backends.data import RegionData
from restore.backends.faults import FaultInjector, FaultRule, never_fires
from restore.backends.profiles import RestoreProfile, load_profile
from restore.backends.world import build_world
from restore.engine import RECOVERY_STEPS, Engine, StepRun, dry_run
from restore.errors import ScenarioError
from restore.ops import OPERATION_KINDS
from restore.plan import Plan, build_plan
from restore.report import source_snapshot
from restore.scenario import Fault, Scenario

FAULT_SEED_SALT = 0x5EED_FA17  # faults draw from their own stream: adding one keeps latencies


@dataclass(frozen=True, slots=True)
class Prepared:
    """A scenario ready to simulate with any seed: its profile, plan and starting world."""

    scenario: Scenario
    profile: RestoreProfile
    plan: Plan
    world: CloudState  # never run on: each restore gets a copy
    source_before: list[dict[str, Any]] | None
    data: RegionData | None = None  # the source's bytes, for bytes-mode scenarios


def prepare(scenario: Scenario, profile: RestoreProfile | None = None) -> Prepared:
    """Validate, plan and seed the world once; the seed only changes the region's timing."""
    profile = scenario_profile(scenario, profile)
    plan = build_plan(scenario, profile.sizing)
    check_disks(plan, profile)
    world = build_world(scenario, plan, profile.sizing.max_data_disks, profile.quota,
                        tenant(scenario, profile))
    data: RegionData | None = None
    if scenario.data is not None and scenario.data.mode == "bytes":
        from restore.backends.bytes_mode import DataPath, SnapshotBytes

        data = (DataPath.back_up(plan, scenario.data.size_mb) if plan.context.workers else
                SnapshotBytes.seed(plan, scenario.data.size_mb))
    return Prepared(scenario, profile, plan, world,
                    source_snapshot(plan.context, world.lookup), data)


def tenant(scenario: Scenario, profile: RestoreProfile) -> CloudState:
    """An empty world: the scenario's subscription and the profile's others."""
    return profile.add_subscriptions(CloudState(scenario.subscription,
                                                profile.sizing.max_data_disks))


def scenario_profile(scenario: Scenario, profile: RestoreProfile | None = None
                     ) -> RestoreProfile:
    """The profile to restore ``scenario`` in (the one it names, unless ``profile`` is
    given), once the scenario's locations and zones are found to be the profile's."""
    profile = profile or _named_profile(scenario)
    check_locations(scenario, profile)
    return profile


def check_locations(scenario: Scenario, profile: RestoreProfile) -> None:
    """The source's and the target's locations are ones the profile knows, and each zone
    given is one its location offers (the target's: ``target.region`` or the source's)."""
    source, target = scenario.source_vm, scenario.target
    _check_location(profile, "source_vm.location", source.location)
    _check_zone(profile, "source_vm.zone", source.location, source.zone)
    if target.region is not None:
        _check_location(profile, "target.region", target.region)
    _check_zone(profile, "target.zone", target.region or source.location, target.zone)


SHOWN_LOCATIONS = 6  # an unknown location's error lists this many known ones at most


def _check_location(profile: RestoreProfile, field: str, location: str) -> None:
    if profile.zones_in(location) is not None:
        return
    known = profile.locations.names
    close = difflib.get_close_matches(location, known, n=3)
    hint = (f"did you mean {' or '.join(close)}? {len(known)} locations known" if close else
            f"{len(known)} locations known: {', '.join(known[:SHOWN_LOCATIONS])}"
            + (", ..." if len(known) > SHOWN_LOCATIONS else ""))
    raise ScenarioError("<scenario>", field, f"{location!r} is not a location of region "
                        f"profile {profile.name!r} ({hint})")


def _check_zone(profile: RestoreProfile, field: str, location: str, zone: str | None) -> None:
    zones = profile.zones_in(location) or []
    if zone is None or zone in zones:
        return
    if not zones:
        raise ScenarioError("<scenario>", field, f"{location} has no availability zones "
                            "(leave the zone out, or pick a location that has them)")
    raise ScenarioError("<scenario>", field, f"{zone!r} is not an availability zone of "
                        f"{location} (its zones: {', '.join(zones)})")


def _named_profile(scenario: Scenario) -> RestoreProfile:
    """The profile the scenario names; one that cannot be found is its region_profile's
    fault (a wrong field inside the profile file names that file and field)."""
    try:
        return load_profile(scenario.region_profile)
    except ScenarioError as exc:
        if exc.field:
            raise
        raise ScenarioError("<scenario>", "region_profile",
                            f"{scenario.region_profile!r}: {exc.message}") from None


@dataclass(frozen=True, slots=True)
class Resumption:
    """Where a journaled restore stopped."""

    finished: list[StepRun]
    interrupted: set[str]
    error: dict[str, Any] | None
    next_ticket: int = 0
    clock_s: float = 0.0
    data_verified: dict[str, bool] | None = None  # bytes mode: what earlier sessions verified


def engine_for(plan: Plan, book: Any, resuming: Resumption | None) -> Engine:
    """The engine of one simulated run: its steps recorded in ``book`` (a Journal) if any,
    picking up where ``resuming`` says the journaled restore stopped."""
    if plan.context.pool is not None and (book or resuming):
        raise ValueError("a restore with a worker pool is not journaled: the workers it "
                         "got from the pool are not kept in the journal yet")
    engine = Engine(plan, on_step=book.record_step if book else None)
    if resuming:
        engine.resume(resuming.finished, resuming.interrupted, resuming.error,
                      resuming.next_ticket)
    return engine


def data_for(prepared: Prepared, resuming: Resumption | None) -> RegionData | None:
    """The scenario's bytes for one run: fresh, or as a resumed restore finds them."""
    if prepared.data is None:
        return None
    if resuming is None:
        return prepared.data.fresh()
    return prepared.data.resumed(resuming.data_verified or {})


def injector_for(faults: list[Fault | FaultRule], seed: int, plan: Plan) -> FaultInjector | None:
    if not faults:
        return None
    return FaultInjector(faults, random.Random(seed ^ FAULT_SEED_SALT),
                         {*plan.step_names, *RECOVERY_STEPS})


RECENT_LIMIT = 16


class Recent:
    """What was made from the last few objects, found by their identity (the objects are
    held, so an id is never another object's): a loop of seeds plans once."""

    def __init__(self, limit: int = RECENT_LIMIT):
        self.limit = limit
        self._kept: OrderedDict[tuple[int, ...], tuple[tuple[object, ...], Any]] = OrderedDict()

    def get(self, objects: tuple[object, ...], make: Callable[[], Any]) -> Any:
        """What ``make()`` made from ``objects`` (made now if they are not among the last
        few)."""
        key = tuple(id(o) for o in objects)
        found = self._kept.get(key)
        if found is None or any(a is not b for a, b in zip(found[0], objects, strict=True)):
            found = self._kept[key] = (objects, make())
            if len(self._kept) > self.limit:
                self._kept.popitem(last=False)
        return found[1]


_prepared = Recent()


def remembered(scenario: Scenario, profile: RestoreProfile | None) -> Prepared:
    """``prepare``, remembered for the last few scenarios: a loop of seeds plans once
    (and, with no ``profile``, finds the scenario's own once)."""
    return _prepared.get((scenario, profile), lambda: prepare(scenario, profile))


def check_fault_targets(plan: Plan, faults: list[Fault | FaultRule]) -> None:
    """A fault rule must name a step of this plan, an operation kind, or both as
    ``step/kind``."""
    steps = {*plan.step_names, *RECOVERY_STEPS}
    for index, fault in enumerate(faults):
        step, _, kind = fault.at.rpartition("/")
        if not (fault.at in steps or fault.at in OPERATION_KINDS
                or (step in steps and kind in OPERATION_KINDS)):
            raise ScenarioError("<scenario>", f"faults.{index}.at", f"{fault.at!r} is neither a "
                                f"step of this restore ({', '.join(plan.step_names)}), nor an "
                                "operation kind, nor step/kind")
        why = never_fires(FaultRule.of(fault), _sent(plan), steps)
        if why is not None:
            raise ScenarioError("<scenario>", f"faults.{index}", f"{fault.kind} at "
                                f"{fault.at!r} can never fire: {why}")


_sent_by_plan = Recent()


def _sent(plan: Plan) -> set[tuple[str, str]]:
    """(step, kind) of each operation ``plan`` sends when all goes well (its dry run),
    remembered for the last few plans."""
    return _sent_by_plan.get((plan,), lambda: {(t.step, t.op.kind) for t in dry_run(plan)})


def check_disks(plan: Plan, profile: RestoreProfile) -> None:
    """Every restored disk's SKU and size must be one the region has figures for."""
    for index, disk in enumerate(plan.context.disks):
        try:
            profile.throughput.disk_mbps(disk.sku, disk.size_gb)
        except (KeyError, ValueError) as exc:
            where = "source_vm.os_disk" if index == 0 else f"source_vm.data_disks.{index - 1}"
            raise ScenarioError("<scenario>", f"{where}.size_gb",
                                str(exc).strip("'\"")) from None
