"""Seed a simulated subscription with what a scenario assumes exists before the restore."""

from __future__ import annotations

import armid as arm
from fakecloud.models import CloudState, Quotas, ResourceGroup, VirtualNetwork
from fakecloud.models.resources import subnet_prefixes
from restore.plan import Plan, snapshot_name
from restore.scenario import Scenario

NETWORK, SUBNET_BITS = "10.0.0.0/8", 16
"""A scenario's networks: room for a fleet's NICs in every subnet."""


def build_world(scenario: Scenario, plan: Plan, max_data_disks: dict[str, int],
                quotas: Quotas | None = None, state: CloudState | None = None) -> CloudState:
    """The source VM with its disks, NIC and network (and snapshots on the snapshot path);
    for a new location, the target group and subnet (when the state has the target's
    subscription). ``quotas`` apply from then on. Given a ``state``, adds to it (a fleet:
    groups and networks are shared; the tenant's other subscriptions: in it)."""
    ctx, src = plan.context, scenario.source_vm
    state = state or CloudState(scenario.subscription, max_data_disks)
    state.create_resource_group(ctx.source.group, src.location)
    _ensure_subnet(state, ctx.source.subnet, src.location)
    state.create_nic(ctx.source.nic, src.location, ctx.source.subnet)
    disks = [
        (lun, state.create_disk(arm.resource_id(scenario.subscription, src.resource_group,
                                                arm.DISKS, name),
                                src.location, spec.size_gb, spec.sku, src.zone))
        for lun, spec, name in src.disks()
    ]
    state.create_vm(ctx.source.vm, src.location, src.size, ctx.source.nic, disks[0][1].id,
                    zone=src.zone)
    if disks[1:]:
        state.attach_disks(ctx.source.vm, [(lun, disk.id) for lun, disk in disks[1:]])
    if scenario.restore_point.kind == "snapshot":
        for _, disk in disks:
            snapshot = arm.resource_id(scenario.subscription, src.resource_group, arm.SNAPSHOTS,
                                       snapshot_name(disk.name))
            state.create_snapshot(snapshot, src.location, disk.id)
    if not scenario.is_original_location and state.knows(ctx.target_subscription):
        if not isinstance(state.find(ctx.target_group), ResourceGroup):
            state.create_resource_group(ctx.target_group, ctx.location)
        _ensure_subnet(state, ctx.subnet, ctx.location)
    if ctx.pool is not None and ctx.pool.subnet:  # the worker profile's own subnet
        _ensure_subnet(state, ctx.pool.subnet, ctx.location)
    if quotas is not None:
        state.quotas = quotas
    return state


def _ensure_subnet(state: CloudState, subnet_id: str, location: str) -> None:
    vnet_id, _, subnet = subnet_id.rpartition("/subnets/")
    group = arm.group_id_of(vnet_id)
    if not isinstance(state.find(group), ResourceGroup):
        state.create_resource_group(group, location)
    vnet = state.find(vnet_id)
    if not isinstance(vnet, VirtualNetwork):
        vnet = state.create_virtual_network(vnet_id, location, address_prefixes=[NETWORK])
    if subnet not in vnet.subnets:
        state.put_subnet(subnet_id, subnet_prefixes(NETWORK, 1, vnet.subnets.values(),
                                                    SUBNET_BITS)[0])
