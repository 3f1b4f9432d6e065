"""Virtual networks, subnets and NICs through the unmodified azure-mgmt-network client
against ``mock_azure``, as ARM documents them."""

from __future__ import annotations

import pytest

pytest.importorskip("azure.mgmt.network", reason="the azure extra is not installed")

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError  # noqa: E402
from azure.mgmt.network import NetworkManagementClient  # noqa: E402
from azure.mgmt.network.models import (  # noqa: E402
    AddressSpace,
    NetworkInterface,
    NetworkInterfaceIPConfiguration,
    Subnet,
    VirtualNetwork,
)
from azure.mgmt.resource.resources import ResourceManagementClient  # noqa: E402

from fakecloud import FakeCredential, mock_azure  # noqa: E402


@pytest.fixture
def network():
    with mock_azure() as fake:
        groups = ResourceManagementClient(FakeCredential(), fake.subscription)
        groups.resource_groups.create_or_update("rg", {"location": "West US"})
        yield NetworkManagementClient(FakeCredential(), fake.subscription, polling_interval=0)


def vnet(network, name="vnet", prefixes=("10.1.0.0/16",), subnets=()):
    return network.virtual_networks.begin_create_or_update("rg", name, VirtualNetwork(
        location="West US", address_space=AddressSpace(address_prefixes=list(prefixes)),
        subnets=[Subnet(name=n, address_prefix=p) for n, p in subnets])).result()


def config(name, subnet_id, **settings):
    return NetworkInterfaceIPConfiguration(name=name, subnet=Subnet(id=subnet_id), **settings)


def nic(network, name, subnet_id, **settings):
    return network.network_interfaces.begin_create_or_update("rg", name, NetworkInterface(
        location="westus", ip_configurations=[config("ipconfig1", subnet_id, **settings)])
    ).result()


def test_the_docs_network_flow_vnet_subnet_nic(network):
    made = vnet(network)
    assert made.location == "westus" and made.address_space.address_prefixes == ["10.1.0.0/16"]
    subnet = network.subnets.begin_create_or_update(
        "rg", "vnet", "default", Subnet(address_prefix="10.1.0.0/24")).result()
    assert subnet.address_prefix == "10.1.0.0/24" and subnet.provisioning_state == "Succeeded"
    first = nic(network, "nic-1", subnet.id)
    second = nic(network, "nic-2", subnet.id)
    assert first.ip_configurations[0].private_ip_address == "10.1.0.4"  # .0-.3 are Azure's
    assert second.ip_configurations[0].private_ip_address == "10.1.0.5"
    assert first.ip_configurations[0].primary is True
    assert first.ip_configurations[0].id.endswith("/networkInterfaces/nic-1/ipConfigurations/"
                                                  "ipconfig1")
    read = network.subnets.get("rg", "vnet", "default")
    assert sorted(c.id.split("/")[-3] for c in read.ip_configurations) == ["nic-1", "nic-2"]
    assert [s.name for s in network.virtual_networks.get("rg", "vnet").subnets] == ["default"]


def test_a_nic_keeps_every_ip_configuration_and_static_addresses(network):
    subnet = vnet(network, subnets=[("a", "10.1.0.0/24")]).subnets[0]
    made = network.network_interfaces.begin_create_or_update("rg", "nic", NetworkInterface(
        location="westus", ip_configurations=[
            config("one", subnet.id),
            config("two", subnet.id, primary=True, private_ip_allocation_method="Static",
                   private_ip_address="10.1.0.10")])).result()
    configs = {c.name: c for c in made.ip_configurations}
    assert configs["one"].private_ip_address == "10.1.0.4" and not configs["one"].primary
    assert configs["two"].private_ip_address == "10.1.0.10" and configs["two"].primary
    assert configs["two"].private_ip_allocation_method == "Static"
    with pytest.raises(HttpResponseError) as taken:
        nic(network, "nic-b", subnet.id, private_ip_allocation_method="Static",
            private_ip_address="10.1.0.10")
    assert taken.value.error.code == "PrivateIPAddressInUse"
    with pytest.raises(HttpResponseError) as reserved:
        nic(network, "nic-c", subnet.id, private_ip_allocation_method="Static",
            private_ip_address="10.1.0.2")
    assert reserved.value.error.code == "PrivateIPAddressNotInSubnet"


def test_a_subnet_in_use_cannot_be_deleted_nor_its_network(network):
    subnet = vnet(network, subnets=[("a", "10.1.0.0/24")]).subnets[0]
    nic(network, "nic", subnet.id)
    for delete in (lambda: network.subnets.begin_delete("rg", "vnet", "a").result(),
                   lambda: network.virtual_networks.begin_delete("rg", "vnet").result()):
        with pytest.raises(HttpResponseError) as in_use:
            delete()
        assert in_use.value.status_code == 400
        assert in_use.value.error.code == "InUseSubnetCannotBeDeleted"
    network.network_interfaces.begin_delete("rg", "nic").result()
    network.subnets.begin_delete("rg", "vnet", "a").result()
    assert network.virtual_networks.get("rg", "vnet").subnets == []
    network.virtual_networks.begin_delete("rg", "vnet").result()
    with pytest.raises(ResourceNotFoundError):
        network.virtual_networks.get("rg", "vnet")


def test_subnets_outside_the_address_space_are_refused(network):
    with pytest.raises(HttpResponseError) as outside:
        vnet(network, subnets=[("a", "10.2.0.0/24")])
    assert outside.value.error.code == "NetcfgSubnetRangeOutsideVnet"
    vnet(network)
    with pytest.raises(HttpResponseError) as outside_later:
        network.subnets.begin_create_or_update(
            "rg", "vnet", "b", Subnet(address_prefix="192.168.0.0/24")).result()
    assert outside_later.value.error.code == "NetcfgSubnetRangeOutsideVnet"


def test_networks_and_nics_are_listed_by_group_and_subscription(network):
    subnet = vnet(network, subnets=[("a", "10.1.0.0/24"), ("b", "10.1.1.0/24")]).subnets[0]
    vnet(network, "vnet-2", ("10.9.0.0/16",))
    nic(network, "nic", subnet.id)
    assert sorted(v.name for v in network.virtual_networks.list("rg")) == ["vnet", "vnet-2"]
    assert sorted(v.name for v in network.virtual_networks.list_all()) == ["vnet", "vnet-2"]
    assert [s.name for s in network.subnets.list("rg", "vnet")] == ["a", "b"]
    assert [n.name for n in network.network_interfaces.list("rg")] == ["nic"]
    assert [n.name for n in network.network_interfaces.list_all()] == ["nic"]
    with pytest.raises(HttpResponseError) as no_group:
        list(network.network_interfaces.list("no-such-rg"))
    assert no_group.value.status_code == 404


def test_updating_a_network_cannot_drop_a_subnet_in_use(network):
    subnet = vnet(network, subnets=[("a", "10.1.0.0/24"), ("b", "10.1.1.0/24")]).subnets[0]
    nic(network, "nic", subnet.id)
    with pytest.raises(HttpResponseError) as dropped:
        vnet(network, subnets=[("b", "10.1.1.0/24")])
    assert dropped.value.error.code == "InUseSubnetCannotBeDeleted"
    kept = vnet(network, prefixes=("10.1.0.0/16", "10.5.0.0/16"),
                subnets=[("a", "10.1.0.0/24"), ("c", "10.5.0.0/24")])
    assert sorted(s.name for s in kept.subnets) == ["a", "c"]


def test_a_security_group_and_a_public_ip_in_use_by_a_nic_stay(network):
    from azure.mgmt.network.models import NetworkSecurityGroup, PublicIPAddress, PublicIPAddressSku

    subnet = vnet(network, subnets=[("a", "10.1.0.0/24")]).subnets[0]
    nsg = network.network_security_groups.begin_create_or_update(
        "rg", "nsg", NetworkSecurityGroup(location="westus")).result()
    assert [r.name for r in nsg.default_security_rules][:3] == [
        "AllowVnetInBound", "AllowAzureLoadBalancerInBound", "DenyAllInBound"]
    ip = network.public_ip_addresses.begin_create_or_update("rg", "ip", PublicIPAddress(
        location="westus", sku=PublicIPAddressSku(name="Standard"))).result()
    assert ip.public_ip_allocation_method == "Static" and ip.ip_address.startswith("20.")
    network.network_interfaces.begin_create_or_update("rg", "nic", NetworkInterface(
        location="westus", network_security_group=NetworkSecurityGroup(id=nsg.id),
        ip_configurations=[config("ipconfig1", subnet.id,
                                  public_ip_address=PublicIPAddress(id=ip.id))])).result()
    used = network.public_ip_addresses.get("rg", "ip")
    assert used.ip_configuration.id.endswith("/networkInterfaces/nic/ipConfigurations/ipconfig1")
    for delete, code in (
            (lambda: network.network_security_groups.begin_delete("rg", "nsg").result(),
             "InUseNetworkSecurityGroupCannotBeDeleted"),
            (lambda: network.public_ip_addresses.begin_delete("rg", "ip").result(),
             "PublicIPAddressCannotBeDeleted")):
        with pytest.raises(HttpResponseError) as in_use:
            delete()
        assert in_use.value.error.code == code
    network.network_interfaces.begin_delete("rg", "nic").result()
    network.network_security_groups.begin_delete("rg", "nsg").result()
    network.public_ip_addresses.begin_delete("rg", "ip").result()
    assert list(network.public_ip_addresses.list("rg")) == []
