"""Virtual networks, subnets and network interfaces, with ARM's rules: address prefixes
inside the network's space, private IPs allocated from the subnet (Azure keeps the first
four and the last address), and nothing in use deleted. Mixed into ``CloudState``."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from fakecloud.models.errors import ArmError, key_of
from fakecloud.models.resources import (
    DEFAULT_VNET_PREFIX,
    NetworkInterface,
    NetworkSecurityGroup,
    PublicIPAddress,
    Resource,
    VirtualNetwork,
    subnet_prefixes,
)

AZURE_RESERVED_FIRST = 4
"""Azure reserves a subnet's first four addresses (and its last): "Are there any
restrictions on using IP addresses within these subnets?", Azure Virtual Network FAQ."""


class NetworkRules:
    """The network part of a subscription's state (``CloudState`` supplies the store)."""

    def create_virtual_network(self, vnet_id: str, location: str,
                               subnets: Iterable[str] | Mapping[str, str] = (),
                               address_prefixes: list[str] | None = None,
                               tags: Mapping[str, str] = {}) -> VirtualNetwork:
        """A network with ``subnets`` (names, given /24s in its space, or name -> prefix)."""
        self._new_name(vnet_id)  # type: ignore[attr-defined]
        prefixes = address_prefixes or [DEFAULT_VNET_PREFIX]
        vnet = VirtualNetwork(vnet_id, location, dict(tags), address_prefixes=prefixes,
                              subnets=self._subnet_prefixes(prefixes, subnets))
        return self._add(vnet)  # type: ignore[attr-defined]

    def update_virtual_network(self, vnet: VirtualNetwork, subnets: Mapping[str, str],
                               address_prefixes: list[str], tags: Mapping[str, str]) -> None:
        """PUT on an existing network: its space and subnets become the ones given; a
        subnet in use cannot go."""
        for name in set(vnet.subnets) - set(subnets):
            self._refuse_in_use(f"{vnet.id}/subnets/{name}")
        self._check_in_space(address_prefixes, subnets)
        self._drop(vnet)  # type: ignore[attr-defined]
        vnet.address_prefixes, vnet.subnets, vnet.tags = address_prefixes, dict(subnets), dict(tags)
        self._add(vnet)  # type: ignore[attr-defined]

    def delete_virtual_network(self, vnet_id: str) -> None:
        vnet = self.get(vnet_id, VirtualNetwork)  # type: ignore[attr-defined]
        for name in vnet.subnets:
            self._refuse_in_use(f"{vnet.id}/subnets/{name}")
        self._drop(vnet)  # type: ignore[attr-defined]

    def put_subnet(self, subnet_id: str, address_prefix: str | None) -> str:
        """Create or update a subnet; ``address_prefix`` None: the next free /24. Returns
        its prefix."""
        vnet, name = self.subnet_parts(subnet_id)
        if address_prefix is None:
            address_prefix = vnet.subnets.get(name) or subnet_prefixes(
                vnet.address_prefixes[0], 1, [p for n, p in vnet.subnets.items() if n != name])[0]
        wanted = {**vnet.subnets, name: address_prefix}
        self._check_in_space(vnet.address_prefixes, wanted)
        vnet.subnets = wanted
        return address_prefix

    def delete_subnet(self, subnet_id: str) -> bool:
        """Delete a subnet not in use; False when there was none."""
        vnet, name = self.subnet_parts(subnet_id)
        if name not in vnet.subnets:
            return False
        self._refuse_in_use(subnet_id)
        vnet.subnets = {n: p for n, p in vnet.subnets.items() if n != name}
        return True

    def subnet_parts(self, subnet_id: str) -> tuple[VirtualNetwork, str]:
        """The subnet's network (404 if there is none) and the subnet's name."""
        vnet_id, _, name = subnet_id.rpartition("/subnets/")
        return self.get(vnet_id, VirtualNetwork), name  # type: ignore[attr-defined]

    def subnet_users(self, subnet_id: str) -> list[str]:
        """Ids of the IP configurations in the subnet."""
        return sorted(self._ips.get(key_of(subnet_id), {}).values())  # type: ignore[attr-defined]

    def _index_ips(self, nic: NetworkInterface, present: bool) -> None:
        """Keep each subnet's addresses in use as NICs come and go (and move)."""
        for config in nic.ip_configurations:
            ips = self._ips.setdefault(key_of(config["subnet"]), {})  # type: ignore[attr-defined]
            if present:
                ips[config["private_ip"]] = f"{nic.id}/ipConfigurations/{config['name']}"
            else:
                ips.pop(config["private_ip"], None)

    def create_nic(self, nic_id: str, location: str, subnet: str = "",
                   tags: Mapping[str, str] = {},
                   ip_configurations: list[dict[str, Any]] | None = None) -> NetworkInterface:
        """A NIC with one dynamic IP configuration in ``subnet``, or the ones given (each:
        name, subnet, private_ip (Static when given), primary)."""
        self._new_name(nic_id)  # type: ignore[attr-defined]
        configs = ip_configurations or [{"name": "ipconfig1", "subnet": subnet}]
        primary_named = any(config.get("primary") for config in configs)
        made: list[dict[str, Any]] = []
        for config in configs:
            _in_its_subscription(config.get("subnet") or "", nic_id)
            made.append(self._ip_configuration(config, location,
                                               not made and not primary_named, made))
        primary = next(config for config in made if config["primary"])
        return self._add(NetworkInterface(nic_id, location, dict(tags),  # type: ignore[attr-defined]
                                          subnet=primary["subnet"], ip_configurations=made))

    def delete_nic(self, nic_id: str) -> None:
        nic = self.get(nic_id, NetworkInterface)  # type: ignore[attr-defined]
        if nic.vm:
            raise ArmError(400, "NicInUse", f"Network interface '{nic.name}' is used by VM "
                           f"'{nic.vm}'.")
        self._drop(nic)  # type: ignore[attr-defined]

    def put_echoed(self, resource: Resource) -> tuple[Resource, bool]:
        """Create (or, same id, replace) a resource whose properties are what its request
        said; whether it existed."""
        existing = self.find(resource.id)  # type: ignore[attr-defined]
        if existing is not None and type(existing) is not type(resource):
            self._new_name(resource.id)  # type: ignore[attr-defined]  # 409: another type
        if existing is None:
            self._new_name(resource.id)  # type: ignore[attr-defined]
        else:
            self._drop(existing)  # type: ignore[attr-defined]
        self._add(resource)  # type: ignore[attr-defined]
        return resource, existing is not None

    def delete_echoed(self, arm_id: str) -> None:
        """Delete a security group, public IP or availability set nothing uses."""
        resource = self.find(arm_id)  # type: ignore[attr-defined]
        users = self.referrers(arm_id)
        if users:
            code = {NetworkSecurityGroup: "InUseNetworkSecurityGroupCannotBeDeleted",
                    PublicIPAddress: "PublicIPAddressCannotBeDeleted"}.get(
                type(resource), "OperationNotAllowed")
            raise ArmError(400 if code != "OperationNotAllowed" else 409, code,
                           f"{resource.type} '{resource.name}' is in use by {users[0]} and "
                           "cannot be deleted.")
        self._drop(resource)  # type: ignore[attr-defined]

    def referrers(self, arm_id: str) -> list[str]:
        """Ids of the resources whose request names ``arm_id`` (a NIC's security group or
        public IP, a subnet's security group, a VM's availability set)."""
        wanted = key_of(arm_id)
        return sorted(r.id for r in self.resources()  # type: ignore[attr-defined]
                      if r.id.lower() != wanted and wanted in _ids_in(r.requested)
                      or isinstance(r, VirtualNetwork) and wanted in _ids_in(r.subnet_properties))

    # -- rules -------------------------------------------------------------------------

    def _ip_configuration(self, config: dict[str, Any], location: str, first: bool,
                          before: list[dict[str, Any]]) -> dict[str, Any]:
        subnet = config.get("subnet") or ""
        vnet_id, _, name = subnet.rpartition("/subnets/")
        vnet = self.find(vnet_id)  # type: ignore[attr-defined]
        if not isinstance(vnet, VirtualNetwork) or name not in vnet.subnets:
            raise ArmError(400, "InvalidResourceReference", f"Subnet '{subnet}' was not found.")
        if vnet.location != location:
            raise ArmError(400, "InvalidResourceReference", f"Subnet '{subnet}' is in "
                           f"'{vnet.location}', the network interface in '{location}'.")
        taken = {c["private_ip"] for c in before if key_of(c["subnet"]) == key_of(subnet)}
        static = config.get("private_ip")
        address = self._static_ip(vnet.subnets[name], static, subnet, taken) if static \
            else self._next_ip(vnet.subnets[name], subnet, taken)
        return {"name": config.get("name") or "ipconfig1", "subnet": vnet.id + "/subnets/" + name,
                "private_ip": address, "allocation": "Static" if static else "Dynamic",
                "primary": bool(config.get("primary")) or first}

    def _in_use(self, subnet_id: str) -> set[str]:
        return set(self._ips.get(key_of(subnet_id), ()))  # type: ignore[attr-defined]

    def _next_ip(self, prefix: str, subnet_id: str, taken: set[str]) -> str:
        used = self._in_use(subnet_id) | taken
        network = ipaddress.ip_network(prefix, strict=False)
        for offset in range(AZURE_RESERVED_FIRST, network.num_addresses - 1):
            address = str(network[offset])
            if address not in used:
                return address
        raise ArmError(400, "SubnetIsFull", f"Subnet '{subnet_id}' has no free address.")

    def _static_ip(self, prefix: str, address: str, subnet_id: str, taken: set[str]) -> str:
        network = ipaddress.ip_network(prefix, strict=False)
        try:
            offset = int(ipaddress.ip_address(address)) - int(network.network_address)
        except ValueError:
            raise ArmError(400, "InvalidPrivateIPAddress", f"'{address}' is not an IP "
                           "address.") from None
        if not AZURE_RESERVED_FIRST <= offset < network.num_addresses - 1:
            raise ArmError(400, "PrivateIPAddressNotInSubnet", f"Private static IP address "
                           f"{address} does not belong to the usable range of subnet prefix "
                           f"{prefix}.")
        if address in self._in_use(subnet_id) | taken:
            raise ArmError(400, "PrivateIPAddressInUse", f"IP configuration is in use: "
                           f"{address} in subnet '{subnet_id}'.")
        return address

    def _refuse_in_use(self, subnet_id: str) -> None:
        users = self.subnet_users(subnet_id)
        if users:
            raise ArmError(400, "InUseSubnetCannotBeDeleted", f"Subnet "
                           f"{subnet_id.rsplit('/', 1)[-1]} is in use by {users[0]} and cannot "
                           "be deleted. In order to delete the subnet, delete all the "
                           "resources within the subnet.")

    @staticmethod
    def _subnet_prefixes(prefixes: list[str],
                         subnets: Iterable[str] | Mapping[str, str]) -> dict[str, str]:
        if isinstance(subnets, Mapping):
            NetworkRules._check_in_space(prefixes, subnets)
            return dict(subnets)
        names = list(subnets)
        return dict(zip(names, subnet_prefixes(prefixes[0], len(names)), strict=True))

    @staticmethod
    def _check_in_space(prefixes: list[str], subnets: Mapping[str, str]) -> None:
        try:
            spaces = [ipaddress.ip_network(p, strict=False) for p in prefixes]
            for name, prefix in subnets.items():
                net = ipaddress.ip_network(prefix, strict=False)
                if not any(net.subnet_of(space) for space in spaces
                           if space.version == net.version):
                    raise ArmError(400, "NetcfgSubnetRangeOutsideVnet", f"Subnet '{name}' is "
                                   f"not valid because its IP address range {prefix} is outside "
                                   f"the IP address range of the virtual network "
                                   f"({', '.join(prefixes)}).")
        except ValueError as exc:
            raise ArmError(400, "InvalidAddressPrefixFormat", str(exc)) from None


def _ids_in(data: Any) -> set[str]:
    """The ``id`` values anywhere in a request's data, as keys."""
    if isinstance(data, dict):
        found = {key_of(data["id"])} if isinstance(data.get("id"), str) else set()
        return found.union(*(_ids_in(v) for v in data.values()))
    if isinstance(data, list):
        return set().union(*(_ids_in(v) for v in data))
    return set()


def _in_its_subscription(subnet: str, nic_id: str) -> None:
    """A NIC's subnet is in the NIC's subscription ("You can assign a NIC only to a virtual
    network in the same subscription and location as the NIC", Learn's "Create, change, or
    delete a network interface"); ARM answers another's as a reference not found
    (Azure/azure-cli#13258)."""
    if subnet.startswith("/subscriptions/") and \
            subnet.split("/")[2].lower() != nic_id.split("/")[2].lower():
        raise ArmError(400, "InvalidResourceReference", f"Resource {subnet} referenced by "
                       f"resource {nic_id} was not found. Please make sure that the "
                       "referenced resource exists, and that both resources are in the same "
                       "region.")
