"""The default region offers the common general-purpose and burstable sizes (profile
``offered_sizes``) with their size tables' figures: a client sees them in the resource
SKUs, and a VM of one holds as many data disks as its table says."""

from __future__ import annotations

import pytest

from fakecloud.profile import load_profile

pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")

from azure.core.exceptions import HttpResponseError  # noqa: E402
from azure.mgmt.compute import models as compute  # noqa: E402

# (size, family, vCPUs, "Max Remote Storage Disks", memory), from the Microsoft Learn size
# tables the profile cites (dsv3-series, dasv5-series, bv1-series, bsv2-series).
TABLE = [("Standard_D2s_v3", "standardDSv3Family", "2", "4", "8"),
         ("Standard_D4as_v5", "standardDASv5Family", "4", "8", "16"),
         ("Standard_B1ls", "standardBSFamily", "1", "2", "0.5"),
         ("Standard_B2s_v2", "standardBsv2Family", "2", "4", "8")]


def a_vm(nic_id: str, size: str, data_disks: int) -> compute.VirtualMachine:
    return compute.VirtualMachine(
        location="eastus",
        hardware_profile=compute.HardwareProfile(vm_size=size),
        storage_profile=compute.StorageProfile(
            image_reference=compute.ImageReference(publisher="Canonical",
                                                   offer="ubuntu-24_04-lts",
                                                   sku="server", version="latest"),
            os_disk=compute.OSDisk(create_option="FromImage", name="vm1-os",
                                   managed_disk=compute.ManagedDiskParameters(
                                       storage_account_type="Premium_LRS")),
            data_disks=[compute.DataDisk(lun=lun, create_option="Empty", disk_size_gb=8)
                        for lun in range(data_disks)]),
        os_profile=compute.OSProfile(computer_name="vm1", admin_username="azureuser",
                                     admin_password="Not-a-real-password-1"),
        network_profile=compute.NetworkProfile(network_interfaces=[
            compute.NetworkInterfaceReference(id=nic_id, primary=True)]))


def test_offered_sizes_do_not_repeat_vm_sizes_and_carry_their_figures():
    profile = load_profile("default")
    assert not set(profile.offered_sizes) & set(profile.vm_sizes)
    for name, family, vcpus, disks, memory in TABLE:
        size = profile.offered[name]
        assert (size.family, size.vcpus, size.max_data_disks, size.memory_gb) == (
            family, int(vcpus), int(disks), float(memory))
        assert profile.max_data_disks[name] == int(disks)


def test_the_resource_skus_list_the_common_sizes_with_their_table_figures(vm_azure):
    client, _, _ = vm_azure
    skus = {s.name: s for s in client.resource_skus.list(filter="location eq 'eastus'")
            if s.resource_type == "virtualMachines"}
    for name, family, vcpus, disks, memory in TABLE:
        sku = skus[name]
        capabilities = {c.name: c.value for c in sku.capabilities}
        assert sku.family == family and sku.restrictions == []
        assert (capabilities["vCPUs"], capabilities["MaxDataDiskCount"],
                capabilities["MemoryGB"]) == (vcpus, disks, memory)


def test_a_d2s_v3_vm_is_created_with_as_many_data_disks_as_its_table_allows(vm_azure):
    client, nic, _ = vm_azure
    with pytest.raises(HttpResponseError) as refused:
        client.virtual_machines.begin_create_or_update(
            "rg", "vm1", a_vm(nic.id, "Standard_D2s_v3", 5)).result()
    assert refused.value.status_code == 409
    assert refused.value.error.code == "OperationNotAllowed"  # not SkuNotAvailable
    vm = client.virtual_machines.begin_create_or_update(
        "rg", "vm1", a_vm(nic.id, "Standard_D2s_v3", 4)).result()
    assert vm.provisioning_state == "Succeeded"
    assert vm.hardware_profile.vm_size == "Standard_D2s_v3"
    assert len(vm.storage_profile.data_disks) == 4


def test_the_resource_skus_list_a_locations_own_zones(vm_azure):
    client, _, _ = vm_azure

    def zones(location):
        return {tuple(sorted(info.zones or [])) for s in client.resource_skus.list(
            filter=f"location eq '{location}'") for info in s.location_info}

    assert zones("eastus") == {("1", "2", "3")}
    assert zones("westcentralus") == {()}  # a region without availability zones
