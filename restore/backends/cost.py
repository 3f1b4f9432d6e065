"""What a restore costs by itself, from its operations and the profile's list prices:
the workers' compute time, the disks and snapshots it creates while they exist (until
deleted, or until the restore ends), archive rehydration (per GB and per read by
priority) and data moved between regions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import armid as arm
from fakecloud.profile import Prices
from restore import ops
from restore.backends.worker import WORKER_OS_DISK_GB, WORKER_OS_DISK_SKU
from restore.engine import Ticket
from restore.plan import RestoreContext

HOURS_PER_MONTH = 730.0
MB_PER_GB = 1024


@dataclass(slots=True)
class Life:
    """A billed resource of cost ``item``: from its creating operation's start until the
    end of the operation that removed it (None: until the restore ends)."""

    item: str
    rate_per_hour: float
    start: Ticket
    end: Ticket | None = None


def restore_cost(tickets: Iterable[Ticket], end_s: float, ctx: RestoreContext,
                 prices: Prices) -> dict[str, object]:
    """USD (or ``prices.currency``) by item, and the total."""
    items, lives = cost_terms(tickets, ctx, prices)
    for life in lives:
        end = life.end.end_s if life.end is not None else end_s
        items[life.item] += life.rate_per_hour * (end - life.start.start_s) / 3600
    return priced(items, prices.currency)


def priced(items: dict[str, float], currency: str) -> dict[str, object]:
    """The cost items rounded as reports show them, and their total."""
    rounded = {k: round(v, 4) for k, v in items.items()}
    return {"currency": currency, "total": round(sum(items.values()), 4), **rounded}


def cost_terms(tickets: Iterable[Ticket], ctx: RestoreContext, prices: Prices
               ) -> tuple[dict[str, float], list[Life]]:
    """What a restore's cost is made of: the items that do not depend on time, and the
    resources billed while they exist (a cost affine in the operations' times)."""
    lives: dict[str, Life] = {}
    items = {"worker_compute": 0.0, "disks": 0.0, "snapshots": 0.0, "rehydration": 0.0,
             "transfer": 0.0}
    sizes = {disk.lower(): gb for disk, gb in zip(ctx.source.disks, ctx.source.disk_sizes_gb,
                                                   strict=True)}
    sizes.update({d.snapshot.lower(): d.size_gb for d in ctx.disks if d.snapshot})
    done = sorted((t for t in tickets if t.status == "succeeded"), key=lambda t: t.end_s)
    for ticket in done:
        op = ticket.op
        if isinstance(op, ops.CreateVm) and op.os_disk_from_image:
            lives[op.id.lower()] = Life("worker_compute", prices.vm_hourly[op.size], ticket)
            lives[op.os_disk.lower()] = Life(
                "disks", _disk_rate(prices, WORKER_OS_DISK_SKU, WORKER_OS_DISK_GB), ticket)
        elif isinstance(op, ops.StartVm) and op.size:  # a warm worker of the pool
            lives[op.id.lower()] = Life("worker_compute", prices.vm_hourly[op.size], ticket)
        elif isinstance(op, ops.CreateDisk):
            lives[op.id.lower()] = Life("disks", _disk_rate(prices, op.sku, op.size_gb), ticket)
        elif isinstance(op, ops.CreateSnapshot):
            gb = sizes.get(op.source.lower(), 0)
            lives[op.id.lower()] = Life(
                "snapshots", prices.snapshot_gb_month * gb / HOURS_PER_MONTH, ticket)
            if op.location != ctx.source.location:  # a copy to the target region
                items["transfer"] += gb * prices.inter_region_gb
        elif isinstance(op, ops.DeallocateVm | ops.DeleteVm | ops.DeleteDisk | ops.DeleteSnapshot):
            _end(lives, op.id, ticket)
        elif isinstance(op, ops.DeleteResourceGroup):
            for key in [k for k in lives if arm.group_id_of(k) == op.id.lower()]:
                _end(lives, key, ticket)
        elif isinstance(op, ops.MoveResources):
            target = op.target_group.lower()
            for resource in op.resources:
                life = lives.pop(resource.lower(), None)
                if life is not None:
                    lives[f"{target}/providers/{arm.parse_id(resource).type.lower()}/"
                          f"{arm.name_of(resource).lower()}"] = life
        elif isinstance(op, ops.RehydrateRestorePoint):
            price = prices.rehydration[op.priority]
            reads = op.size_gb * MB_PER_GB / prices.restore_point_object_mb
            items["rehydration"] += op.size_gb * price.per_gb + reads / 10_000 * price.per_10k_reads
        elif isinstance(op, ops.WriteDiskData) and ctx.location != ctx.source.location:
            items["transfer"] += sum(w.data_gb for w in op.writes) * prices.inter_region_gb
    return items, list(lives.values())


def _disk_rate(prices: Prices, sku: str, size_gb: int) -> float:
    return prices.disk_gb_month[sku] * size_gb / HOURS_PER_MONTH


def _end(lives: dict[str, Life], arm_id: str, ticket: Ticket) -> None:
    life = lives.get(arm_id.lower())
    if life is not None and life.end is None:
        life.end = ticket
