"""One generator per restore step, in the seed's words.

A step yields an operation (and receives its result) or a list of operations that run
concurrently (and receives their results in order). It never does IO itself.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import armid as arm
from restore.drill_steps import DRILL_STEPS
from restore.errors import CloudError
from restore.ops import (
    AttachDisks,
    CheckExists,
    CheckNamesFree,
    CheckQuota,
    ClaimWarmWorker,
    CreateDisk,
    CreateNic,
    CreatePublicIp,
    CreateResourceGroup,
    CreateSnapshot,
    CreateVm,
    DeallocateVm,
    DeleteDisk,
    DeleteNic,
    DeletePublicIp,
    DeleteResourceGroup,
    DeleteSnapshot,
    DeleteVm,
    DetachDisks,
    DiskWrite,
    FindIdleWorkers,
    FindResources,
    MoveResources,
    RehydrateRestorePoint,
    RemoveIdleWorker,
    StartVm,
    StepGen,
    SwapDisks,
    TagDisk,
    Tags,
    TagWorker,
    Tolerate,
    WriteDiskData,
    tags_of,
)
from restore.plan import CREATING_TAG, RESTORE_ID_TAG, SLOT_TAG, RestoreContext, WorkerPlan


def preflight(ctx: RestoreContext) -> StepGen:
    """Before anything is created or removed: the source (and its snapshots) and the target
    group exist, the names the restore will create are free, the target subscription's
    quotas suffice."""
    yield [CheckExists(_must_exist(ctx)), CheckNamesFree(_to_create(ctx), ctx.tags),
           CheckQuota(ctx.location, _new_vm_sizes(ctx), len(ctx.disks) + len(ctx.workers),
                      ctx.target_subscription)]


def _must_exist(ctx: RestoreContext) -> tuple[str, ...]:
    snapshots = [d.snapshot for d in ctx.disks if d.snapshot]
    pool_subnet = (ctx.pool.subnet,) if ctx.pool and ctx.pool.subnet else ()
    target = () if ctx.drill else (ctx.target_group,)  # a drill makes its own group
    return (ctx.source.vm, *ctx.source.disks, *snapshots, *target, *pool_subnet,
            *_referenced(ctx))


def _referenced(ctx: RestoreContext) -> tuple[str, ...]:
    """The existing resources the restored VM and disks use: its security group and
    availability set, the disks' encryption sets."""
    settings = ctx.vm.settings if ctx.vm else None
    ids = [settings.nsg, settings.availability_set] if settings else []
    ids += [d.encryption_set for d in ctx.disks]
    return tuple(dict.fromkeys(i for i in ids if i))


def _to_create(ctx: RestoreContext) -> tuple[str, ...]:
    """Ids the restore creates; at the original location the VM and its final disks take
    the source's names, which it removes first."""
    ids = [*(d.id for d in ctx.disks), *(d.snapshot_copy for d in ctx.disks if d.snapshot_copy),
           *(snapshot for _, snapshot in ctx.safety_snapshots)]
    for worker in ctx.workers:
        ids += [worker.vm, worker.nic, worker.os_disk]
    if ctx.staging_group:
        ids.append(ctx.staging_group)
    if ctx.drill:
        ids += [ctx.drill.group, ctx.drill.vnet, ctx.drill.nsg]
    vm = ctx.vm
    if vm is not None and vm.id.lower() != ctx.source.vm.lower():
        ids += [vm.id, *(d.final_id for d in ctx.disks)]
    if vm is not None and vm.create_nic:
        ids.append(vm.nic)
    if vm is not None and vm.settings.public_ip:
        ids.append(vm.settings.public_ip.id)
    return tuple(dict.fromkeys(ids))


def _new_vm_sizes(ctx: RestoreContext) -> tuple[str, ...]:
    """VMs the restore adds at its peak: the workers, and the new VM (if any) unless it
    replaces the source (same size, after the source is gone)."""
    vm = ctx.vm
    adds = vm is not None and vm.id.lower() != ctx.source.vm.lower()
    return (*(w.size for w in ctx.workers), *((vm.size,) if adds else ()))


def retrieve_archived_data(ctx: RestoreContext) -> StepGen:
    """1. Retrieve data from the archived restore point (rehydrate it to the hot tier)."""
    rp = ctx.restore_point
    yield RehydrateRestorePoint(rp.id, rp.priority, rp.data_gb)


def create_staging_rg(ctx: RestoreContext) -> StepGen:
    """2. Create the staging resource group, tagged with the backup appliance id."""
    yield CreateResourceGroup(ctx.staging_group, ctx.location, ctx.staging_tags)


def create_empty_disks(ctx: RestoreContext) -> StepGen:
    """3. Create one empty disk per disk restored, all at once."""
    yield [CreateDisk(d.id, ctx.location, d.size_gb, d.sku, ctx.zone, tags=ctx.disk_tags,
                      encryption_set=d.encryption_set) for d in ctx.disks]


def copy_snapshots(ctx: RestoreContext) -> StepGen:
    """Snapshot path to another region: copy each snapshot there first, all at once."""
    yield [CreateSnapshot(d.snapshot_copy, ctx.location, d.snapshot, ctx.tags) for d in ctx.disks]


def create_disks_from_snapshots(ctx: RestoreContext) -> StepGen:
    """Snapshot path: create every disk from its cloud-native snapshot, all at once."""
    yield [CreateDisk(d.id, ctx.location, d.size_gb, d.sku, ctx.zone, d.restore_snapshot,
                      ctx.disk_tags, d.encryption_set) for d in ctx.disks]


def remove_snapshot_copies(ctx: RestoreContext) -> StepGen:
    """Delete the snapshot copies made in the target region: they were temporary."""
    yield [DeleteSnapshot(d.snapshot_copy) for d in ctx.disks]


def launch_worker(ctx: RestoreContext) -> StepGen:
    """4. Launch the workers in the target region and attach the empty disks to them.

    A worker whose size cannot be allocated gets the next size of the worker profile.
    With a worker pool, a deallocated worker of the pool is claimed and started first;
    only the workers the pool cannot give are created (in the pool's group).
    """
    workers = ctx.workers
    if ctx.pool is not None:
        workers = yield from _claim_warm_workers(ctx)
    else:
        yield [CreateNic(w.nic, ctx.location, ctx.subnet, ctx.tags) for w in workers]
    yield from _create_workers(ctx, workers)
    yield [AttachDisks(ctx.worker_vm(w), tuple(enumerate(d.id for d in w.disks)))
           for w in ctx.workers]


def _claim_warm_workers(ctx: RestoreContext) -> Generator[Any, Any, list[WorkerPlan]]:
    """The pool's free workers, claimed and started (with the NICs of the workers it has
    none for, made meanwhile); returns the workers still to create."""
    pool = ctx.pool
    assert pool is not None and ctx.bound is not None
    yield CreateResourceGroup(pool.group, ctx.location, pool.tags)  # ARM's PUT: idempotent
    claimed = yield [ClaimWarmWorker(w.vm, pool.group, w.size, _holder(ctx, w))
                     for w in ctx.workers]
    fresh = []
    for worker, got in zip(ctx.workers, claimed, strict=True):
        if got:
            ctx.bound[worker.vm] = got
        else:
            fresh.append(worker)
    yield [*(StartVm(ctx.bound[w.vm], w.size) for w in ctx.workers if w.vm in ctx.bound),
           *(CreateNic(w.nic, ctx.location, pool.subnet or ctx.subnet, pool.tags)
             for w in fresh)]
    return fresh


def _holder(ctx: RestoreContext, worker: WorkerPlan) -> Tags:
    """A pool worker's tags while this restore holds it as ``worker`` (so a claim sent
    again finds the worker it got)."""
    assert ctx.pool is not None
    return tags_of({**dict(ctx.pool.tags), RESTORE_ID_TAG: ctx.restore_id,
                    SLOT_TAG: arm.name_of(worker.vm)})


def _being_made(ctx: RestoreContext) -> Tags:
    """A pool worker's tags while this restore creates it: nobody's to claim or remove
    yet, without the restore-id tag its OS disk would keep (it takes the VM's tags)."""
    assert ctx.pool is not None
    return tags_of({**dict(ctx.pool.tags), CREATING_TAG: ctx.restore_id})


def _create_workers(ctx: RestoreContext, workers: list[WorkerPlan] | tuple[WorkerPlan, ...]
                    ) -> StepGen:
    """Create ``workers``, each on the next size of the profile while its size cannot be
    allocated. A pool's worker is made with the pool's tag and a mark that it is being
    made (its OS disk takes both), its OS disk and NIC deleted with it, and then held by
    this restore's tag; the NICs of pool workers that could not be made are deleted."""
    pool = ctx.pool
    waiting = {w.vm: (w.size, *w.fallback_sizes) for w in workers}
    tried: dict[str, list[str]] = {w.vm: [] for w in workers}
    while waiting:
        batch = [w for w in workers if w.vm in waiting]
        sizes = [waiting[w.vm][len(tried[w.vm])] for w in batch]
        outcomes = yield Tolerate([
            CreateVm(w.vm, ctx.location, size, w.nic, w.os_disk, os_disk_from_image=True,
                     zone=ctx.zone, tags=_being_made(ctx) if pool else ctx.tags,
                     delete_with_vm=pool is not None)
            for w, size in zip(batch, sizes, strict=True)])
        made = [w for w, o in zip(batch, outcomes, strict=True) if not isinstance(o, CloudError)]
        if pool is not None and made:  # held by this restore's tag, or deleted at once
            held = yield Tolerate([TagWorker(w.vm, _holder(ctx, w)) for w in made])
            lost = [(w, o) for w, o in zip(made, held, strict=True) if isinstance(o, CloudError)]
            if lost:
                yield Tolerate([*(DeleteVm(w.vm) for w, _ in lost),
                                *(DeleteNic(w.nic) for w in workers if w.vm in waiting
                                  and w not in made)])
                raise lost[0][1]
        for worker, size, outcome in zip(batch, sizes, outcomes, strict=True):
            tried[worker.vm].append(size)
            if not isinstance(outcome, CloudError):
                del waiting[worker.vm]
            elif outcome.code != "AllocationFailed" or len(tried[worker.vm]) == len(
                    waiting[worker.vm]):
                if pool is not None:  # the NICs of pool workers not made: nobody's tag
                    yield Tolerate([DeleteNic(w.nic) for w in workers if w.vm in waiting])
                raise CloudError(outcome.code, f"{outcome.message} (worker sizes tried: "
                                 f"{', '.join(tried[worker.vm])})", outcome.status)


def restore_data(ctx: RestoreContext) -> StepGen:
    """5. Restore the backed-up data to the empty disks on the workers."""
    yield [WriteDiskData(ctx.worker_vm(w), w.size, ctx.restore_point.id,
                         tuple(DiskWrite(d.id, d.sku, d.size_gb, d.data_gb, d.source)
                               for d in w.disks),
                         len(ctx.workers))
           for w in ctx.workers]


def detach_disks(ctx: RestoreContext) -> StepGen:
    """6. Detach the restored disks from the workers."""
    yield [DetachDisks(ctx.worker_vm(w), tuple(d.id for d in w.disks)) for w in ctx.workers]


def deallocate_worker(ctx: RestoreContext) -> StepGen:
    """7. Deallocate the workers."""
    yield [DeallocateVm(ctx.worker_vm(w)) for w in ctx.workers]


def snapshot_source(ctx: RestoreContext) -> StepGen:
    """Before the source goes: snapshot its disks (the safety net; kept if the restore
    fails from here on)."""
    yield [CreateSnapshot(snapshot, ctx.source.location, disk, ctx.tags)
           for disk, snapshot in ctx.safety_snapshots]


def remove_safety_snapshots(ctx: RestoreContext) -> StepGen:
    """The restore succeeded: the safety snapshots are not needed any more."""
    yield [DeleteSnapshot(snapshot) for _, snapshot in ctx.safety_snapshots]


def remove_source_vm(ctx: RestoreContext) -> StepGen:
    """8. Remove the source VM, then its disks, restored or not (its NIC stays for the
    restored VM)."""
    yield DeleteVm(ctx.source.vm)
    yield [DeleteDisk(d) for d in ctx.source.disks]


def move_disks(ctx: RestoreContext) -> StepGen:
    """9. Move the restored disks from the staging group to the source's group."""
    yield MoveResources(ctx.staging_group, ctx.target_group, tuple(d.id for d in ctx.disks))


def create_vm(ctx: RestoreContext) -> StepGen:
    """10. Create the VM on the restored OS disk in the target location (a new NIC first,
    with its new public IP before it)."""
    vm = ctx.vm
    assert vm is not None
    settings, ip = vm.settings, vm.settings.public_ip
    if ip is not None:
        yield CreatePublicIp(ip.id, ctx.location, ip.sku, ip.allocation, ctx.tags)
    if vm.create_nic:
        yield CreateNic(vm.nic, ctx.location, ctx.vm_subnet, ctx.tags, settings.nsg,
                        ip.id if ip else None, settings.accelerated_networking)
    yield CreateVm(vm.id, ctx.location, vm.size, vm.nic, ctx.os_disk.final_id, zone=vm.zone,
                   tags=vm.tags, availability_set=settings.availability_set,
                   security=settings.security)


def attach_disks(ctx: RestoreContext) -> StepGen:
    """11. Attach the restored data disks to the VM in one update."""
    assert ctx.vm is not None
    if ctx.data_disks:
        yield AttachDisks(ctx.vm.id, tuple((d.lun, d.final_id) for d in ctx.data_disks))


def remove_staging_rg(ctx: RestoreContext) -> StepGen:
    """12. Remove the staging resource group."""
    yield DeleteResourceGroup(ctx.staging_group)


def remove_worker(ctx: RestoreContext) -> StepGen:
    """Remove the workers with their NICs and OS disks: nothing temporary stays."""
    yield [DeleteVm(w.vm) for w in ctx.workers]
    yield [*(DeleteNic(w.nic) for w in ctx.workers), *(DeleteDisk(w.os_disk) for w in ctx.workers)]


def release_worker(ctx: RestoreContext) -> StepGen:
    """With a worker pool, instead of removing the workers: release them, deallocated and
    detached, to the pool, warm for its keep-warm time."""
    pool = ctx.pool
    assert pool is not None
    yield [TagWorker(ctx.worker_vm(w), pool.tags, pool.keep_warm_s) for w in ctx.workers]


def remove_idle_workers(ctx: RestoreContext) -> StepGen:
    """The pool's housekeeping: remove the workers idle past their keep-warm time, but the
    pool's minimum (the most recently released), each checked again as it goes."""
    pool = ctx.pool
    assert pool is not None
    idle = yield FindIdleWorkers(pool.group, pool.min)
    if idle:
        yield [RemoveIdleWorker(vm) for vm in idle]


def stop_restored_vm(ctx: RestoreContext) -> StepGen:
    """Leave the restored VM deallocated when the target asks not to power it on."""
    assert ctx.vm is not None
    yield DeallocateVm(ctx.vm.id)


def deallocate_source_vm(ctx: RestoreContext) -> StepGen:
    """replace_disks: stop the source VM, deallocated, once its restored disks are ready
    (an OS disk is swapped only on a stopped VM)."""
    assert ctx.replace is not None
    yield DeallocateVm(ctx.replace.vm)


def swap_disks(ctx: RestoreContext) -> StepGen:
    """replace_disks: the OS disk and the data disks swapped for the restored ones in one
    VM update; the VM's NIC, identity and extensions stay as they are."""
    replace = ctx.replace
    assert replace is not None
    yield SwapDisks(replace.vm, replace.os_disk, replace.data_disks)


def keep_replaced_disks(ctx: RestoreContext) -> StepGen:
    """Tag the VM's old disks, now detached, with the restore that replaced them."""
    assert ctx.replace is not None
    yield [TagDisk(disk, ctx.replace.tags) for disk in ctx.replace.replaced]


def start_source_vm(ctx: RestoreContext) -> StepGen:
    """Start the VM on its restored disks."""
    assert ctx.replace is not None
    yield StartVm(ctx.replace.vm)


def remove_replaced_disks(ctx: RestoreContext) -> StepGen:
    """``target.delete_replaced_disks``: the VM runs on its restored disks, its old ones go."""
    assert ctx.replace is not None
    yield [DeleteDisk(disk) for disk in ctx.replace.replaced]


def rollback(ctx: RestoreContext) -> StepGen:
    """Undo a restore that failed before touching the source: delete everything it
    created, found by its restore-id tag (nothing else is touched)."""
    found = yield _created(ctx)
    yield from _delete(found)


def rollback_and_start_source(ctx: RestoreContext) -> StepGen:
    """A replace_disks restore that failed after deallocating the source VM, before its
    disks were swapped: roll back, then start the VM again on its own disks."""
    yield from rollback(ctx)
    assert ctx.replace is not None
    yield StartVm(ctx.replace.vm)


def recovery_step(started: set[str]) -> str:
    """The step that recovers from a failure, given the steps that started."""
    if not started.isdisjoint(DESTRUCTIVE_STEPS):
        return "keep_restored_data"
    return "rollback_and_start_source" if "deallocate_source_vm" in started else "rollback"


def keep_restored_data(ctx: RestoreContext) -> StepGen:
    """A restore that failed after the source was removed: keep the restored disks (and
    the VM if it exists) and the group holding them; remove only temporary resources."""
    found = yield _created(ctx)
    kept = restored_data(ctx, [arm_id for _, arm_id in found])
    yield from _delete([(type_, id_) for type_, id_ in found if id_.lower() not in kept])


def _created(ctx: RestoreContext) -> FindResources:
    """What the restore created: tagged with its id, in the target subscription (where it
    creates everything)."""
    return FindResources(RESTORE_ID_TAG, ctx.restore_id, ctx.target_subscription)


def restored_data(ctx: RestoreContext, existing: list[str]) -> set[str]:
    """Of the ``existing`` ids (lower case): the restored VM (if any), its NIC and disks,
    the safety snapshots, and the staging group while a restored disk is still in it."""
    disks = {d.id.lower() for d in ctx.disks} | {d.final_id.lower() for d in ctx.disks}
    safety = {snapshot.lower() for _, snapshot in ctx.safety_snapshots}
    vm = {ctx.vm.id.lower(), ctx.vm.nic.lower()} if ctx.vm else set()
    if ctx.vm and ctx.vm.settings.public_ip:
        vm.add(ctx.vm.settings.public_ip.id.lower())
    present = {arm_id.lower() for arm_id in existing}
    kept = present & (disks | safety | vm)
    staging = ctx.staging_group.lower() if ctx.staging_group else None
    if staging in present and any(arm.group_id_of(i).lower() == staging for i in kept):
        kept.add(staging)
    return kept


def _delete(found: list[tuple[str, str]]) -> StepGen:
    """Delete resources in ARM's order: VMs, then what they used, then the public IPs
    (the NICs used them), then resource groups (whose contents go with them). A failed
    delete does not stop the others; the first failure is raised at the end."""
    groups = {i.lower() for t, i in found if t == arm.RESOURCE_GROUPS}
    loose = [(t, i) for t, i in found if arm.group_id_of(i).lower() not in groups]
    waves = [
        [DeleteVm(i) for t, i in found if t == arm.VIRTUAL_MACHINES],
        [_DELETES[t](i) for t, i in loose if t in _DELETES],
        [DeletePublicIp(i) for t, i in loose if t.lower() == arm.PUBLIC_IP_ADDRESSES.lower()],
        [DeleteResourceGroup(i) for t, i in found if t == arm.RESOURCE_GROUPS],
    ]
    failures: list[CloudError] = []
    for wave in waves:
        if wave:
            outcomes = yield Tolerate(wave)
            failures += [o for o in outcomes if isinstance(o, CloudError)]
    if failures:
        raise failures[0]


_DELETES = {arm.DISKS: DeleteDisk, arm.NETWORK_INTERFACES: DeleteNic,
            arm.SNAPSHOTS: DeleteSnapshot}


STEPS: dict[str, Callable[[RestoreContext], StepGen]] = {
    f.__name__: f
    for f in (
        preflight, retrieve_archived_data, create_staging_rg, create_empty_disks,
        copy_snapshots, create_disks_from_snapshots, remove_snapshot_copies, launch_worker,
        restore_data, detach_disks, deallocate_worker, remove_source_vm, move_disks,
        create_vm, attach_disks, remove_staging_rg, remove_worker, stop_restored_vm,
        snapshot_source, remove_safety_snapshots, rollback, keep_restored_data,
        release_worker, remove_idle_workers, deallocate_source_vm, swap_disks,
        keep_replaced_disks, start_source_vm, remove_replaced_disks, rollback_and_start_source,
    )
} | DRILL_STEPS

RECOVERY_KINDS = frozenset({FindResources.kind, DeleteVm.kind, DeleteResourceGroup.kind,
                            StartVm.kind, DeletePublicIp.kind,
                            *(delete.kind for delete in _DELETES.values())})
"""The operation kinds a recovery step (rollback, keep_restored_data) may send."""

CLEANUP_STEPS = frozenset({"remove_worker", "remove_staging_rg", "remove_snapshot_copies",
                           "remove_safety_snapshots", "release_worker",
                           "remove_idle_workers", "remove_replaced_disks", "remove_drill"})
"""Steps that only remove temporary resources: their failure leaves a leftover (listed as
leaked), never undoes the restore."""

ALLOCATION_RETRY_STEPS = frozenset({"create_vm"})
"""Steps whose AllocationFailed is retried on the same size and zone: the restored VM's
size and zone are the user's, and at the original location the source is gone by then."""

DESTRUCTIVE_STEPS = frozenset({"remove_source_vm", "keep_replaced_disks", "start_source_vm"})
"""Steps after whose start the source may be gone, or its disks replaced (the steps after
``swap_disks``): failures roll forward, not back."""
