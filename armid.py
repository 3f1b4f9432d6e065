"""Azure Resource Manager ids: build and parse them without any SDK (shared by restorelab
and fakecloud, depending on neither)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

DISKS = "Microsoft.Compute/disks"
SNAPSHOTS = "Microsoft.Compute/snapshots"
VIRTUAL_MACHINES = "Microsoft.Compute/virtualMachines"
NETWORK_INTERFACES = "Microsoft.Network/networkInterfaces"
VIRTUAL_NETWORKS = "Microsoft.Network/virtualNetworks"
RESOURCE_GROUPS = "Microsoft.Resources/resourceGroups"
PUBLIC_IP_ADDRESSES = "Microsoft.Network/publicIPAddresses"
NETWORK_SECURITY_GROUPS = "Microsoft.Network/networkSecurityGroups"
AVAILABILITY_SETS = "Microsoft.Compute/availabilitySets"
DISK_ENCRYPTION_SETS = "Microsoft.Compute/diskEncryptionSets"


def resource_group_id(subscription: str, resource_group: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{resource_group}"


def resource_id(subscription: str, resource_group: str, type_: str, name: str) -> str:
    return f"{resource_group_id(subscription, resource_group)}/providers/{type_}/{name}"


def subnet_id(subscription: str, resource_group: str, vnet: str, subnet: str) -> str:
    return f"{resource_id(subscription, resource_group, VIRTUAL_NETWORKS, vnet)}/subnets/{subnet}"


@dataclass(frozen=True, slots=True)
class ParsedId:
    subscription: str
    resource_group: str
    type: str
    name: str


@lru_cache(maxsize=4096)
def parse_id(arm_id: str) -> ParsedId:
    """Split an ARM resource id; raises ValueError naming the id when it is not one (the
    same ids come back again and again: their parts are kept)."""
    parts = arm_id.strip("/").split("/")
    if (len(parts) < 4 or parts[0].lower() != "subscriptions"
            or parts[2].lower() != "resourcegroups"):
        raise ValueError(f"not an Azure resource id: {arm_id!r}")
    if len(parts) == 4:
        return ParsedId(parts[1], parts[3], RESOURCE_GROUPS, parts[3])
    if len(parts) < 8 or parts[4].lower() != "providers" or len(parts) % 2:
        raise ValueError(f"not an Azure resource id: {arm_id!r}")
    type_ = "/".join([parts[5], *parts[6::2]])
    return ParsedId(parts[1], parts[3], type_, parts[-1])


def name_of(arm_id: str) -> str:
    return arm_id.rstrip("/").rsplit("/", 1)[-1]


def group_id_of(arm_id: str) -> str:
    """The id of the resource group holding a resource (or of the group itself)."""
    return "/".join(arm_id.split("/", 5)[:5])


def group_of(arm_id: str) -> str:
    """The resource group segment of a resource or resource group id (no validation)."""
    return arm_id.split("/", 5)[4]
