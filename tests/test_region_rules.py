"""fakecloud's region model enforces ARM's rules with ARM's status and error codes."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

import armid as arm
from fakecloud.models import ArmError, CloudState, Disk, NetworkInterface, VirtualMachine

SUB = "11111111-1111-1111-1111-111111111111"
WE, NE = "westeurope", "northeurope"


def rg(name: str) -> str:
    return arm.resource_group_id(SUB, name)


def disk(name: str, group: str = "rg-prod") -> str:
    return arm.resource_id(SUB, group, arm.DISKS, name)


def vm(name: str, group: str = "rg-prod") -> str:
    return arm.resource_id(SUB, group, arm.VIRTUAL_MACHINES, name)


def nic(name: str, group: str = "rg-prod") -> str:
    return arm.resource_id(SUB, group, arm.NETWORK_INTERFACES, name)


SUBNET = arm.subnet_id(SUB, "rg-prod", "vnet", "default")


class Region:
    """A subscription with rg-prod (westeurope): a vnet, and VM 'app' (D2s_v5, 4 data-disk
    slots) on OS disk 'app-os' with data disk 'data0' attached at LUN 0 and NIC 'app-nic'."""

    def __init__(self):
        self.state = CloudState(SUB, {"Standard_D2s_v5": 4, "Standard_D4s_v5": 8})
        s = self.state
        s.create_resource_group(rg("rg-prod"), WE)
        s.create_resource_group(rg("rg-other"), WE)
        s.create_virtual_network(arm.resource_id(SUB, "rg-prod", arm.VIRTUAL_NETWORKS, "vnet"),
                                 WE, ["default"])
        s.create_nic(nic("app-nic"), WE, SUBNET)
        s.create_disk(disk("app-os"), WE, 64, "Premium_LRS")
        s.create_disk(disk("data0"), WE, 128, "Premium_LRS")
        s.create_vm(vm("app"), WE, "Standard_D2s_v5", nic("app-nic"), disk("app-os"))
        s.attach_disks(vm("app"), [(0, disk("data0"))])

    def free_disks(self, count: int, prefix: str = "free", **kw) -> list[str]:
        ids = [disk(f"{prefix}{i}") for i in range(count)]
        for d in ids:
            self.state.create_disk(d, kw.get("location", WE), 32, "Premium_LRS",
                                   kw.get("zone"))
        return ids


@pytest.fixture
def region() -> Region:
    return Region()


@contextmanager
def raises(status: int, code: str):
    """Expect an ArmError with exactly this HTTP status and ARM error code."""
    with pytest.raises(ArmError) as info:
        yield info
    assert (info.value.status, info.value.code) == (status, code), info.value


def test_delete_attached_disk_is_operation_not_allowed(region):
    for attached in (disk("data0"), disk("app-os")):
        with raises(409, "OperationNotAllowed"):
            region.state.delete_disk(attached)
        assert region.state.find(attached) is not None


def test_delete_detached_disk_works(region):
    region.state.detach_disks(vm("app"), [disk("data0")])
    region.state.delete_disk(disk("data0"))
    assert region.state.find(disk("data0")) is None


def test_move_attached_disk_is_operation_not_allowed(region):
    with raises(409, "OperationNotAllowed"):
        region.state.move_resources(rg("rg-prod"), rg("rg-other"), [disk("data0")])
    assert region.state.find(disk("data0")) is not None
    assert region.state.find(disk("data0", "rg-other")) is None


def test_move_detached_disk_changes_its_group(region):
    region.state.detach_disks(vm("app"), [disk("data0")])
    region.state.move_resources(rg("rg-prod"), rg("rg-other"), [disk("data0")])
    assert region.state.find(disk("data0")) is None
    moved = region.state.find(disk("data0", "rg-other"))
    assert isinstance(moved, Disk) and moved.resource_group == "rg-other"


def test_move_onto_an_existing_name_is_conflict(region):
    region.state.detach_disks(vm("app"), [disk("data0")])
    region.state.create_disk(disk("data0", "rg-other"), WE, 8, "Premium_LRS")
    with raises(409, "Conflict"):
        region.state.move_resources(rg("rg-prod"), rg("rg-other"), [disk("data0")])
    assert region.state.find(disk("data0")) is not None


@pytest.mark.parametrize("create", [
    lambda s: s.create_disk(disk("d", "rg-missing"), WE, 8, "Premium_LRS"),
    lambda s: s.create_nic(nic("n", "rg-missing"), WE, SUBNET),
    lambda s: s.create_vm(vm("v", "rg-missing"), WE, "Standard_D2s_v5", nic("app-nic"),
                          disk("app-os")),
    lambda s: s.create_snapshot(arm.resource_id(SUB, "rg-missing", arm.SNAPSHOTS, "s"), WE,
                                disk("app-os")),
], ids=["disk", "nic", "vm", "snapshot"])
def test_create_in_missing_group_is_resource_group_not_found(region, create):
    with raises(404, "ResourceGroupNotFound"):
        create(region.state)


def test_move_to_missing_group_is_resource_group_not_found(region):
    region.state.detach_disks(vm("app"), [disk("data0")])
    with raises(404, "ResourceGroupNotFound"):
        region.state.move_resources(rg("rg-prod"), rg("rg-missing"), [disk("data0")])


@pytest.mark.parametrize("create", [
    lambda s: s.create_disk(disk("data0"), WE, 8, "Premium_LRS"),
    lambda s: s.create_nic(nic("app-nic"), WE, SUBNET),
    lambda s: s.create_vm(vm("app"), WE, "Standard_D2s_v5", nic("app-nic"), disk("app-os")),
    lambda s: s.create_disk(disk("DATA0"), WE, 8, "Premium_LRS"),
    lambda s: s.create_disk(disk("data0", "RG-PROD"), WE, 8, "Premium_LRS"),
], ids=["disk", "nic", "vm", "disk-other-case", "group-other-case"])
def test_duplicate_name_in_a_group_is_conflict(region, create):
    with raises(409, "Conflict"):
        create(region.state)


def test_same_name_in_another_group_or_of_another_type_is_fine(region):
    region.state.create_disk(disk("data0", "rg-other"), WE, 8, "Premium_LRS")
    region.state.create_disk(disk("app"), WE, 8, "Premium_LRS")  # a disk named like the VM


def test_attaching_more_data_disks_than_the_size_allows(region):
    extra = region.free_disks(4)  # one attached already + 4 = 5 > 4
    with raises(409, "OperationNotAllowed"):
        region.state.attach_disks(vm("app"), [(i + 1, d) for i, d in enumerate(extra)])
    # All or nothing: none of them got attached.
    assert all(region.state.find(d).managed_by is None for d in extra)
    assert list(region.state.find(vm("app")).data_disks) == [0]
    region.state.attach_disks(vm("app"), [(i + 1, d) for i, d in enumerate(extra[:3])])
    assert len(region.state.find(vm("app")).data_disks) == 4
    with raises(409, "OperationNotAllowed"):
        region.state.attach_disks(vm("app"), [(9, extra[3])])


def test_attaching_an_attached_disk_is_operation_not_allowed(region):
    region.state.create_disk(disk("other-os"), WE, 64, "Premium_LRS")
    region.state.create_nic(nic("other-nic"), WE, SUBNET)
    region.state.create_vm(vm("other"), WE, "Standard_D2s_v5", nic("other-nic"),
                           disk("other-os"))
    with raises(409, "OperationNotAllowed"):
        region.state.attach_disks(vm("other"), [(0, disk("data0"))])
    region.state.create_nic(nic("third-nic"), WE, SUBNET)
    with raises(409, "OperationNotAllowed"):  # another VM's OS disk
        region.state.create_vm(vm("third"), WE, "Standard_D2s_v5", nic("third-nic"),
                               disk("app-os"))
    assert region.state.find(vm("third")) is None


def test_attaching_at_a_used_lun_is_invalid(region):
    (free,) = region.free_disks(1)
    with raises(400, "InvalidParameter"):
        region.state.attach_disks(vm("app"), [(0, free)])


def test_attaching_one_disk_at_two_luns_is_refused(region):
    (free,) = region.free_disks(1)
    with pytest.raises(ArmError):
        region.state.attach_disks(vm("app"), [(1, free), (2, free)])


def test_detaching_one_disk_twice_in_one_update(region):
    with pytest.raises(ArmError):
        region.state.detach_disks(vm("app"), [disk("data0"), disk("data0")])


def test_detaching_a_disk_that_is_not_attached_is_invalid(region):
    (free,) = region.free_disks(1)
    with raises(400, "InvalidParameter"):
        region.state.detach_disks(vm("app"), [free])


@pytest.mark.parametrize("call", [
    lambda s: s.delete_disk(disk("nope")),
    lambda s: s.delete_vm(vm("nope")),
    lambda s: s.delete_nic(nic("nope")),
    lambda s: s.deallocate_vm(vm("nope")),
    lambda s: s.attach_disks(vm("app"), [(1, disk("nope"))]),
    lambda s: s.attach_disks(vm("nope"), [(1, disk("data0"))]),
    lambda s: s.create_vm(vm("v"), WE, "Standard_D2s_v5", nic("nope"), disk("app-os")),
    lambda s: s.delete_snapshot(arm.resource_id(SUB, "rg-prod", arm.SNAPSHOTS, "nope")),
    lambda s: s.create_disk(disk("d"), WE, 8, "Premium_LRS",
                            source=arm.resource_id(SUB, "rg-prod", arm.SNAPSHOTS, "x")),
    lambda s: s.delete_disk(vm("app")),  # a VM is not a disk
], ids=["delete-disk", "delete-vm", "delete-nic", "deallocate", "attach-missing-disk",
        "attach-to-missing-vm", "vm-missing-nic", "delete-snapshot", "disk-from-missing-snapshot",
        "wrong-type"])
def test_missing_resource_is_resource_not_found(region, call):
    with raises(404, "ResourceNotFound"):
        call(region.state)


def test_missing_resource_in_missing_group_is_resource_group_not_found(region):
    with raises(404, "ResourceGroupNotFound"):
        region.state.delete_disk(disk("d", "rg-missing"))


def test_nic_in_use_cannot_be_deleted_or_reused(region):
    with raises(400, "NicInUse"):
        region.state.delete_nic(nic("app-nic"))
    region.state.create_disk(disk("os2"), WE, 64, "Premium_LRS")
    with raises(400, "NicInUse"):
        region.state.create_vm(vm("second"), WE, "Standard_D2s_v5", nic("app-nic"), disk("os2"))
    assert region.state.find(vm("second")) is None
    assert region.state.find(disk("os2")).managed_by is None


def test_deleting_the_vm_frees_its_nic_and_disks(region):
    region.state.delete_vm(vm("app"))
    for d in (disk("app-os"), disk("data0")):
        assert region.state.find(d).managed_by is None
    assert region.state.find(nic("app-nic")).vm is None
    region.state.delete_nic(nic("app-nic"))
    region.state.delete_disk(disk("data0"))


def test_disk_in_another_location_cannot_attach(region):
    (far,) = region.free_disks(1, prefix="far", location=NE)
    with raises(400, "InvalidParameter"):
        region.state.attach_disks(vm("app"), [(1, far)])
    assert region.state.find(far).managed_by is None
    region.state.create_nic(nic("spare"), WE, SUBNET)
    with raises(400, "InvalidParameter"):  # nor be the OS disk of a VM elsewhere
        region.state.create_vm(vm("v2"), WE, "Standard_D2s_v5", nic("spare"), far)


def test_disk_in_another_zone_cannot_attach(region):
    (zonal,) = region.free_disks(1, prefix="z", zone="1")
    with raises(400, "InvalidParameter"):
        region.state.attach_disks(vm("app"), [(1, zonal)])  # the VM is regional
    region.state.create_nic(nic("n2"), WE, SUBNET)
    region.state.create_disk(disk("os-z2"), WE, 64, "Premium_LRS", "2")
    region.state.create_vm(vm("z2"), WE, "Standard_D2s_v5", nic("n2"), disk("os-z2"), zone="2")
    with raises(400, "InvalidParameter"):
        region.state.attach_disks(vm("z2"), [(0, zonal)])
    region.state.create_disk(disk("data-z2"), WE, 8, "Premium_LRS", "2")
    region.state.attach_disks(vm("z2"), [(0, disk("data-z2"))])


def test_vm_and_nic_must_share_the_location(region):
    region.state.create_disk(disk("os-ne"), NE, 64, "Premium_LRS")
    with raises(400, "InvalidResourceReference"):
        region.state.create_nic(nic("n-ne"), NE, SUBNET)  # subnet is in westeurope
    region.state.create_nic(nic("n-we"), WE, SUBNET)
    with raises(400, "InvalidParameter"):
        region.state.create_vm(vm("v-ne"), NE, "Standard_D2s_v5", nic("n-we"), disk("os-ne"))


def test_unknown_vm_size_is_sku_not_available(region):
    region.state.create_disk(disk("os2"), WE, 64, "Premium_LRS")
    region.state.create_nic(nic("n2"), WE, SUBNET)
    with raises(409, "SkuNotAvailable"):
        region.state.create_vm(vm("v"), WE, "Standard_Nope", nic("n2"), disk("os2"))


def test_resource_group_names_are_case_insensitive(region):
    s = region.state
    s.create_resource_group(rg("RG-Mixed"), WE, {"a": "1"})
    assert s.find(rg("rg-mixed")) is s.find(rg("RG-MIXED"))
    # Create-or-update: the other spelling updates the same group, no second group.
    groups_before = sum(1 for r in s.resources() if r.type == arm.RESOURCE_GROUPS)
    s.create_resource_group(rg("rg-mixed"), WE, {"b": "2"})
    assert sum(1 for r in s.resources() if r.type == arm.RESOURCE_GROUPS) == groups_before
    assert s.find(rg("RG-Mixed")).tags == {"b": "2"}
    with raises(409, "InvalidResourceGroupLocation"):
        s.create_resource_group(rg("RG-MIXED"), NE)
    s.create_disk(disk("d", "rg-mixed"), WE, 8, "Premium_LRS")
    assert s.in_group("RG-MIXED") == [s.find(disk("d", "Rg-Mixed"))]
    # Ids compare case-insensitively but echo the case they were created with.
    assert s.find(disk("D", "RG-MIXED")).id == disk("d", "rg-mixed")
    s.delete_resource_group(rg("rg-MIXED"))
    assert s.find(rg("RG-Mixed")) is None and s.find(disk("d", "rg-mixed")) is None


def test_delete_resource_group_removes_its_contents_and_frees_outside_links(region):
    s = region.state
    s.create_resource_group(rg("rg-tmp"), WE)
    s.create_nic(nic("w-nic", "rg-tmp"), WE, SUBNET)
    s.create_vm(vm("w", "rg-tmp"), WE, "Standard_D2s_v5", nic("w-nic", "rg-tmp"),
                disk("w-os", "rg-tmp"), os_disk_from_image=True)
    (outside,) = region.free_disks(1)
    s.attach_disks(vm("w", "rg-tmp"), [(0, outside)])
    s.delete_resource_group(rg("rg-tmp"))
    assert s.in_group("rg-tmp") == [] and s.find(rg("rg-tmp")) is None
    assert s.find(outside).managed_by is None
    with raises(404, "ResourceGroupNotFound"):
        s.delete_resource_group(rg("rg-tmp"))


def test_os_disk_from_image_is_a_tagged_30_gb_disk(region):
    s = region.state
    s.create_nic(nic("w-nic"), WE, SUBNET)
    made = s.create_vm(vm("w"), WE, "Standard_D2s_v5", nic("w-nic"), disk("w-os"),
                       os_disk_from_image=True, tags={"t": "1"})
    os_disk = s.find(disk("w-os"))
    assert isinstance(made, VirtualMachine) and isinstance(os_disk, Disk)
    assert (os_disk.size_gb, os_disk.create_option, os_disk.tags) == (30, "FromImage", {"t": "1"})
    assert os_disk.managed_by == made.id
    assert isinstance(s.find(nic("w-nic")), NetworkInterface)


def test_disk_from_snapshot_needs_the_same_region_and_enough_size(region):
    s = region.state
    snap = arm.resource_id(SUB, "rg-prod", arm.SNAPSHOTS, "data0-snap")
    s.create_snapshot(snap, WE, disk("data0"))
    with raises(400, "InvalidParameter"):
        s.create_disk(disk("from-snap"), NE, 128, "Premium_LRS", source=snap)
    with raises(400, "InvalidParameter"):
        s.create_disk(disk("from-snap"), WE, 64, "Premium_LRS", source=snap)
    copy = arm.resource_id(SUB, "rg-other", arm.SNAPSHOTS, "data0-snap-ne")
    s.create_snapshot(copy, NE, snap)
    made = s.create_disk(disk("from-snap"), NE, 128, "Premium_LRS", source=copy)
    assert made.create_option == "Copy"


def test_export_lists_every_resource_with_the_report_fields(region):
    exported = region.state.export()
    assert len(exported) == len(region.state.resources())
    for r in exported:
        assert {"type", "id", "name", "resource_group", "location", "tags",
                "properties"} <= r.keys()
    data0 = next(r for r in exported if r["name"] == "data0")
    assert data0["properties"]["diskSizeGB"] == 128
    assert data0["properties"]["managedBy"] == vm("app")
