"""The scenario's ``target``: where the restore puts the VM or its disks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from restore import scenario_types
from restore.scenario_types import DiskSku, Location, Name, Strict, at_default, subnet_named

DiskSkuChoice = DiskSku | dict[Literal["os"] | int, DiskSku]


class Target(Strict):
    location: Literal["original", "new"] = "original"
    mode: Literal["vm", "disks"] = Field(
        default="vm", exclude_if=at_default("vm"),
        description="vm: restore the VM; disks: only its disks, attached to nothing")
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
    remove_unrestored_disks: bool = Field(default=False, exclude_if=at_default(False), description=(
        "original location, vm mode, some disks restored: remove the source's other disks "
        "with the source VM (they are lost)"))

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
    "subscription",
)
