"""Seed a simulated subscription with what a scenario assumes exists before the restore."""

from __future__ import annotations

import armid as arm
from fakecloud.models import (
    AvailabilitySet,
    CloudState,
    Disk,
    DiskEncryptionSet,
    NetworkInterface,
    NetworkSecurityGroup,
    Quotas,
    ResourceGroup,
    VirtualMachine,
    VirtualNetwork,
)
from fakecloud.models.resources import subnet_prefixes
from restore.backends.arm_calls import encryption_body, security_body
from restore.placement import security_profile
from restore.plan import Plan, snapshot_name
from restore.scenario import Scenario

NETWORK, SUBNET_BITS = "10.0.0.0/8", 16
"""A scenario's networks: room for a fleet's NICs in every subnet."""


def build_world(scenario: Scenario, plan: Plan, max_data_disks: dict[str, int],
                quotas: Quotas | None = None, state: CloudState | None = None) -> CloudState:
    """The source VM with its disks, NIC and network (and snapshots on the snapshot path);
    for a new location, the target group and subnet (when the state has the target's
    subscription; not for a drill). ``quotas`` apply from then on. Given a ``state``, adds
    to it (a fleet: groups and networks are shared; the tenant's other subscriptions: in
    it)."""
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
    vm = state.create_vm(ctx.source.vm, src.location, src.size, ctx.source.nic,
                         disks[0][1].id, zone=src.zone)
    _describe_source(state, scenario, vm, [disk for _, disk in disks])
    if disks[1:]:
        state.attach_disks(ctx.source.vm, [(lun, disk.id) for lun, disk in disks[1:]])
    if scenario.restore_point.kind == "snapshot":
        for _, disk in disks:
            snapshot = arm.resource_id(scenario.subscription, src.resource_group, arm.SNAPSHOTS,
                                       snapshot_name(disk.name))
            state.create_snapshot(snapshot, src.location, disk.id)
    if not scenario.is_original_location and not ctx.drill and state.knows(
            ctx.target_subscription):  # a drill makes its own group and network
        if not isinstance(state.find(ctx.target_group), ResourceGroup):
            state.create_resource_group(ctx.target_group, ctx.location)
        _ensure_subnet(state, ctx.subnet, ctx.location)
    if ctx.pool is not None and ctx.pool.subnet:  # the worker profile's own subnet
        _ensure_subnet(state, ctx.pool.subnet, ctx.location)
    _ensure_referenced(state, scenario, plan)
    if quotas is not None:
        state.quotas = quotas
    return state


def _describe_source(state: CloudState, scenario: Scenario, vm: VirtualMachine,
                     disks: list[Disk]) -> None:
    """The source's settings as ARM shows them (what a real restore discovers): its
    security profile, its NIC's accelerated networking, its disks' encryption sets."""
    src = scenario.source_vm
    vm.requested = security_body(security_profile(
        src.security.type if src.security else "Standard", src.security))
    if src.availability_set:
        vm.requested["availabilitySet"] = {"id": _source_availability_set(scenario)}
    if src.accelerated_networking:
        state.get(vm.nic, NetworkInterface).requested = {"enableAcceleratedNetworking": True}
    for disk, (_, spec, _) in zip(disks, src.disks(), strict=True):
        disk.requested = encryption_body(spec.encryption_set)


def _ensure_referenced(state: CloudState, scenario: Scenario, plan: Plan) -> None:
    """The existing resources the scenario names: the target's security group and
    availability set and its disk encryption set (in the target region), the source
    disks' encryption sets (in the source's)."""
    ctx, settings = plan.context, plan.context.vm.settings if plan.context.vm else None
    wanted = [(DiskEncryptionSet, spec.encryption_set, scenario.source_vm.location)
              for _, spec, _ in scenario.source_vm.disks()]
    wanted.append((AvailabilitySet, _source_availability_set(scenario),
                   scenario.source_vm.location))
    if (scenario.target.encryption_set or "").startswith("/"):
        wanted.append((DiskEncryptionSet, scenario.target.encryption_set, ctx.location))
    if settings is not None:
        wanted += [(NetworkSecurityGroup, settings.nsg, ctx.location),
                   (AvailabilitySet, settings.availability_set, ctx.location)]
    for kind, arm_id, location in wanted:
        if arm_id and state.find(arm_id) is None:
            group = arm.group_id_of(arm_id)
            if state.find(group) is None:
                state.create_resource_group(group, location)
            state.put_echoed(kind(arm_id, location))


def _source_availability_set(scenario: Scenario) -> str | None:
    src, name = scenario.source_vm, scenario.source_vm.availability_set
    if name is None or name.startswith("/"):
        return name
    return arm.resource_id(scenario.subscription, src.resource_group, arm.AVAILABILITY_SETS,
                           name)


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
