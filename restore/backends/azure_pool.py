"""The worker pool's operations with the azure-mgmt-* SDK (``AzureExecutor`` takes them
from here): list the pool group's VMs, GET a candidate, claim it with one VM update
(tags, and its size when it differs) sent with ``If-Match`` on the etag the GET saw (ARM
answers 412 when another claimer wrote the VM in between: that worker is taken), start
it, release it with its keep-warm time in a tag, remove the idle ones. The rules are
``pool_rules``', shared with the `sim` backend's calls (``pool_calls``), which send the
same requests."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError
from azure.mgmt.compute import models as compute

import armid as arm
from restore import ops
from restore.backends import pool_rules
from restore.backends.azure_reads import power_state

if TYPE_CHECKING:
    from azure.core.polling import LROPoller

    from restore.backends.azure import AzureClients


class AzurePool:
    """The pool's operations of one subscription's clients; ``now`` is the backend's clock
    (seconds), which keep-warm times are written in."""

    clients: AzureClients
    now: Callable[[], float]

    if TYPE_CHECKING:  # AzureReads' and AzureExecutor's
        def get(self, arm_id: str) -> Any | None: ...
        def _wait(self, begin: Callable[..., LROPoller[Any]], arm_id: str,
                  *args: Any) -> Any: ...

    def pool_handlers(self) -> dict[type, Callable[[Any], Any]]:
        return {ops.ClaimWarmWorker: self.claim_warm_worker, ops.TagWorker: self.tag_worker,
                ops.StartVm: self.start_vm, ops.FindIdleWorkers: self.find_idle_workers,
                ops.RemoveIdleWorker: self.remove_idle_worker}

    def _listed(self, group: str) -> list[pool_rules.Listed]:
        try:
            found = list(self.clients.compute.virtual_machines.list(arm.name_of(group)))
        except HttpResponseError as exc:
            if exc.status_code == 404:
                return []
            raise
        return [pool_rules.Listed(vm.id, vm.hardware_profile.vm_size, dict(vm.tags or {}))
                for vm in found]

    def _update(self, vm_id: str, tags: dict[str, str], size: str | None = None,
                etag: str | None = None) -> None:
        """One VM update; with ``etag``, only while the VM still has it (``If-Match``)."""
        update = compute.VirtualMachineUpdate(tags=tags, hardware_profile=None if size is None
                                              else compute.HardwareProfile(vm_size=size))
        begin = self.clients.compute.virtual_machines.begin_update
        if etag is not None:
            begin = partial(begin, etag=etag, match_condition=MatchConditions.IfNotModified)
        self._wait(begin, vm_id, update)

    def claim_warm_worker(self, op: ops.ClaimWarmWorker) -> str:
        listed = self._listed(op.group)
        mine = pool_rules.already_claimed(listed, op)
        if mine is not None:
            return mine
        for candidate in pool_rules.candidates(listed, op.size):
            found = self.get(candidate.id)
            if found is None or not pool_rules.claimable(dict(found.tags or {}),
                                                         power_state(found)):
                continue  # taken (or gone) since the list
            body = pool_rules.claim_body(op, found.hardware_profile.vm_size)
            try:
                self._update(found.id, body["tags"], op.size if "properties" in body else None,
                             found.etag)
            except HttpResponseError as exc:
                if exc.status_code == pool_rules.TAKEN_MEANWHILE:
                    continue  # another claimer wrote it since our GET: theirs
                raise
            return found.id
        return ""

    def tag_worker(self, op: ops.TagWorker) -> None:
        self._update(op.id, pool_rules.worker_tags(op, self.now()))

    def start_vm(self, op: ops.StartVm) -> None:
        self._wait(self.clients.compute.virtual_machines.begin_start, op.id)

    def find_idle_workers(self, op: ops.FindIdleWorkers) -> list[str]:
        return pool_rules.idle(self._listed(op.group), op.keep, self.now())

    def remove_idle_worker(self, op: ops.RemoveIdleWorker) -> str:
        found = self.get(op.id)
        if found is None or not pool_rules.removable(dict(found.tags or {}), self.now()):
            return ""
        self._wait(self.clients.compute.virtual_machines.begin_delete, op.id)
        return op.id
