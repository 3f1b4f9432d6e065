"""The steps of a restore drill (``target.mode: drill``) besides a new-location restore's:
its isolated network made first, the restored VM's health checked, everything removed."""

from __future__ import annotations

from collections.abc import Callable

from restore.drills import ADDRESS_SPACE, ISOLATION, POLL_S, VM_SUBNET, WORKER_SUBNET, mounts_script
from restore.ops import (
    CreateNsg,
    CreateResourceGroup,
    CreateVnet,
    DeleteResourceGroup,
    RunGuestCheck,
    StepGen,
    WaitVmHealthy,
)
from restore.plan import RestoreContext


def create_drill_network(ctx: RestoreContext) -> StepGen:
    """The drill's group, and in it a virtual network with no peering: the restored VM's
    subnet closed to the internet both ways, the workers' subnet beside it."""
    drill = ctx.drill
    assert drill is not None
    yield CreateResourceGroup(drill.group, ctx.location, ctx.tags)
    yield CreateNsg(drill.nsg, ctx.location, ISOLATION, ctx.tags)
    yield CreateVnet(drill.vnet, ctx.location, ADDRESS_SPACE,
                     ((*VM_SUBNET, drill.nsg), (*WORKER_SUBNET, None)), ctx.tags)


def check_health(ctx: RestoreContext) -> StepGen:
    """The restored VM provisioned, running, its VM agent Ready; then, through Run Command,
    its restored data disks mounted and the user's script exiting 0; each within the
    drill's time limit. The first check that fails fails the drill."""
    drill, vm = ctx.drill, ctx.vm
    assert drill is not None and vm is not None
    yield WaitVmHealthy(vm.id, drill.timeout_s, POLL_S)
    if drill.data_luns:
        yield RunGuestCheck(vm.id, "disks_mounted", mounts_script(drill.data_luns),
                            drill.timeout_s)
    if drill.script:
        yield RunGuestCheck(vm.id, "script", drill.script, drill.timeout_s)


def remove_drill(ctx: RestoreContext) -> StepGen:
    """Delete the drill's group: the VM, its disks and NIC, the network go with it."""
    assert ctx.drill is not None
    yield DeleteResourceGroup(ctx.drill.group)


DRILL_STEPS: dict[str, Callable[[RestoreContext], StepGen]] = {
    f.__name__: f for f in (create_drill_network, check_health, remove_drill)}
