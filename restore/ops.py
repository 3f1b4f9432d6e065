"""Cloud operations the restore steps yield: plain frozen data, executed by a backend.

Every operation names the ARM resource it acts on (``resource``) and has a stable
snake_case ``kind`` used in reports, region profiles and fault rules.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, ClassVar

Tags = tuple[tuple[str, str], ...]
"""Tags as sorted (key, value) pairs, so operations stay hashable and frozen."""


def tags_of(mapping: dict[str, str]) -> Tags:
    return tuple(sorted(mapping.items()))


@dataclass(frozen=True, slots=True)
class Operation:
    kind: ClassVar[str] = "operation"
    removes: ClassVar[bool] = False  # a delete: done once what it removes is gone

    @property
    def resource(self) -> str:
        """The ARM id the operation acts on: its ``id``, unless it says otherwise."""
        return self.id


@dataclass(frozen=True, slots=True)
class Tolerate:
    """A batch whose failures come back as results (CloudError instances) instead of
    being raised into the step: for steps that handle them one by one."""

    ops: list[Operation]


StepGen = Generator[Operation | list[Operation] | Tolerate, Any, None]
"""A restore step: it yields an operation, a batch of them, or a tolerant batch, and is
sent their results."""


@dataclass(frozen=True, slots=True)
class FindResources(Operation):
    """Read: the resources of ``subscription`` carrying tag ``key: value``; the result is
    a list of (type, id) pairs (none in a subscription that does not exist)."""

    kind: ClassVar[str] = "find_resources"
    key: str
    value: str
    subscription: str

    @property
    def resource(self) -> str:
        return f"tag:{self.key}={self.value}"


@dataclass(frozen=True, slots=True)
class CheckExists(Operation):
    """Read: each of these resources must exist (ResourceNotFound otherwise)."""

    kind: ClassVar[str] = "check_exists"
    ids: tuple[str, ...]

    @property
    def resource(self) -> str:
        return self.ids[0]


@dataclass(frozen=True, slots=True)
class CheckNamesFree(Operation):
    """Read: none of these names may be taken, but by this restore (Conflict otherwise)."""

    kind: ClassVar[str] = "check_names"
    ids: tuple[str, ...]
    tags: Tags

    @property
    def resource(self) -> str:
        return self.ids[0]


@dataclass(frozen=True, slots=True)
class CheckQuota(Operation):
    """Read: these VMs and disks must fit the quotas of ``subscription`` in ``location``
    (QuotaExceeded otherwise)."""

    kind: ClassVar[str] = "check_quota"
    location: str
    vm_sizes: tuple[str, ...]
    disks: int
    subscription: str

    @property
    def resource(self) -> str:
        return f"quota:{self.location}"


@dataclass(frozen=True, slots=True)
class CreateResourceGroup(Operation):
    kind: ClassVar[str] = "create_resource_group"
    id: str
    location: str
    tags: Tags = ()


@dataclass(frozen=True, slots=True)
class DeleteResourceGroup(Operation):
    kind: ClassVar[str] = "delete_resource_group"
    removes: ClassVar[bool] = True
    id: str


@dataclass(frozen=True, slots=True)
class CreateDisk(Operation):
    """An empty managed disk, or one copied from a snapshot when ``source_snapshot`` is set."""

    kind: ClassVar[str] = "create_disk"
    id: str
    location: str
    size_gb: int
    sku: str
    zone: str | None = None
    source_snapshot: str | None = None
    tags: Tags = ()
    encryption_set: str | None = None  # a disk encryption set's id; None: platform keys


@dataclass(frozen=True, slots=True)
class DeleteDisk(Operation):
    kind: ClassVar[str] = "delete_disk"
    removes: ClassVar[bool] = True
    id: str


@dataclass(frozen=True, slots=True)
class CreateSnapshot(Operation):
    """A snapshot of a disk, or a copy of a snapshot into another region."""

    kind: ClassVar[str] = "create_snapshot"
    id: str
    location: str
    source: str
    tags: Tags = ()


@dataclass(frozen=True, slots=True)
class DeleteSnapshot(Operation):
    kind: ClassVar[str] = "delete_snapshot"
    removes: ClassVar[bool] = True
    id: str


@dataclass(frozen=True, slots=True)
class CreateNic(Operation):
    kind: ClassVar[str] = "create_nic"
    id: str
    location: str
    subnet: str
    tags: Tags = ()
    nsg: str | None = None  # an existing network security group's id
    public_ip: str | None = None  # on its IP configuration
    accelerated_networking: bool = False


@dataclass(frozen=True, slots=True)
class DeleteNic(Operation):
    kind: ClassVar[str] = "delete_nic"
    removes: ClassVar[bool] = True
    id: str


@dataclass(frozen=True, slots=True)
class CreateVm(Operation):
    """A booted VM on an existing OS disk, or on a new one from the worker image."""

    kind: ClassVar[str] = "create_vm"
    id: str
    location: str
    size: str
    nic: str
    os_disk: str
    os_disk_from_image: bool = False
    zone: str | None = None
    tags: Tags = ()
    delete_with_vm: bool = False  # its OS disk and NIC go when it is deleted (a pool worker)
    availability_set: str | None = None
    security: SecurityProfile | None = None  # None: the Standard security type


@dataclass(frozen=True, slots=True)
class SecurityProfile:
    """A VM's security type (TrustedLaunch, ConfidentialVM) and its UEFI settings."""

    type: str
    secure_boot: bool
    vtpm: bool


@dataclass(frozen=True, slots=True)
class CreatePublicIp(Operation):
    kind: ClassVar[str] = "create_public_ip"
    id: str
    location: str
    sku: str  # Standard, Basic
    allocation: str  # Static, Dynamic
    tags: Tags = ()


@dataclass(frozen=True, slots=True)
class DeletePublicIp(Operation):
    kind: ClassVar[str] = "delete_public_ip"
    removes: ClassVar[bool] = True
    id: str


@dataclass(frozen=True, slots=True)
class AttachDisks(Operation):
    """Attach disks at the given LUNs in one VM update."""

    kind: ClassVar[str] = "attach_disks"
    vm: str
    disks: tuple[tuple[int, str], ...]

    @property
    def resource(self) -> str:
        return self.vm


@dataclass(frozen=True, slots=True)
class DetachDisks(Operation):
    """Detach data disks in one VM update."""

    kind: ClassVar[str] = "detach_disks"
    vm: str
    disks: tuple[str, ...]

    @property
    def resource(self) -> str:
        return self.vm


@dataclass(frozen=True, slots=True)
class DeallocateVm(Operation):
    kind: ClassVar[str] = "deallocate_vm"
    id: str


@dataclass(frozen=True, slots=True)
class DeleteVm(Operation):
    """Delete a VM; its disks and NICs stay (ARM's default delete options)."""

    kind: ClassVar[str] = "delete_vm"
    removes: ClassVar[bool] = True
    id: str


@dataclass(frozen=True, slots=True)
class StartVm(Operation):
    """Start a stopped or deallocated VM (a warm worker of the pool)."""

    kind: ClassVar[str] = "start_vm"
    id: str
    size: str = ""  # the size it runs at (a claim sets it), for its cost


@dataclass(frozen=True, slots=True)
class ClaimWarmWorker(Operation):
    """Read, then one VM update: take a deallocated worker of the pool ``group`` that no
    restore holds (``tags`` on it name the holder; its size becomes ``size``). The result
    is the worker's id, or "" when the pool has none free. ``id`` is the worker the plan
    would create instead."""

    kind: ClassVar[str] = "claim_warm_worker"
    id: str
    group: str
    size: str
    tags: Tags

    @property
    def resource(self) -> str:
        return self.group


@dataclass(frozen=True, slots=True)
class TagWorker(Operation):
    """Set a pool worker's tags (who holds it); with ``keep_warm_s`` it is released: it
    stays warm that long from now (the backend's clock)."""

    kind: ClassVar[str] = "tag_worker"
    id: str
    tags: Tags
    keep_warm_s: float | None = None


@dataclass(frozen=True, slots=True)
class FindIdleWorkers(Operation):
    """Read: the pool ``group``'s workers nobody holds whose keep-warm time is over, but
    the ``keep`` most recently released; the result is their ids."""

    kind: ClassVar[str] = "find_idle_workers"
    group: str
    keep: int

    @property
    def resource(self) -> str:
        return self.group


@dataclass(frozen=True, slots=True)
class RemoveIdleWorker(Operation):
    """Delete a pool worker (its OS disk and NIC go with it) if it is still idle and past
    its keep-warm time when looked at; the result is its id, or "" when it was left."""

    kind: ClassVar[str] = "remove_idle_worker"
    id: str


@dataclass(frozen=True, slots=True)
class SwapDisks(Operation):
    """One update of a stopped VM: its OS disk becomes ``os_disk`` (unless None) and its
    data disks at these LUNs the disks given; the disks it had stay, detached."""

    kind: ClassVar[str] = "swap_disks"
    vm: str
    os_disk: str | None
    data_disks: tuple[tuple[int, str], ...] = ()

    @property
    def resource(self) -> str:
        return self.vm


@dataclass(frozen=True, slots=True)
class TagDisk(Operation):
    """Add these tags to a disk's own (read, then one disk update)."""

    kind: ClassVar[str] = "tag_disk"
    id: str
    tags: Tags


@dataclass(frozen=True, slots=True)
class MoveResources(Operation):
    kind: ClassVar[str] = "move_resources"
    source_group: str
    target_group: str
    resources: tuple[str, ...]

    @property
    def resource(self) -> str:
        return self.source_group


@dataclass(frozen=True, slots=True)
class RehydrateRestorePoint(Operation):
    """Bring an archived restore point back to the hot tier."""

    kind: ClassVar[str] = "rehydrate_restore_point"
    restore_point: str
    priority: str
    size_gb: float

    @property
    def resource(self) -> str:
        return self.restore_point


@dataclass(frozen=True, slots=True)
class DiskWrite:
    """Restore-point data for one disk: how much of it to write, and to which disk."""

    disk: str
    sku: str
    size_gb: int
    data_gb: float
    source: str = ""  # the restore point's disk written there (the source disk's id)


@dataclass(frozen=True, slots=True)
class WriteDiskData(Operation):
    """The worker's restore agent writes restore-point data to its attached disks."""

    kind: ClassVar[str] = "write_disk_data"
    worker: str
    worker_size: str
    restore_point: str
    writes: tuple[DiskWrite, ...] = field(default=())
    parallel_workers: int = 1  # workers of this restore reading the repository at once

    @property
    def resource(self) -> str:
        return self.worker



@dataclass(frozen=True, slots=True)
class SecurityRule:
    """One rule of a network security group (ARM's securityRules entry)."""

    name: str
    direction: str  # Inbound, Outbound
    access: str  # Allow, Deny
    priority: int
    remote: str  # the address prefix or service tag at the other end (Internet)


@dataclass(frozen=True, slots=True)
class CreateNsg(Operation):
    kind: ClassVar[str] = "create_nsg"
    id: str
    location: str
    rules: tuple[SecurityRule, ...]
    tags: Tags = ()


@dataclass(frozen=True, slots=True)
class CreateVnet(Operation):
    """A virtual network with its subnets, each (name, address prefix, NSG id or None)."""

    kind: ClassVar[str] = "create_vnet"
    id: str
    location: str
    address_prefix: str
    subnets: tuple[tuple[str, str, str | None], ...]
    tags: Tags = ()


@dataclass(frozen=True, slots=True)
class WaitVmHealthy(Operation):
    """Read the VM's instance view until it is provisioned, running and its VM agent is
    Ready, polling every ``poll_s`` for at most ``timeout_s``."""

    kind: ClassVar[str] = "wait_vm_healthy"
    id: str
    timeout_s: float
    poll_s: float


@dataclass(frozen=True, slots=True)
class RunGuestCheck(Operation):
    """A shell script run in the VM's guest through Run Command; it passes when it exits 0
    within ``timeout_s``."""

    kind: ClassVar[str] = "run_guest_check"
    id: str
    check: str  # its name in the report
    script: str
    timeout_s: float


OPERATION_KINDS = frozenset(cls.kind for cls in Operation.__subclasses__())

ARM_LOGGER = "restorelab.arm"
"""The logger of each ARM request the SDK backends send ('METHOD path status', at INFO;
the record's ``operation`` and ``at_s`` say which operation sent it, and when)."""
"""Every operation kind: what fault rules may name besides steps."""
