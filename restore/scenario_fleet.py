"""The scenario's ``fleet``: a mass restore of VMs like the source, and its worker pool."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from restore.scenario_types import Strict, at_default, subnet_named

MAX_FLEET_VMS = 10_000
"""The most VMs a fleet may restore at once, in all its groups (each is planned and
simulated; a fleet of 40 takes about a second)."""


class FleetGroup(Strict):
    count: int = Field(ge=1, le=100_000, strict=True)
    priority: int = Field(default=0, strict=True,
                          description="lower goes first for a worker slot")
    rehydrate_priority: Literal["standard", "high"] | None = Field(
        default=None, exclude_if=at_default(None), description=(
            "its VMs' archive rehydration priority (default: restore_point's); archive "
            "restore points only"))


class Workers(Strict):
    """The restore's workers (default: Veeam's sizing, the region profile's
    worker_profile by the disks' total size, as few as their data-disk slots take)."""

    size: str | None = Field(default=None, min_length=1, description=(
        "the workers' VM size, one the region profile's vm_sizes has"))
    count: int | None = Field(default=None, ge=1, strict=True, description=(
        "how many workers share the disks: at least what the size's data-disk slots "
        "need, at most one per disk restored"))


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
