"""The scenario file: what to restore, from which restore point, to where (pydantic)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

import armid as arm
from restore.errors import ScenarioError
from restore.modes import check_mode
from restore.scenario_text import UniqueKeyLoader, field_and_problem, shown, yaml_problem
from restore.shipped import DEFAULT_SCENARIO, find_scenario, shipped_scenarios  # noqa: F401

DEFAULT_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


class DiskSku(StrEnum):
    PREMIUM_LRS = "Premium_LRS"
    PREMIUM_ZRS = "Premium_ZRS"
    PREMIUM_V2_LRS = "PremiumV2_LRS"
    STANDARD_SSD_LRS = "StandardSSD_LRS"
    STANDARD_SSD_ZRS = "StandardSSD_ZRS"
    STANDARD_LRS = "Standard_LRS"
    ULTRA_SSD_LRS = "UltraSSD_LRS"


class FaultKind(StrEnum):
    TRANSIENT = "transient"
    THROTTLE = "throttle"
    ALLOCATION_FAILED = "allocation_failed"
    QUOTA_EXCEEDED = "quota_exceeded"
    CRASH = "crash"


NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
Name = Annotated[str, Field(min_length=1, max_length=80, pattern=NAME_PATTERN)]
"""An Azure resource name as restorelab accepts it (letters, digits, '.', '_', '-')."""


def _location_name(value: object) -> object:
    """A location as Azure displays it (``West Europe``) taken as ARM names it
    (``westeurope``)."""
    return value.replace(" ", "").lower() if isinstance(value, str) else value


Location = Annotated[Name, BeforeValidator(_location_name)]
"""An Azure location by name (``westeurope``) or display name (``West Europe``)."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


MAX_LUN = 63
"""Data disks sit at LUN 0 to 63: a VM takes at most 64 (its size may allow fewer)."""


class DiskSpec(Strict):
    size_gb: int = Field(gt=0, le=65536, strict=True)
    sku: DiskSku = DiskSku.PREMIUM_LRS
    name: Name | None = None
    lun: int | None = Field(default=None, ge=0, le=MAX_LUN, strict=True)
    used_gb: float | None = Field(default=None, ge=0, strict=True,
                                  description="data in the restore point")

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


def _at(default: object) -> Callable[[object], bool]:
    """``exclude_if`` of the restore modes' fields (target.mode, the disks chosen): left
    out of a scenario's dump at their default, so a scenario without them keeps its
    restore id."""
    return lambda value: value == default


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
        default=None, min_length=1, exclude_if=_at(None),
        description="restore only these disks: data disks by LUN, 'os' for the OS disk")
    exclude_luns: list[Annotated[int, Field(ge=0, le=MAX_LUN, strict=True)]] | None = Field(
        default=None, min_length=1, exclude_if=_at(None),
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


DiskSkuChoice = DiskSku | dict[Literal["os"] | int, DiskSku]


GUID_PATTERN = r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$"
SUBNET_TYPE = "Microsoft.Network/virtualNetworks/subnets"


def subnet_named(subnet: str | None) -> str | None:
    """'vnet', 'vnet/subnet' (names), or a subnet's ARM id."""
    if subnet is None:
        return None
    if subnet.startswith("/"):
        try:
            parsed = arm.parse_id(subnet)
        except ValueError:
            parsed = None
        if parsed is None or parsed.type.lower() != SUBNET_TYPE.lower():
            raise ValueError(f"{subnet!r} is not a subnet's ARM id (/subscriptions/.../"
                             "virtualNetworks/VNET/subnets/SUBNET)")
        return subnet
    if not all(re.match(NAME_PATTERN, part) for part in subnet.split("/", 1)):
        raise ValueError(f"{subnet!r} is neither 'vnet/subnet' (names of letters, digits, "
                         "'.', '_', '-') nor a subnet's ARM id")
    return subnet


class Target(Strict):
    location: Literal["original", "new"] = "original"
    mode: Literal["vm", "disks"] = Field(
        default="vm", exclude_if=_at("vm"),
        description="vm: restore the VM; disks: only its disks, attached to nothing")
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
    remove_unrestored_disks: bool = Field(default=False, exclude_if=_at(False), description=(
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
)


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


MAX_FLEET_VMS = 10_000
"""The most VMs a fleet may restore at once, in all its groups (each is planned and
simulated; a fleet of 40 takes about a second)."""


class FleetGroup(Strict):
    count: int = Field(ge=1, le=100_000, strict=True)
    priority: int = Field(default=0, strict=True,
                          description="lower goes first for a worker slot")


VEEAM_MAX_WORKERS = 5
"""Workers per region in Veeam's default worker configuration. Veeam Backup for Microsoft
Azure's user guide: "A default worker configuration consists of maximum 5 and minimum 1
pre-deployed worker"; "Each worker can process data of only one VM at a time"; with the
default configuration "processing of only 5 VMs at a time is possible; other VMs (if any)
will be queued" (https://helpcenter.veeam.com/docs/vbazure/guide/workers.html?ver=10, the
v1 guide; the v8 guide's sizing page, sizing_worker_instances.html, gives only recommended
maximums: 50 workers for the default appliance size, 1,000 per region per appliance)."""


VEEAM_MIN_WORKERS = 1
VEEAM_KEEP_WARM_S = 600.0
"""Veeam's pool keeps its minimum of workers pre-deployed (1 in the default configuration,
the same guide), and "Each worker has idle time (10 minutes) and after this time expires,
Veeam Backup for Microsoft Azure automatically removes such a worker from the resource
group" (the guide's Workers page above); a later restore within that time starts the
deallocated worker instead of creating one. The REST API's worker configuration has the
same fields: minInstances, maxInstances, and the subnet the workers are connected to."""


class WorkerPool(Strict):
    """Veeam's worker pool for a fleet: workers of the region's pool group outlive one
    VM's restore. A restore claims a deallocated one (resizing it when its size differs)
    and starts it, or creates one when none is free; at its end it deallocates it and
    releases it warm for ``keep_warm_s``; idle workers past that are removed, but the
    ``min`` most recently used."""

    warm: bool = Field(default=True, strict=True, description=(
        "reuse the pool's deallocated workers (false: each restore creates and removes "
        "its own workers)"))
    min: int = Field(default=VEEAM_MIN_WORKERS, ge=0, strict=True, description=(
        "warm workers kept after their keep_warm_s (default 1, Veeam's)"))
    keep_warm_s: float = Field(default=VEEAM_KEEP_WARM_S, ge=0, le=30 * 86_400,
                               allow_inf_nan=False, description=(
                                   "seconds a released worker stays warm (default 600)"))
    subnet: str | None = Field(default=None, description=(
        "the workers' subnet, 'vnet/subnet' (in the pool's group) or an ARM id (default: "
        "each restore's target subnet); it needs a free address per worker of the pool"))

    @field_validator("subnet")
    @classmethod
    def _subnet_named(cls, subnet: str | None) -> str | None:
        return subnet_named(subnet)

    @field_validator("keep_warm_s", mode="before")
    @classmethod
    def _a_number(cls, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("a number of seconds")
        return value


class Fleet(Strict):
    """Mass restore: VMs like ``source_vm``, in groups, sharing one region and a pool of
    at most ``max_workers`` workers."""

    groups: list[FleetGroup] = Field(min_length=1, max_length=MAX_FLEET_VMS)
    max_workers: int = Field(default=VEEAM_MAX_WORKERS, ge=1, strict=True, description=(
        f"workers at once in the region (default {VEEAM_MAX_WORKERS}, Veeam's default "
        "worker configuration); more restores wait for a free worker"))
    max_active: int | None = Field(default=None, ge=1, strict=True, description="restores "
                                   "running at once (default: twice max_workers)")
    worker_pool: WorkerPool = WorkerPool()

    @field_validator("worker_pool")
    @classmethod
    def _min_within_max(cls, pool: WorkerPool, info: ValidationInfo) -> WorkerPool:
        most = info.data.get("max_workers", VEEAM_MAX_WORKERS)
        if pool.min > most:
            raise ValueError(f"min ({pool.min}) is more than max_workers ({most})")
        return pool

    @field_validator("groups")
    @classmethod
    def _at_most_the_cap(cls, groups: list[FleetGroup]) -> list[FleetGroup]:
        count = sum(g.count for g in groups)
        if count > MAX_FLEET_VMS:
            raise ValueError(f"{count:,} VMs in all, more than the {MAX_FLEET_VMS:,} a fleet "
                             "may have")
        return groups

    @property
    def count(self) -> int:
        return sum(g.count for g in self.groups)

    @property
    def active_limit(self) -> int:
        return self.max_active or 2 * self.max_workers


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
    def _fits_its_mode(self) -> Scenario:
        """The rules of ``target.mode`` and of the disks chosen (restore.modes)."""
        check_mode(self)
        return self

    @property
    def is_original_location(self) -> bool:
        return self.target.location == "original"

    @property
    def disks_only(self) -> bool:
        return self.target.mode == "disks"

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
                out.append((Scenario.model_validate(raw), group.priority))
        return out


MAX_SCENARIO_BYTES = 1 << 20
"""The largest scenario file read (1 MiB; the shipped ones are about 1 KB)."""


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; a bad file raises ScenarioError naming the field."""
    path = Path(path)
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
