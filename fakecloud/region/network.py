"""Microsoft.Network's operations on the region: virtual networks, subnets and network
interfaces, read from requests as ARM reads them. Network writes are long-running (the
Azure-AsyncOperation header) and take the profile's ``create_nic``/``delete_nic`` latency
(a network resource PUT or DELETE)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import armid as arm
from fakecloud.models import (
    ArmError,
    NetworkInterface,
    NetworkSecurityGroup,
    PublicIPAddress,
    VirtualNetwork,
)
from fakecloud.region.common import (
    Handler,
    Outcome,
    delete_handler,
    echoed,
    echoed_handlers,
    get_or_list,
    location_of,
    missing,
    normal_id,
    not_found,
    remember,
    tags_of,
)
from fakecloud.region.references import check_nic_references

if TYPE_CHECKING:
    from fakecloud.models import CloudState
    from fakecloud.region.call import ArmCall
    from fakecloud.region.core import Region

SUBNETS = f"{arm.VIRTUAL_NETWORKS}/subnets"


def put_vnet(region: Region, call: ArmCall) -> Outcome:
    """Create or update a virtual network with its address space and subnets."""
    props = call.body.get("properties") or {}
    prefixes = list((props.get("addressSpace") or {}).get("addressPrefixes") or [])
    if not prefixes and (props.get("addressSpace") or {}).get("ipamPoolPrefixAllocations"):
        raise ArmError(501, "NotImplementedInFake", "fakecloud does not allocate address "
                       "space from IPAM pools (ipamPoolPrefixAllocations)")
    if not prefixes:
        raise missing("properties.addressSpace.addressPrefixes")
    subnets = {_subnet_name(s): _subnet_prefix(s) for s in props.get("subnets") or []}
    subnet_properties = {_subnet_name(s): s.get("properties") or {}
                         for s in props.get("subnets") or []}
    existing = region.state.find(call.id)
    if isinstance(existing, VirtualNetwork):
        region.state.update_virtual_network(existing, subnets, prefixes, tags_of(call.body))
        remember(existing, call.body).subnet_properties = subnet_properties
        return 200, existing, "create_nic", True
    vnet = region.state.create_virtual_network(call.id, location_of(call.body), subnets,
                                               prefixes, tags_of(call.body))
    remember(vnet, call.body).subnet_properties = subnet_properties
    return 201, vnet, "create_nic", True


def _subnet_name(subnet: dict[str, Any]) -> str:
    name = subnet.get("name")
    if not name:
        raise missing("properties.subnets[].name")
    return str(name)


def _subnet_prefix(subnet: dict[str, Any]) -> str:
    props = subnet.get("properties") or {}
    prefix = props.get("addressPrefix") or (props.get("addressPrefixes") or [None])[0]
    if not prefix:
        raise missing(f"properties.subnets[{subnet.get('name')}].properties.addressPrefix")
    return str(prefix)


def put_subnet(region: Region, call: ArmCall) -> Outcome:
    vnet, name = region.state.subnet_parts(call.id)
    existed = name in vnet.subnets
    props = call.body.get("properties") or {}
    region.state.put_subnet(call.id, _subnet_prefix({"name": name, "properties": props}))
    vnet.subnet_properties = {**vnet.subnet_properties, name: props}
    return (200 if existed else 201), subnet_view(region.state, vnet, name), "create_nic", True


def get_subnet(region: Region, call: ArmCall) -> Outcome:
    """One subnet, or (the call names its network) all of them."""
    if "/subnets/" not in call.id.lower():
        return list_subnets(region, call)
    vnet_id, _, name = call.id.rpartition("/subnets/")
    vnet = region.state.find(vnet_id)
    if not isinstance(vnet, VirtualNetwork) or name not in vnet.subnets:
        raise not_found(call.id)
    return 200, subnet_view(region.state, vnet, name), "get_resource", False


def list_subnets(region: Region, call: ArmCall) -> Outcome:
    vnet = region.state.get(call.id, VirtualNetwork)
    return 200, [subnet_view(region.state, vnet, name) for name in vnet.subnets], \
        "find_resources", False


def delete_subnet(region: Region, call: ArmCall) -> Outcome:
    if not region.state.delete_subnet(call.id):
        return 204, None, "get_resource", False
    return 202, None, "delete_nic", True


def subnet_view(state: CloudState, vnet: VirtualNetwork, name: str) -> dict[str, Any]:
    """A subnet in ARM's wire shape."""
    subnet_id = f"{vnet.id}/subnets/{name}"
    properties: dict[str, Any] = {**vnet.subnet_properties.get(name, {}),
                                  "addressPrefix": vnet.subnets[name],
                                  "provisioningState": "Succeeded"}
    users = state.subnet_users(subnet_id)
    if users:
        properties["ipConfigurations"] = [{"id": user} for user in users]
    return {"id": subnet_id, "name": name, "type": SUBNETS, "properties": properties}


def put_nic(region: Region, call: ArmCall) -> Outcome:
    existing = region.state.find(call.id)
    if isinstance(existing, NetworkInterface):
        return 200, existing, "get_resource", False
    props = call.body.get("properties") or {}
    configs = props.get("ipConfigurations") or []
    if not configs:
        raise missing("properties.ipConfigurations")
    made = [_ip_configuration(c) for c in configs]
    for config in made:  # a secondary configuration without a subnet is in the primary's
        config["subnet"] = config["subnet"] or made[0]["subnet"]
    if not made[0]["subnet"]:
        raise ArmError(400, "InvalidParameter", f"IP configuration '{configs[0].get('name')}' "
                       "needs properties.subnet.id.")
    check_nic_references(region.state, call)
    nic = region.state.create_nic(call.id, location_of(call.body), tags=tags_of(call.body),
                                  ip_configurations=made)
    remember(nic, call.body)
    return 201, nic, "create_nic", True


def _ip_configuration(config: dict[str, Any]) -> dict[str, Any]:
    props = config.get("properties") or {}
    subnet = (props.get("subnet") or {}).get("id") or ""
    static = (props.get("privateIPAllocationMethod") or "").lower() == "static"
    if static and not props.get("privateIPAddress"):
        raise missing("properties.ipConfigurations[].properties.privateIPAddress")
    return {"name": config.get("name"), "subnet": normal_id(subnet) if subnet else "",
            "private_ip": props.get("privateIPAddress") if static else None,
            "primary": bool(props.get("primary"))}


_PUBLIC_IP_PUT = echoed(PublicIPAddress, "create_nic", long_running=True)


def put_public_ip(region: Region, call: ArmCall) -> Outcome:
    """A public IP kept as its request said; a Standard one is static only. ARM's answer,
    as users quote it (MicrosoftDocs/azure-docs#42889): 400
    ``StandardSkuPublicIPAddressesMustBeStatic``."""
    sku = (call.body.get("sku") or {}).get("name") or ""
    method = (call.body.get("properties") or {}).get("publicIPAllocationMethod") or ""
    if sku.lower() == "standard" and method.lower() == "dynamic":
        raise ArmError(400, "StandardSkuPublicIPAddressesMustBeStatic", f"Standard sku "
                       f"publicIp {call.id} must have AllocationMethod set to Static.")
    return _PUBLIC_IP_PUT(region, call)


NETWORK_HANDLERS: dict[str, Handler] = {
    **echoed_handlers(NetworkSecurityGroup, "create_nic", "delete_nic", long_running=True),
    **echoed_handlers(PublicIPAddress, "create_nic", "delete_nic", long_running=True),
    f"PUT {PublicIPAddress.type}": put_public_ip,
    "GET Microsoft.Network/networkInterfaces": get_or_list,
    "PUT Microsoft.Network/networkInterfaces": put_nic,
    "DELETE Microsoft.Network/networkInterfaces": delete_handler(
        "delete_nic", lambda state, i: state.delete_nic(i)),
    "GET Microsoft.Network/virtualNetworks": get_or_list,
    "PUT Microsoft.Network/virtualNetworks": put_vnet,
    "DELETE Microsoft.Network/virtualNetworks": delete_handler(
        "delete_nic", lambda state, i: state.delete_virtual_network(i)),
    f"GET {SUBNETS}": get_subnet,
    f"PUT {SUBNETS}": put_subnet,
    f"DELETE {SUBNETS}": delete_subnet,
}
"""The handler of each Microsoft.Network operation the region implements."""
