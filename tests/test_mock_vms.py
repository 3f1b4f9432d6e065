"""Virtual machines through the unmodified azure-mgmt-compute client against
``mock_azure``: the Azure docs' flow (group, network, NIC, a VM with data disks), then
its updates, power actions and deletion, as ARM documents them."""

from __future__ import annotations

import pytest

pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError  # noqa: E402
from azure.mgmt.compute import models as compute  # noqa: E402

IMAGE = compute.ImageReference(publisher="Canonical", offer="ubuntu-24_04-lts",
                               sku="server", version="latest")


def vm_with_data_disks(nic_id: str, **extra) -> compute.VirtualMachine:
    return compute.VirtualMachine(
        location="eastus",
        hardware_profile=compute.HardwareProfile(vm_size="Standard_D4s_v5"),
        storage_profile=compute.StorageProfile(
            image_reference=IMAGE,
            os_disk=compute.OSDisk(create_option="FromImage", name="vm1-os",
                                   managed_disk=compute.ManagedDiskParameters(
                                       storage_account_type="Premium_LRS")),
            data_disks=[compute.DataDisk(lun=lun, create_option="Empty", disk_size_gb=size)
                        for lun, size in ((0, 32), (1, 64))]),
        os_profile=compute.OSProfile(computer_name="vm1", admin_username="azureuser",
                                     admin_password="Not-a-real-password-1"),
        network_profile=compute.NetworkProfile(network_interfaces=[
            compute.NetworkInterfaceReference(id=nic_id, primary=True)]), **extra)


def test_the_docs_vm_flow_creates_a_vm_with_its_data_disks(vm_azure):
    client, nic, fake = vm_azure
    vm = client.virtual_machines.begin_create_or_update(
        "rg", "vm1", vm_with_data_disks(nic.id)).result()
    assert vm.provisioning_state == "Succeeded" and len(vm.vm_id) == 36
    assert vm.storage_profile.os_disk.create_option == "FromImage"
    assert vm.storage_profile.image_reference.offer == "ubuntu-24_04-lts"
    assert [(d.lun, d.create_option, d.disk_size_gb) for d in vm.storage_profile.data_disks] == [
        (0, "Empty", 32), (1, "Empty", 64)]
    assert vm.os_profile.admin_username == "azureuser"
    assert vm.os_profile.admin_password is None  # write-only, as on ARM
    disks = {d.name: d for d in client.disks.list_by_resource_group("rg")}
    assert sorted(disks) == ["vm1-os", "vm1_DataDisk_0", "vm1_DataDisk_1"]
    assert disks["vm1_DataDisk_1"].managed_by == vm.id and disks["vm1-os"].disk_state == "Attached"
    view = client.virtual_machines.get("rg", "vm1", expand="instanceView").instance_view
    assert [s.code for s in view.statuses] == ["ProvisioningState/succeeded", "PowerState/running"]
    assert [v.name for v in client.virtual_machines.list("rg")] == ["vm1"]
    assert [v.name for v in client.virtual_machines.list_all()] == ["vm1"]


def test_a_vm_reads_creating_while_its_create_runs_and_its_disks_updating(vm_azure):
    client, nic, fake = vm_azure
    answer = client.virtual_machines.begin_create_or_update(
        "rg", "vm1", vm_with_data_disks(nic.id), polling=False).result()
    assert answer.provisioning_state == "Creating"
    assert client.virtual_machines.get("rg", "vm1").provisioning_state == "Creating"
    disk = client.disks.begin_create_or_update("rg", "d", compute.Disk(
        location="eastus", disk_size_gb=8,
        creation_data=compute.CreationData(create_option="Empty")), polling=False).result()
    assert disk.provisioning_state == "Updating"
    fake.clock.sleep(3600)
    assert client.virtual_machines.get("rg", "vm1").provisioning_state == "Succeeded"
    assert client.disks.get("rg", "d").provisioning_state == "Succeeded"


def test_a_failed_create_leaves_nothing_behind(vm_azure):
    client, nic, _ = vm_azure
    taken = compute.Disk(location="eastus", disk_size_gb=8,
                         creation_data=compute.CreationData(create_option="Empty"))
    client.disks.begin_create_or_update("rg", "vm1_DataDisk_1", taken).result()
    with pytest.raises(HttpResponseError) as refused:
        client.virtual_machines.begin_create_or_update(
            "rg", "vm1", vm_with_data_disks(nic.id)).result()
    assert refused.value.status_code == 409
    assert [d.name for d in client.disks.list_by_resource_group("rg")] == ["vm1_DataDisk_1"]
    with pytest.raises(ResourceNotFoundError):
        client.virtual_machines.get("rg", "vm1")


def power_state(client) -> str:
    view = client.virtual_machines.instance_view("rg", "vm1")
    return next(s.code for s in view.statuses if s.code.startswith("PowerState/"))


def test_power_actions_move_the_power_state(vm_azure):
    client, nic, fake = vm_azure
    client.virtual_machines.begin_create_or_update("rg", "vm1", vm_with_data_disks(nic.id)).result()
    client.virtual_machines.begin_power_off("rg", "vm1").result()
    assert power_state(client) == "PowerState/stopped"
    client.virtual_machines.begin_start("rg", "vm1").result()
    assert power_state(client) == "PowerState/running"
    client.virtual_machines.begin_deallocate("rg", "vm1").result()
    assert power_state(client) == "PowerState/deallocated"
    before = fake.clock.now
    client.virtual_machines.begin_restart("rg", "vm1").result()
    assert power_state(client) == "PowerState/running" and fake.clock.now > before


def test_updates_detach_by_to_be_detached_and_patch_tags(vm_azure):
    client, nic, _ = vm_azure
    vm = client.virtual_machines.begin_create_or_update(
        "rg", "vm1", vm_with_data_disks(nic.id)).result()
    vm.storage_profile.data_disks[1].to_be_detached = True
    vm.storage_profile.data_disks[1].detach_option = "ForceDetach"
    updated = client.virtual_machines.begin_create_or_update("rg", "vm1", vm).result()
    assert [d.lun for d in updated.storage_profile.data_disks] == [0]
    assert client.disks.get("rg", "vm1_DataDisk_1").disk_state == "Unattached"
    patched = client.virtual_machines.begin_update(
        "rg", "vm1", compute.VirtualMachineUpdate(tags={"env": "test"})).result()
    assert patched.tags == {"env": "test"}
    assert [d.lun for d in patched.storage_profile.data_disks] == [0]


def test_a_force_detached_disk_is_listed_while_the_update_runs(vm_azure):
    client, nic, fake = vm_azure
    vm = client.virtual_machines.begin_create_or_update(
        "rg", "vm1", vm_with_data_disks(nic.id)).result()
    vm.storage_profile.data_disks[0].to_be_detached = True
    vm.storage_profile.data_disks[0].detach_option = "ForceDetach"
    answer = client.virtual_machines.begin_create_or_update("rg", "vm1", vm,
                                                            polling=False).result()
    during = client.virtual_machines.get("rg", "vm1")
    assert during.provisioning_state == "Updating"
    assert [(d.lun, bool(d.to_be_detached), d.detach_option)
            for d in during.storage_profile.data_disks] == [
        (0, True, "ForceDetach"), (1, False, None)]
    assert [d.lun for d in answer.storage_profile.data_disks] == [0, 1]
    fake.clock.sleep(3600)
    assert [d.lun for d in client.virtual_machines.get(
        "rg", "vm1").storage_profile.data_disks] == [1]


def test_one_update_swaps_a_disk_at_a_lun_or_changes_nothing(vm_azure):
    client, nic, _ = vm_azure
    vm = client.virtual_machines.begin_create_or_update(
        "rg", "vm1", vm_with_data_disks(nic.id)).result()
    new = client.disks.begin_create_or_update("rg", "new", compute.Disk(
        location="eastus", disk_size_gb=16,
        creation_data=compute.CreationData(create_option="Empty"))).result()
    vm.storage_profile.data_disks[0] = compute.DataDisk(
        lun=0, create_option="Attach", managed_disk=compute.ManagedDiskParameters(id=new.id))
    swapped = client.virtual_machines.begin_create_or_update("rg", "vm1", vm).result()
    assert [d.name for d in swapped.storage_profile.data_disks] == ["new", "vm1_DataDisk_1"]
    assert client.disks.get("rg", "vm1_DataDisk_0").disk_state == "Unattached"
    swapped.storage_profile.data_disks[0] = compute.DataDisk(
        lun=0, create_option="Attach", managed_disk=compute.ManagedDiskParameters(
            id=new.id.replace("/new", "/absent")))
    with pytest.raises(ResourceNotFoundError):
        client.virtual_machines.begin_create_or_update("rg", "vm1", swapped).result()
    unchanged = client.virtual_machines.get("rg", "vm1")
    assert [d.name for d in unchanged.storage_profile.data_disks] == ["new", "vm1_DataDisk_1"]
    assert client.disks.get("rg", "new").disk_state == "Attached"


def test_data_disks_from_the_image_are_created_with_the_vm(vm_azure):
    client, nic, _ = vm_azure
    request = vm_with_data_disks(nic.id)
    request.storage_profile.data_disks = [
        compute.DataDisk(lun=0, create_option="FromImage", disk_size_gb=128),
        compute.DataDisk(lun=1, create_option="FromImage")]
    vm = client.virtual_machines.begin_create_or_update("rg", "vm1", request).result()
    assert [(d.lun, d.create_option, d.disk_size_gb) for d in vm.storage_profile.data_disks] \
        == [(0, "FromImage", 128), (1, "FromImage", 30)]
    client.virtual_machines.begin_delete("rg", "vm1").result()  # its disks and NIC stay
    request.storage_profile.image_reference = None
    request.storage_profile.os_disk = compute.OSDisk(
        create_option="Attach", managed_disk=compute.ManagedDiskParameters(
            id=client.disks.get("rg", "vm1-os").id))
    with pytest.raises(HttpResponseError, match="imageReference"):
        client.virtual_machines.begin_create_or_update("rg", "vm2", request).result()


def test_attach_detach_data_disks_by_id(vm_azure):
    client, nic, _ = vm_azure
    client.virtual_machines.begin_create_or_update("rg", "vm1", vm_with_data_disks(nic.id)).result()
    extra = client.disks.begin_create_or_update("rg", "extra", compute.Disk(
        location="eastus", disk_size_gb=16,
        creation_data=compute.CreationData(create_option="Empty"))).result()
    profile = client.virtual_machines.begin_attach_detach_data_disks(
        "rg", "vm1", compute.AttachDetachDataDisksRequest(data_disks_to_attach=[
            compute.DataDisksToAttach(disk_id=extra.id, lun=5)])).result()
    assert [d.lun for d in profile.data_disks] == [0, 1, 5]
    profile = client.virtual_machines.begin_attach_detach_data_disks(
        "rg", "vm1", compute.AttachDetachDataDisksRequest(data_disks_to_detach=[
            compute.DataDisksToDetach(disk_id=extra.id)])).result()
    assert [d.lun for d in profile.data_disks] == [0, 1]


def test_delete_options_say_what_goes_with_the_vm(vm_azure):
    client, nic, _ = vm_azure
    request = vm_with_data_disks(nic.id)
    request.storage_profile.os_disk.delete_option = "Delete"
    request.storage_profile.data_disks[0].delete_option = "Delete"
    client.virtual_machines.begin_create_or_update("rg", "vm1", request).result()
    client.virtual_machines.begin_delete("rg", "vm1", force_deletion=True).result()
    assert [d.name for d in client.disks.list_by_resource_group("rg")] == ["vm1_DataDisk_1"]
    assert client.disks.get("rg", "vm1_DataDisk_1").disk_state == "Unattached"


def test_an_availability_set_lists_its_vms_and_stays_while_they_do(vm_azure):
    client, nic, _ = vm_azure
    aset = client.availability_sets.create_or_update("rg", "aset", compute.AvailabilitySet(
        location="eastus", platform_fault_domain_count=2))
    assert aset.platform_update_domain_count == 5 and aset.sku.name == "Classic"
    client.virtual_machines.begin_create_or_update("rg", "vm1", vm_with_data_disks(
        nic.id, availability_set=compute.SubResource(id=aset.id))).result()
    assert [v.id.rsplit("/", 1)[-1] for v in
            client.availability_sets.get("rg", "aset").virtual_machines] == ["vm1"]
    with pytest.raises(HttpResponseError) as in_use:
        client.availability_sets.delete("rg", "aset")
    assert in_use.value.status_code == 409
    client.virtual_machines.begin_delete("rg", "vm1").result()
    client.availability_sets.delete("rg", "aset")
    assert list(client.availability_sets.list("rg")) == []


def test_putting_the_create_request_again_changes_nothing(vm_azure):
    client, nic, _ = vm_azure
    request = vm_with_data_disks(nic.id)
    client.virtual_machines.begin_create_or_update("rg", "vm1", request).result()
    again = client.virtual_machines.begin_create_or_update("rg", "vm1", request).result()
    assert [d.name for d in again.storage_profile.data_disks] == ["vm1_DataDisk_0",
                                                                  "vm1_DataDisk_1"]


def test_arm_fills_in_when_a_vm_and_its_disks_were_created(vm_azure):
    client, nic, fake = vm_azure
    before = fake.clock.now
    vm = client.virtual_machines.begin_create_or_update(
        "rg", "vm1", vm_with_data_disks(nic.id)).result()
    assert vm.time_created is not None and vm.time_created.year == 2026
    assert vm.time_created.timestamp() == pytest.approx(
        1767225600 + before, abs=1)  # 2026-01-01T00:00:00Z is virtual second 0
    disks = list(client.disks.list_by_resource_group("rg"))
    assert {d.time_created for d in disks} == {vm.time_created}


def test_a_vm_extension_is_kept_as_asked_and_goes_with_its_vm(vm_azure):
    client, nic, _ = vm_azure
    client.virtual_machines.begin_create_or_update("rg", "vm1", vm_with_data_disks(nic.id)).result()
    made = client.virtual_machine_extensions.begin_create_or_update(
        "rg", "vm1", "watcher", compute.VirtualMachineExtension(
            location="eastus", properties=compute.VirtualMachineExtensionProperties(
                publisher="Microsoft.Azure.NetworkWatcher", type="NetworkWatcherAgentLinux",
                type_handler_version="1.4", auto_upgrade_minor_version=True))).result()
    assert made.id.endswith("/virtualMachines/vm1/extensions/watcher")
    assert made.properties.publisher == "Microsoft.Azure.NetworkWatcher"
    updated = client.virtual_machine_extensions.begin_update(
        "rg", "vm1", "watcher", compute.VirtualMachineExtensionUpdate(
            properties=compute.VirtualMachineExtensionUpdateProperties(
                auto_upgrade_minor_version=False))).result()
    assert updated.properties.auto_upgrade_minor_version is False
    assert updated.properties.type_handler_version == "1.4"
    assert [e.name for e in client.virtual_machine_extensions.list("rg", "vm1").value] == [
        "watcher"]
    with pytest.raises(ResourceNotFoundError):
        client.virtual_machine_extensions.begin_create_or_update(
            "rg", "no-vm", "watcher", compute.VirtualMachineExtension(location="eastus")).result()
    client.virtual_machines.begin_delete("rg", "vm1").result()
    with pytest.raises(ResourceNotFoundError):
        client.virtual_machine_extensions.get("rg", "vm1", "watcher")
