"""Microsoft.Compute's virtual machine operations on the region: create (from an image or
on an OS disk, with data disks created, attached or from the request), PUT and PATCH
updates (data disks attached, detached with ``toBeDetached``, tags, size), the power
actions, ``attachDetachDataDisks``, Run Command and delete, read as ARM reads them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import armid as arm
from fakecloud.models import ArmError, AvailabilitySet, Disk, VirtualMachine, VmExtension
from fakecloud.models.state import IMAGE_OS_DISK
from fakecloud.region.common import (
    Handler,
    Outcome,
    data_disk_id,
    delete_handler,
    echoed,
    echoed_handlers,
    get_or_list,
    get_resource,
    location_of,
    missing,
    normal_id,
    patch_echoed,
    remember,
    tags_of,
    zone_of,
)
from fakecloud.region.references import check_vm_placement

if TYPE_CHECKING:
    from fakecloud.models import CloudState
    from fakecloud.region.call import ArmCall
    from fakecloud.region.core import Region

RUN_COMMAND_KIND = "start_restore_agent"  # Run Command's start before the script runs
POWER_ACTIONS = {"start": ("running", "start_vm"), "powerOff": ("stopped", "power_off_vm"),
                 "restart": ("running", "restart_vm"), "deallocate": ("deallocated",
                                                                      "deallocate_vm")}
"""Each power action: the power state it leaves and its latency kind."""


def put_vm(region: Region, call: ArmCall) -> Outcome:
    """Create a VM (on an existing OS disk, or a new one from an image) with its data
    disks, or update one."""
    existing = region.state.find(call.id)
    check_preconditions(call, existing if isinstance(existing, VirtualMachine) else None)
    props = call.body.get("properties") or {}
    storage = props.get("storageProfile") or {}
    if isinstance(existing, VirtualMachine):
        return _update(region, existing, call.body)
    check_vm_placement(region.state, call)
    os_disk = storage.get("osDisk") or {}
    from_image = (os_disk.get("createOption") or "").lower() == "fromimage"
    if from_image and not storage.get("imageReference") and not os_disk.get("name"):
        raise missing("properties.storageProfile.imageReference")
    os_disk_id = (arm.resource_id(arm.parse_id(call.id).subscription, arm.group_of(call.id),
                                  arm.DISKS, os_disk.get("name")
                                  or f"{arm.name_of(call.id)}_OsDisk_1")
                  if from_image else normal_id((os_disk.get("managedDisk") or {}).get("id", "")))
    nics = (props.get("networkProfile") or {}).get("networkInterfaces") or [{}]
    image_disk = ((os_disk.get("managedDisk") or {}).get("storageAccountType") or IMAGE_OS_DISK[0],
                  int(os_disk.get("diskSizeGB") or IMAGE_OS_DISK[1]))
    vm = region.state.create_vm(call.id, location_of(call.body),
                                (props.get("hardwareProfile") or {}).get("vmSize", ""),
                                normal_id(_primary(nics).get("id", "")), os_disk_id, from_image,
                                zone_of(call.body), tags_of(call.body), image_disk)
    remember(vm, call.body)
    try:
        _set_data_disks(region, vm, storage.get("dataDisks") or [])
    except ArmError:
        _undo_create(region, vm)
        raise
    vm.custom_data = (props.get("osProfile") or {}).get("customData")
    vm.version = 1
    return 201, vm, "create_vm", True


def check_preconditions(call: ArmCall, vm: VirtualMachine | None) -> None:
    """ARM's optimistic concurrency on a VM's Create/Update: ``If-Match`` (the etag a
    client last read, or ``*``: any existing VM) must match the VM's etag now, and
    ``If-None-Match: *`` (create only) must find no VM; else 412 ``PreconditionFailed``
    and nothing changes."""
    name = arm.name_of(call.id)
    if call.if_match is not None and call.if_match.strip() != "*" and (
            vm is None or call.if_match.strip() != vm.etag):
        raise ArmError(412, "PreconditionFailed", f"The etag {call.if_match.strip()} given "
                       f"in If-Match does not match the current etag "
                       f"{vm.etag if vm else '(none)'} of virtual machine '{name}'.")
    if call.if_match is not None and call.if_match.strip() == "*" and vm is None:
        raise ArmError(412, "PreconditionFailed", f"If-Match: * names an existing resource; "
                       f"virtual machine '{name}' does not exist.")
    if call.if_none_match is not None and call.if_none_match.strip() == "*" and vm is not None:
        raise ArmError(412, "PreconditionFailed", f"If-None-Match: * creates only; virtual "
                       f"machine '{name}' already exists.")


def _primary(nics: list[dict[str, Any]]) -> dict[str, Any]:
    """The NIC marked primary (or the first)."""
    return next((n for n in nics if (n.get("properties") or {}).get("primary")), nics[0])


def _undo_create(region: Region, vm: VirtualMachine) -> None:
    """A create that failed on its data disks leaves nothing: ARM validates it first."""
    region.state.delete_vm(vm.id)
    os_disk = region.state.find(vm.os_disk)
    if isinstance(os_disk, Disk) and os_disk.create_option == "FromImage":
        region.state.delete_disk(os_disk.id)


def _update(region: Region, vm: VirtualMachine, body: dict[str, Any]) -> Outcome:
    """A PUT or PATCH on an existing VM: tags, size, the OS disk (swapped for another
    managed disk) and data disks (when listed), the disks all in one update or none."""
    props = body.get("properties") or {}
    size = (props.get("hardwareProfile") or {}).get("vmSize")
    if size and size != vm.size:
        region.state.resize_vm(vm.id, size)
    if "tags" in body:
        region.state.retag(vm.id, tags_of(body))
    storage = props.get("storageProfile") or {}
    swapped_from = _swap_os_disk(region, vm, storage.get("osDisk") or {})
    data_disks = storage.get("dataDisks")
    try:
        outcome = (200, vm, "get_resource", False) if data_disks is None else _set_data_disks(
            region, vm, data_disks)
    except ArmError:
        if swapped_from:
            region.state.swap_os_disk(vm.id, swapped_from)
        raise
    if swapped_from:
        outcome = (200, vm, "swap_os_disk", True)
    remember(vm, {**vm.requested_top, **body, "properties": {**vm.requested, **props}})
    vm.version += 1  # every write: a new etag
    return outcome


def _swap_os_disk(region: Region, vm: VirtualMachine, os_disk: dict[str, Any]) -> str:
    """Swap the VM's OS disk for the managed disk ``os_disk`` names, if another; returns
    the disk it had then ("" when unchanged)."""
    named = (os_disk.get("managedDisk") or {}).get("id")
    if not named or normal_id(named).lower() == vm.os_disk.lower():
        return ""
    wanted = normal_id(named)
    old = vm.os_disk
    region.state.swap_os_disk(vm.id, wanted)
    return old


def _set_data_disks(region: Region, vm: VirtualMachine, data_disks: list[dict[str, Any]]
                    ) -> Outcome:
    """The VM's data disks become the ones listed and not ``toBeDetached``: missing ones
    detached, then new ones attached (created first for ``Empty``, ``Copy`` and
    ``FromImage``), all in one update or none of it."""
    wanted = {int(d["lun"]): d for d in data_disks if not d.get("toBeDetached")}
    attached = {disk.lower() for disk in vm.data_disks.values()}
    keep = {data_disk_id(vm, d).lower() for d in wanted.values()}
    before = dict(vm.data_disks)
    detach = [disk for disk in before.values() if disk.lower() not in keep]
    attach = [(lun, d) for lun, d in sorted(wanted.items())
              if data_disk_id(vm, d).lower() not in attached]
    if not (attach or detach):
        return 200, vm, "get_resource", False
    if detach:
        region.state.detach_disks(vm.id, detach)
    created: list[str] = []
    try:
        disks = [(lun, _attachable(region, vm, entry, created)) for lun, entry in attach]
        if disks:
            region.state.attach_disks(vm.id, disks)
    except ArmError:  # all or nothing: the disks made for it go, the detached come back
        for disk_id in created:
            region.state.delete_disk(disk_id)
        if detach:
            region.state.attach_disks(vm.id, [(lun, disk) for lun, disk in before.items()
                                              if disk in detach])
        raise
    return 200, vm, "attach_disks" if attach else "detach_disks", True


def _attachable(region: Region, vm: VirtualMachine, entry: dict[str, Any],
                created: list[str]) -> str:
    """The disk a data disk entry names; an ``Empty`` one is created first (and noted in
    ``created``)."""
    option = (entry.get("createOption") or "").lower()
    disk_id = data_disk_id(vm, entry)
    sku = (entry.get("managedDisk") or {}).get("storageAccountType") or "Standard_LRS"
    if option == "empty":
        size = int(entry.get("diskSizeGB") or 0)
        if size < 1:
            raise missing("properties.storageProfile.dataDisks[].diskSizeGB")
        region.state.create_disk(disk_id, vm.location, size, sku, vm.zone)
        created.append(disk_id)
    elif option == "copy":
        source = (entry.get("sourceResource") or {}).get("id")
        if not source:
            raise missing("properties.storageProfile.dataDisks[].sourceResource.id")
        region.state.create_disk(disk_id, vm.location, int(entry.get("diskSizeGB") or 0), sku,
                                 vm.zone, normal_id(source), create_option="Copy")
        created.append(disk_id)
    elif option == "fromimage":
        if not _image_of(vm):
            raise missing("properties.storageProfile.imageReference")
        region.state.create_disk(disk_id, vm.location, int(entry.get("diskSizeGB") or
                                                           IMAGE_OS_DISK[1]),
                                 sku, vm.zone, create_option="FromImage")
        created.append(disk_id)
    elif option != "attach":
        known = option == "restore"
        raise ArmError(501 if known else 400,
                       "NotImplementedInFake" if known else "InvalidParameter",
                       f"data disk createOption '{entry.get('createOption')}': the fake "
                       "attaches (Attach) or creates (Empty, Copy, FromImage) data disks")
    return disk_id


def _image_of(vm: VirtualMachine) -> dict[str, Any]:
    """The image the VM was created from (its request's ``imageReference``)."""
    return (vm.requested.get("storageProfile") or {}).get("imageReference") or {}


def delete_vm(state: CloudState, vm_id: str) -> None:
    """Delete the VM, then the disks and NICs its request marked ``deleteOption: Delete``
    (ARM's default leaves them, detached)."""
    vm = state.get(vm_id, VirtualMachine)
    requested = vm.requested
    storage = requested.get("storageProfile") or {}
    doomed = [vm.os_disk] if _deletes(storage.get("osDisk")) else []
    doomed += [vm.data_disks[int(d["lun"])] for d in storage.get("dataDisks") or []
               if _deletes(d) and int(d.get("lun", -1)) in vm.data_disks]
    nics = (requested.get("networkProfile") or {}).get("networkInterfaces") or []
    for extension in _extensions_of(state, vm_id):  # a VM's extensions go with it
        state.delete_echoed(extension.id)
    state.delete_vm(vm_id)
    for disk_id in doomed:
        state.delete_disk(disk_id)
    for nic in nics:
        if _deletes(nic.get("properties")) and state.find(normal_id(nic.get("id", ""))):
            state.delete_nic(normal_id(nic["id"]))


def put_extension(region: Region, call: ArmCall) -> Outcome:
    """An extension of an existing VM, kept as its request said."""
    region.state.get(call.id.rsplit("/extensions/", 1)[0], VirtualMachine)  # 404 without it
    return EXTENSION_PUT(region, call)


def get_extension(region: Region, call: ArmCall) -> Outcome:
    """One extension, or (the call names its VM) all of them."""
    if "/extensions/" in call.id.lower():
        return get_resource(region, call)
    vm = region.state.get(call.id, VirtualMachine)
    return 200, _extensions_of(region.state, vm.id), "find_resources", False


def _extensions_of(state: CloudState, vm_id: str) -> list[VmExtension]:
    prefix = vm_id.lower() + "/extensions/"
    return [r for r in state.resources() if isinstance(r, VmExtension)
            and r.id.lower().startswith(prefix)]


def _deletes(entry: dict[str, Any] | None) -> bool:
    return (entry or {}).get("deleteOption", "").lower() == "delete"


def patch_vm(region: Region, call: ArmCall) -> Outcome:
    vm = region.state.get(call.id, VirtualMachine)
    check_preconditions(call, vm)
    return _update(region, vm, call.body)


def power(action: str) -> Handler:
    to, kind = POWER_ACTIONS[action]

    def handler(region: Region, call: ArmCall) -> Outcome:
        was = region.state.get(call.id, VirtualMachine).power_state
        vm = region.state.set_power_state(call.id, to)
        vm.version += 1
        if was == "deallocated" and to == "running" and \
                region.profile.throughput.credits_after_start == "full":
            vm.burst_spent_mb = 0.0  # allocated again: a deployed resource's full credits
        return 202, vm, kind, True

    return handler


def attach_detach(region: Region, call: ArmCall) -> Outcome:
    """``attachDetachDataDisks``: attach or detach by disk id; answers the storage profile."""
    vm = region.state.get(call.id, VirtualMachine)
    to_attach = call.body.get("dataDisksToAttach") or []
    to_detach = [normal_id(d.get("diskId", "")) for d in call.body.get("dataDisksToDetach") or []]
    if not (to_attach or to_detach):
        raise missing("dataDisksToAttach or dataDisksToDetach")
    before = dict(vm.data_disks)
    if to_detach:
        region.state.detach_disks(vm.id, to_detach)
    try:
        free = (lun for lun in range(64) if lun not in before and lun not in vm.data_disks)
        if to_attach:
            region.state.attach_disks(vm.id, [
                (int(d["lun"]) if d.get("lun") is not None else next(free),
                 normal_id(d.get("diskId", ""))) for d in to_attach])
    except ArmError:  # all or nothing: what it detached goes back
        region.state.attach_disks(vm.id, [(lun, d) for lun, d in before.items()
                                          if lun not in vm.data_disks])
        raise
    vm.version += 1
    kind = "attach_disks" if to_attach else "detach_disks"
    profile = {"dataDisks": [{"lun": lun, "name": arm.name_of(disk), "createOption": "Attach",
                              "managedDisk": {"id": disk}}
                             for lun, disk in sorted(vm.data_disks.items())]}
    return 200, profile, kind, True


def run_command(region: Region, call: ArmCall) -> Outcome:
    """Run a script on the VM's guest: what it does and how long it runs is the guest's
    (the region's ``guest`` hook); Run Command itself succeeds whatever the script did."""
    vm = region.state.get(call.id, VirtualMachine)
    return 202, region.guest(region, vm, call.body), RUN_COMMAND_KIND, True


AGENT_READY = {"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Ready",
               "message": "GuestAgent is running and accepting new configurations."}
AGENT_NOT_READY = {"code": "ProvisioningState/Unavailable", "level": "Warning",
                   "displayStatus": "Not Ready",
                   "message": "VM status blob is found but not yet populated."}


def instance_view(vm: VirtualMachine, now: float) -> dict[str, Any]:
    """The VM's instance view at ``now``: provisioning and power state, and its VM agent
    (Ready from ``agent_ready_at`` on while it runs), in the shape of the official
    VirtualMachine_Get_InstanceView examples."""
    power = {"running": "VM running", "stopped": "VM stopped", "deallocated": "VM deallocated"}
    ready = vm.power_state == "running" and vm.agent_ready_at is not None and (
        now >= vm.agent_ready_at)
    return {"vmAgent": {"vmAgentVersion": "2.7.41491.949" if ready else "Unknown",
                        "statuses": [AGENT_READY if ready else AGENT_NOT_READY]},
            "statuses": [
        {"code": "ProvisioningState/succeeded", "level": "Info",
         "displayStatus": "Provisioning succeeded"},
        {"code": f"PowerState/{vm.power_state}", "level": "Info",
         "displayStatus": power.get(vm.power_state, vm.power_state)}]}


def get_instance_view(region: Region, call: ArmCall) -> Outcome:
    vm = region.state.get(call.id, VirtualMachine)
    return 200, instance_view(vm, region.state.now), "get_resource", False


VM = arm.VIRTUAL_MACHINES
EXTENSION_PUT = echoed(VmExtension, "create_nic", long_running=True)
"""An extension's PUT: a VM update installing it (network-PUT seconds as the stand-in)."""
VM_HANDLERS: dict[str, Handler] = {
    # an availability set's PUT is synchronous: a quick ARM write, as a group's
    **echoed_handlers(AvailabilitySet, "create_resource_group", "create_resource_group",
                      long_running=False),
    f"GET {VM}": get_or_list,
    f"GET {VM}/instanceView": get_instance_view,
    f"PUT {VM}": put_vm,
    f"PATCH {VM}": patch_vm,
    f"DELETE {VM}": delete_handler("delete_vm", delete_vm),
    **{f"POST {VM}/{action}": power(action) for action in POWER_ACTIONS},
    f"POST {VM}/attachDetachDataDisks": attach_detach,
    f"POST {VM}/runCommand": run_command,
    f"PUT {VmExtension.type}": put_extension,
    f"GET {VmExtension.type}": get_extension,
    f"PATCH {VmExtension.type}": patch_echoed,
    f"DELETE {VmExtension.type}": delete_handler(
        "create_nic", lambda state, i: state.delete_echoed(i)),
}
"""The handler of each virtual machine operation the region implements."""
