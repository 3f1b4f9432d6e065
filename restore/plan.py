"""Which steps a restore runs, in which order, on which resources.

The plan fixes every name up front (deterministic, tagged with the restore id), so steps
are idempotent and a dry run lists every operation without touching a cloud.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import armid as arm
from restore.drills import DrillPlan, drill_plan
from restore.errors import ScenarioError
from restore.ops import Tags, tags_of
from restore.placement import VmSettings, disk_encryption_set, vm_settings
from restore.plan_steps import PlannedStep, planned_steps
from restore.scenario import DiskSpec, DrillSettings, Scenario

RESTORE_ID_TAG = "restorelab-restore-id"
APPLIANCE_TAG = "veeam-backup-appliance-id"
POOL_TAG = "restorelab-worker-pool"  # a worker of the region's pool (value: the location)
KEEP_WARM_TAG = "restorelab-keep-warm-until"  # a released worker: idle from then on
SLOT_TAG = "restorelab-worker-slot"  # a held worker: the planned worker it serves as
CREATING_TAG = "restorelab-worker-created-by"  # a worker being made, not held yet
REPLACED_BY_TAG = "restorelab-replaced-by"  # a disk replace_disks swapped out (the restore id)


@dataclass(frozen=True, slots=True)
class WorkerRule:
    """Use ``size`` for restores whose disks total less than ``under_gb`` or at most
    ``up_to_gb``; a rule with neither takes any total."""

    size: str
    under_gb: float | None = None
    up_to_gb: float | None = None

    def fits(self, total_gb: float) -> bool:
        if self.under_gb is not None:
            return total_gb < self.under_gb
        return self.up_to_gb is None or total_gb <= self.up_to_gb


@dataclass(frozen=True, slots=True)
class Sizing:
    """What the plan needs to know of the region: worker rules and VM size limits."""

    worker_profile: Sequence[WorkerRule]
    max_data_disks: Mapping[str, int]
    vm_sizes: frozenset[str] = frozenset()
    """The sizes restores can use (the profile's vm_sizes): a worker's size is one."""

    def limit(self, vm_size: str, field: str, source: str) -> int:
        try:
            return self.max_data_disks[vm_size]
        except KeyError:
            known = ", ".join(sorted(self.max_data_disks))
            raise ScenarioError(source, field,
                                f"unknown VM size {vm_size!r} (known: {known})") from None


@dataclass(frozen=True, slots=True)
class DiskPlan:
    """One source disk and the disk that restores it."""

    lun: int | None  # None for the OS disk
    source: str
    size_gb: int
    data_gb: float
    sku: str
    id: str  # where it is created (staging or target group)
    final_id: str  # where it ends up (after move_disks)
    snapshot: str | None = None  # the source's cloud-native snapshot
    snapshot_copy: str | None = None  # its copy in the target region, when that differs
    encryption_set: str | None = None  # its disk encryption set; None: platform keys

    @property
    def restore_snapshot(self) -> str | None:
        """The snapshot the disk is created from (snapshot path only)."""
        return self.snapshot_copy or self.snapshot


@dataclass(frozen=True, slots=True)
class WorkerPlan:
    vm: str
    nic: str
    os_disk: str
    size: str
    disks: tuple[DiskPlan, ...]
    fallback_sizes: tuple[str, ...] = ()  # larger profile sizes to try on AllocationFailed


@dataclass(frozen=True, slots=True)
class VmPlan:
    id: str
    size: str
    nic: str
    create_nic: bool
    zone: str | None
    tags: Tags
    power_on: bool
    settings: VmSettings = VmSettings()  # network, placement and security


@dataclass(frozen=True, slots=True)
class SourcePlan:
    vm: str
    size: str
    disks: tuple[str, ...]  # all of its disks, restored or not
    disk_sizes_gb: tuple[int, ...]  # theirs, in the same order
    nic: str
    subnet: str
    group: str
    location: str


@dataclass(frozen=True, slots=True)
class RestorePointPlan:
    id: str
    kind: str
    tier: str
    priority: str
    data_gb: float


@dataclass(frozen=True, slots=True)
class PoolPlan:
    """The region's worker pool: its group, the tag its workers carry, how many stay warm
    and for how long after a restore releases one."""

    group: str
    tags: Tags
    min: int
    keep_warm_s: float
    subnet: str | None = None  # the workers' own subnet (else the restore's target subnet)


@dataclass(frozen=True, slots=True)
class ReplacePlan:
    """``target.mode: replace_disks``: the source VM's disks swapped for the restored ones
    in one VM update while it is deallocated; its old disks kept, tagged ``tags``."""

    vm: str  # the source VM, kept (NIC, identity, extensions as they are)
    swaps: tuple[tuple[int | None, str, str], ...]  # (LUN, old disk, restored disk)
    tags: Tags
    power_on: bool  # start the VM on its restored disks
    delete_replaced: bool  # delete the old disks once it runs on them

    @property
    def os_disk(self) -> str | None:
        """The restored OS disk, when the OS disk is replaced."""
        return next((new for lun, _, new in self.swaps if lun is None), None)

    @property
    def data_disks(self) -> tuple[tuple[int, str], ...]:
        return tuple((lun, new) for lun, _, new in self.swaps if lun is not None)

    @property
    def replaced(self) -> tuple[str, ...]:
        return tuple(old for _, old, _ in self.swaps)


@dataclass(frozen=True, slots=True)
class RestoreContext:
    """Everything the steps act on; built once per restore."""

    restore_id: str
    subscription: str  # the source's
    target_subscription: str  # where the restore creates everything (the source's, or other)
    location: str
    zone: str | None
    tags: Tags  # every resource the restore creates carries them
    disk_tags: Tags  # the restored disks': with only disks restored, the target's tags too
    staging_group: str | None
    staging_tags: Tags
    target_group: str
    subnet: str  # the network of the workers' NICs and the restored VM's
    disks: tuple[DiskPlan, ...]  # the disks restored (the OS disk first, when restored)
    workers: tuple[WorkerPlan, ...]
    source: SourcePlan
    vm: VmPlan | None  # None: no VM is made (target.mode: disks or replace_disks)
    restore_point: RestorePointPlan
    safety_snapshots: tuple[tuple[str, str], ...] = ()  # (source disk, its snapshot)
    pool: PoolPlan | None = None  # workers come from (and go back to) the region's pool
    replace: ReplacePlan | None = None  # the source VM's disks are replaced
    drill: DrillPlan | None = None  # a drill: its own group and network, health checked
    bound: dict[str, str] | None = field(default=None, compare=False, hash=False)
    """With a pool: each planned worker's id -> the worker it got (a warm one's), filled
    in by ``launch_worker``; one per engine."""

    @property
    def vm_subnet(self) -> str:
        """The restored VM's subnet: the drill's isolated one, else the restore's."""
        return self.drill.vm_subnet if self.drill else self.subnet

    def worker_vm(self, worker: WorkerPlan) -> str:
        """The VM that is this planned worker: the pool's worker it got, or its own."""
        return worker.vm if self.bound is None else self.bound.get(worker.vm, worker.vm)

    @property
    def os_disk(self) -> DiskPlan:
        return next(d for d in self.disks if d.lun is None)

    @property
    def data_disks(self) -> tuple[DiskPlan, ...]:
        return tuple(d for d in self.disks if d.lun is not None)

    @property
    def unrestored_disks(self) -> tuple[str, ...]:
        """The source's disks that the restore does not restore."""
        restored = {d.source.lower() for d in self.disks}
        return tuple(d for d in self.source.disks if d.lower() not in restored)


@dataclass(frozen=True, slots=True)
class Plan:
    scenario: str
    steps: tuple[PlannedStep, ...]
    context: RestoreContext
    dependents: Mapping[str, tuple[str, ...]] = field(init=False)
    """Each step's name -> the steps that wait for it."""
    prerequisites: Mapping[str, tuple[str, ...]] = field(init=False)
    """Each step's name -> the steps it waits for."""

    def __post_init__(self) -> None:
        dependents = {s.name: tuple(d.name for d in self.steps if s.name in d.after)
                      for s in self.steps}
        object.__setattr__(self, "dependents", dependents)
        object.__setattr__(self, "prerequisites", {s.name: s.after for s in self.steps})

    @property
    def step_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.steps)


@dataclass(frozen=True, slots=True)
class PoolSettings:
    """A fleet's worker pool settings (the scenario's ``fleet.worker_pool``)."""

    min: int
    keep_warm_s: float
    subnet: str | None = None  # 'vnet/subnet' in the pool's group, or an ARM id


def pool_group_name(location: str) -> str:
    return f"restorelab-workers-{location}"


def build_plan(scenario: Scenario, sizing: Sizing, restore_id: str | None = None,
               source: str = "<scenario>", pool: PoolSettings | None = None) -> Plan:
    """The plan for a scenario; ``source`` names the scenario file in errors.

    The plan does not depend on the seed: only the region's timing does. ``restore_id``
    defaults to one derived from the scenario's content, so simulations are reproducible;
    a real restore passes a fresh one.
    """
    rid = restore_id or scenario_restore_id(scenario)
    context = _context(scenario, sizing, rid, source, pool)
    return Plan(scenario.name, planned_steps(scenario, context), context)


def scenario_restore_id(scenario: Scenario) -> str:
    """A restore id derived from the scenario's content (8 hex digits)."""
    return hashlib.sha256(scenario.model_dump_json().encode()).hexdigest()[:8]


def _context(sc: Scenario, sizing: Sizing, rid: str, source: str,
             pool: PoolSettings | None) -> RestoreContext:
    src, target, sub, tsub = sc.source_vm, sc.target, sc.subscription, sc.target_subscription
    original = sc.is_original_location
    snapshot = sc.restore_point.kind == "snapshot"
    staged = original and not snapshot and sc.target.mode == "vm"  # the seed's staging group
    location = src.location if original else (target.region or src.location)
    zone = src.zone if original else target.zone
    vm_name = src.name if original else (target.vm_name or f"{src.name}-restored")
    vm_size = src.size if original else (target.vm_size or src.size)
    target_rg = src.resource_group if original else (target.resource_group or (
        f"restorelab-drill-{rid}" if sc.is_drill else src.resource_group))
    tags = {RESTORE_ID_TAG: rid}
    staging_rg = f"restorelab-staging-{src.name}-{rid}" if staged else None
    disk_rg = staging_rg or target_rg
    pool_plan = None if pool is None or snapshot else PoolPlan(
        arm.resource_group_id(tsub, pool_group_name(location)),
        tags_of({POOL_TAG: location}), pool.min, pool.keep_warm_s,
        _pool_subnet(pool.subnet, tsub, location))
    worker_rg = pool_group_name(location) if pool_plan else disk_rg

    disks = tuple(
        _disk_plan(sc, lun, spec, name, vm_name, rid, disk_rg, target_rg, location)
        for lun, spec, name in src.disks() if sc.restore_point.restores(lun)
    )
    sizing.limit(src.size, "source_vm.size", source)
    size_field = "source_vm.size" if original or not target.vm_size else "target.vm_size"
    slots = sizing.limit(vm_size, size_field, source)
    data_disks = sum(d.lun is not None for d in disks)
    if not sc.disks_only and data_disks > slots:
        raise ScenarioError(source, size_field, f"{vm_size} takes at most {slots} data disks, "
                            f"the VM has {data_disks}")

    source_disks = tuple(arm.resource_id(sub, src.resource_group, arm.DISKS, name)
                         for _, _, name in src.disks())
    src_vnet = src.network.vnet or f"{src.resource_group}-vnet"
    src_subnet = arm.subnet_id(sub, src.network.resource_group or src.resource_group, src_vnet,
                               src.network.subnet)
    src_nic = arm.resource_id(sub, src.resource_group, arm.NETWORK_INTERFACES,
                              src.network.nic or f"{src.name}-nic")
    drill = _drill_plan(sc, tsub, target_rg) if sc.is_drill else None
    if original:
        subnet, nic, create_nic = src_subnet, src_nic, False
    elif drill:
        subnet, create_nic = drill.worker_subnet, True
        nic = arm.resource_id(tsub, target_rg, arm.NETWORK_INTERFACES, f"{vm_name}-nic")
    else:
        subnet = _target_subnet(sc, target_rg, location, src_subnet)
        nic = arm.resource_id(tsub, target_rg, arm.NETWORK_INTERFACES, f"{vm_name}-nic")
        create_nic = True
    vm = None if sc.disks_only or sc.replaces_disks else VmPlan(
        id=arm.resource_id(tsub, target_rg, arm.VIRTUAL_MACHINES, vm_name),
        size=vm_size, nic=nic, create_nic=create_nic, zone=zone,
        tags=tags_of({**(target.tags if not original else {}), **tags}),
        power_on=target.power_on, settings=vm_settings(sc, target_rg, vm_name),
    )
    return RestoreContext(
        restore_id=rid, subscription=sub, target_subscription=tsub, location=location,
        zone=zone, tags=tags_of(tags),
        disk_tags=tags_of({**target.tags, **tags}) if sc.disks_only else tags_of(tags),
        staging_group=arm.resource_group_id(tsub, staging_rg) if staging_rg else None,
        staging_tags=tags_of({**tags, APPLIANCE_TAG: sc.appliance_id}),
        target_group=arm.resource_group_id(tsub, target_rg),
        subnet=subnet,
        disks=disks,
        workers=() if snapshot else _workers(disks, sizing, sc, tsub, worker_rg, rid, source),
        source=SourcePlan(
            vm=arm.resource_id(sub, src.resource_group, arm.VIRTUAL_MACHINES, src.name),
            size=src.size,
            disks=source_disks, disk_sizes_gb=tuple(spec.size_gb for _, spec, _ in src.disks()),
            nic=src_nic, subnet=src_subnet,
            group=arm.resource_group_id(sub, src.resource_group), location=src.location,
        ),
        vm=vm,
        restore_point=RestorePointPlan(
            id=f"restorepoints/{src.name}/{sc.name}", kind=sc.restore_point.kind,
            tier=sc.restore_point.tier, priority=sc.restore_point.priority,
            data_gb=sum(d.data_gb for d in disks),
        ),
        safety_snapshots=tuple(
            (disk, arm.resource_id(sub, src.resource_group, arm.SNAPSHOTS,
                                   f"{arm.name_of(disk)}-safety-{rid}"))
            for disk in source_disks) if target.safety_snapshot else (),
        pool=pool_plan,
        replace=_replace_plan(sc, disks, rid) if sc.replaces_disks else None,
        drill=drill,
    )


def _drill_plan(sc: Scenario, sub: str, group: str) -> DrillPlan:
    settings = sc.drill or DrillSettings()
    luns = tuple(lun for lun, _, _ in sc.source_vm.disks()
                 if lun is not None and settings.mounts and sc.restore_point.restores(lun))
    return drill_plan(sub, group, settings.timeout, luns, settings.script, sc.rto)


def _replace_plan(sc: Scenario, disks: tuple[DiskPlan, ...], rid: str) -> ReplacePlan:
    src = sc.source_vm
    return ReplacePlan(
        vm=arm.resource_id(sc.subscription, src.resource_group, arm.VIRTUAL_MACHINES, src.name),
        swaps=tuple((d.lun, d.source, d.final_id) for d in disks),
        tags=tags_of({REPLACED_BY_TAG: rid}), power_on=sc.target.power_on,
        delete_replaced=sc.target.delete_replaced_disks)


def snapshot_name(disk_name: str) -> str:
    return f"{disk_name}-snapshot"


def _disk_plan(sc: Scenario, lun: int | None, spec: DiskSpec, name: str, vm_name: str,
               rid: str, disk_rg: str, target_rg: str, location: str) -> DiskPlan:
    sub, tsub, src = sc.subscription, sc.target_subscription, sc.source_vm
    from_snapshot = sc.restore_point.kind == "snapshot"
    if sc.disks_only:
        new_name = f"{name}-restored"
    elif sc.is_original_location:
        new_name = f"{name}-{rid}" if from_snapshot or sc.replaces_disks else name
    else:
        new_name = f"{vm_name}-osdisk" if lun is None else f"{vm_name}-datadisk-{lun}"
    copy_needed = from_snapshot and location != src.location
    return DiskPlan(
        lun=lun,
        source=arm.resource_id(sub, src.resource_group, arm.DISKS, name),
        size_gb=spec.size_gb,
        data_gb=spec.used_gb if spec.used_gb is not None else float(spec.size_gb),
        sku=str(_disk_sku(sc, lun, spec)),
        id=arm.resource_id(tsub, disk_rg, arm.DISKS, new_name),
        final_id=arm.resource_id(tsub, target_rg, arm.DISKS, new_name),
        snapshot=arm.resource_id(sub, src.resource_group, arm.SNAPSHOTS, snapshot_name(name))
        if from_snapshot else None,
        snapshot_copy=arm.resource_id(tsub, target_rg, arm.SNAPSHOTS,
                                      f"{snapshot_name(name)}-{rid}") if copy_needed else None,
        encryption_set=disk_encryption_set(sc, spec),
    )


def _disk_sku(sc: Scenario, lun: int | None, spec: DiskSpec) -> str:
    choice = sc.target.disk_sku
    if choice is None:
        return spec.sku
    if isinstance(choice, dict):
        return choice.get("os" if lun is None else lun, spec.sku)
    return choice


def _target_subnet(sc: Scenario, target_rg: str, location: str, src_subnet: str) -> str:
    """The subnet given, else the source's when it is in the target's location and
    subscription, else the target group's ``<group>-<location>-vnet/default``."""
    subnet, sub = sc.target.subnet, sc.target_subscription
    if subnet is None:
        if location == sc.source_vm.location and sc.in_target_subscription(src_subnet):
            return src_subnet
        return arm.subnet_id(sub, target_rg, f"{target_rg}-{location}-vnet", "default")
    if subnet.startswith("/"):
        return subnet
    vnet, _, name = subnet.partition("/")
    return arm.subnet_id(sub, target_rg, vnet, name or "default")


def _pool_subnet(subnet: str | None, sub: str, location: str) -> str | None:
    if subnet is None or subnet.startswith("/"):
        return subnet
    vnet, _, name = subnet.partition("/")
    return arm.subnet_id(sub, pool_group_name(location), vnet, name or "default")


def worker_sizing(disks: Sequence[DiskPlan], sizing: Sizing, sc: Scenario,
                  source: str = "<scenario>") -> tuple[str, int, int]:
    """The workers' size, their count and the disks one takes: the scenario's ``workers``
    block, else the profile's size by the disks' total and as few as the size's data-disk
    slots take."""
    chosen = sc.workers.size if sc.workers else None
    size = chosen or next(r.size for r in sizing.worker_profile
                          if r.fits(sum(d.size_gb for d in disks)))
    if chosen and chosen not in sizing.vm_sizes:
        raise ScenarioError(source, "workers.size", f"{chosen!r} is not a size of the region "
                            f"profile's vm_sizes ({', '.join(sorted(sizing.vm_sizes))})")
    per_worker = sizing.limit(size, "workers.size" if chosen else
                              "region_profile.worker_profile", source)
    fewest = math.ceil(len(disks) / per_worker)
    count = sc.workers.count if sc.workers and sc.workers.count else fewest
    if not fewest <= count <= max(len(disks), 1):
        raise ScenarioError(source, "workers.count", f"{count} workers of {size} for "
                            f"{len(disks)} disks: at least {fewest} ({per_worker} data-disk "
                            f"slots each), at most {len(disks)} (one per disk)")
    return size, count, per_worker


def _workers(disks: tuple[DiskPlan, ...], sizing: Sizing, sc: Scenario, sub: str, group: str,
             rid: str, source: str) -> tuple[WorkerPlan, ...]:
    """``worker_sizing``'s workers, the largest disks first to the least loaded."""
    size, count, per_worker = worker_sizing(disks, sizing, sc, source)
    sizes = [r.size for r in sizing.worker_profile]
    fallback = tuple(sizes[sizes.index(size) + 1:]) if size in sizes else ()
    loads: list[list[DiskPlan]] = [[] for _ in range(count)]
    for disk in sorted(disks, key=lambda d: -d.size_gb):
        open_ = [w for w in loads if len(w) < per_worker]
        min(open_, key=lambda w: sum(d.size_gb for d in w)).append(disk)
    workers = []
    for i, load in enumerate(loads):
        name = f"restorelab-worker-{rid}-{i}"
        workers.append(WorkerPlan(
            vm=arm.resource_id(sub, group, arm.VIRTUAL_MACHINES, name),
            nic=arm.resource_id(sub, group, arm.NETWORK_INTERFACES, f"{name}-nic"),
            os_disk=arm.resource_id(sub, group, arm.DISKS, f"{name}-osdisk"),
            size=size, disks=tuple(load), fallback_sizes=fallback,
        ))
    return tuple(workers)
