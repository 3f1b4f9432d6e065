"""Resources of the simulated region, with the properties ARM reports for them."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any

import armid as arm


@dataclass(slots=True)
class Resource:
    id: str
    location: str
    tags: dict[str, str] = field(default_factory=dict)
    requested: dict[str, Any] = field(default_factory=dict)  # the request's properties, echoed
    requested_top: dict[str, Any] = field(default_factory=dict)  # its other fields, echoed
    created_s: float | None = None  # when (virtual seconds) the region created it
    name: str = field(init=False)
    resource_group: str = field(init=False)

    type = ""

    def __post_init__(self) -> None:
        self.name = arm.name_of(self.id)
        self.resource_group = arm.group_of(self.id)

    def properties(self) -> dict[str, Any]:
        return {}

    def echoed(self, *keys: str) -> dict[str, Any]:
        """The request's properties of these names, those it gave."""
        return {k: self.requested[k] for k in keys if k in self.requested}

    def dump(self) -> dict[str, Any]:
        """Every field as JSON-able data (sets as sorted lists, LUN keys as strings)."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        for name, value in data.items():
            if isinstance(value, set):
                data[name] = sorted(value)
            elif isinstance(value, dict):
                data[name] = {str(k): v for k, v in value.items()}
        return {"type": self.type, **data}

    @staticmethod
    def load(data: dict[str, Any]) -> Resource:
        """The resource ``dump`` gave."""
        values = dict(data)
        kind = KINDS[values.pop("type")]
        if kind is VirtualNetwork and isinstance(values["subnets"], list):  # older journals
            values["subnets"] = dict(zip(values["subnets"], subnet_prefixes(
                values.get("address_prefixes", [DEFAULT_VNET_PREFIX])[0],
                len(values["subnets"])), strict=True))
        if kind is VirtualMachine:
            values["data_disks"] = {int(k): v for k, v in values["data_disks"].items()}
        return kind(**values)

    def copy(self) -> Resource:
        """A copy sharing no mutable field with this one."""
        clone = object.__new__(type(self))
        for name in _slots(type(self)):
            setattr(clone, name, getattr(self, name))
        clone.tags = dict(self.tags)
        return clone

    def export(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id, "name": self.name,
                "resource_group": self.resource_group, "location": self.location,
                "tags": dict(sorted(self.tags.items())), "properties": self.properties()}


def subnet_prefixes(vnet_prefix: str, count: int, taken: Iterable[str] = (),
                    size: int = 24) -> list[str]:
    """``count`` free prefixes of ``size`` bits (or the smallest the network holds) inside
    ``vnet_prefix``."""
    network = ipaddress.ip_network(vnet_prefix, strict=False)
    size = max(network.prefixlen, min(size, network.max_prefixlen - 2))
    used = [ipaddress.ip_network(t, strict=False) for t in taken]
    free = (str(n) for n in network.subnets(new_prefix=size)
            if not any(n.overlaps(u) for u in used))
    return [next(free) for _ in range(count)]


@cache
def _slots(kind: type[Resource]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind))


@dataclass(slots=True)
class ResourceGroup(Resource):
    type = arm.RESOURCE_GROUPS


@dataclass(slots=True)
class Disk(Resource):
    size_gb: int = 0
    sku: str = "Premium_LRS"
    zone: str | None = None
    managed_by: str | None = None
    create_option: str = "Empty"
    source: str | None = None

    type = arm.DISKS

    def properties(self) -> dict[str, Any]:
        return {"diskSizeGB": self.size_gb, "sku": self.sku, "zone": self.zone,
                "managedBy": self.managed_by, "createOption": self.create_option,
                "diskState": "Attached" if self.managed_by else "Unattached",
                **self.echoed("encryption")}


@dataclass(slots=True)
class Snapshot(Resource):
    size_gb: int = 0
    source: str | None = None
    create_option: str = "Copy"
    incremental: bool = False

    type = arm.SNAPSHOTS

    def properties(self) -> dict[str, Any]:
        return {"diskSizeGB": self.size_gb, "sourceResourceId": self.source}


@dataclass(slots=True)
class VirtualNetwork(Resource):
    subnets: dict[str, str] = field(default_factory=dict)  # name -> address prefix
    address_prefixes: list[str] = field(default_factory=lambda: [DEFAULT_VNET_PREFIX])
    subnet_properties: dict[str, dict[str, Any]] = field(default_factory=dict)  # echoed

    type = arm.VIRTUAL_NETWORKS

    def copy(self) -> VirtualNetwork:
        clone = Resource.copy(self)
        clone.subnets = dict(self.subnets)
        return clone

    def properties(self) -> dict[str, Any]:
        return {"subnets": sorted(self.subnets)}


DEFAULT_VNET_PREFIX = "10.0.0.0/16"


@dataclass(slots=True)
class NetworkInterface(Resource):
    subnet: str = ""  # the primary IP configuration's
    vm: str | None = None
    ip_configurations: list[dict[str, Any]] = field(default_factory=list)
    """Each: name, subnet (id), private_ip, allocation (Dynamic, Static), primary."""

    type = arm.NETWORK_INTERFACES

    def properties(self) -> dict[str, Any]:
        ips = [ip["id"] for c in self.requested.get("ipConfigurations") or []
               if (ip := (c.get("properties") or {}).get("publicIPAddress"))]
        return {"subnet": self.subnet, "virtualMachine": self.vm,
                **self.echoed("networkSecurityGroup", "enableAcceleratedNetworking"),
                **({"publicIPAddresses": ips} if ips else {})}


@dataclass(slots=True)
class VirtualMachine(Resource):
    size: str = ""
    nic: str = ""
    os_disk: str = ""
    data_disks: dict[int, str] = field(default_factory=dict)
    zone: str | None = None
    power_state: str = "running"
    custom_data: str | None = None  # osProfile.customData (base64), what cloud-init reads
    burst_spent_mb: float = 0.0  # uncached-disk burst credits spent (fakecloud/bursting.py)
    version: int = 0  # its writes so far (PUT, PATCH, power actions): what its etag says
    agent_ready_at: float | None = None  # when its VM agent reports Ready, once booted

    type = arm.VIRTUAL_MACHINES

    @property
    def etag(self) -> str:
        """ARM's ``etag`` of the VM, a quoted opaque string that changes on every write
        (what ``If-Match`` is compared with)."""
        return f'"{self.version}"'

    def copy(self) -> VirtualMachine:
        clone = Resource.copy(self)
        clone.data_disks = dict(self.data_disks)
        return clone

    def properties(self) -> dict[str, Any]:
        return {"vmSize": self.size, "networkInterface": self.nic, "osDisk": self.os_disk,
                "dataDisks": [{"lun": lun, "id": disk}
                              for lun, disk in sorted(self.data_disks.items())],
                "zone": self.zone, "powerState": self.power_state,
                **self.echoed("availabilitySet", "securityProfile")}


@dataclass(slots=True)
class AvailabilitySet(Resource):
    type = "Microsoft.Compute/availabilitySets"


@dataclass(slots=True)
class NetworkSecurityGroup(Resource):
    type = "Microsoft.Network/networkSecurityGroups"

    def properties(self) -> dict[str, Any]:
        return self.echoed("securityRules")


@dataclass(slots=True)
class PublicIPAddress(Resource):
    ip_address: str | None = None  # allocated when Static

    type = "Microsoft.Network/publicIPAddresses"

    def properties(self) -> dict[str, Any]:
        return self.echoed("publicIPAllocationMethod")


@dataclass(slots=True)
class DiskEncryptionSet(Resource):
    type = "Microsoft.Compute/diskEncryptionSets"


@dataclass(slots=True)
class VmExtension(Resource):
    type = "Microsoft.Compute/virtualMachines/extensions"


KINDS: dict[str, type[Resource]] = {kind.type: kind for kind in (
    ResourceGroup, Disk, Snapshot, VirtualNetwork, NetworkInterface, VirtualMachine,
    AvailabilitySet, NetworkSecurityGroup, PublicIPAddress, VmExtension, DiskEncryptionSet)}
