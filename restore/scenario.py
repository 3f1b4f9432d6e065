"""The scenario file: what to restore, from which restore point, to where (pydantic)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, PlainValidator, ValidationError, field_validator, model_validator

import armid as arm
from restore.errors import ScenarioError
from restore.modes import check_mode
from restore.placement import check_placement
from restore.scenario_drill import DrillSettings
from restore.scenario_fleet import (  # noqa: F401 (the scenario's models, in one place)
    MAX_FLEET_VMS,
    VEEAM_KEEP_WARM_S,
    VEEAM_MAX_WORKERS,
    VEEAM_MIN_WORKERS,
    Fleet,
    FleetGroup,
    WorkerPool,
    Workers,
)
from restore.scenario_placement import Security, encryption_set_id, resource_named
from restore.scenario_target import NEW_LOCATION_FIELDS, DiskSkuChoice, Target  # noqa: F401
from restore.scenario_text import UniqueKeyLoader, field_and_problem, shown, yaml_problem
from restore.scenario_types import (  # noqa: F401
    GUID_PATTERN,
    NAME_PATTERN,
    DiskSku,
    Duration,
    Location,
    Name,
    Strict,
    at_default,
    subnet_named,
)
from restore.shipped import DEFAULT_SCENARIO, find_scenario, shipped_scenarios  # noqa: F401
from restore.variants import changed

DEFAULT_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


class FaultKind(StrEnum):
    TRANSIENT = "transient"
    THROTTLE = "throttle"
    ALLOCATION_FAILED = "allocation_failed"
    QUOTA_EXCEEDED = "quota_exceeded"
    CRASH = "crash"
    AGENT_NOT_READY = "agent_not_ready"
    CHECK_FAILED = "check_failed"


MAX_LUN = 63
"""Data disks sit at LUN 0 to 63: a VM takes at most 64 (its size may allow fewer)."""


class DiskSpec(Strict):
    size_gb: int = Field(gt=0, le=65536, strict=True)
    sku: DiskSku = DiskSku.PREMIUM_LRS
    name: Name | None = None
    lun: int | None = Field(default=None, ge=0, le=MAX_LUN, strict=True)
    used_gb: float | None = Field(default=None, ge=0, strict=True,
                                  description="data in the restore point")
    encryption_set: str | None = Field(
        default=None, exclude_if=at_default(None),
        description="the disk encryption set (ARM id) encrypting it (default: platform keys)")

    @field_validator("encryption_set")
    @classmethod
    def _encryption_set_id(cls, value: str | None) -> str | None:
        return encryption_set_id(value)

    @model_validator(mode="after")
    def _used_within_size(self) -> DiskSpec:
        if self.used_gb is not None and self.used_gb > self.size_gb:
            raise ValueError(f"used_gb ({self.used_gb}) exceeds size_gb ({self.size_gb})")
        return self


class Network(Strict):
    vnet: Name | None = None
    subnet: Name = "default"
    resource_group: Name | None = Field(default=None, description="the vnet's group "
                                        "(default: the VM's)")
    nic: Name | None = Field(default=None, description="the VM's NIC (default: <vm>-nic)")


class SourceVm(Strict):
    name: Name
    resource_group: Name
    location: Location
    size: str
    zone: str | None = None
    os_disk: DiskSpec
    data_disks: list[DiskSpec] = Field(default=[], max_length=MAX_LUN + 1)
    network: Network = Network()
    security: Security | None = Field(default=None, exclude_if=at_default(None),
                                      description="its security type (default: Standard)")
    accelerated_networking: bool = Field(default=False, exclude_if=at_default(False),
                                         description="its NIC's accelerated networking")
    availability_set: str | None = Field(default=None, exclude_if=at_default(None), description=(
        "the availability set it is in (name in its group, or ARM id): an original-location "
        "restore puts the VM back in it"))

    @field_validator("availability_set")
    @classmethod
    def _availability_set_named(cls, value: str | None) -> str | None:
        return resource_named(value, arm.AVAILABILITY_SETS)

    @field_validator("data_disks")
    @classmethod
    def _distinct_luns(cls, disks: list[DiskSpec]) -> list[DiskSpec]:
        luns = [d.lun if d.lun is not None else i for i, d in enumerate(disks)]
        if len(set(luns)) != len(luns):
            raise ValueError(f"two data disks share a LUN: {luns}")
        return disks

    @model_validator(mode="after")
    def _distinct_names(self) -> SourceVm:
        names = Counter(name.lower() for _, _, name in self.disks())
        repeated = sorted(n for n, times in names.items() if times > 1)
        if repeated:
            raise ValueError(f"two disks are named {repeated[0]!r} (names are unique per group)")
        return self

    def disks(self) -> list[tuple[int | None, DiskSpec, str]]:
        """(LUN, spec, name) of every disk, OS disk first (LUN None); default names
        ``<vm>-osdisk`` and ``<vm>-datadisk-<lun>``."""
        disks = [(None, self.os_disk, self.os_disk.name or f"{self.name}-osdisk")]
        for i, spec in enumerate(self.data_disks):
            lun = spec.lun if spec.lun is not None else i
            disks.append((lun, spec, spec.name or f"{self.name}-datadisk-{lun}"))
        return disks


def _disk_choice(value: object) -> str | int:
    if value == "os" or (type(value) is int and 0 <= value <= MAX_LUN):
        return value
    raise ValueError(f"'os' or a data disk's LUN, 0 to {MAX_LUN} (got {shown(value)})")


DiskChoice = Annotated[str | int, PlainValidator(_disk_choice)]
"""A disk of the source by its LUN, or ``os`` for the OS disk."""


class RestorePoint(Strict):
    kind: Literal["backup", "snapshot"] = "backup"
    tier: Literal["hot", "archive"] = "hot"
    rehydrate_priority: Literal["standard", "high"] | None = None
    disks: list[DiskChoice] | None = Field(
        default=None, min_length=1, exclude_if=at_default(None),
        description="restore only these disks: data disks by LUN, 'os' for the OS disk")
    exclude_luns: list[Annotated[int, Field(ge=0, le=MAX_LUN, strict=True)]] | None = Field(
        default=None, min_length=1, exclude_if=at_default(None),
        description="restore every disk but these data disks")

    @model_validator(mode="after")
    def _tier_fits_kind(self) -> RestorePoint:
        if self.kind == "snapshot" and self.tier == "archive":
            raise ValueError("a cloud-native snapshot has no archive tier (use kind: backup)")
        if self.rehydrate_priority is not None and self.tier != "archive":
            raise ValueError("rehydrate_priority applies only to tier: archive")
        return self

    @field_validator("disks", "exclude_luns")
    @classmethod
    def _each_once(cls, chosen: list | None) -> list | None:
        repeated = sorted({str(d) for d in chosen or () if chosen.count(d) > 1})
        if repeated:
            raise ValueError(f"{', '.join(repeated)} named twice")
        return chosen

    @property
    def priority(self) -> str:
        return self.rehydrate_priority or "standard"

    @property
    def selection_field(self) -> str:
        """The field that chooses the disks restored."""
        return "exclude_luns" if self.exclude_luns is not None else "disks"

    def restores(self, lun: int | None) -> bool:
        """Whether the disk at ``lun`` (None: the OS disk) is restored."""
        if self.disks is not None:
            return ("os" if lun is None else lun) in self.disks
        return lun is None or lun not in (self.exclude_luns or ())


class Fault(Strict):
    at: str = Field(min_length=1)
    kind: FaultKind
    times: int = Field(default=1, ge=1, strict=True)
    probability: float = Field(default=1.0, ge=0.0, le=1.0, strict=True)


class DataBlock(Strict):
    """``bytes``: each disk holds ``size_mb`` MB (at most its size) of real, seeded bytes,
    backed up and restored by the real agent; ``model``: time only."""

    mode: Literal["bytes", "model"] = "model"
    size_mb: int = Field(default=64, gt=0, le=1024, strict=True)


class Scenario(Strict):
    name: Name
    seed: int = Field(default=0, strict=True)
    region_profile: str = "default"
    subscription: str = Field(default=DEFAULT_SUBSCRIPTION, pattern=GUID_PATTERN,
                              description="a subscription id (a GUID)")
    appliance_id: str = Field(min_length=1)
    source_vm: SourceVm
    restore_point: RestorePoint = RestorePoint()
    target: Target = Target()
    data: DataBlock | None = None
    faults: list[Fault] = []
    fleet: Fleet | None = None
    workers: Workers | None = Field(default=None, exclude_if=at_default(None), description=(
        "the restore's workers: size and count (default: Veeam's sizing)"))
    drill: DrillSettings | None = Field(default=None, exclude_if=at_default(None), description=(
        "the health checks of a restore drill (restorelab drill)"))
    rto: Duration | None = Field(default=None, exclude_if=at_default(None), description=(
        "the recovery time objective: 4h, 90m, 1h30m or seconds (sweep and drill measure "
        "against it)"))

    @model_validator(mode="after")
    def _disk_skus_for_disks_it_has(self) -> Scenario:
        """A per-disk ``target.disk_sku`` names the OS disk or a data disk's LUN."""
        choice = self.target.disk_sku
        if isinstance(choice, dict):
            luns = {lun for lun, _, _ in self.source_vm.disks() if lun is not None}
            unknown = sorted(str(k) for k in choice if k != "os" and k not in luns)
            if unknown:
                raise ValueError(f"target.disk_sku: no disk at LUN {', '.join(unknown)} (the "
                                 f"source's data disks are at LUN {sorted(luns) or 'none'})")
            rp = self.restore_point
            skipped = [str(k) for k in choice
                       if (k == "os" or k in luns) and not rp.restores(None if k == "os" else k)]
            if skipped:
                raise ValueError(f"target.disk_sku: {', '.join(skipped)} is not restored (see "
                                 f"restore_point.{rp.selection_field})")
        return self

    @model_validator(mode="after")
    def _choices_that_take_effect(self) -> Scenario:
        """``workers`` needs workers (not a snapshot restore), a fleet's pool to hold them;
        a group's ``rehydrate_priority`` an archived restore point."""
        if self.workers is not None and self.restore_point.kind == "snapshot":
            raise ValueError("workers: a snapshot restore uses no workers (its disks are "
                             "made from the snapshots)")
        count = self.workers.count if self.workers else None
        if self.fleet is not None and count and count > self.fleet.max_workers:
            raise ValueError(f"workers.count: {count} workers per VM, more than the "
                             f"{self.fleet.max_workers} of fleet.max_workers (the pool's most)")
        groups = self.fleet.groups if self.fleet else []
        for i, group in enumerate(groups):
            if group.rehydrate_priority is not None and self.restore_point.tier != "archive":
                raise ValueError(f"fleet.groups.{i}.rehydrate_priority: applies only to "
                                 "restore_point.tier: archive")
        return self

    @model_validator(mode="after")
    def _subnet_in_target_subscription(self) -> Scenario:
        """A NIC's subnet is in the NIC's subscription: the restored VM's, the target's."""
        subnet = self.target.subnet
        if subnet and subnet.startswith("/") and not self.in_target_subscription(subnet):
            raise ValueError(f"target.subnet: {subnet!r} is not in the target's subscription "
                             f"{self.target_subscription} (a NIC's subnet is in the NIC's "
                             "subscription)")
        return self

    @model_validator(mode="after")
    def _fits_its_mode(self) -> Scenario:
        """The rules of ``target.mode`` and of the disks chosen (restore.modes)."""
        check_mode(self)
        return self

    @model_validator(mode="after")
    def _placement_and_security(self) -> Scenario:
        """The rules of the network, placement and security settings (restore.placement)."""
        check_placement(self)
        return self

    def with_(self, changes: Mapping[str, Any] | None = None, /, **fields: Any) -> Scenario:
        """A new scenario, this one with fields changed (this one stays as it is).

        A keyword per top-level field (``seed=3``, ``target={...}``); ``changes`` maps
        dotted names to values (``{"source_vm.size": "Standard_D4s_v5",
        "restore_point.tier": "archive", "source_vm.data_disks.0.used_gb": 40}``). A
        mapping merges into the field's value (nested mappings too); a list, a scalar or
        a model replaces it (so an empty mapping changes nothing), e.g. the data disks:
        ``{"source_vm.data_disks": [{"size_gb": 256, "used_gb": 120}] * 2}``. Validated
        as ``parse_scenario`` validates: a bad value or an unknown field raises
        ScenarioError naming the field."""
        raw = changed(self.model_dump(mode="json"), changes, fields, source=self.name)
        return parse_scenario(raw, source=self.name)

    @property
    def is_original_location(self) -> bool:
        return self.target.location == "original"

    @property
    def target_subscription(self) -> str:
        """Where the restore creates everything: ``target.subscription`` or the source's."""
        return self.target.subscription or self.subscription

    def in_target_subscription(self, arm_id: str) -> bool:
        return arm_id.split("/")[2].lower() == self.target_subscription.lower()

    @property
    def disks_only(self) -> bool:
        return self.target.mode == "disks"

    @property
    def replaces_disks(self) -> bool:
        return self.target.mode == "replace_disks"

    @property
    def is_drill(self) -> bool:
        return self.target.mode == "drill"

    def replicas(self) -> list[tuple[Scenario, int]]:
        """A fleet's VMs as single-VM scenarios (``<name>-0001``, ...) with their priority."""
        assert self.fleet is not None
        raw = self.model_dump(mode="json", exclude={"fleet"})
        out, number = [], 0
        for group in self.fleet.groups:
            for _ in range(group.count):
                number += 1
                tag = f"{number:04d}"
                raw["name"] = f"{self.name}-{tag}"
                raw["source_vm"]["name"] = f"{self.source_vm.name}-{tag}"
                if raw["target"].get("vm_name"):
                    raw["target"]["vm_name"] = f"{self.target.vm_name}-{tag}"
                raw["restore_point"]["rehydrate_priority"] = (
                    group.rehydrate_priority or self.restore_point.rehydrate_priority)
                out.append((Scenario.model_validate(raw), group.priority))
        return out


MAX_SCENARIO_BYTES = 1 << 20
"""The largest scenario file read (1 MiB; the shipped ones are about 1 KB)."""


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file, or a shipped scenario by name (``orig-snapshot``);
    a bad file raises ScenarioError naming the field."""
    path = find_scenario(str(path))
    try:
        with path.open("rb") as file:
            data = file.read(MAX_SCENARIO_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(str(path), "", f"cannot read the file ({exc.strerror})") from None
    if len(data) > MAX_SCENARIO_BYTES:
        raise ScenarioError(str(path), "", f"larger than {MAX_SCENARIO_BYTES // 1024} KB, the "
                            "most a scenario file may be")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(str(path), "", f"not UTF-8 text (byte 0x{data[exc.start]:02x} at "
                            f"offset {exc.start})") from None
    try:
        raw = yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        raise ScenarioError(str(path), "", f"not valid YAML: {yaml_problem(exc)}") from None
    except RecursionError:
        raise ScenarioError(str(path), "", "nested too deeply to be a scenario") from None
    return parse_scenario(raw, source=str(path))


def parse_scenario(raw: object, source: str = "<scenario>") -> Scenario:
    """Validate an already-parsed scenario mapping."""
    if not isinstance(raw, dict):
        raise ScenarioError(source, "", "a scenario must be a YAML mapping of fields")
    try:
        return Scenario.model_validate(raw)
    except RecursionError:
        raise ScenarioError(source, "", "nested too deeply to be a scenario") from None
    except ValidationError as exc:
        raise ScenarioError(source, *field_and_problem(exc.errors()[0])) from None
