"""The simulated subscription's state and ARM's rules, with ARM's error codes.

One source of truth for every backend of fakecloud: the SimPy region and the HTTP fake
both call these methods. Ids compare case-insensitively, as in ARM; they echo the case
they were created with.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import armid as arm
from fakecloud.models.errors import ArmError, key_of
from fakecloud.models.moves import MoveRules
from fakecloud.models.network import NetworkRules
from fakecloud.models.resources import (
    Disk,
    NetworkInterface,
    Resource,
    ResourceGroup,
    Snapshot,
    VirtualMachine,
)
from fakecloud.models.subscriptions import Quotas, SubscriptionRules

R = TypeVar("R", bound=Resource)
IMAGE_OS_DISK = ("Standard_LRS", 30)
"""The OS disk a VM created from the worker image gets: SKU and GB."""


class CloudState(NetworkRules, MoveRules, SubscriptionRules):
    """Resource groups and resources of one subscription (``subscription``, the default),
    in any location, and of the other subscriptions of its tenant added to it
    (``add_subscription``): each has its own quotas; a resource names its subscription in
    its id."""

    def __init__(self, subscription: str, max_data_disks: Mapping[str, int],
                 quotas: Quotas | None = None):
        self.subscription = subscription
        self.max_data_disks = max_data_disks
        self._resources: dict[str, Resource] = {}
        self._groups: dict[str, ResourceGroup] = {}  # group id (lower) -> the group
        self._members: dict[str, set[str]] = {}  # group id (lower) -> keys of its resources
        self._by_tag: dict[tuple[str, str], set[str]] = {}  # (tag, value) -> keys
        self._ips: dict[str, dict[str, str]] = {}  # subnet (lower) -> IP -> its configuration
        self.now: float | None = None  # set by the region answering a call: creation times
        self._others: dict[str, tuple[str, Quotas | None]] = {}  # (lower) -> id, quotas
        self._usage: dict[tuple[str, str], Counter[str]] = {}  # (subscription, location)
        self.quotas = quotas

    def copy(self) -> CloudState:
        """An independent copy: changes to either do not show in the other."""
        twin = CloudState(self.subscription, self.max_data_disks)
        twin._resources = {key: resource.copy() for key, resource in self._resources.items()}
        twin._groups = {key: twin._resources[key] for key in self._groups}
        twin._members = {group: set(keys) for group, keys in self._members.items()}
        twin._by_tag = {tag: set(keys) for tag, keys in self._by_tag.items()}
        twin._ips = {subnet: dict(ips) for subnet, ips in self._ips.items()}
        twin._quotas, twin._others = self._quotas, dict(self._others)
        twin._usage = {where: used.copy() for where, used in self._usage.items()}
        return twin

    def dump(self) -> list[dict[str, Any]]:
        """The whole state as JSON-able data, for a journal to keep."""
        return [r.dump() for r in self.resources()]

    @classmethod
    def load(cls, subscription: str, max_data_disks: Mapping[str, int],
             dumped: Iterable[dict[str, Any]], quotas: Quotas | None = None) -> CloudState:
        """The state ``dump`` gave."""
        state = cls(subscription, max_data_disks, quotas)
        for data in dumped:
            resource = state._add(Resource.load(data))
            if isinstance(resource, ResourceGroup):
                state._groups[key_of(resource.id)] = resource
        return state

    # -- queries -----------------------------------------------------------------------

    def find(self, arm_id: str) -> Resource | None:
        return self._resources.get(key_of(arm_id))

    def get(self, arm_id: str, kind: type[R]) -> R:
        found = self.find(arm_id)
        if isinstance(found, kind):
            return found
        group = self._group(arm_id).name
        raise ArmError(404, "ResourceNotFound", f"The Resource '{kind.type}/"
                       f"{arm.name_of(arm_id)}' under resource group '{group}' was not found.")

    def resources(self) -> list[Resource]:
        return [self._resources[k] for k in sorted(self._resources)]

    def in_group(self, group: str) -> list[Resource]:
        """The resources of a group, by its id (or name, in the default subscription)."""
        group_id = group if group.startswith("/") else arm.resource_group_id(self.subscription,
                                                                             group)
        return [self._resources[k] for k in sorted(self._members.get(key_of(group_id), ()))]

    def in_subscription(self, subscription: str) -> list[Resource]:
        """The resources (groups too) of one subscription."""
        prefix = key_of(f"/subscriptions/{subscription}/")
        return [r for k, r in sorted(self._resources.items()) if k.startswith(prefix)]

    def export(self) -> list[dict[str, Any]]:
        return [r.export() for r in self.resources()]

    def lookup(self, arm_id: str) -> dict[str, Any] | None:
        """One resource as reports show it, or None."""
        found = self.find(arm_id)
        return None if found is None else found.export()

    def tagged(self, key: str, value: str) -> list[str]:
        """Ids of the resources carrying tag ``key: value``, sorted."""
        return [self._resources[k].id for k in sorted(self._by_tag.get((key, value), ()))]

    # -- resource groups ---------------------------------------------------------------

    def create_resource_group(self, group_id: str, location: str,
                              tags: Mapping[str, str] = {}) -> ResourceGroup:
        """PUT is create-or-update: an existing group keeps its location, takes the tags."""
        existing = self.find(group_id)
        if isinstance(existing, ResourceGroup):
            if existing.location != location:
                raise ArmError(409, "InvalidResourceGroupLocation",
                               f"Resource group '{existing.name}' already exists in location "
                               f"'{existing.location}'.")
            self._drop(existing)
            existing.tags = dict(tags)
            return self._add(existing)
        group = self._add(ResourceGroup(group_id, location, dict(tags)))
        self._groups[key_of(group.id)] = group
        return group

    def delete_resource_group(self, group_id: str) -> None:
        group = self._group(group_id)
        members = self.in_group(group.id)
        for resource in members:
            if isinstance(resource, VirtualMachine):
                self._release(resource)
        for resource in members:
            self._drop(resource)
        self._drop(group)
        del self._groups[key_of(group.id)]

    # -- disks and snapshots -----------------------------------------------------------

    def create_disk(self, disk_id: str, location: str, size_gb: int, sku: str,
                    zone: str | None = None, source: str | None = None,
                    tags: Mapping[str, str] = {}, create_option: str | None = None) -> Disk:
        """An empty disk of ``size_gb``, or (``source``) a copy of a disk or snapshot: in
        its location (``CopyStart``: any location), as large as it or larger (``size_gb``
        0: its size)."""
        self._new_name(disk_id)
        self.check_quota(location, disks=1, subscription=arm.parse_id(disk_id).subscription)
        option = create_option or ("Copy" if source is not None else "Empty")
        if source is not None:
            origin = self._copy_source(source, location, cross_region=option == "CopyStart")
            if size_gb and size_gb < origin.size_gb:
                raise ArmError(400, "InvalidParameter", f"A disk cannot be smaller than its "
                               f"source '{origin.name}' ({origin.size_gb} GB).")
            size_gb, source = size_gb or origin.size_gb, origin.id
        return self._add(Disk(disk_id, location, dict(tags), size_gb=size_gb, sku=sku,
                              zone=zone, create_option=option, source=source))

    def _copy_source(self, source: str, location: str, cross_region: bool) -> Disk | Snapshot:
        origin = self.find(source)
        if not isinstance(origin, Disk | Snapshot):
            raise ArmError(404, "ResourceNotFound", f"Source '{source}' was not found.")
        if origin.location != location and not cross_region:
            raise ArmError(400, "InvalidParameter", f"'{origin.name}' is in "
                           f"'{origin.location}', the disk in '{location}'; copy it to the "
                           "region first.")
        return origin

    def delete_disk(self, disk_id: str) -> None:
        disk = self.get(disk_id, Disk)
        if disk.managed_by:
            raise ArmError(409, "OperationNotAllowed", f"Disk '{disk.name}' is attached to VM "
                           f"'{disk.managed_by}'.")
        self._drop(disk)

    def create_snapshot(self, snapshot_id: str, location: str, source: str | None,
                        tags: Mapping[str, str] = {}, create_option: str = "Copy",
                        incremental: bool = False, size_gb: int = 0) -> Snapshot:
        """A snapshot of a disk, or a copy of a snapshot (possibly to another region); with
        no ``source`` (an import), of ``size_gb``."""
        self._new_name(snapshot_id)
        if source is not None:
            origin = self.find(source)
            if not isinstance(origin, Disk | Snapshot):
                raise ArmError(404, "ResourceNotFound", f"Source '{source}' was not found.")
            size_gb, source = origin.size_gb, origin.id
        return self._add(Snapshot(snapshot_id, location, dict(tags), size_gb=size_gb,
                                  source=source, create_option=create_option,
                                  incremental=incremental))

    def update_disk(self, arm_id: str, size_gb: int | None = None, sku: str | None = None,
                    tags: Mapping[str, str] | None = None) -> Disk | Snapshot:
        """A disk's or snapshot's update: it only grows; a new SKU; new tags."""
        resource = self.find(arm_id)
        if not isinstance(resource, Disk | Snapshot):
            raise ArmError(404, "ResourceNotFound", f"'{arm_id}' was not found.")
        if size_gb is not None and size_gb < resource.size_gb:
            raise ArmError(400, "BadRequest", f"Disk '{resource.name}' cannot shrink from "
                           f"{resource.size_gb} GB to {size_gb} GB.")
        if tags is not None:
            self.retag(arm_id, tags)
        if size_gb is not None:
            resource.size_gb = size_gb
        if sku is not None and isinstance(resource, Disk):
            resource.sku = sku
        return resource

    def delete_snapshot(self, snapshot_id: str) -> None:
        self._drop(self.get(snapshot_id, Snapshot))

    # -- virtual machines --------------------------------------------------------------

    def create_vm(self, vm_id: str, location: str, size: str, nic: str, os_disk: str,
                  os_disk_from_image: bool = False, zone: str | None = None,
                  tags: Mapping[str, str] = {},
                  image_disk: tuple[str, int] = IMAGE_OS_DISK) -> VirtualMachine:
        """A VM on an existing OS disk, or on a new one from an image (``image_disk``: its
        SKU and GB)."""
        self._new_name(vm_id)
        if size not in self.max_data_disks:
            raise ArmError(409, "SkuNotAvailable", f"The requested VM size '{size}' is not "
                           f"available in location '{location}'.")
        self.check_quota(location, [size], disks=1 if os_disk_from_image else 0,
                         subscription=arm.parse_id(vm_id).subscription)
        interface = self.get(nic, NetworkInterface)
        if interface.vm:
            raise ArmError(400, "NicInUse", f"Network interface '{interface.name}' is used by "
                           f"VM '{interface.vm}'.")
        self._same_location(interface, location)
        if os_disk_from_image:
            sku, size_gb = image_disk
            disk = self.create_disk(os_disk, location, size_gb, sku, zone, tags=tags,
                                    create_option="FromImage")
        else:
            disk = self._attachable(self.get(os_disk, Disk), location, zone)
        vm = self._add(VirtualMachine(vm_id, location, dict(tags), size=size, nic=interface.id,
                                      os_disk=disk.id, zone=zone))
        disk.managed_by = interface.vm = vm.id
        return vm

    def attach_disks(self, vm_id: str, disks: Iterable[tuple[int, str]]) -> VirtualMachine:
        """One VM update attaching several data disks: all of them or none."""
        vm = self.get(vm_id, VirtualMachine)
        wanted = [(lun, self._attachable(self.get(d, Disk), vm.location, vm.zone))
                  for lun, d in disks]
        self._once([disk.id for _, disk in wanted], vm)
        luns = [lun for lun, _ in wanted]
        taken = sorted(set(luns) & set(vm.data_disks)) or sorted({x for x in luns
                                                                  if luns.count(x) > 1})
        if taken:
            raise ArmError(400, "InvalidParameter", f"LUN {taken[0]} is already in use on VM "
                           f"'{vm.name}'.")
        limit = self.max_data_disks[vm.size]
        if len(vm.data_disks) + len(wanted) > limit:
            raise ArmError(409, "OperationNotAllowed", "The maximum number of data disks "
                           f"allowed to be attached to a VM of this size is {limit}.")
        for lun, disk in wanted:
            vm.data_disks[lun] = disk.id
            disk.managed_by = vm.id
        return vm

    def detach_disks(self, vm_id: str, disks: Iterable[str]) -> VirtualMachine:
        vm = self.get(vm_id, VirtualMachine)
        disks = list(disks)
        self._once(disks, vm)
        attached = {key_of(d): lun for lun, d in vm.data_disks.items()}
        missing = [d for d in disks if key_of(d) not in attached]
        if missing:
            raise ArmError(400, "InvalidParameter", f"Disk '{arm.name_of(missing[0])}' is not a "
                           f"data disk of VM '{vm.name}'.")
        for disk_id in disks:
            self.get(disk_id, Disk).managed_by = None
            del vm.data_disks[attached[key_of(disk_id)]]
        return vm

    def swap_os_disk(self, vm_id: str, disk_id: str) -> VirtualMachine:
        """The VM's OS disk becomes ``disk_id`` (unattached, in its location and zone); the
        old one stays, detached. Microsoft Learn ("Change the OS disk used by an Azure VM")
        has the VM stopped or deallocated first; ARM's answer for a running VM is not
        documented (a 2017 report, Azure/azure-powershell#4892, saw it rebooted): the fake
        refuses it, the stricter reading."""
        vm = self.get(vm_id, VirtualMachine)
        if vm.power_state == "running":
            raise ArmError(409, "OperationNotAllowed", f"The OS disk of VM '{vm.name}' can be "
                           "changed only while the VM is stopped or deallocated.")
        disk = self._attachable(self.get(disk_id, Disk), vm.location, vm.zone)
        old = self.find(vm.os_disk)
        if isinstance(old, Disk):
            old.managed_by = None
        vm.os_disk, disk.managed_by = disk.id, vm.id
        return vm

    def resize_vm(self, vm_id: str, size: str) -> VirtualMachine:
        """A new size: offered in the region, holding the VM's data disks, within quota."""
        vm = self.get(vm_id, VirtualMachine)
        if size not in self.max_data_disks:
            raise ArmError(409, "SkuNotAvailable", f"The requested VM size '{size}' is not "
                           f"available in location '{vm.location}'.")
        if len(vm.data_disks) > self.max_data_disks[size]:
            raise ArmError(409, "OperationNotAllowed", f"VM size '{size}' allows "
                           f"{self.max_data_disks[size]} data disks; '{vm.name}' has "
                           f"{len(vm.data_disks)}.")
        self._count(vm, -1)
        old, vm.size = vm.size, size
        try:
            if vm.power_state != "deallocated":
                self.check_quota(vm.location, [size], subscription=arm.parse_id(vm_id).subscription)
        except ArmError:
            vm.size = old
            raise
        finally:
            self._count(vm, +1)
        return vm

    def retag(self, arm_id: str, tags: Mapping[str, str]) -> Resource:
        """The resource's tags become ``tags``."""
        resource = self.find(arm_id)
        if resource is None:
            raise ArmError(404, "ResourceNotFound", f"'{arm_id}' was not found.")
        self._drop(resource)
        resource.tags = dict(tags)
        return self._add(resource)

    def deallocate_vm(self, vm_id: str) -> VirtualMachine:
        return self.set_power_state(vm_id, "deallocated")

    def set_power_state(self, vm_id: str, power_state: str) -> VirtualMachine:
        """``running``, ``stopped`` (powered off, still allocated) or ``deallocated``;
        starting a deallocated VM needs its vCPUs within quota again."""
        vm = self.get(vm_id, VirtualMachine)
        if vm.power_state == "deallocated" and power_state != "deallocated":
            self.check_quota(vm.location, [vm.size], subscription=arm.parse_id(vm_id).subscription)
        self._count(vm, -1)  # a deallocated VM holds no vCPU quota
        vm.power_state = power_state
        self._count(vm, +1)
        return vm

    def delete_vm(self, vm_id: str) -> None:
        """Delete the VM; its disks and NIC stay, detached (ARM's default delete options)."""
        vm = self.get(vm_id, VirtualMachine)
        self._release(vm)
        self._drop(vm)

    # -- rules -------------------------------------------------------------------------

    def _group(self, arm_id: str) -> ResourceGroup:
        """The group ``arm_id`` is or is in."""
        group = self._groups.get(key_of(arm.group_id_of(arm_id)))
        if group is None:
            raise ArmError(404, "ResourceGroupNotFound",
                           f"Resource group '{arm.group_of(arm_id)}' could not be found.")
        return group

    def _new_name(self, arm_id: str) -> None:
        """The group must exist and the name be free in it."""
        self._group(arm_id)
        existing = self.find(arm_id)
        if existing is not None:
            raise ArmError(409, "Conflict", f"A resource named '{existing.name}' of type "
                           f"{existing.type} already exists in resource group "
                           f"'{existing.resource_group}'.")

    def _drop(self, resource: Resource) -> None:
        key = key_of(resource.id)
        del self._resources[key]
        members = self._members.get(key_of(arm.group_id_of(resource.id)))
        if members is not None:
            members.discard(key)
        for tag in resource.tags.items():
            self._by_tag[tag].discard(key)
        if resource.__class__ is NetworkInterface:
            self._index_ips(resource, False)
        self._count(resource, -1)

    def _add(self, resource: R) -> R:
        if resource.created_s is None:
            resource.created_s = self.now
        key = key_of(resource.id)
        self._resources[key] = resource
        if not isinstance(resource, ResourceGroup):
            self._members.setdefault(key_of(arm.group_id_of(key)), set()).add(key)
        for tag in resource.tags.items():
            self._by_tag.setdefault(tag, set()).add(key)
        if resource.__class__ is NetworkInterface:
            self._index_ips(resource, True)
        self._count(resource, +1)
        return resource

    def _attachable(self, disk: Disk, location: str, zone: str | None) -> Disk:
        if disk.managed_by:
            raise ArmError(409, "OperationNotAllowed", f"Disk '{disk.name}' is already attached "
                           f"to VM '{disk.managed_by}'.")
        self._same_location(disk, location)
        if disk.zone != zone:
            raise ArmError(400, "InvalidParameter", f"Disk '{disk.name}' is in zone "
                           f"{disk.zone}, the VM in zone {zone}.")
        return disk

    @staticmethod
    def _once(disk_ids: list[str], vm: VirtualMachine) -> None:
        """One VM update names each disk once."""
        seen: set[str] = set()
        for disk_id in disk_ids:
            key = key_of(disk_id)
            if key in seen:
                raise ArmError(400, "InvalidParameter", f"Disk '{arm.name_of(disk_id)}' is "
                               f"named twice in one update of VM '{vm.name}'.")
            seen.add(key)

    @staticmethod
    def _same_location(resource: Resource, location: str) -> None:
        if resource.location != location:
            raise ArmError(400, "InvalidParameter", f"'{resource.name}' is in "
                           f"'{resource.location}', not in '{location}'.")

    def _release(self, vm: VirtualMachine) -> None:
        for disk_id in [vm.os_disk, *vm.data_disks.values()]:
            disk = self.find(disk_id)
            if isinstance(disk, Disk):
                disk.managed_by = None
        nic = self.find(vm.nic)
        if isinstance(nic, NetworkInterface):
            nic.vm = None
