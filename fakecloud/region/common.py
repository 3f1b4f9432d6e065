"""What the handlers of every resource type share: reading a request as ARM does (tags,
location, zones, references), GET of one resource or a list, and DELETE."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import armid as arm
from fakecloud.models import ArmError, Resource, ResourceGroup
from fakecloud.region.call import ArmCall

if TYPE_CHECKING:
    from fakecloud.profile import RegionProfile
    from fakecloud.region.core import Region

R = TypeVar("R", bound=Resource)
Outcome = tuple[int, Any, str, bool]
Handler = Callable[["Region", ArmCall], Outcome]


def not_found(arm_id: str) -> ArmError:
    parsed = arm.parse_id(arm_id)
    return ArmError(404, "ResourceNotFound", f"The Resource '{parsed.type}/{parsed.name}' "
                    f"under resource group '{parsed.resource_group}' was not found.")


def tags_of(body: dict[str, Any]) -> dict[str, str]:
    return dict(body.get("tags") or {})


def location_of(body: dict[str, Any]) -> str:
    """The request's location as ARM keeps it: ``West US`` is ``westus``."""
    return str(body.get("location") or "").replace(" ", "").lower()


def check_location(profile: RegionProfile, call: ArmCall) -> None:
    """ARM's refusal of a PUT to a location the region does not have (400), as ARM words
    it for a resource group and for any other type; a PUT without a location passes."""
    location = location_of(call.body)
    if not location or profile.zones_in(location) is not None:
        return
    known = ",".join(profile.locations.names)
    if call.type == arm.RESOURCE_GROUPS:
        raise ArmError(400, "LocationNotAvailableForResourceGroup", f"The provided location "
                       f"'{location}' is not available for resource group. List of available "
                       f"regions is '{known}'.")
    raise ArmError(400, "LocationNotAvailableForResourceType", f"The provided location "
                   f"'{location}' is not available for resource type '{call.type}'. List of "
                   f"available regions for the resource type is '{known}'.")


def zone_of(body: dict[str, Any]) -> str | None:
    zones = body.get("zones") or []
    return zones[0] if zones else None


def normal_id(arm_id: str) -> str:
    """An id as ARM reads it: with its leading slash."""
    return arm_id if arm_id.startswith("/") else f"/{arm_id}"


def data_disk_id(vm: Resource, entry: dict[str, Any]) -> str:
    """The disk a VM's data disk entry names: its ``managedDisk.id``, else its name (ARM's
    default name for the LUN) in the VM's group."""
    managed = (entry.get("managedDisk") or {}).get("id")
    if managed:
        return normal_id(managed)
    name = entry.get("name") or f"{vm.name}_DataDisk_{entry.get('lun')}"
    return arm.resource_id(arm.parse_id(vm.id).subscription, vm.resource_group, arm.DISKS,
                           name)


def missing(name: str) -> ArmError:
    return ArmError(400, "InvalidParameter", f"Required parameter '{name}' is missing (null).")


ENVELOPE = frozenset({"id", "name", "type", "location", "tags", "properties"})
"""The request fields every resource's envelope says itself; any other is echoed as sent
(where the model keeps one, as a disk's SKU, the model's wins)."""


def remember(resource: R, body: dict[str, Any]) -> R:
    """Keep what the request said, for the resource to read back as ARM echoes it."""
    resource.requested = body.get("properties") or {}
    resource.requested_top = {k: v for k, v in body.items() if k not in ENVELOPE}
    return resource


def get_or_list(region: Region, call: ArmCall) -> Outcome:
    """GET of one resource of the call's type, or of all of them in the call's scope (a
    subscription or a resource group)."""
    if _is_scope(call.id):
        return 200, list_in(region, call.type, call.id), "find_resources", False
    return get_resource(region, call)


def list_in(region: Region, type_: str, scope: str) -> list[Resource]:
    """The resources of ``type_`` in a subscription's or a group's scope (404 for a group
    that does not exist); a deleted one may linger (``consistency``)."""
    if "/resourcegroups/" in scope.lower():
        live = region.state.in_group(region.state.get(scope, ResourceGroup).id)
    else:
        live = region.state.in_subscription(arm.name_of(scope))
    inside = scope.lower().rstrip("/") + "/"

    def wanted(r: Resource) -> bool:
        return r.type.lower() == type_.lower() and r.id.lower().startswith(inside)

    return region.lingering.listed([r for r in live if wanted(r)], region.state.now, wanted)


def _is_scope(arm_id: str) -> bool:
    parts = arm_id.strip("/").split("/")
    return len(parts) in (2, 4)


def get_resource(region: Region, call: ArmCall) -> Outcome:
    found = region.state.find(call.id)
    if found is None or (found.type != call.type and found.type.lower() != call.type.lower()):
        group = call.id if call.type == arm.RESOURCE_GROUPS else arm.group_id_of(call.id)
        if region.state.find(group) is None:
            raise ArmError(404, "ResourceGroupNotFound",
                           f"Resource group '{arm.name_of(group)}' could not be found.")
        raise not_found(call.id)
    return 200, found, "get_resource", False


def delete_handler(kind: str, delete: Callable[[Any, str], None],
                   long_running: bool = True) -> Handler:
    def handler(region: Region, call: ArmCall) -> Outcome:
        if region.state.find(call.id) is None:
            region.state.get(arm.group_id_of(call.id), ResourceGroup)  # else 404 group
            return 204, None, "get_resource", False
        delete(region.state, call.id)
        return (202 if long_running else 200), None, kind, long_running

    return handler




def echoed(kind: type[Resource], latency: str, long_running: bool) -> Handler:
    """PUT of a resource the fake keeps as its request said (create, or replace)."""
    def handler(region: Region, call: ArmCall) -> Outcome:
        made = remember(kind(call.id, location_of(call.body), tags_of(call.body)), call.body)
        _, existed = region.state.put_echoed(made)
        return (200 if existed or not long_running else 201), made, latency, long_running

    return handler


def patch_echoed(region: Region, call: ArmCall) -> Outcome:
    """PATCH of a resource kept as its request said: what it sets is merged in."""
    found = get_resource(region, call)[1]
    if "tags" in call.body:
        region.state.retag(found.id, tags_of(call.body))
    remember(found, {**found.requested_top, **call.body,
                     "properties": {**found.requested, **(call.body.get("properties") or {})}})
    return 200, found, "create_nic", True


def echoed_handlers(kind: type[Resource], latency: str, delete_latency: str,
                    long_running: bool) -> dict[str, Handler]:
    """GET (one or a list), PUT and DELETE of a resource kept as its request said."""
    return {f"GET {kind.type}": get_or_list,
            f"PUT {kind.type}": echoed(kind, latency, long_running),
            f"DELETE {kind.type}": delete_handler(
                delete_latency, lambda state, i: state.delete_echoed(i), long_running)}
