"""A region profile as restorelab uses it: fakecloud's region figures plus Veeam's worker
profile (restorelab's setting, not the region's), loaded with scenario-style errors."""

from __future__ import annotations

from pydantic import Field, model_validator

from fakecloud.profile import ProfileError, RegionProfile, StrictModel
from fakecloud.profile import load_profile as load_region_profile
from restore.errors import ScenarioError
from restore.plan import Sizing, WorkerRule


class WorkerProfileRule(StrictModel):
    size: str
    under_gb: float | None = Field(default=None, gt=0)
    up_to_gb: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_bound(self) -> WorkerProfileRule:
        if self.under_gb is not None and self.up_to_gb is not None:
            raise ValueError("give under_gb or up_to_gb, not both")
        return self


# Veeam defaults by total size of the disks processed: Small F2s_v2 under 100 GB (70-85 MBps),
# Medium F4s_v2 100 GB-1 TB (90-100 MBps), Large F8s_v2 over 1 TB (125-140 MBps); Archiving
# E2_v5 (85-110 MBps) is used for archive tiering/retrieval, not chosen by size.
# Sources: Veeam VBAzure 8 user guide, "Worker profiles"; Veeam "Worker Instances" sizing page,
# https://helpcenter.veeam.com/docs/vbazure/guide/sizing_worker_instances.html (checked).
# 1 TB is taken as 1024 GB (check).
VEEAM_WORKER_PROFILE = (
    WorkerProfileRule(size="Standard_F2s_v2", under_gb=100),
    WorkerProfileRule(size="Standard_F4s_v2", up_to_gb=1024),
    WorkerProfileRule(size="Standard_F8s_v2"),
)


class RestoreProfile(RegionProfile):
    """A region profile; ``worker_profile`` (default: Veeam's) picks the worker size by
    the restore's total disk size."""

    worker_profile: list[WorkerProfileRule] = Field(
        default_factory=lambda: list(VEEAM_WORKER_PROFILE), min_length=1)

    @model_validator(mode="after")
    def _workers_known(self) -> RestoreProfile:
        last = self.worker_profile[-1]
        if last.under_gb is not None or last.up_to_gb is not None:
            raise ValueError("the last worker_profile rule must have no bound "
                             "(it takes the rest)")
        unknown = [r.size for r in self.worker_profile if r.size not in self.vm_sizes]
        if unknown:
            raise ValueError(f"worker_profile names sizes missing from vm_sizes: {unknown}")
        return self

    @property
    def sizing(self) -> Sizing:
        """What the plan needs of the region: the worker rules and the VM sizes' slots."""
        return Sizing(
            tuple(WorkerRule(r.size, r.under_gb, r.up_to_gb) for r in self.worker_profile),
            self.max_data_disks, frozenset(self.vm_sizes))


def load_profile(name_or_path: str) -> RestoreProfile:
    """A shipped profile by name or a YAML path; a bad one is a ScenarioError."""
    try:
        return load_region_profile(name_or_path, RestoreProfile)
    except ProfileError as exc:
        raise ScenarioError(exc.where, exc.field, exc.message) from None
