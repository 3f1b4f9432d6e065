"""The ARM calls the azure backend sends for each engine operation, in fakecloud's terms,
for the `sim` backend to send to the same region layer the ARM fake answers.

Each operation is a generator: it yields an ``ArmCall``, is sent the region's ``Answer``
(or has the ARM error thrown in) and returns the operation's result. A PUT that runs
long is followed by the GET the SDK's poller makes when it ends.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import armid as arm
from datapath import delivery
from fakecloud.models import ArmError, Resource, VirtualMachine
from fakecloud.region import Answer, ArmCall, rehydration
from restore import ops
from restore.backends import checks
from restore.backends.agent_call import check_agent_output, run_command_input
from restore.backends.checks import NO_SUBSCRIPTION, Seen
from restore.backends.data import REPOSITORY_URL
from restore.backends.drill_calls import DRILL_CALLS, nsg_body, vnet_body
from restore.backends.worker import WORKER_ADMIN, WORKER_IMAGE, WORKER_OS_DISK_SKU
from restore.errors import CloudError
from restore.ops import Operation

Calls = Generator[ArmCall, Answer, Any]
SUBNETS = f"{arm.VIRTUAL_NETWORKS}/subnets"


def calls_for(op: Operation, subscription: str, recheck: bool = False,
              now: float = 0.0) -> Calls:
    """The calls of ``op`` (they return its result, None for the resource's id); with
    ``recheck`` (its step ran before an interruption) it looks first and sends nothing
    when its effect is there. ``now``: the backend's clock, for the worker pool's
    keep-warm times."""
    handler = CALLS.get(type(op))
    if handler is None:
        from restore.backends.pool_calls import TIMED_CALLS

        calls = TIMED_CALLS[type(op)](op, subscription, now)
    else:
        calls = handler(op, subscription)
    return _rechecked(op, calls) if recheck else calls


def _rechecked(op: Operation, calls: Calls) -> Calls:
    if (yield from already_done(op)):
        return None
    return (yield from calls)


def look(arm_id: str) -> Generator[ArmCall, Answer, Resource | None]:
    """GET one resource: the region's model of it, or None when it does not exist."""
    parsed = arm.parse_id(arm_id)
    type_ = SUBNETS if "/subnets/" in arm_id.lower() else parsed.type
    try:
        answer = yield ArmCall("GET", type_, arm_id)
    except ArmError as exc:
        if exc.status == 404 and exc.code != NO_SUBSCRIPTION:
            return None
        raise
    return answer.result


def already_done(op: Operation) -> Generator[ArmCall, Answer, bool]:
    """The shared rule of whether ``op``'s effect is there, answered with GETs."""
    rule = checks.already_done(op)
    try:
        arm_id = next(rule)
        while True:
            found = yield from look(arm_id)
            arm_id = rule.send(None if found is None else seen(found))
    except StopIteration as end:
        return end.value


def seen(resource: Resource) -> Seen:
    if isinstance(resource, VirtualMachine):
        return Seen(resource.tags, {d.lower(): lun for lun, d in resource.data_disks.items()},
                    resource.power_state, resource.os_disk.lower())
    return Seen(resource.tags)


def _put(type_: str, arm_id: str, body: dict[str, Any]) -> Calls:
    answer = yield ArmCall("PUT", type_, arm_id, body=body)
    if answer.long_running:
        yield ArmCall("GET", type_, arm_id)  # the poller's GET once the operation ended
    return None


def _delete(op: ops.DeleteDisk | ops.DeleteSnapshot | ops.DeleteNic | ops.DeleteVm
            | ops.DeleteResourceGroup | ops.DeletePublicIp, subscription: str) -> Calls:
    yield ArmCall("DELETE", arm.parse_id(op.id).type, op.id)


def _tags(op: Any) -> dict[str, str]:
    return dict(op.tags)


def _zones(zone: str | None) -> dict[str, Any]:
    return {"zones": [zone]} if zone else {}


# -- reads -----------------------------------------------------------------------------


def _find(op: ops.FindResources, subscription: str) -> Calls:
    where = f"tagName eq '{op.key}' and tagValue eq '{op.value}'"
    scope = f"/subscriptions/{op.subscription}"
    try:
        found = yield ArmCall("GET", "Microsoft.Resources/resources", scope, filter_=where)
    except ArmError as exc:
        if exc.code == NO_SUBSCRIPTION:
            return []
        raise
    groups = yield ArmCall("GET", "Microsoft.Resources/subscriptions/resourceGroups", scope,
                           filter_=where)
    pairs = [(r.type, r.id) for r in found.result] + [(arm.RESOURCE_GROUPS, g.id)
                                                     for g in groups.result]
    return sorted(pairs, key=lambda pair: pair[1].lower())


def _check_exists(op: ops.CheckExists, subscription: str) -> Calls:
    for arm_id in op.ids:
        if (yield from look(arm_id)) is None:
            raise CloudError("ResourceNotFound", f"'{arm_id}' was not found.", 404)


def _check_names(op: ops.CheckNamesFree, subscription: str) -> Calls:
    ours = dict(op.tags)
    for arm_id in op.ids:
        found = yield from look(arm_id)
        if found is not None and not ours.items() <= found.tags.items():
            raise CloudError("Conflict", f"The name of '{arm_id}' is taken by a resource "
                             "this restore did not create.", 409)


def _check_quota(op: ops.CheckQuota, subscription: str) -> Calls:
    """The VM sizes must be offered in the location without restriction, and the VMs and
    disks must fit next to the usage."""
    skus = yield ArmCall("GET", "Microsoft.Compute/skus", f"/subscriptions/{op.subscription}",
                         filter_=f"location eq '{op.location}'")
    offered = {s["name"]: s for s in skus.result if s["resourceType"] == "virtualMachines"}
    wanted: dict[str, int] = {"cores": 0, "managedDisks": op.disks}
    for size in op.vm_sizes:
        sku = offered.get(size)
        if sku is None or sku["restrictions"]:
            raise CloudError("SkuNotAvailable", f"The VM size '{size}' is not available in "
                             f"location '{op.location}'.", 409)
        vcpus = int(next((c["value"] for c in sku["capabilities"] if c["name"] == "vCPUs"), 0))
        wanted["cores"] += vcpus
        wanted[sku["family"]] = wanted.get(sku["family"], 0) + vcpus
    usages = yield ArmCall("GET", "Microsoft.Compute/locations/usages",
                           f"/subscriptions/{op.subscription}/providers/Microsoft.Compute/"
                           f"locations/{op.location}")
    for usage in usages.result:
        extra = wanted.get(usage["name"]["value"], 0)
        if extra and usage["currentValue"] + extra > usage["limit"]:
            raise CloudError("QuotaExceeded", f"Operation could not be completed as it "
                             f"results in exceeding approved {usage['name']['localizedValue']} "
                             f"quota in {op.location}: limit {usage['limit']}, in use "
                             f"{usage['currentValue']}, requested {extra}.", 409)


# -- writes ----------------------------------------------------------------------------


def _create_group(op: ops.CreateResourceGroup, subscription: str) -> Calls:
    yield ArmCall("PUT", arm.RESOURCE_GROUPS, op.id,
                  body={"location": op.location, "tags": _tags(op)})


def _move(op: ops.MoveResources, subscription: str) -> Calls:
    body = {"resources": list(op.resources), "targetResourceGroup": op.target_group}
    yield ArmCall("POST", arm.RESOURCE_GROUPS, op.source_group, "validateMoveResources", body)
    yield ArmCall("POST", arm.RESOURCE_GROUPS, op.source_group, "moveResources", body)


def _create_disk(op: ops.CreateDisk, subscription: str) -> Calls:
    creation = ({"createOption": "Copy", "sourceResourceId": op.source_snapshot}
                if op.source_snapshot else {"createOption": "Empty"})
    yield from _put(arm.DISKS, op.id, {
        "location": op.location, "tags": _tags(op), "sku": {"name": op.sku}, **_zones(op.zone),
        "properties": {"creationData": creation, "diskSizeGB": op.size_gb,
                       **encryption_body(op.encryption_set)}})


def encryption_body(encryption_set: str | None) -> dict[str, Any]:
    """A disk's encryption with a customer key of its disk encryption set (none given:
    ARM's default, platform-managed keys)."""
    if encryption_set is None:
        return {}
    return {"encryption": {"type": "EncryptionAtRestWithCustomerKey",
                           "diskEncryptionSetId": encryption_set}}


def _create_snapshot(op: ops.CreateSnapshot, subscription: str) -> Calls:
    yield from _put(arm.SNAPSHOTS, op.id, {
        "location": op.location, "tags": _tags(op),
        "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": op.source}}})


def _create_nic(op: ops.CreateNic, subscription: str) -> Calls:
    ip = {"publicIPAddress": {"id": op.public_ip}} if op.public_ip else {}
    yield from _put(arm.NETWORK_INTERFACES, op.id, {
        "location": op.location, "tags": _tags(op), "properties": {"ipConfigurations": [
            {"name": "ipconfig1", "properties": {"subnet": {"id": op.subnet},
                                                 "privateIPAllocationMethod": "Dynamic", **ip}}],
            **_nic_settings(op)}})


def _nic_settings(op: ops.CreateNic) -> dict[str, Any]:
    nsg = {"networkSecurityGroup": {"id": op.nsg}} if op.nsg else {}
    accelerated = {"enableAcceleratedNetworking": True} if op.accelerated_networking else {}
    return {**nsg, **accelerated}


def _create_public_ip(op: ops.CreatePublicIp, subscription: str) -> Calls:
    yield from _put(arm.PUBLIC_IP_ADDRESSES, op.id, {
        "location": op.location, "tags": _tags(op), "sku": {"name": op.sku},
        "properties": {"publicIPAllocationMethod": op.allocation}})


def _create_nsg(op: ops.CreateNsg, subscription: str) -> Calls:
    yield from _put(arm.NETWORK_SECURITY_GROUPS, op.id, nsg_body(op))


def _create_vnet(op: ops.CreateVnet, subscription: str) -> Calls:
    yield from _put(arm.VIRTUAL_NETWORKS, op.id, vnet_body(op))


def _create_vm(op: ops.CreateVm, subscription: str) -> Calls:
    """A worker boots from the worker image with the agent in its custom data; a
    restored VM boots its own OS disk (read first, for its OS type)."""
    if op.os_disk_from_image:
        storage = {"imageReference": WORKER_IMAGE, "osDisk": {
            "name": arm.name_of(op.os_disk), "createOption": "FromImage",
            "managedDisk": {"storageAccountType": WORKER_OS_DISK_SKU}}}
        extra = {"osProfile": {"computerName": arm.name_of(op.id)[:15],
                               "adminUsername": WORKER_ADMIN,
                               "customData": delivery.custom_data()}}
        if op.delete_with_vm:
            storage["osDisk"]["deleteOption"] = "Delete"
    else:
        yield from look(op.os_disk)
        storage = {"osDisk": {"createOption": "Attach", "managedDisk": {"id": op.os_disk}}}
        extra = {}
    yield from _put(arm.VIRTUAL_MACHINES, op.id, {
        "location": op.location, "tags": _tags(op), **_zones(op.zone),
        "properties": {"hardwareProfile": {"vmSize": op.size}, "storageProfile": storage,
                       "networkProfile": {"networkInterfaces": [_nic_ref(op)]}, **extra,
                       **_placement(op)}})


def _placement(op: ops.CreateVm) -> dict[str, Any]:
    """The VM's availability set and security profile, when it has them."""
    aset = {"availabilitySet": {"id": op.availability_set}} if op.availability_set else {}
    return {**aset, **security_body(op.security)}


def security_body(security: ops.SecurityProfile | None) -> dict[str, Any]:
    """A VM's ``securityProfile`` (none: the Standard security type)."""
    if security is None:
        return {}
    return {"securityProfile": {"securityType": security.type, "uefiSettings": {
        "secureBootEnabled": security.secure_boot, "vTpmEnabled": security.vtpm}}}


def _nic_ref(op: ops.CreateVm) -> dict[str, Any]:
    if op.delete_with_vm:
        return {"id": op.nic, "properties": {"primary": True, "deleteOption": "Delete"}}
    return {"id": op.nic}


def _update_data_disks(vm_id: str, change: Callable[[dict[int, str]], dict[int, str]],
                       os_disk: str | None = None) -> Calls:
    """GET the VM, PUT it back with its data disks changed (one VM update); with
    ``os_disk``, its OS disk swapped for that managed disk too."""
    vm = yield from look(vm_id)
    if vm is None:
        raise ArmError(404, "ResourceNotFound", f"The Resource '{arm.VIRTUAL_MACHINES}/"
                       f"{arm.name_of(vm_id)}' was not found.")
    disks = change(dict(vm.data_disks))
    kept = {k: v for k, v in (vm.requested.get("storageProfile") or {}).items()
            if k == "osDisk"}  # as the SDK's PUT of the whole VM keeps its OS disk's options
    if os_disk is not None:  # the swap names the new disk (Set-AzVMOSDisk -ManagedDiskId -Name)
        kept = {"osDisk": {**kept.get("osDisk", {}), "name": arm.name_of(os_disk),
                           "createOption": "Attach", "managedDisk": {"id": os_disk}}}
    yield from _put(arm.VIRTUAL_MACHINES, vm_id, {"location": vm.location, "properties": {
        "storageProfile": {**kept, "dataDisks": [
            {"lun": lun, "createOption": "Attach", "managedDisk": {"id": disk}}
            for lun, disk in sorted(disks.items())]}}})


def _attach(op: ops.AttachDisks, subscription: str) -> Calls:
    yield from _update_data_disks(op.vm, lambda disks: {**disks, **dict(op.disks)})


def _detach(op: ops.DetachDisks, subscription: str) -> Calls:
    leaving = {disk.lower() for disk in op.disks}
    yield from _update_data_disks(op.vm, lambda disks: {
        lun: disk for lun, disk in disks.items() if disk.lower() not in leaving})


def _swap(op: ops.SwapDisks, subscription: str) -> Calls:
    yield from _update_data_disks(op.vm, lambda disks: {**disks, **dict(op.data_disks)},
                                  op.os_disk)


def _tag_disk(op: ops.TagDisk, subscription: str) -> Calls:
    """GET the disk, PATCH its tags with these added."""
    disk = yield from look(op.id)
    if disk is None:
        raise ArmError(404, "ResourceNotFound", f"The Resource '{arm.DISKS}/"
                       f"{arm.name_of(op.id)}' was not found.")
    answer = yield ArmCall("PATCH", arm.DISKS, op.id, body={"tags": {**disk.tags, **_tags(op)}})
    if answer.long_running:
        yield ArmCall("GET", arm.DISKS, op.id)


def _deallocate(op: ops.DeallocateVm, subscription: str) -> Calls:
    yield ArmCall("POST", arm.VIRTUAL_MACHINES, op.id, "deallocate")


def _rehydrate(op: ops.RehydrateRestorePoint, subscription: str) -> Calls:
    yield rehydration(op.restore_point, op.priority, op.size_gb)


def _write_data(op: ops.WriteDiskData, subscription: str) -> Calls:
    """Start the restore agent on the worker through Run Command; its report must name
    every disk."""
    vm = yield from look(op.worker)
    luns = {d.lower(): lun for lun, d in vm.data_disks.items()} if vm else {}
    ran = yield ArmCall("POST", arm.VIRTUAL_MACHINES, op.worker, "runCommand",
                        run_command_input(op, luns, REPOSITORY_URL))
    check_agent_output([s.get("message") or "" for s in ran.result.output["value"]],
                       [w.disk for w in op.writes])


CALLS: dict[type, Callable[[Any, str], Calls]] = {
    ops.FindResources: _find,
    ops.CheckExists: _check_exists,
    ops.CheckNamesFree: _check_names,
    ops.CheckQuota: _check_quota,
    ops.CreateResourceGroup: _create_group,
    ops.DeleteResourceGroup: _delete,
    ops.MoveResources: _move,
    ops.CreateDisk: _create_disk,
    ops.DeleteDisk: _delete,
    ops.CreateSnapshot: _create_snapshot,
    ops.DeleteSnapshot: _delete,
    ops.CreateNic: _create_nic,
    ops.DeleteNic: _delete,
    ops.CreatePublicIp: _create_public_ip,
    ops.DeletePublicIp: _delete,
    ops.CreateVm: _create_vm,
    ops.AttachDisks: _attach,
    ops.DetachDisks: _detach,
    ops.DeallocateVm: _deallocate,
    ops.SwapDisks: _swap,
    ops.TagDisk: _tag_disk,
    ops.DeleteVm: _delete,
    ops.RehydrateRestorePoint: _rehydrate,
    ops.WriteDiskData: _write_data,
    ops.CreateNsg: _create_nsg,
    ops.CreateVnet: _create_vnet,
    **DRILL_CALLS,
}
"""The calls of each type of operation."""
