"""Region resources in ARM's wire shape (camelCase, nested ``properties``), as the
azure-mgmt-* models read them."""

from __future__ import annotations

import uuid
from typing import Any

import armid as arm
from fakecloud.clock import wall_clock
from fakecloud.models import (
    AvailabilitySet,
    CloudState,
    Disk,
    NetworkInterface,
    NetworkSecurityGroup,
    PublicIPAddress,
    Resource,
    ResourceGroup,
    Snapshot,
    VirtualMachine,
    VirtualNetwork,
)
from fakecloud.region.common import data_disk_id
from fakecloud.region.network import subnet_view

GIB = 2**30
TIME_CREATED = (Disk, Snapshot, VirtualMachine)
"""The resources whose properties ARM gives a ``timeCreated``."""


def envelope(resource: Resource, provisioning: str = "Succeeded",
             state: CloudState | None = None) -> dict[str, Any]:
    """The fields every ARM resource has, and its properties in wire form (``state``:
    where a network's subnets find who uses them)."""
    body: dict[str, Any] = {**resource.requested_top, "id": resource.id, "name": resource.name,
                            "type": resource.type, "location": resource.location,
                            "tags": dict(resource.tags)}
    if isinstance(resource, VirtualNetwork):
        properties = _vnet(resource, state)
    elif isinstance(resource, VirtualMachine):
        properties = _vm(resource, state, provisioning == "Updating")
        body["etag"] = resource.etag
        body.update(_identity(resource))
    elif type(resource) in ECHOED:
        properties, top = ECHOED[type(resource)](resource, state)
        body.update(top)
    else:
        properties = PROPERTIES.get(type(resource), _as_requested)(resource)
    body["properties"] = {**properties, "provisioningState": provisioning}
    if resource.created_s is not None and type(resource) in TIME_CREATED:
        body["properties"]["timeCreated"] = wall_clock(resource.created_s)
    if isinstance(resource, Disk):
        body["sku"] = {"name": resource.sku}
        if resource.managed_by:
            body["managedBy"] = resource.managed_by
    zone = getattr(resource, "zone", None)
    if zone:
        body["zones"] = [zone]
    return body


def summary(resource: Resource) -> dict[str, Any]:
    """A resource as the generic resources list shows it."""
    return {"id": resource.id, "name": resource.name, "type": resource.type,
            "location": resource.location, "tags": dict(resource.tags)}


def _disk(disk: Disk) -> dict[str, Any]:
    creation = {**(disk.requested.get("creationData") or {}), "createOption": disk.create_option}
    if disk.source:
        creation["sourceResourceId"] = disk.source
    return {**disk.requested, "diskSizeGB": disk.size_gb, "diskSizeBytes": disk.size_gb * GIB,
            "creationData": creation, "uniqueId": unique_id(disk),
            "diskState": "Attached" if disk.managed_by else "Unattached"}


def _snapshot(snapshot: Snapshot) -> dict[str, Any]:
    creation = {**(snapshot.requested.get("creationData") or {}),
                "createOption": snapshot.create_option, "sourceResourceId": snapshot.source}
    return {**snapshot.requested, "diskSizeGB": snapshot.size_gb,
            "diskSizeBytes": snapshot.size_gb * GIB, "creationData": creation,
            "incremental": snapshot.incremental, "uniqueId": unique_id(snapshot)}


def _as_requested(resource: Resource) -> dict[str, Any]:
    """A resource the fake keeps as its request said (a VM extension): that, echoed."""
    return dict(resource.requested)


def unique_id(resource: Resource) -> str:
    """A stable GUID of the resource (ARM's ``uniqueId``, ``vmId``): the same id, the same
    GUID."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, resource.id.lower()))


def _identity(resource: Resource) -> dict[str, Any]:
    """A system-assigned identity as ARM shows it: with the principal and tenant ids ARM
    gives it (stable GUIDs here, the same for the life of the resource)."""
    identity = resource.requested_top.get("identity")
    if not isinstance(identity, dict) or "systemassigned" not in str(
            identity.get("type", "")).lower():
        return {}
    principal = str(uuid.uuid5(uuid.NAMESPACE_URL, resource.id.lower() + "/identity"))
    tenant = str(uuid.uuid5(uuid.NAMESPACE_URL, resource.id.split("/")[2].lower()))
    return {"identity": {**identity, "principalId": principal, "tenantId": tenant}}


def _nic(nic: NetworkInterface) -> dict[str, Any]:
    requested = {c.get("name"): c.get("properties") or {}
                 for c in nic.requested.get("ipConfigurations") or []}
    properties: dict[str, Any] = {**nic.requested, "resourceGuid": unique_id(nic),
                                  "ipConfigurations": [
        {"id": f"{nic.id}/ipConfigurations/{c['name']}", "name": c["name"],
         "type": f"{arm.NETWORK_INTERFACES}/ipConfigurations",
         "properties": {**requested.get(c["name"], {}), "privateIPAddress": c["private_ip"],
                        "privateIPAllocationMethod": c["allocation"],
                        "privateIPAddressVersion": "IPv4", "subnet": {"id": c["subnet"]},
                        "primary": c["primary"], "provisioningState": "Succeeded"}}
        for c in nic.ip_configurations]}
    if nic.vm:
        properties["virtualMachine"] = {"id": nic.vm}
    return properties


def _vnet(vnet: VirtualNetwork, state: CloudState | None) -> dict[str, Any]:
    subnets = [subnet_view(state, vnet, name) for name in vnet.subnets] if state else []
    return {**vnet.requested, "addressSpace": {"addressPrefixes": list(vnet.address_prefixes)},
            "subnets": subnets, "resourceGuid": unique_id(vnet)}


def _vm(vm: VirtualMachine, state: CloudState | None = None, updating: bool = False
        ) -> dict[str, Any]:
    """A VM's properties; while an update runs (``updating``), the data disks it detaches
    still listed as its request marked them (``toBeDetached``), as ARM lists them."""
    requested = vm.requested
    storage = requested.get("storageProfile") or {}
    asked = {int(d["lun"]): d for d in storage.get("dataDisks") or [] if "lun" in d}

    def managed(disk_id: str, option: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": arm.name_of(disk_id), "createOption": option,
                                 "managedDisk": {"id": disk_id}}
        disk = state.find(disk_id) if state else None
        if isinstance(disk, Disk):
            entry["managedDisk"]["storageAccountType"] = disk.sku
            entry["diskSizeGB"] = disk.size_gb
        return entry

    os_disk = state.find(vm.os_disk) if state else None
    from_image = isinstance(os_disk, Disk) and os_disk.create_option == "FromImage"
    profile: dict[str, Any] = {
        "osDisk": {**(storage.get("osDisk") or {}),
                   **managed(vm.os_disk, "FromImage" if from_image else "Attach"),
                   "osType": (storage.get("osDisk") or {}).get("osType", "Linux")},
        "dataDisks": [{**asked.get(lun, {}), "lun": lun,
                       **managed(disk, asked.get(lun, {}).get("createOption", "Attach"))}
                      for lun, disk in sorted(vm.data_disks.items())]}
    if updating:
        leaving = [{**managed(data_disk_id(vm, entry), "Attach"), **entry}
                   for lun, entry in asked.items()
                   if entry.get("toBeDetached") and lun not in vm.data_disks]
        profile["dataDisks"] = sorted(profile["dataDisks"] + leaving, key=lambda d: d["lun"])
    if storage.get("imageReference"):
        profile["imageReference"] = storage["imageReference"]
    properties: dict[str, Any] = {
        **requested, "vmId": unique_id(vm), "hardwareProfile": {"vmSize": vm.size},
        "storageProfile": profile,
        "networkProfile": requested.get("networkProfile") or {
            "networkInterfaces": [{"id": vm.nic}]}}
    if "osProfile" in requested:
        properties["osProfile"] = {k: v for k, v in requested["osProfile"].items()
                                   if k not in WRITE_ONLY}
    return properties


def _nsg(nsg: NetworkSecurityGroup, state: CloudState | None) -> tuple[dict, dict]:
    rules = [{**rule, "id": f"{nsg.id}/securityRules/{rule.get('name')}",
              "properties": {**(rule.get("properties") or {}), "provisioningState": "Succeeded"}}
             for rule in nsg.requested.get("securityRules") or []]
    defaults = [{"name": name, "id": f"{nsg.id}/defaultSecurityRules/{name}", "properties": {
        "description": description, "access": access, "direction": direction,
        "priority": priority, "protocol": "*", "sourcePortRange": "*",
        "destinationPortRange": "*", "sourceAddressPrefix": source,
        "destinationAddressPrefix": destination, "provisioningState": "Succeeded"}}
        for name, description, access, direction, priority, source, destination
        in DEFAULT_SECURITY_RULES]
    properties = {**nsg.requested, "securityRules": rules, "defaultSecurityRules": defaults,
                  "resourceGuid": unique_id(nsg)}
    users = state.referrers(nsg.id) if state else []
    nics = [{"id": u} for u in users if "/networkinterfaces/" in u.lower()]
    if nics:
        properties["networkInterfaces"] = nics
    return properties, {}


DEFAULT_SECURITY_RULES = (
    ("AllowVnetInBound", "Allow inbound traffic from all VMs in VNET", "Allow", "Inbound",
     65000, "VirtualNetwork", "VirtualNetwork"),
    ("AllowAzureLoadBalancerInBound", "Allow inbound traffic from azure load balancer",
     "Allow", "Inbound", 65001, "AzureLoadBalancer", "*"),
    ("DenyAllInBound", "Deny all inbound traffic", "Deny", "Inbound", 65500, "*", "*"),
    ("AllowVnetOutBound", "Allow outbound traffic from all VMs to all VMs in VNET", "Allow",
     "Outbound", 65000, "VirtualNetwork", "VirtualNetwork"),
    ("AllowInternetOutBound", "Allow outbound traffic from all VMs to Internet", "Allow",
     "Outbound", 65001, "*", "Internet"),
    ("DenyAllOutBound", "Deny all outbound traffic", "Deny", "Outbound", 65500, "*", "*"),
)
"""The rules every network security group has: "Network security groups", Default
security rules, Microsoft Learn (virtual-network/network-security-groups-overview)."""


def _public_ip(ip: PublicIPAddress, state: CloudState | None) -> tuple[dict, dict]:
    sku = (ip.requested_top.get("sku") or {}).get("name", "Basic")
    method = ip.requested.get("publicIPAllocationMethod") or (
        "Static" if sku == "Standard" else "Dynamic")
    properties: dict[str, Any] = {**ip.requested, "publicIPAllocationMethod": method,
                                  "publicIPAddressVersion": ip.requested.get(
                                      "publicIPAddressVersion", "IPv4"),
                                  "idleTimeoutInMinutes": ip.requested.get(
                                      "idleTimeoutInMinutes", 4),
                                  "resourceGuid": unique_id(ip)}
    users = state.referrers(ip.id) if state else []
    if method == "Static" or users:
        properties["ipAddress"] = _public_address(ip)
    if users:
        properties["ipConfiguration"] = {"id": _config_using(state, users[0], ip.id)}
    dns = ip.requested.get("dnsSettings") or {}
    if dns.get("domainNameLabel"):
        properties["dnsSettings"] = {**dns, "fqdn": f"{dns['domainNameLabel']}."
                                                    f"{ip.location}.cloudapp.azure.com"}
    return properties, {"sku": {"name": sku, **(ip.requested_top.get("sku") or {})}}


def _public_address(ip: PublicIPAddress) -> str:
    """A stable address in 20.0.0.0/8 (a block Azure uses) for the public IP."""
    number = uuid.UUID(unique_id(ip)).int
    return f"20.{number >> 16 & 255}.{number >> 8 & 255}.{max(number & 255, 4)}"


def _config_using(state: CloudState | None, nic_id: str, ip_id: str) -> str:
    nic = state.find(nic_id) if state else None
    for config in (nic.requested.get("ipConfigurations") or []) if nic else []:
        public = ((config.get("properties") or {}).get("publicIPAddress") or {}).get("id", "")
        if public.strip("/").lower() == ip_id.strip("/").lower():
            return f"{nic_id}/ipConfigurations/{config.get('name')}"
    return nic_id


def _availability_set(aset: AvailabilitySet, state: CloudState | None) -> tuple[dict, dict]:
    users = state.referrers(aset.id) if state else []
    properties = {"platformFaultDomainCount": 2, "platformUpdateDomainCount": 5,
                  **aset.requested,
                  "virtualMachines": [{"id": u} for u in users
                                      if "/virtualmachines/" in u.lower()]}
    return properties, {"sku": aset.requested_top.get("sku") or {"name": "Classic"}}


ECHOED = {NetworkSecurityGroup: _nsg, PublicIPAddress: _public_ip,
          AvailabilitySet: _availability_set}
"""Resources kept as their request said, and what ARM adds to them."""


WRITE_ONLY = frozenset({"adminPassword", "customData"})
"""What ARM takes in a VM's osProfile and never returns."""


PROPERTIES = {Disk: _disk, Snapshot: _snapshot, NetworkInterface: _nic, VirtualMachine: _vm,
              ResourceGroup: lambda group: {}}
