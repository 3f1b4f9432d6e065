"""The ARM calls of the worker pool's operations, as the azure backend sends them
(``restore.backends.azure_pool``), for the `sim` backend: a list of the pool group's VMs,
a GET of each candidate, one VM update (PATCH) to claim, tag or release one (a claim's
with ``If-Match`` on the etag its GET saw: a 412 means another claimer took it), a DELETE to
remove one. Released workers carry their keep-warm time in a tag, in the backend's clock
(``now``): what any later restore or housekeeping of the region reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import armid as arm
from fakecloud.models import ArmError, VirtualMachine
from fakecloud.region import ArmCall
from restore import ops
from restore.backends import pool_rules
from restore.backends.arm_calls import Calls, look

TimedCalls = Callable[[Any, str, float], Calls]


def _listed(group: str) -> Calls:
    """The pool group's VMs (none when the group does not exist yet)."""
    try:
        answer = yield ArmCall("GET", arm.VIRTUAL_MACHINES, group)
    except ArmError as exc:
        if exc.status == 404:
            return []
        raise
    return [pool_rules.Listed(vm.id, vm.size, dict(vm.tags)) for vm in answer.result]


def _patch(vm_id: str, body: dict[str, Any], if_match: str | None = None) -> Calls:
    answer = yield ArmCall("PATCH", arm.VIRTUAL_MACHINES, vm_id, body=body, if_match=if_match)
    if answer.long_running:
        yield ArmCall("GET", arm.VIRTUAL_MACHINES, vm_id)
    return None


def _claim(op: ops.ClaimWarmWorker, subscription: str, now: float) -> Calls:
    listed = yield from _listed(op.group)
    mine = pool_rules.already_claimed(listed, op)
    if mine is not None:
        return mine
    for candidate in pool_rules.candidates(listed, op.size):
        found = yield from look(candidate.id)
        if not isinstance(found, VirtualMachine) or not pool_rules.claimable(
                dict(found.tags), found.power_state):
            continue  # taken (or gone) since the list
        try:
            yield from _patch(found.id, pool_rules.claim_body(op, found.size), found.etag)
        except ArmError as exc:
            if exc.status == pool_rules.TAKEN_MEANWHILE:
                continue  # another claimer wrote it since our GET: theirs
            raise
        return found.id
    return ""


def _tag(op: ops.TagWorker, subscription: str, now: float) -> Calls:
    yield from _patch(op.id, {"tags": pool_rules.worker_tags(op, now)})


def _start(op: ops.StartVm, subscription: str, now: float) -> Calls:
    yield ArmCall("POST", arm.VIRTUAL_MACHINES, op.id, "start")


def _find_idle(op: ops.FindIdleWorkers, subscription: str, now: float) -> Calls:
    return pool_rules.idle((yield from _listed(op.group)), op.keep, now)


def _remove(op: ops.RemoveIdleWorker, subscription: str, now: float) -> Calls:
    found = yield from look(op.id)
    if found is None or not pool_rules.removable(dict(found.tags), now):
        return ""
    yield ArmCall("DELETE", arm.VIRTUAL_MACHINES, op.id)
    return op.id


TIMED_CALLS: dict[type, TimedCalls] = {
    ops.ClaimWarmWorker: _claim,
    ops.TagWorker: _tag,
    ops.StartVm: _start,
    ops.FindIdleWorkers: _find_idle,
    ops.RemoveIdleWorker: _remove,
}
"""The calls of each pool operation (which may read the clock)."""
