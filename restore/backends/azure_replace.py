"""The azure backend's operations of ``target.mode: replace_disks``: swap a stopped VM's
disks in one update and tag its old disks (its start is the pool's ``start_vm``)."""

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
    """Swap a stopped VM's disks, tag a disk, with the clients of the subscription acted in."""

    clients: AzureClients

    if TYPE_CHECKING:  # AzureExecutor's
        def _wait(self, begin: Callable[..., LROPoller[Any]], arm_id: str,
                  *args: Any) -> Any: ...
        def _update_data_disks(self, vm_id: str, change: Callable[[list[Any]], list[Any]],
                               os_disk: str | None = None) -> None: ...

    def replace_handlers(self) -> dict[type, Callable[[Any], Any]]:
        return {ops.SwapDisks: self.swap_disks, ops.TagDisk: self.tag_disk}

    def swap_disks(self, op: ops.SwapDisks) -> None:
        """One VM update: the OS disk and the data disks at these LUNs swapped."""
        new = dict(op.data_disks)
        self._update_data_disks(op.vm, lambda disks: [d for d in disks if d.lun not in new] + [
            compute.DataDisk(lun=lun, create_option="Attach",
                             managed_disk=compute.ManagedDiskParameters(id=disk))
            for lun, disk in sorted(new.items())], op.os_disk)

    def tag_disk(self, op: ops.TagDisk) -> None:
        """GET the disk, PATCH its tags with these added."""
        parsed = arm.parse_id(op.id)
        disk = self.clients.compute.disks.get(parsed.resource_group, parsed.name)
        update = compute.DiskUpdate(tags={**(disk.tags or {}), **dict(op.tags)})
        self._wait(self.clients.compute.disks.begin_update, op.id, update)
