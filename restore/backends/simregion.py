"""The simulated region in SimPy terms: each operation applies ARM's rules to the region
state at once, as ARM validates and accepts a request, then takes its profile's time."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import armid as arm
from fakecloud.models import ArmError, CloudState, Snapshot, VirtualMachine
from fakecloud.profile import Samplers
from fakecloud.throttle import Throttle
from restore import ops
from restore.backends.data import RegionData
from restore.backends.faults import FaultInjector, error_for
from restore.backends.profiles import RestoreProfile
from restore.ops import Operation
from restore.scenario import FaultKind

MB_PER_GB = 1024


class OrchestratorCrash(Exception):
    """An injected crash: the orchestrator dies before sending an operation."""

    def __init__(self, step: str, op_kind: str):
        self.step, self.op_kind = step, op_kind
        super().__init__(f"injected crash before {op_kind} in {step}")


class SimRegion:
    """Applies restore operations to a CloudState and says how long each one takes."""

    def __init__(self, state: CloudState, profile: RestoreProfile, rng: random.Random,
                 samplers: Samplers | None = None, faults: FaultInjector | None = None,
                 data: RegionData | None = None, runs_agent: bool = True):
        self.state, self.profile, self.rng = state, profile, rng
        self.data = data  # real bytes for the agent to write (bytes-mode scenarios)
        self.runs_agent = runs_agent  # False: the agent runs elsewhere (the ARM fake's)
        self._samplers = samplers or profile.samplers()
        self.faults = faults
        self.throttle = Throttle(profile.throttling)

    def apply(self, op: Operation, step: str = "", recheck: bool = False,
              now: float = 0.0) -> tuple[float, Any]:
        """Apply ``op`` of ``step`` to the state (raising ArmError as ARM would); return
        how many simulated seconds the operation takes and its result (the resource id;
        what was found, for reads).

        An injected fault raises its error instead and leaves the state untouched; a
        ``crash`` raises OrchestratorCrash: the request is never sent. With ``recheck``
        (a step run again after an interruption) an operation whose effect is already
        there is only looked at, not sent again. Requests over ARM's limits at ``now``
        are refused with 429.
        """
        rule = self.faults.draw(step, op.kind) if self.faults else None
        if rule is None:
            self.throttle.admit(op, now)
            if recheck and self.already_done(op):
                return self._latency("find_resources"), op.resource
            done = HANDLERS[type(op)](self, op)
            return done if isinstance(done, tuple) else (done, op.resource)
        if rule.kind is FaultKind.CRASH:
            raise OrchestratorCrash(step, op.kind)
        self.throttle.admit(op, now)
        latency = self._samplers.get(op.kind, self._samplers["create_vm"])(self.rng)
        raise error_for(rule, op.kind, latency)

    def already_done(self, op: Operation) -> bool:
        """Whether the effect of ``op`` is in the state already (check before acting)."""
        state = self.state
        if isinstance(op, ops.CreateResourceGroup):
            return state.find(op.id) is not None
        if isinstance(op, ops.CreateDisk | ops.CreateSnapshot | ops.CreateNic | ops.CreateVm):
            found = state.find(op.id)
            return found is not None and found.tags == dict(op.tags)
        if isinstance(op, ops.DeleteDisk | ops.DeleteSnapshot | ops.DeleteNic | ops.DeleteVm
                      | ops.DeleteResourceGroup):
            return state.find(op.id) is None
        vm = state.find(getattr(op, "vm", getattr(op, "id", "")))
        if isinstance(op, ops.AttachDisks):
            return isinstance(vm, VirtualMachine) and all(
                vm.data_disks.get(lun, "").lower() == disk.lower() for lun, disk in op.disks)
        if isinstance(op, ops.DetachDisks):
            attached = {d.lower() for d in vm.data_disks.values()} if isinstance(
                vm, VirtualMachine) else set()
            return not attached & {d.lower() for d in op.disks}
        if isinstance(op, ops.DeallocateVm):
            return isinstance(vm, VirtualMachine) and vm.power_state == "deallocated"
        if isinstance(op, ops.MoveResources):
            return all(state.find(f"{op.target_group}/providers/{arm.parse_id(r).type}/"
                                  f"{arm.name_of(r)}") for r in op.resources)
        return False  # reads, rehydration, data writes: doing them again is harmless

    def _latency(self, kind: str) -> float:
        return self._samplers[kind](self.rng)

    def _create_resource_group(self, op: ops.CreateResourceGroup) -> float:
        self.state.create_resource_group(op.id, op.location, dict(op.tags))
        return self._latency("create_resource_group")

    def _delete_resource_group(self, op: ops.DeleteResourceGroup) -> float:
        self.state.delete_resource_group(op.id)
        return self._latency("delete_resource_group")

    def _create_disk(self, op: ops.CreateDisk) -> float:
        self.state.create_disk(op.id, op.location, op.size_gb, op.sku, op.zone,
                               op.source_snapshot, dict(op.tags))
        if op.source_snapshot and self.data is not None:
            self.data.copy(op.source_snapshot, op.id)
        return self._latency("create_disk_from_snapshot" if op.source_snapshot else "create_disk")

    def _delete_disk(self, op: ops.DeleteDisk) -> float:
        self.state.delete_disk(op.id)
        return self._latency("delete_disk")

    def _create_snapshot(self, op: ops.CreateSnapshot) -> float:
        origin = self.state.find(op.source)
        snapshot = self.state.create_snapshot(op.id, op.location, op.source, dict(op.tags))
        if self.data is not None:
            self.data.copy(op.source, op.id)
        copy = isinstance(origin, Snapshot) and origin.location != snapshot.location
        return self._latency("copy_snapshot" if copy else "create_snapshot")

    def _delete_snapshot(self, op: ops.DeleteSnapshot) -> float:
        self.state.delete_snapshot(op.id)
        return self._latency("delete_snapshot")

    def _create_nic(self, op: ops.CreateNic) -> float:
        self.state.create_nic(op.id, op.location, op.subnet, dict(op.tags))
        return self._latency("create_nic")

    def _delete_nic(self, op: ops.DeleteNic) -> float:
        self.state.delete_nic(op.id)
        return self._latency("delete_nic")

    def _create_vm(self, op: ops.CreateVm) -> float:
        self.state.create_vm(op.id, op.location, op.size, op.nic, op.os_disk,
                             op.os_disk_from_image, op.zone, dict(op.tags))
        return self._latency("create_vm")

    def _attach_disks(self, op: ops.AttachDisks) -> float:
        self.state.attach_disks(op.vm, op.disks)
        return self._latency("attach_disks")

    def _detach_disks(self, op: ops.DetachDisks) -> float:
        self.state.detach_disks(op.vm, op.disks)
        return self._latency("detach_disks")

    def _deallocate_vm(self, op: ops.DeallocateVm) -> float:
        self.state.deallocate_vm(op.id)
        return self._latency("deallocate_vm")

    def _delete_vm(self, op: ops.DeleteVm) -> float:
        self.state.delete_vm(op.id)
        return self._latency("delete_vm")

    def _move_resources(self, op: ops.MoveResources) -> float:
        self.state.move_resources(op.source_group, op.target_group, op.resources)
        return self._latency("move_resources")

    def _rehydrate(self, op: ops.RehydrateRestorePoint) -> float:
        if self.data is not None:
            self.data.rehydrate(op.priority)
        return self.profile.rehydration.sample(op.priority, op.size_gb, self.rng)

    def _write_disk_data(self, op: ops.WriteDiskData) -> float:
        """The worker's agent starts, then the data flows."""
        worker = self.state.get(op.worker, VirtualMachine)
        took = self._latency("start_restore_agent") + self.transfer_s(op, worker.size)
        if self.data is not None and self.runs_agent:
            try:
                for write in op.writes:
                    self.data.restore(write.disk, worker.name)
            except ArmError as exc:
                exc.after_s = took
                raise
        return took

    def _find_resources(self, op: ops.FindResources) -> tuple[float, list[tuple[str, str]]]:
        found = [(self.state.find(i).type, i) for i in self.state.tagged(op.key, op.value)]
        return self._latency("find_resources"), found

    def _check_exists(self, op: ops.CheckExists) -> float:
        for arm_id in op.ids:
            if self.state.find(arm_id) is None:
                raise ArmError(404, "ResourceNotFound", f"'{arm_id}' was not found.")
        return self._latency("find_resources")

    def _check_names_free(self, op: ops.CheckNamesFree) -> float:
        ours = dict(op.tags)
        for arm_id in op.ids:
            found = self.state.find(arm_id)
            if found is not None and not ours.items() <= found.tags.items():
                raise ArmError(409, "Conflict", f"The name of '{arm_id}' is taken by a "
                               "resource this restore did not create.")
        return self._latency("find_resources")

    def _check_quota(self, op: ops.CheckQuota) -> float:
        self.state.check_quota(op.location, op.vm_sizes, op.disks)
        return self._latency("find_resources")

    def transfer_s(self, op: ops.WriteDiskData, worker_size: str | None = None) -> float:
        """Data time at min(disk SKU caps, worker uncached cap, this worker's share of the
        repository), and no disk faster than its own cap."""
        caps = [self.profile.throughput.disk_mbps(w.sku, w.size_gb) for w in op.writes]
        worker_mbps = self.profile.vm_sizes[worker_size or op.worker_size].uncached_mbps
        repository_mbps = self.profile.throughput.repository_mbps / op.parallel_workers
        rate = min(sum(caps), worker_mbps, repository_mbps)
        total_mb = sum(w.data_gb for w in op.writes) * MB_PER_GB
        slowest = max((w.data_gb * MB_PER_GB / cap
                       for w, cap in zip(op.writes, caps, strict=True)), default=0)
        return max(total_mb / rate, slowest) if total_mb else 0.0


HANDLERS: dict[type, Callable[[SimRegion, Any], Any]] = {
    ops.CreateResourceGroup: SimRegion._create_resource_group,
    ops.DeleteResourceGroup: SimRegion._delete_resource_group,
    ops.CreateDisk: SimRegion._create_disk,
    ops.DeleteDisk: SimRegion._delete_disk,
    ops.CreateSnapshot: SimRegion._create_snapshot,
    ops.DeleteSnapshot: SimRegion._delete_snapshot,
    ops.CreateNic: SimRegion._create_nic,
    ops.DeleteNic: SimRegion._delete_nic,
    ops.CreateVm: SimRegion._create_vm,
    ops.AttachDisks: SimRegion._attach_disks,
    ops.DetachDisks: SimRegion._detach_disks,
    ops.DeallocateVm: SimRegion._deallocate_vm,
    ops.DeleteVm: SimRegion._delete_vm,
    ops.MoveResources: SimRegion._move_resources,
    ops.RehydrateRestorePoint: SimRegion._rehydrate,
    ops.WriteDiskData: SimRegion._write_disk_data,
    ops.FindResources: SimRegion._find_resources,
    ops.CheckExists: SimRegion._check_exists,
    ops.CheckNamesFree: SimRegion._check_names_free,
    ops.CheckQuota: SimRegion._check_quota,
}
"""The method of SimRegion applying each type of operation."""
