"""The worker pool's rules, one set for every backend, on what the region shows: which of
the pool's VMs a restore may claim, which are idle past their keep-warm time, and the tags
a claim or a release writes."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from restore import ops
from restore.plan import CREATING_TAG, KEEP_WARM_TAG, POOL_TAG, RESTORE_ID_TAG

TAKEN_MEANWHILE = 412
"""ARM's PreconditionFailed to a claim's update sent with ``If-Match``: the worker was
written (claimed) by another since the claim's GET, so it is taken; the claim goes on to
the next candidate."""


@dataclass(frozen=True, slots=True)
class Listed:
    """A VM of the pool's group as a list shows it."""

    id: str
    size: str
    tags: dict[str, str]


def free(tags: dict[str, str]) -> bool:
    """A worker of the pool that no restore holds, or is making."""
    return POOL_TAG in tags and RESTORE_ID_TAG not in tags and CREATING_TAG not in tags


def claimable(tags: dict[str, str], power_state: str) -> bool:
    return free(tags) and power_state == "deallocated"


def already_claimed(listed: Iterable[Listed], op: ops.ClaimWarmWorker) -> str | None:
    """The worker this claim got already (a claim sent again), if any."""
    holder = dict(op.tags)
    return next((vm.id for vm in listed if holder.items() <= vm.tags.items()), None)


def candidates(listed: Iterable[Listed], size: str) -> list[Listed]:
    """The free workers, those of ``size`` first (no resize), then by id."""
    return sorted((vm for vm in listed if free(vm.tags)),
                  key=lambda vm: (vm.size != size, vm.id.lower()))


def claim_body(op: ops.ClaimWarmWorker, size: str) -> dict[str, Any]:
    """The VM update that claims a worker: the holder's tags, and its size when it
    differs (a deallocated VM takes any size)."""
    body: dict[str, Any] = {"tags": dict(op.tags)}
    if size != op.size:
        body["properties"] = {"hardwareProfile": {"vmSize": op.size}}
    return body


def worker_tags(op: ops.TagWorker, now: float) -> dict[str, str]:
    tags = dict(op.tags)
    if op.keep_warm_s is not None:
        tags[KEEP_WARM_TAG] = repr(now + op.keep_warm_s)
    return tags


def keep_until(tags: dict[str, str]) -> float:
    """When a released worker's keep-warm time ends (a worker never released: already)."""
    try:
        return float(tags[KEEP_WARM_TAG])
    except (KeyError, ValueError):
        return -math.inf


def removable(tags: dict[str, str], now: float) -> bool:
    return free(tags) and keep_until(tags) <= now


def idle(listed: Iterable[Listed], keep: int, now: float) -> list[str]:
    """The free workers past their keep-warm time, but the ``keep`` most recently
    released of all the free ones."""
    spare = sorted((vm for vm in listed if free(vm.tags)),
                   key=lambda vm: (-keep_until(vm.tags), vm.id.lower()))[keep:]
    return sorted((vm.id for vm in spare if keep_until(vm.tags) <= now), key=str.lower)
