"""The scenario's ``target``: where the restore puts the VM or its disks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

import armid as arm
from restore import scenario_types
from restore.scenario_placement import (
    PLATFORM_KEYS,
    PublicIp,
    encryption_set_id,
    resource_named,
)
from restore.scenario_types import DiskSku, Location, Name, Strict, at_default, subnet_named

DiskSkuChoice = DiskSku | dict[Literal["os"] | int, DiskSku]


class Target(Strict):
    location: Literal["original", "new"] = "original"
    mode: Literal["vm", "disks", "replace_disks", "drill"] = Field(
        default="vm", exclude_if=at_default("vm"), description=(
            "vm: restore the VM; disks: only its disks, attached to nothing; replace_disks: "
            "swap the source VM's disks for the restored ones, the VM kept as it is; drill: "
            "restore the VM into an isolated network of its own, check its health, remove "
            "everything"))
    subscription: str | None = Field(
        default=None, pattern=scenario_types.GUID_PATTERN, exclude_if=at_default(None),
        description="the subscription to restore to, of the source's tenant (default: the "
                    "source's)")
    resource_group: Name | None = None
    region: Location | None = None
    vm_name: Name | None = None
    vm_size: str | None = None
    subnet: str | None = Field(default=None, description="'vnet/subnet' or a subnet ARM id")
    disk_sku: DiskSkuChoice | None = None
    zone: str | None = None
    tags: dict[str, str] = {}
    power_on: bool = True
    safety_snapshot: bool = Field(default=False, description="original location: snapshot "
                                  "the source disks before removing them; kept on failure")
    delete_replaced_disks: bool = Field(default=False, exclude_if=at_default(False), description=(
        "replace_disks: delete the VM's old disks once it runs on the restored ones "
        "(default: keep them, tagged)"))
    remove_unrestored_disks: bool = Field(default=False, exclude_if=at_default(False), description=(
        "original location, vm mode, some disks restored: remove the source's other disks "
        "with the source VM (they are lost)"))
    nsg: str | None = Field(default=None, exclude_if=at_default(None), description=(
        "an existing network security group (name in the target group, or ARM id) for the "
        "new NIC (default: none)"))
    public_ip: PublicIp | None = Field(default=None, exclude_if=at_default(None), description=(
        "a new public IP for the new NIC (default: none)"))
    availability_set: str | None = Field(default=None, exclude_if=at_default(None), description=(
        "an existing availability set (name in the target group, or ARM id)"))
    encryption_set: str | None = Field(default=None, exclude_if=at_default(None), description=(
        "the restored disks' encryption: a disk encryption set's ARM id, or 'platform' for "
        "platform-managed keys (default: each disk's as on the source)"))
    security_type: Literal["Standard", "TrustedLaunch"] | None = Field(
        default=None, exclude_if=at_default(None),
        description="the restored VM's security type (default: the source's)")

    @field_validator("nsg")
    @classmethod
    def _nsg_named(cls, nsg: str | None) -> str | None:
        return resource_named(nsg, arm.NETWORK_SECURITY_GROUPS)

    @field_validator("availability_set")
    @classmethod
    def _availability_set_named(cls, value: str | None) -> str | None:
        return resource_named(value, arm.AVAILABILITY_SETS)

    @field_validator("encryption_set")
    @classmethod
    def _encryption_set(cls, value: str | None) -> str | None:
        return value if value == PLATFORM_KEYS else encryption_set_id(value)

    @field_validator("subnet")
    @classmethod
    def _subnet_named(cls, subnet: str | None) -> str | None:
        return subnet_named(subnet)

    @model_validator(mode="after")
    def _new_location_settings(self) -> Target:
        if self.safety_snapshot and self.location != "original":
            raise ValueError("safety_snapshot applies only to location: original "
                             "(a new-location restore never removes the source)")
        if self.location == "original":
            given = [f for f in NEW_LOCATION_FIELDS if getattr(self, f) not in (None, {})]
            if given:
                raise ValueError(
                    f"{', '.join(given)}: settable only with location: new"
                    " (an original-location restore keeps the source's settings)"
                )
        return self


NEW_LOCATION_FIELDS = (
    "resource_group", "region", "vm_name", "vm_size", "subnet", "disk_sku", "zone", "tags",
    "nsg", "public_ip", "availability_set", "encryption_set", "security_type",
    "subscription",
)
