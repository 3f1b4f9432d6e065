"""Network, placement and security: the rules of a scenario's settings for them, and what
the plan makes of them (the restored VM's ``VmSettings``, each disk's encryption).

The source's accelerated networking, security type (Trusted Launch with its secure boot
and vTPM) and disk encryption sets are carried over; a new-location target may attach an
existing network security group, a new public IP, an existing availability set, and
change the security type or the disks' encryption. Errors start with the field they are
about (``target.availability_set: ...``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import armid as arm
from restore.ops import SecurityProfile
from restore.scenario_placement import PLATFORM_KEYS

if TYPE_CHECKING:
    from restore.scenario import DiskSpec, Scenario
    from restore.scenario_placement import Security

def check_placement(scenario: Scenario) -> None:
    """Raise ValueError naming the field when the settings cannot be restored as written.

    A confidential VM is refused as the issue says Veeam Backup for Microsoft Azure
    refuses it; Veeam's own statement of that was not found in the sources searched."""
    security = scenario.source_vm.security
    if security is not None and security.type == "ConfidentialVM":
        raise ValueError("source_vm.security.type: a confidential VM (ConfidentialVM) cannot "
                         "be restored: restorelab, like Veeam Backup for Microsoft Azure, "
                         "restores Standard and Trusted Launch VMs only")
    src, target = scenario.source_vm, scenario.target
    if src.availability_set is not None and src.zone is not None:
        raise ValueError("source_vm.availability_set: a VM is in an availability set or in a "
                         "zone, not both (ARM refuses the combination)")
    if target.availability_set is not None and target.zone is not None:
        raise ValueError("target.availability_set: a VM is in an availability set or in a "
                         "zone, not both (drop target.zone; ARM refuses the combination)")
    _check_encryption_region(scenario)


def _check_encryption_region(scenario: Scenario) -> None:
    """A disk encryption set serves its own region only: a restore to another region
    names one there (or platform keys) for disks the source encrypts with one."""
    src, target = scenario.source_vm, scenario.target
    elsewhere = target.region is not None and target.region != src.location
    encrypted = [name for lun, spec, name in src.disks()
                 if spec.encryption_set and scenario.restore_point.restores(lun)]
    if elsewhere and encrypted and target.encryption_set is None:
        raise ValueError(f"target.encryption_set: the source's disks {', '.join(encrypted)} "
                         f"use disk encryption sets of {src.location}, which cannot encrypt "
                         f"disks in {target.region}: name a disk encryption set there, or "
                         "'platform' for platform-managed keys")


@dataclass(frozen=True, slots=True)
class PublicIpPlan:
    """The restored VM's new public IP."""

    id: str
    sku: str  # Standard, Basic
    allocation: str  # Static, Dynamic


@dataclass(frozen=True, slots=True)
class VmSettings:
    """The restored VM's network, placement and security settings."""

    nsg: str | None = None  # an existing security group on its new NIC
    public_ip: PublicIpPlan | None = None  # made by the restore, on its new NIC
    availability_set: str | None = None
    accelerated_networking: bool = False  # on its new NIC
    security: SecurityProfile | None = None  # None: Standard


def vm_settings(sc: Scenario, target_rg: str, vm_name: str) -> VmSettings:
    """What the scenario asks of the restored VM (named resources are in ``target_rg``)."""
    target, sub = sc.target, sc.target_subscription
    ip = target.public_ip
    return VmSettings(
        nsg=_in_group(target.nsg, sub, target_rg, arm.NETWORK_SECURITY_GROUPS),
        public_ip=None if ip is None else PublicIpPlan(
            arm.resource_id(sub, target_rg, arm.PUBLIC_IP_ADDRESSES, f"{vm_name}-ip"),
            ip.sku, ip.allocation.capitalize()),
        availability_set=_availability_set(sc, sub, target_rg),
        accelerated_networking=sc.source_vm.accelerated_networking,
        security=_security(sc),
    )


def _availability_set(sc: Scenario, sub: str, target_rg: str) -> str | None:
    """The target's availability set; at the original location, the source's (the VM is
    made again where it was)."""
    if sc.is_original_location:
        return _in_group(sc.source_vm.availability_set, sub, target_rg, arm.AVAILABILITY_SETS)
    return _in_group(sc.target.availability_set, sub, target_rg, arm.AVAILABILITY_SETS)


def _security(sc: Scenario) -> SecurityProfile | None:
    """The source's security type, or the target's; Trusted Launch keeps the source's
    secure boot and vTPM (on when the source had none)."""
    source = sc.source_vm.security
    kind = sc.target.security_type or (source.type if source else "Standard")
    return security_profile(kind, source)


def security_profile(kind: str, source: Security | None) -> SecurityProfile | None:
    """A VM's security profile of type ``kind`` (None: Standard), with the UEFI settings
    of ``source`` (each on when it gives none)."""
    if kind == "Standard":
        return None
    secure_boot = source.secure_boot if source and source.secure_boot is not None else True
    vtpm = source.vtpm if source and source.vtpm is not None else True
    return SecurityProfile(kind, secure_boot, vtpm)


def disk_encryption_set(sc: Scenario, spec: DiskSpec) -> str | None:
    """The disk encryption set of a restored disk (None: platform-managed keys)."""
    chosen = sc.target.encryption_set
    if chosen is None:
        return spec.encryption_set
    return None if chosen == PLATFORM_KEYS else chosen


def _in_group(value: str | None, sub: str, group: str, type_: str) -> str | None:
    if value is None or value.startswith("/"):
        return value
    return arm.resource_id(sub, group, type_, value)
