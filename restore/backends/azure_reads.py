"""What the azure backend reads: resources by id and by tag, whether an operation's effect
is there already, and the preflight checks (sizes offered, quotas, names free). Only GETs:
``AzureExecutor`` (``restore.backends.azure``) writes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import HttpResponseError

import armid as arm
from restore import ops
from restore.backends import checks
from restore.backends.checks import NO_SUBSCRIPTION, Seen
from restore.errors import CloudError
from restore.ops import Operation

if TYPE_CHECKING:
    from restore.backends.azure import AzureClients


def error_code(exc: HttpResponseError) -> str | None:
    return exc.error.code if exc.error is not None else None


class AzureReads:
    """The reads of the clients of the subscription an operation acts in (``clients``);
    a resource is read with its own subscription's."""

    clients: AzureClients

    def get(self, arm_id: str) -> Any | None:
        """The resource (an SDK model), or None when it does not exist."""
        parsed = arm.parse_id(arm_id)
        c, group, name = self.clients.of(parsed.subscription), parsed.resource_group, parsed.name
        getters: dict[str, Callable[[], Any]] = {
            arm.RESOURCE_GROUPS: lambda: c.resource.resource_groups.get(group),
            arm.DISKS: lambda: c.compute.disks.get(group, name),
            arm.SNAPSHOTS: lambda: c.compute.snapshots.get(group, name),
            arm.VIRTUAL_MACHINES: lambda: c.compute.virtual_machines.get(
                group, name, expand="instanceView"),
            arm.NETWORK_INTERFACES: lambda: c.network.network_interfaces.get(group, name),
            arm.PUBLIC_IP_ADDRESSES: lambda: c.network.public_ip_addresses.get(group, name),
            arm.NETWORK_SECURITY_GROUPS: lambda: c.network.network_security_groups.get(
                group, name),
            arm.AVAILABILITY_SETS: lambda: c.compute.availability_sets.get(group, name),
            arm.DISK_ENCRYPTION_SETS: lambda: c.compute.disk_encryption_sets.get(group, name),
            arm.VIRTUAL_NETWORKS: lambda: c.network.virtual_networks.get(group, name),
            f"{arm.VIRTUAL_NETWORKS}/subnets": lambda: c.network.subnets.get(
                group, arm_id.split("/")[-3], name),
        }
        try:
            return getters[parsed.type]()
        except HttpResponseError as exc:
            if exc.status_code == 404 and error_code(exc) != NO_SUBSCRIPTION:
                return None
            raise

    def already_done(self, op: Operation) -> bool:
        """Whether the effect of ``op`` is in the subscription already."""
        return checks.answered(checks.already_done(op), lambda arm_id: seen(self.get(arm_id)))

    def find_resources(self, op: ops.FindResources) -> list[tuple[str, str]]:
        where = f"tagName eq '{op.key}' and tagValue eq '{op.value}'"
        resource = self.clients.of(op.subscription).resource
        try:
            found = [(r.type, r.id) for r in resource.resources.list(filter=where)]
        except HttpResponseError as exc:
            if error_code(exc) == NO_SUBSCRIPTION:
                return []  # nothing was created in a subscription that does not exist
            raise
        found += [(arm.RESOURCE_GROUPS, g.id)
                  for g in resource.resource_groups.list(filter=where)]
        return sorted(found, key=lambda pair: pair[1].lower())

    def check_exists(self, op: ops.CheckExists) -> None:
        for arm_id in op.ids:
            if self.get(arm_id) is None:
                raise CloudError("ResourceNotFound", f"'{arm_id}' was not found.", 404)

    def check_names_free(self, op: ops.CheckNamesFree) -> None:
        ours = dict(op.tags)
        for arm_id in op.ids:
            found = self.get(arm_id)
            if found is not None and not ours.items() <= dict(found.tags or {}).items():
                raise CloudError("Conflict", f"The name of '{arm_id}' is taken by a resource "
                                 "this restore did not create.", 409)

    def check_quota(self, op: ops.CheckQuota) -> None:
        """The VM sizes must be offered in the location without restriction, and the VMs
        and disks must fit next to the usage (Compute's usages API)."""
        where, compute = f"location eq '{op.location}'", self.clients.of(op.subscription).compute
        offered = {sku.name: sku for sku in compute.resource_skus.list(filter=where)
                   if sku.resource_type == "virtualMachines"}
        wanted: dict[str, int] = {"cores": 0, "managedDisks": op.disks}
        for size in op.vm_sizes:
            sku = offered.get(size)
            if sku is None or sku.restrictions:
                raise CloudError("SkuNotAvailable", f"The VM size '{size}' is not available "
                                 f"in location '{op.location}'.", 409)
            vcpus = int(next((c.value for c in sku.capabilities or [] if c.name == "vCPUs"), 0))
            wanted["cores"] += vcpus
            wanted[sku.family] = wanted.get(sku.family, 0) + vcpus
        for usage in compute.usage.list(op.location):
            extra = wanted.get(usage.name.value, 0)
            if extra and usage.current_value + extra > usage.limit:
                raise CloudError("QuotaExceeded", f"Operation could not be completed as it "
                                 f"results in exceeding approved {usage.name.localized_value} "
                                 f"quota in {op.location}: limit {usage.limit}, in use "
                                 f"{usage.current_value}, requested {extra}.", 409)


def seen(resource: Any | None) -> Seen | None:
    """What the shared already-done rules need of an SDK model."""
    if resource is None:
        return None
    profile = getattr(resource, "storage_profile", None)
    if profile is None:
        return Seen(dict(resource.tags or {}))
    os_disk = profile.os_disk.managed_disk if profile.os_disk else None
    return Seen(dict(resource.tags or {}),
                {d.managed_disk.id.lower(): d.lun for d in profile.data_disks or []},
                power_state(resource), os_disk.id.lower() if os_disk and os_disk.id else "")


def power_state(vm: Any) -> str:
    statuses = vm.instance_view.statuses if vm.instance_view else []
    return next((s.code.split("/", 1)[1] for s in statuses or []
                 if s.code and s.code.startswith("PowerState/")), "unknown")
