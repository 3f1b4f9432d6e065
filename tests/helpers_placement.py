"""What a restored VM's network, placement and security settings must be, read from the
scenario alone (not from the plan): the checks ``helpers.assert_restored`` adds."""

from __future__ import annotations

from typing import Any

from restore.scenario import Scenario


def expected_security(sc: Scenario) -> dict[str, Any] | None:
    source = sc.source_vm.security
    kind = sc.target.security_type or (source.type if source else "Standard")
    if kind == "Standard":
        return None
    on = {"secure_boot": True, "vtpm": True, **(source.model_dump(exclude_none=True)
                                                 if source else {})}
    return {"securityType": kind, "uefiSettings": {"secureBootEnabled": on["secure_boot"],
                                                   "vTpmEnabled": on["vtpm"]}}


def expected_encryption_set(sc: Scenario, lun: Any) -> str | None:
    chosen = sc.target.encryption_set
    if chosen is not None:
        return None if chosen == "platform" else chosen
    specs = {at: spec for at, spec, _ in sc.source_vm.disks()}
    return specs[None if lun == "os" else lun].encryption_set


def public_ips(nic: dict[str, Any]) -> list[str]:
    return [i.lower() for i in nic["properties"].get("publicIPAddresses", [])]


def assert_vm_settings(sc: Scenario, res: dict[str, dict[str, Any]], vm: dict[str, Any],
                       nic: dict[str, Any], disks: dict[Any, str]) -> None:
    """The VM's security profile and availability set, its NIC's security group, public
    IP and accelerated networking (a new NIC), each disk's encryption set."""
    props, nic_props, target = vm["properties"], nic["properties"], sc.target
    assert props.get("securityProfile") == expected_security(sc)
    aset = (props.get("availabilitySet") or {}).get("id", "")
    wanted = sc.source_vm.availability_set if sc.is_original_location else \
        target.availability_set  # at the original location the VM goes back into its own
    assert aset.endswith(f"/availabilitySets/{wanted.rsplit('/', 1)[-1]}"
                         if wanted else ""), aset
    for lun, disk_id in disks.items():
        encryption = res[disk_id.lower()]["properties"].get("encryption") or {}
        assert encryption.get("diskEncryptionSetId") == expected_encryption_set(sc, lun), lun
    if sc.is_original_location:
        return  # the source's NIC, as it was
    nsg = (nic_props.get("networkSecurityGroup") or {}).get("id", "")
    assert nsg.endswith(f"/networkSecurityGroups/{target.nsg.rsplit('/', 1)[-1]}"
                        if target.nsg else ""), nsg
    assert nic_props.get("enableAcceleratedNetworking", False) is \
        sc.source_vm.accelerated_networking
    ips = public_ips(nic)
    assert len(ips) == (1 if target.public_ip else 0)
    for ip in ips:
        method = res[ip]["properties"]["publicIPAllocationMethod"]
        assert method == target.public_ip.allocation.capitalize()
