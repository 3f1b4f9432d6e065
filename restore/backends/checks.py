"""Whether an operation's effect is there already: one set of rules for every backend,
asked of what a GET of a resource shows (``Seen``), however the backend reads it."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field

import armid as arm
from restore import ops
from restore.ops import Operation

NO_SUBSCRIPTION = "SubscriptionNotFound"
"""ARM's code (404) for a subscription it does not know: not a resource found missing,
and a subscription in which nothing was created."""

Rule = Generator[str, "Seen | None", bool]


@dataclass(frozen=True, slots=True)
class Seen:
    """A resource as a GET shows it: its tags; for a VM its data disks (id, lowercase ->
    LUN), power state and OS disk."""

    tags: dict[str, str]
    data_disks: dict[str, int] = field(default_factory=dict)
    power_state: str = ""
    os_disk: str = ""  # lowercase


def already_done(op: Operation) -> Rule:
    """Yields the ids to look at (and is sent what each shows, None when it does not
    exist); returns whether ``op`` need not be sent (a step run again after an
    interruption checks before acting)."""
    if isinstance(op, ops.CreateResourceGroup | ops.CreateDisk | ops.CreateSnapshot
                  | ops.CreateNic | ops.CreateVm | ops.CreatePublicIp | ops.CreateNsg
                  | ops.CreateVnet):
        found = yield op.id
        return found is not None and found.tags == dict(op.tags)
    if isinstance(op, ops.DeleteDisk | ops.DeleteSnapshot | ops.DeleteNic | ops.DeleteVm
                  | ops.DeleteResourceGroup | ops.DeletePublicIp):
        return (yield op.id) is None
    if isinstance(op, ops.AttachDisks | ops.DetachDisks | ops.DeallocateVm):
        vm = yield op.resource
        attached = vm.data_disks if vm is not None else {}
        if isinstance(op, ops.AttachDisks):
            return all(attached.get(disk.lower()) == lun for lun, disk in op.disks)
        if isinstance(op, ops.DetachDisks):
            return vm is not None and not attached.keys() & {d.lower() for d in op.disks}
        return vm is not None and vm.power_state == "deallocated"
    if isinstance(op, ops.SwapDisks):
        vm = yield op.vm
        return vm is not None and (op.os_disk is None or vm.os_disk == op.os_disk.lower()) \
            and all(vm.data_disks.get(disk.lower()) == lun for lun, disk in op.data_disks)
    if isinstance(op, ops.TagDisk):
        disk = yield op.id
        return disk is not None and dict(op.tags).items() <= disk.tags.items()
    if isinstance(op, ops.StartVm):
        vm = yield op.id
        return vm is not None and vm.power_state == "running"
    if isinstance(op, ops.MoveResources):
        for resource in op.resources:
            moved = f"{op.target_group}/providers/{arm.parse_id(resource).type}/" \
                    f"{arm.name_of(resource)}"
            if (yield moved) is None:
                return False
        return True
    return False  # reads, rehydration, data writes: doing them again is harmless


def answered(rule: Rule, look: Callable[[str], Seen | None]) -> bool:
    """``rule`` answered by ``look`` at once (a backend that reads synchronously)."""
    try:
        arm_id = next(rule)
        while True:
            arm_id = rule.send(look(arm_id))
    except StopIteration as end:
        return end.value
