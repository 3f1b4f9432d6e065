"""The simulated region in SimPy: each operation takes its profile's time, then applies
ARM's rules to the region state."""

from __future__ import annotations

import random
from collections.abc import Callable, Generator
from typing import Any

import simpy

from fakecloud.models import CloudState, Snapshot
from fakecloud.profile import RegionProfile
from restore import ops
from restore.ops import Operation

MB_PER_GB = 1024


class SimRegion:
    """Executes restore operations on a CloudState inside a SimPy environment."""

    def __init__(self, env: simpy.Environment, state: CloudState, profile: RegionProfile,
                 rng: random.Random):
        self.env, self.state, self.profile, self.rng = env, state, profile, rng
        self._handlers: dict[type, Callable[[Any], Generator]] = {
            ops.CreateResourceGroup: self._create_resource_group,
            ops.DeleteResourceGroup: self._delete_resource_group,
            ops.CreateDisk: self._create_disk,
            ops.DeleteDisk: self._delete_disk,
            ops.CreateSnapshot: self._create_snapshot,
            ops.DeleteSnapshot: self._delete_snapshot,
            ops.CreateNic: self._create_nic,
            ops.DeleteNic: self._delete_nic,
            ops.CreateVm: self._create_vm,
            ops.AttachDisks: self._attach_disks,
            ops.DetachDisks: self._detach_disks,
            ops.DeallocateVm: self._deallocate_vm,
            ops.DeleteVm: self._delete_vm,
            ops.MoveResources: self._move_resources,
            ops.RehydrateRestorePoint: self._rehydrate,
            ops.WriteDiskData: self._write_disk_data,
        }

    def execute(self, op: Operation) -> Generator[simpy.Event, Any, str]:
        """SimPy process body: the operation's ARM effect, then its latency.

        ARM validates and accepts a request at once (errors come back immediately), then
        the long-running operation takes its time; returns the resource id.
        """
        yield from self._handlers[type(op)](op)
        return op.resource

    def _wait(self, kind: str) -> simpy.Timeout:
        return self.env.timeout(self.profile.latency[kind].sample(self.rng))

    def _create_resource_group(self, op: ops.CreateResourceGroup) -> Generator:
        self.state.create_resource_group(op.id, op.location, dict(op.tags))
        yield self._wait("create_resource_group")

    def _delete_resource_group(self, op: ops.DeleteResourceGroup) -> Generator:
        self.state.delete_resource_group(op.id)
        yield self._wait("delete_resource_group")

    def _create_disk(self, op: ops.CreateDisk) -> Generator:
        self.state.create_disk(op.id, op.location, op.size_gb, op.sku, op.zone,
                               op.source_snapshot, dict(op.tags))
        yield self._wait("create_disk_from_snapshot" if op.source_snapshot else "create_disk")

    def _delete_disk(self, op: ops.DeleteDisk) -> Generator:
        self.state.delete_disk(op.id)
        yield self._wait("delete_disk")

    def _create_snapshot(self, op: ops.CreateSnapshot) -> Generator:
        origin = self.state.find(op.source)
        snapshot = self.state.create_snapshot(op.id, op.location, op.source, dict(op.tags))
        copy = isinstance(origin, Snapshot) and origin.location != snapshot.location
        yield self._wait("copy_snapshot" if copy else "create_snapshot")

    def _delete_snapshot(self, op: ops.DeleteSnapshot) -> Generator:
        self.state.delete_snapshot(op.id)
        yield self._wait("delete_snapshot")

    def _create_nic(self, op: ops.CreateNic) -> Generator:
        self.state.create_nic(op.id, op.location, op.subnet, dict(op.tags))
        yield self._wait("create_nic")

    def _delete_nic(self, op: ops.DeleteNic) -> Generator:
        self.state.delete_nic(op.id)
        yield self._wait("delete_nic")

    def _create_vm(self, op: ops.CreateVm) -> Generator:
        self.state.create_vm(op.id, op.location, op.size, op.nic, op.os_disk,
                             op.os_disk_from_image, op.zone, dict(op.tags))
        yield self._wait("create_vm")

    def _attach_disks(self, op: ops.AttachDisks) -> Generator:
        self.state.attach_disks(op.vm, op.disks)
        yield self._wait("attach_disks")

    def _detach_disks(self, op: ops.DetachDisks) -> Generator:
        self.state.detach_disks(op.vm, op.disks)
        yield self._wait("detach_disks")

    def _deallocate_vm(self, op: ops.DeallocateVm) -> Generator:
        self.state.deallocate_vm(op.id)
        yield self._wait("deallocate_vm")

    def _delete_vm(self, op: ops.DeleteVm) -> Generator:
        self.state.delete_vm(op.id)
        yield self._wait("delete_vm")

    def _move_resources(self, op: ops.MoveResources) -> Generator:
        self.state.move_resources(op.source_group, op.target_group, op.resources)
        yield self._wait("move_resources")

    def _rehydrate(self, op: ops.RehydrateRestorePoint) -> Generator:
        yield self.env.timeout(self.profile.rehydration.sample(op.priority, op.size_gb, self.rng))

    def _write_disk_data(self, op: ops.WriteDiskData) -> Generator:
        yield self._wait("start_restore_agent")
        yield self.env.timeout(self.transfer_s(op))

    def transfer_s(self, op: ops.WriteDiskData) -> float:
        """Data time at min(disk SKU caps, worker uncached cap, this worker's share of the
        repository), and no disk faster than its own cap."""
        caps = [self.profile.throughput.disk_mbps(w.sku, w.size_gb) for w in op.writes]
        worker_mbps = self.profile.vm_sizes[op.worker_size].uncached_mbps
        repository_mbps = self.profile.throughput.repository_mbps / op.parallel_workers
        rate = min(sum(caps), worker_mbps, repository_mbps)
        total_mb = sum(w.data_gb for w in op.writes) * MB_PER_GB
        slowest = max((w.data_gb * MB_PER_GB / cap
                       for w, cap in zip(op.writes, caps, strict=True)), default=0)
        return max(total_mb / rate, slowest) if total_mb else 0.0
