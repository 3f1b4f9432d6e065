"""The scenario's network, placement and security settings: the source VM's security
type (Trusted Launch), a new public IP of the target, and references to existing
resources (a network security group, an availability set, a disk encryption set)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import model_validator

import armid as arm
from restore.scenario_types import NAME_PATTERN, Strict, is_id_of

SecurityType = Literal["Standard", "TrustedLaunch", "ConfidentialVM"]
PLATFORM_KEYS = "platform"
"""``target.encryption_set: platform``: the restored disks use platform-managed keys."""


class Security(Strict):
    """``source_vm.security``: the VM's security type; Trusted Launch's secure boot and
    vTPM (both on unless said otherwise, as the portal creates it)."""

    type: SecurityType = "Standard"
    secure_boot: bool | None = None
    vtpm: bool | None = None

    @model_validator(mode="after")
    def _uefi_only_for_trusted_launch(self) -> Security:
        given = [f for f in ("secure_boot", "vtpm") if getattr(self, f) is not None]
        if given and self.type == "Standard":
            raise ValueError(f"{given[0]}: applies only to type: TrustedLaunch or "
                             "ConfidentialVM (a Standard VM has no UEFI settings)")
        return self


class PublicIp(Strict):
    """``target.public_ip``: a new public IP for the restored VM's NIC."""

    sku: Literal["Standard", "Basic"] = "Standard"
    allocation: Literal["static", "dynamic"] = "static"

    @model_validator(mode="after")
    def _standard_is_static(self) -> PublicIp:
        if self.sku == "Standard" and self.allocation == "dynamic":
            raise ValueError("allocation: a Standard public IP is static only (ARM refuses "
                             "it: StandardSkuPublicIPAddressesMustBeStatic); dynamic needs "
                             "sku: Basic")
        return self


def resource_named(value: str | None, type_: str) -> str | None:
    """A resource of ``type_`` by name (in the target's group) or by ARM id."""
    if value is None:
        return None
    if value.startswith("/"):
        if not is_id_of(value, type_):
            raise ValueError(f"{value!r} is not the ARM id of a {type_}")
        return value
    if not re.match(NAME_PATTERN, value):
        raise ValueError(f"{value!r} is neither a name (letters, digits, '.', '_', '-') nor "
                         f"the ARM id of a {type_}")
    return value


def encryption_set_id(value: str | None) -> str | None:
    """A disk encryption set's ARM id."""
    if value is not None and not value.startswith("/"):
        raise ValueError(f"{value!r} is not a disk encryption set's ARM id (/subscriptions/"
                         f".../providers/{arm.DISK_ENCRYPTION_SETS}/NAME)")
    return resource_named(value, arm.DISK_ENCRYPTION_SETS)
