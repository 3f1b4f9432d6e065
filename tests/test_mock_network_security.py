"""The fake alone, through the unmodified azure-mgmt clients against ``mock_azure``: what
ARM checks of the resources a request refers to (a NIC's security group and public IP, a
VM's availability set, a disk's encryption set), disk encryption sets themselves, and a
Trusted Launch VM's security profile read back."""

from __future__ import annotations

import pytest

pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")

from azure.core.exceptions import HttpResponseError  # noqa: E402
from azure.mgmt.compute import ComputeManagementClient  # noqa: E402
from azure.mgmt.compute import models as compute  # noqa: E402
from azure.mgmt.network import NetworkManagementClient  # noqa: E402
from azure.mgmt.network import models as network  # noqa: E402
from azure.mgmt.resource.resources import ResourceManagementClient  # noqa: E402
from test_mock_vms import vm_with_data_disks  # noqa: E402

from fakecloud import FakeCredential, mock_azure  # noqa: E402


@pytest.fixture
def clients():
    """A group ``rg`` (eastus) with a subnet; the compute and network clients."""
    with mock_azure() as fake:
        credential, sub = FakeCredential(), fake.subscription
        ResourceManagementClient(credential, sub).resource_groups.create_or_update(
            "rg", {"location": "eastus"})
        net = NetworkManagementClient(credential, sub, polling_interval=0)
        net.virtual_networks.begin_create_or_update("rg", "vnet", network.VirtualNetwork(
            location="eastus", address_space=network.AddressSpace(address_prefixes=["10.0.0.0/16"]),
            subnets=[network.Subnet(name="default", address_prefix="10.0.0.0/24")])).result()
        yield ComputeManagementClient(credential, sub, polling_interval=0), net


def subnet_id(net) -> str:
    return net.subnets.get("rg", "vnet", "default").id


def make_nic(net, name="nic", nsg=None, public_ip=None, accelerated=None):
    return net.network_interfaces.begin_create_or_update("rg", name, network.NetworkInterface(
        location="eastus", enable_accelerated_networking=accelerated,
        network_security_group=network.NetworkSecurityGroup(id=nsg) if nsg else None,
        ip_configurations=[network.NetworkInterfaceIPConfiguration(
            name="ipconfig1", subnet=network.Subnet(id=subnet_id(net)),
            public_ip_address=network.PublicIPAddress(id=public_ip) if public_ip else None)])
    ).result()


def refused(call) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as info:
        call()
    return info.value


# -- a NIC's security group and public IP ------------------------------------------------

def test_a_nic_keeps_its_security_group_public_ip_and_accelerated_networking(clients):
    _, net = clients
    nsg = net.network_security_groups.begin_create_or_update(
        "rg", "nsg", network.NetworkSecurityGroup(location="eastus")).result()
    ip = net.public_ip_addresses.begin_create_or_update("rg", "ip", network.PublicIPAddress(
        location="eastus", sku=network.PublicIPAddressSku(name="Standard"),
        public_ip_allocation_method="Static")).result()
    made = make_nic(net, nsg=nsg.id, public_ip=ip.id, accelerated=True)
    got = net.network_interfaces.get("rg", "nic")
    assert got.network_security_group.id == made.network_security_group.id == nsg.id
    assert got.ip_configurations[0].public_ip_address.id == ip.id
    assert got.enable_accelerated_networking is True
    with pytest.raises(HttpResponseError) as info:  # in use: ARM keeps it
        net.public_ip_addresses.begin_delete("rg", "ip").result()
    assert info.value.error.code == "PublicIPAddressCannotBeDeleted"


def test_a_standard_public_ip_is_static_only(clients):
    _, net = clients
    err = refused(lambda: net.public_ip_addresses.begin_create_or_update(
        "rg", "ip", network.PublicIPAddress(
            location="eastus", sku=network.PublicIPAddressSku(name="Standard"),
            public_ip_allocation_method="Dynamic")).result())
    assert err.status_code == 400
    assert err.error.code == "StandardSkuPublicIPAddressesMustBeStatic"
    basic = net.public_ip_addresses.begin_create_or_update("rg", "ip", network.PublicIPAddress(
        location="eastus", sku=network.PublicIPAddressSku(name="Basic"),
        public_ip_allocation_method="Dynamic")).result()
    assert basic.public_ip_allocation_method == "Dynamic"


@pytest.mark.parametrize("missing", ["nsg", "public_ip"])
def test_a_nic_naming_a_security_group_or_public_ip_that_does_not_exist_is_refused(
        clients, missing):
    _, net = clients
    sub = net._config.subscription_id
    arm_id = (f"/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.Network/"
              + ("networkSecurityGroups/nope" if missing == "nsg" else "publicIPAddresses/nope"))
    err = refused(lambda: make_nic(net, **{missing: arm_id}))
    assert err.status_code == 400 and err.error.code == "InvalidResourceReference"
    assert arm_id in err.error.message and "same region" in err.error.message
    assert [n.name for n in net.network_interfaces.list("rg")] == []  # nothing made


def test_a_nic_naming_a_security_group_of_another_region_is_refused(clients):
    _, net = clients
    nsg = net.network_security_groups.begin_create_or_update(
        "rg", "nsg-west", network.NetworkSecurityGroup(location="westus")).result()
    err = refused(lambda: make_nic(net, nsg=nsg.id))
    assert err.error.code == "InvalidResourceReference"


# -- a VM's availability set and security profile ----------------------------------------

def test_a_vm_in_an_availability_set_and_a_zone_is_refused(vm_azure):
    client, nic, _ = vm_azure
    aset = client.availability_sets.create_or_update("rg", "aset", compute.AvailabilitySet(
        location="eastus"))
    err = refused(lambda: client.virtual_machines.begin_create_or_update(
        "rg", "vm1", vm_with_data_disks(nic.id, zones=["1"], availability_set=compute.SubResource(
            id=aset.id))).result())
    assert err.status_code == 400 and err.error.code == "InvalidParameter"
    assert "Availability Set" in err.error.message and "Availability Zone" in err.error.message
    assert [v.name for v in client.virtual_machines.list("rg")] == []
    assert [d.name for d in client.disks.list_by_resource_group("rg")] == []


def test_a_vm_naming_a_missing_availability_set_is_not_found(vm_azure):
    client, nic, _ = vm_azure
    missing = nic.id.replace("Microsoft.Network/networkInterfaces/", "Microsoft.Compute/"
                             "availabilitySets/")
    err = refused(lambda: client.virtual_machines.begin_create_or_update(
        "rg", "vm1", vm_with_data_disks(nic.id, availability_set=compute.SubResource(
            id=missing))).result())
    assert err.status_code == 404


def test_a_vm_in_an_availability_set_lists_in_it(vm_azure):
    client, nic, _ = vm_azure
    aset = client.availability_sets.create_or_update("rg", "aset", compute.AvailabilitySet(
        location="eastus"))
    vm = client.virtual_machines.begin_create_or_update("rg", "vm1", vm_with_data_disks(
        nic.id, availability_set=compute.SubResource(id=aset.id))).result()
    assert vm.availability_set.id.lower() == aset.id.lower()
    listed = client.availability_sets.get("rg", "aset").virtual_machines
    assert [v.id.lower() for v in listed] == [vm.id.lower()]


def test_a_trusted_launch_vm_keeps_its_uefi_settings(vm_azure):
    client, nic, _ = vm_azure
    client.virtual_machines.begin_create_or_update("rg", "vm1", vm_with_data_disks(
        nic.id, security_profile=compute.SecurityProfile(
            security_type="TrustedLaunch", uefi_settings=compute.UefiSettings(
                secure_boot_enabled=True, v_tpm_enabled=False)))).result()
    profile = client.virtual_machines.get("rg", "vm1").security_profile
    assert profile.security_type == "TrustedLaunch"
    assert (profile.uefi_settings.secure_boot_enabled, profile.uefi_settings.v_tpm_enabled) == (
        True, False)


# -- disk encryption sets ----------------------------------------------------------------

def make_des(client, name="des", location="eastus"):
    return client.disk_encryption_sets.begin_create_or_update(
        "rg", name, compute.DiskEncryptionSet(
            location=location, identity=compute.EncryptionSetIdentity(type="SystemAssigned"),
            encryption_type="EncryptionAtRestWithCustomerKey")).result()


def encrypted_disk(des_id: str) -> compute.Disk:
    return compute.Disk(location="eastus", disk_size_gb=8,
                        creation_data=compute.CreationData(create_option="Empty"),
                        encryption=compute.Encryption(type="EncryptionAtRestWithCustomerKey",
                                                      disk_encryption_set_id=des_id))


def test_a_disk_encryption_set_is_created_read_listed_and_deleted(clients):
    client, _ = clients
    des = make_des(client)
    assert des.encryption_type == "EncryptionAtRestWithCustomerKey"
    assert client.disk_encryption_sets.get("rg", "des").identity.type == "SystemAssigned"
    assert [d.name for d in client.disk_encryption_sets.list_by_resource_group("rg")] == ["des"]
    client.disk_encryption_sets.begin_delete("rg", "des").result()
    assert list(client.disk_encryption_sets.list_by_resource_group("rg")) == []


def test_a_disk_encrypted_by_a_set_of_its_region_keeps_it(clients):
    client, _ = clients
    des = make_des(client)
    client.disks.begin_create_or_update("rg", "d", encrypted_disk(des.id)).result()
    encryption = client.disks.get("rg", "d").encryption
    assert encryption.disk_encryption_set_id == des.id
    assert encryption.type == "EncryptionAtRestWithCustomerKey"


def test_a_disk_encryption_set_of_another_region_is_refused(clients):
    client, _ = clients
    des = make_des(client, "des-west", "westus")
    err = refused(lambda: client.disks.begin_create_or_update(
        "rg", "d", encrypted_disk(des.id)).result())
    assert err.status_code == 400 and "same region" in err.error.message
    assert list(client.disks.list_by_resource_group("rg")) == []


def test_a_missing_disk_encryption_set_is_not_found(clients):
    client, _ = clients
    missing = f"/subscriptions/{client._config.subscription_id}/resourceGroups/rg/providers/" \
              "Microsoft.Compute/diskEncryptionSets/nope"
    err = refused(lambda: client.disks.begin_create_or_update(
        "rg", "d", encrypted_disk(missing)).result())
    assert err.status_code == 404 and err.error.code == "ResourceNotFound"
