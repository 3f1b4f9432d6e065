"""The azure backend's operations of ``target.mode: replace_disks``: swap a stopped VM's
disks in one update, tag its old disks, start it again."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from azure.mgmt.compute import models as compute

import armid as arm
from restore import ops

if TYPE_CHECKING:
    from azure.core.polling import LROPoller

    from restore.backends.azure import AzureClients


class AzureReplace:
    """Swap disks, tag a disk, start a VM with one subscription's clients."""

    clients: AzureClients

    if TYPE_CHECKING:  # AzureExecutor's
        def _wait(self, begin: Callable[..., LROPoller[Any]], arm_id: str,
                  *args: Any) -> Any: ...

    def replace_handlers(self) -> dict[type, Callable[[Any], Any]]:
        return {ops.SwapDisks: self.swap_disks, ops.TagDisk: self.tag_disk}

    def swap_disks(self, op: ops.SwapDisks) -> None:
        """GET the VM, PUT it back with its OS disk (named and referenced as the new disk,
        as Set-AzVMOSDisk -ManagedDiskId -Name does) and data disks swapped."""
        parsed = arm.parse_id(op.vm)
        machines = self.clients.compute.virtual_machines
        vm = machines.get(parsed.resource_group, parsed.name)
        storage = vm.storage_profile
        if op.os_disk is not None:
            storage.os_disk.name = arm.name_of(op.os_disk)
            storage.os_disk.create_option = "Attach"
            storage.os_disk.managed_disk = compute.ManagedDiskParameters(id=op.os_disk)
        new = dict(op.data_disks)
        storage.data_disks = [d for d in storage.data_disks or [] if d.lun not in new] + [
            compute.DataDisk(lun=lun, create_option="Attach",
                             managed_disk=compute.ManagedDiskParameters(id=disk))
            for lun, disk in sorted(new.items())]
        self._wait(machines.begin_create_or_update, op.vm, vm)

    def tag_disk(self, op: ops.TagDisk) -> None:
        """GET the disk, PATCH its tags with these added."""
        parsed = arm.parse_id(op.id)
        disk = self.clients.compute.disks.get(parsed.resource_group, parsed.name)
        update = compute.DiskUpdate(tags={**(disk.tags or {}), **dict(op.tags)})
        self._wait(self.clients.compute.disks.begin_update, op.id, update)
