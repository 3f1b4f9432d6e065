"""What each ARM operation does to the region: read the request body as ARM does, apply the
state model's rules, and name the latency it takes.

A handler returns ``(status, result, latency kind, long-running)``; ARM's refusals are
raised as ArmError by the state model. The table at the end maps each operation (``METHOD
type[/action]``) to its handler; anything else is answered 501 NotImplementedInFake.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import armid as arm
from fakecloud.models import (
    ArmError,
    Resource,
    ResourceGroup,
)
from fakecloud.profile import OfferedSize, RegionProfile, derived
from fakecloud.region.call import ArmCall
from fakecloud.region.common import (
    Handler,
    Outcome,
    get_resource,
    location_of,
    tags_of,
)
from fakecloud.region.compute import VM_HANDLERS
from fakecloud.region.disks import DISK_HANDLERS
from fakecloud.region.network import NETWORK_HANDLERS
from fakecloud.region.storage import Queued

if TYPE_CHECKING:
    from fakecloud.region.core import Region

TAG_FILTER = re.compile(r"tagName eq '(?P<key>[^']*)' and tagValue eq '(?P<value>[^']*)'")
BLOB_CONTAINERS = "Microsoft.Storage/storageAccounts/blobServices/containers"
REHYDRATE = f"POST {BLOB_CONTAINERS}/rehydrate"
"""Bringing archived blobs back to the hot tier: a data-plane call, not ARM's."""


def rehydration(blobs: str, priority: str, size_gb: float) -> ArmCall:
    """The call bringing the archived ``blobs`` (a restore point) back at ``priority``."""
    return ArmCall("POST", BLOB_CONTAINERS, blobs, "rehydrate",
                   {"priority": priority, "sizeGB": size_gb})


# -- reads ---------------------------------------------------------------------------


def head_group(region: Region, call: ArmCall) -> Outcome:
    found = isinstance(region.state.find(call.id), ResourceGroup)
    return (204 if found else 404), None, "get_resource", False


def _by_tag(resources: list[Resource], text: str) -> list[Resource]:
    """Resources matching a ``$filter`` of tagName/tagValue (the only filter kept)."""
    if not text:
        return resources
    found = TAG_FILTER.search(text)
    if found is None:
        raise ArmError(400, "InvalidFilterInQueryString", f"fakecloud does not implement "
                       f"the filter {text!r}")
    return [r for r in resources if r.tags.get(found["key"]) == found["value"]]


def list_resources(region: Region, call: ArmCall) -> Outcome:
    """Every resource of the subscription, or (the call names a group) of one group."""
    if call.id.count("/") == 2:
        in_scope, group = region.state.in_subscription(arm.name_of(call.id)), None
    else:
        group = region.state.get(call.id, ResourceGroup).id.lower()
        in_scope = region.state.in_group(group)
    scope = (group or call.id).lower() + "/"
    found = region.lingering.listed(
        [r for r in in_scope if not isinstance(r, ResourceGroup)], region.state.now,
        lambda r: not isinstance(r, ResourceGroup) and r.id.lower().startswith(scope))
    return 200, _by_tag(found, call.filter), "find_resources", False


def list_groups(region: Region, call: ArmCall) -> Outcome:
    """Every resource group (a deleted one may linger: ``consistency``)."""
    scope = call.id.lower() + "/"
    groups = region.lingering.listed(
        [r for r in region.state.in_subscription(arm.name_of(call.id))
         if isinstance(r, ResourceGroup)],
        region.state.now, lambda r: isinstance(r, ResourceGroup) and r.id.lower().startswith(scope))
    return 200, _by_tag(groups, call.filter), "find_resources", False


def usages(region: Region, call: ArmCall) -> Outcome:
    """Compute's usages of a location: each quota's limit and what counts against it."""
    subscription, location = call.id.split("/")[2], arm.name_of(call.id)
    quotas = region.state.quotas_of(subscription)
    if quotas is None:
        return 200, [], "find_resources", False
    used = region.state.usage(location, subscription)
    limits = {"cores": ("Total Regional vCPUs", quotas.regional_vcpus, "regional_vcpus"),
              "managedDisks": ("Managed Disks", quotas.managed_disks, "managed_disks"),
              **{family: (family, limit, family) for family, limit in quotas.family_vcpus.items()}}
    return 200, [{"name": {"value": name, "localizedValue": label},
                  "currentValue": used.get(key, 0), "limit": limit, "unit": "Count"}
                 for name, (label, limit, key) in limits.items()], "find_resources", False


def skus(region: Region, call: ArmCall) -> Outcome:
    """The VM sizes the region offers, in the location the filter names."""
    found = re.search(r"location eq '([^']*)'", call.filter)
    location = found.group(1) if found else ""
    return 200, derived(region.profile, ("skus", location),
                        lambda: _skus(region.profile, location)), "find_resources", False


def _skus(profile: RegionProfile, location: str) -> list[dict[str, Any]]:
    """The resource SKUs of the VM sizes the profile offers in ``location``, with the
    zones the location has (none where it has none)."""
    def capabilities(size: OfferedSize) -> list[dict[str, str]]:
        found = [("vCPUs", size.vcpus), ("MaxDataDiskCount", size.max_data_disks),
                 ("MemoryGB", size.memory_gb)]
        return [{"name": name, "value": f"{value:g}" if isinstance(value, float) else str(value)}
                for name, value in found if value is not None]

    zones = profile.zones_in(location.replace(" ", "").lower()) or []
    return [
        {"resourceType": "virtualMachines", "name": name, "tier": "Standard",
         "size": name.removeprefix("Standard_"), "family": size.family,
         "locations": [location], "locationInfo": [{"location": location, "zones": zones}],
         "restrictions": [], "capabilities": capabilities(size)}
        for name, size in sorted(profile.offered.items())]


# -- resource groups and moves -------------------------------------------------------


def put_group(region: Region, call: ArmCall) -> Outcome:
    existed = region.state.find(call.id) is not None
    group = region.state.create_resource_group(call.id, location_of(call.body),
                                               tags_of(call.body))
    return (200 if existed else 201), group, "create_resource_group", False


def patch_group(region: Region, call: ArmCall) -> Outcome:
    """A group's update: its tags (its location cannot change)."""
    group = region.state.get(call.id, ResourceGroup)
    if call.body.get("location") and location_of(call.body) != group.location:
        raise ArmError(409, "InvalidResourceGroupLocation", f"Resource group '{group.name}' "
                       f"already exists in location '{group.location}'.")
    if "tags" in call.body:
        region.state.retag(group.id, tags_of(call.body))
    return 200, group, "create_resource_group", False


def delete_group(region: Region, call: ArmCall) -> Outcome:
    region.state.delete_resource_group(call.id)
    return 202, None, "delete_resource_group", True


def _move_parts(call: ArmCall) -> tuple[str, list[str]]:
    target = call.body.get("targetResourceGroup")
    if not target:
        raise ArmError(400, "InvalidParameter", "targetResourceGroup is required.")
    return target, list(call.body.get("resources") or [])


def validate_move(region: Region, call: ArmCall) -> Outcome:
    target, resources = _move_parts(call)
    region.state.check_move(call.id, target, resources)
    return 202, None, "find_resources", True


def move(region: Region, call: ArmCall) -> Outcome:
    target, resources = _move_parts(call)
    region.state.move_resources(call.id, target, resources)
    return 202, None, "move_resources", True


# -- storage (data plane) ------------------------------------------------------------


def rehydrate(region: Region, call: ArmCall) -> Outcome:
    """Archive to hot tier at a priority: it answers when the blobs are hot again (the
    profile's rehydration time, after the wait for their account's budget at high
    priority)."""
    size_gb = float(call.body.get("sizeGB", 0))
    waited = region.rehydrations.wait_s(call.id, size_gb, region.state.now) \
        if call.body.get("priority") == "high" else 0.0
    return 202, Queued(waited), "rehydration", False


HANDLERS: dict[str, Handler] = {
    "GET Microsoft.Resources/resources": list_resources,
    "GET Microsoft.Resources/subscriptions/resourceGroups": list_groups,
    "GET Microsoft.Resources/resourceGroups": get_resource,
    "HEAD Microsoft.Resources/resourceGroups": head_group,
    "PUT Microsoft.Resources/resourceGroups": put_group,
    "PATCH Microsoft.Resources/resourceGroups": patch_group,
    "DELETE Microsoft.Resources/resourceGroups": delete_group,
    "POST Microsoft.Resources/resourceGroups/validateMoveResources": validate_move,
    "POST Microsoft.Resources/resourceGroups/moveResources": move,
    **DISK_HANDLERS,
    **VM_HANDLERS,
    "GET Microsoft.Compute/locations/usages": usages,
    "GET Microsoft.Compute/skus": skus,
    **NETWORK_HANDLERS,
    REHYDRATE: rehydrate,
}
"""The handler of each ARM operation the region implements."""
