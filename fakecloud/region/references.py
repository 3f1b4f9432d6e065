"""What ARM checks of the resources a request refers to: a NIC's network security group
and public IPs, a VM's availability set (never with a zone), a disk's encryption set (in
the disk's region). Each rule says where its code and message come from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fakecloud.models import (
    ArmError,
    AvailabilitySet,
    DiskEncryptionSet,
    NetworkSecurityGroup,
    PublicIPAddress,
    Resource,
)
from fakecloud.region.common import location_of, normal_id, not_found, zone_of

if TYPE_CHECKING:
    from fakecloud.models import CloudState
    from fakecloud.region.call import ArmCall


def check_nic_references(state: CloudState, call: ArmCall) -> None:
    """A NIC's security group and its IP configurations' public IPs exist in its region.
    ARM's answer (Microsoft.Network), as users quote it, e.g. Azure/azure-cli#332 and
    MicrosoftDocs/azure-docs#81734: 400 ``InvalidResourceReference``, "Resource <id>
    referenced by resource <nic> was not found. Please make sure that the referenced
    resource exists, and that both resources are in the same region."."""
    props = call.body.get("properties") or {}
    wanted = [((props.get("networkSecurityGroup") or {}).get("id"), NetworkSecurityGroup)]
    wanted += [(((c.get("properties") or {}).get("publicIPAddress") or {}).get("id"),
                PublicIPAddress) for c in props.get("ipConfigurations") or []]
    for arm_id, kind in wanted:
        if arm_id and _in_region(state, arm_id, kind, location_of(call.body)) is None:
            raise ArmError(400, "InvalidResourceReference", f"Resource {normal_id(arm_id)} "
                           f"referenced by resource {call.id} was not found. Please make sure "
                           "that the referenced resource exists, and that both resources are "
                           "in the same region.")


def check_vm_placement(state: CloudState, call: ArmCall) -> None:
    """A new VM's availability set exists, in its region, and the VM names no zone.

    Learn ("Availability options for Azure Virtual Machines") says the two are mutually
    exclusive; ARM's message, as a user quotes it (hashicorp/terraform-provider-azurerm
    #2246), is below. Its code was not found in the sources searched: ``InvalidParameter``
    (400) is the fake's choice. A missing set is answered as any missing resource (404
    ``ResourceNotFound``): CRP's exact answer was not found either."""
    props = call.body.get("properties") or {}
    aset = (props.get("availabilitySet") or {}).get("id")
    if not aset:
        return
    if zone_of(call.body):
        raise ArmError(400, "InvalidParameter", "The virtual machine can not be created "
                       "because using both the Availability Zone and the Availability Set "
                       "were specified. The implementation of an availability set in an "
                       "availability zone is not compatible.")
    if state.find(normal_id(aset)) is None:
        raise not_found(normal_id(aset))
    if _in_region(state, aset, AvailabilitySet, location_of(call.body)) is None:
        raise ArmError(400, "InvalidParameter", f"Availability set '{normal_id(aset)}' is not "
                       f"in the virtual machine's region '{location_of(call.body)}'.")


def check_disk_encryption(state: CloudState, body: dict[str, Any]) -> None:
    """A disk's encryption set exists, in the disk's region: "All resources related to
    your customer-managed keys (Azure Key Vaults, disk encryption sets, VMs, disks, and
    snapshots) must be in the same subscription and region" (Learn, "Server-side
    encryption of Azure Disk Storage", Restrictions). The code and message of ARM's
    refusal were not found: 404 ``ResourceNotFound`` for a missing set, 400
    ``InvalidParameter`` for one elsewhere are the fake's."""
    des = ((body.get("properties") or {}).get("encryption") or {}).get("diskEncryptionSetId")
    if not des:
        return
    if state.find(normal_id(des)) is None:
        raise not_found(normal_id(des))
    if _in_region(state, des, DiskEncryptionSet, location_of(body)) is None:
        raise ArmError(400, "InvalidParameter", f"Disk encryption set '{normal_id(des)}' is "
                       f"not in the disk's region '{location_of(body)}': a disk and its disk "
                       "encryption set must be in the same region.")


def _in_region(state: CloudState, arm_id: str, kind: type[Resource],
               location: str) -> Resource | None:
    found = state.find(normal_id(arm_id))
    if not isinstance(found, kind) or (location and found.location != location):
        return None
    return found
