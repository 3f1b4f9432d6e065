"""The restore report: the JSON contract of ARCHITECTURE.md, built from the engine's records
and the backend's inventory of resources.

The summary (status, duration, restored VM, leaked, source intact, ...) is computed at
once; the per-step and per-operation records and the final state are turned into dicts
when first read, so a sweep of many restores pays only for what it reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

import armid as arm
from restore.drills import drill_answer
from restore.engine import Engine, StepRun, Ticket
from restore.plan import RESTORE_ID_TAG, RestoreContext
from restore.steps import restored_data

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd
    from matplotlib.figure import Figure

Resource = dict[str, Any]
"""A resource as the report shows it: type, id, name, resource_group, location, tags,
properties."""

FIELDS = (
    "scenario", "backend", "seed", "restore_id", "status", "error", "recovery_error",
    "duration_s", "steps", "operations", "final_state", "restored_vm", "restored_disks",
    "removed_not_restored", "replaced_disks", "leaked", "kept", "source_intact",
    "downtime_s", "data_verified",
    "critical_path_s", "cost", "faults_never_fired",
    "cleanup_errors", "drill",
)


class Inventory(Protocol):
    """What a backend tells the report about the resources after the restore."""

    def lookup(self, arm_id: str) -> Resource | None: ...

    def tagged(self, key: str, value: str) -> list[str]: ...

    def export(self) -> list[Resource]: ...


UP_AGAIN = ("start_source_vm", "create_vm", "attach_disks")
"""The steps whose end has the VM running again with its disks (the latest of them)."""
TIMED = frozenset({"cost", "steps", "operations", "downtime_s", "drill"})
"""A report's cached fields that depend on the operations' times."""


class Report:
    """One restore's outcome; ``to_dict()`` gives the JSON contract."""

    def __init__(self, engine: Engine, backend: str, seed: int, duration_s: float,
                 source_before: list[Resource] | None, inventory: Inventory,
                 costing: Callable[[], dict[str, Any]] | None = None):
        ctx = engine.plan.context
        self.scenario = engine.plan.scenario
        self.backend = backend
        self.seed = seed
        self.restore_id = ctx.restore_id
        self.status = engine.status
        self.error = engine.interruption or engine.error
        self.recovery_error = engine.recovery_error
        self.cleanup_errors = list(engine.cleanup_errors)  # leftovers: listed under leaked
        self.duration_s = _t(duration_s)
        self.restored_vm = _restored_vm(ctx, inventory)
        self.restored_disks = _restored_disks(ctx, inventory)
        self.removed_not_restored = [d for d in ctx.unrestored_disks
                                     if inventory.lookup(d) is None]
        self.replaced_disks = replaced_disks(ctx, inventory)
        self.leaked, self.kept = leaked_and_kept(engine, inventory)
        self.kept += [r["old"] for r in self.replaced_disks if r["old_kept"]]
        self.source_intact = source_before is not None and source_before == source_snapshot(
            ctx, inventory.lookup)
        self.data_verified: bool | None = None
        self.faults_never_fired: list[dict[str, Any]] = []  # the run's rules that did not
        self.critical_path_s = _t(engine.critical_path_s())
        self._step_records = engine.steps
        self._op_records = engine.operations
        self._export = inventory.export
        self._costing = costing
        self._drill = ctx.drill
        self.arm_requests: dict[int, list[str]] | None = None  # ticket id -> ARM calls
        self.earlier_operations: list[dict[str, Any]] = []  # a resumed restore's, before

    def retimed(self, engine: Engine, seed: int, duration_s: float,
                costing: Callable[[], dict[str, Any]] | None) -> Report:
        """This report for a restore that made the same operations to the same final
        state, at ``engine``'s times: what only the final state decides is kept."""
        clone = object.__new__(Report)
        clone.__dict__.update({k: v for k, v in self.__dict__.items() if k not in TIMED})
        clone.seed, clone.duration_s = seed, _t(duration_s)
        clone.critical_path_s = _t(engine.critical_path_s())
        clone._step_records, clone._op_records = engine.steps, engine.operations
        clone._costing = costing
        return clone

    @cached_property
    def cost(self) -> dict[str, Any] | None:
        """What the restore itself cost, by item (None when the backend has no prices)."""
        return self._costing() if self._costing else None

    @cached_property
    def drill(self) -> dict[str, Any] | None:
        """A drill's answer: each health check passed, failed or not run, the time to
        healthy against the RTO (None when the restore is no drill)."""
        if self._drill is None:
            return None
        return drill_answer(self._step_records, self._op_records, self._drill, self.error,
                            bool(self.leaked))

    @cached_property
    def downtime_s(self) -> float | None:
        """How long the source VM was down: from the step that stops or removes it to the
        end of the step that has it (or the restored VM) running with all its disks. None
        when the restore never stops the source (a new location, disks only) or no VM runs
        at its end (it failed, or ``power_on: false``)."""
        if self.status != "succeeded":
            return None
        ended = {s.name: s for s in self._step_records}
        down = ended.get("deallocate_source_vm") or ended.get("remove_source_vm")
        up = [ended[n].end_s for n in UP_AGAIN if n in ended]
        if down is None or not up or "stop_restored_vm" in ended:
            return None
        return _t(max(up) - down.start_s)

    @cached_property
    def steps(self) -> list[dict[str, Any]]:
        return [_step(s) for s in self._step_records]

    @cached_property
    def operations(self) -> list[dict[str, Any]]:
        """Each operation (a resumed restore's: those of its earlier sessions first, as its
        journal kept them); on the SDK backends also the ARM requests it made
        (``"PUT /subscriptions/... 202"``)."""
        if self.arm_requests is None:
            return [*self.earlier_operations, *(_operation(o) for o in self._op_records)]
        return [*self.earlier_operations,
                *({**_operation(o), "arm_requests": self.arm_requests.get(o.id, [])}
                  for o in self._op_records)]

    @cached_property
    def final_state(self) -> dict[str, list[Resource]]:
        return {"resources": self._export()}

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in FIELDS}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @property
    def exit_code(self) -> int:
        """0 succeeded (a drill: passed), 3 interrupted, else 1."""
        if self.status == "succeeded" and self.drill is not None and not self.drill["passed"]:
            return 1
        return {"succeeded": 0, "interrupted": 3}.get(self.status, 1)

    def timeline(self) -> pd.DataFrame:
        """Steps and operations as rows: level, name, step, resource, start_s, end_s,
        duration_s, status, attempts."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("Report.timeline() needs pandas: "
                              "pip install 'restorelab[analysis]'") from None
        rows = [{"level": "step", "name": s["name"], "step": s["name"], "resource": None,
                 **_span(s), "status": s["status"], "attempts": s["attempts"]}
                for s in self.steps]
        rows += [{"level": "operation", "name": o["op"], "step": o["step"],
                  "resource": o["resource"], **_span(o), "status": o["status"],
                  "attempts": o["attempts"]} for o in self.operations]
        return pd.DataFrame(rows)

    def gantt(self, path: str | Path | None = None, *, operations: bool = True) -> Figure:
        """The restore as a Gantt chart (matplotlib): a row per step in start order, one
        colour per step, its operations as thinner bars inside it (``operations``),
        retried ones hatched, failed ones red; x in minutes (hours when long). Returns
        the figure; ``path`` also saves it there (the format from the suffix)."""
        from restore.plots import gantt

        return gantt(self, path, operations=operations)


def leaked_and_kept(engine: Engine, inventory: Inventory) -> tuple[list[str], list[str]]:
    """Of what the restore created and still exists: the temporary resources left behind,
    and the restored data kept on purpose after a failure past the source's removal."""
    ctx = engine.plan.context
    tagged = [arm_id for arm_id in inventory.tagged(RESTORE_ID_TAG, ctx.restore_id)
              if inventory.lookup(arm_id) is not None]  # a list may still show the deleted
    rolled_forward = engine.status == "failed" and engine.source_touched
    keep = restored_data(ctx, tagged) if rolled_forward or engine.status == "succeeded" else ()
    kept = [i for i in tagged if i.lower() in keep] if rolled_forward else []
    return [i for i in tagged if i.lower() not in keep], kept


def replaced_disks(ctx: RestoreContext, inventory: Inventory) -> list[dict[str, Any]]:
    """replace_disks: the swaps that took effect (the VM has the restored disk), each with
    the old disk and whether it is still there (kept, detached, for going back)."""
    vm = inventory.lookup(ctx.replace.vm) if ctx.replace else None
    if vm is None or ctx.replace is None:
        return []
    props = vm["properties"]
    has = {props["osDisk"].lower(), *(d["id"].lower() for d in props["dataDisks"])}
    return [{"lun": lun, "old": old, "new": new, "old_kept": inventory.lookup(old) is not None}
            for lun, old, new in ctx.replace.swaps if new.lower() in has]


def source_snapshot(ctx: RestoreContext,
                    lookup: Callable[[str], Resource | None]) -> list[Resource] | None:
    """The source VM and its disks as they are now, or None when any of them is gone."""
    found = [lookup(arm_id) for arm_id in (ctx.source.vm, *ctx.source.disks)]
    return None if None in found else found


def _t(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


def _step(s: StepRun) -> dict[str, Any]:
    return {"name": s.name, "start_s": _t(s.start_s), "end_s": _t(s.end_s),
            "status": s.status, "attempts": s.attempts, "retries": s.retries}


def _operation(o: Ticket) -> dict[str, Any]:
    return {"op": o.op.kind, "resource": o.op.resource, "step": o.step, "start_s": _t(o.start_s),
            "end_s": _t(o.end_s), "status": o.status, "attempts": o.attempts,
            "error_code": o.error_code, "errors": list(o.errors),
            "retry_wait_s": _t(o.retry_wait_s)}


def _span(record: dict[str, Any]) -> dict[str, float]:
    return {"start_s": record["start_s"], "end_s": record["end_s"],
            "duration_s": round(record["end_s"] - record["start_s"], 3)}


def _restored_vm(ctx: RestoreContext, inventory: Inventory) -> dict[str, Any] | None:
    vm = inventory.lookup(ctx.vm.id) if ctx.vm else None
    if vm is None or vm["tags"].get(RESTORE_ID_TAG) != ctx.restore_id:
        return None  # not restored (at the original location: the source VM)
    props = vm["properties"]
    return {"id": vm["id"], "subscription": arm.parse_id(vm["id"]).subscription,
            "name": vm["name"], "resource_group": vm["resource_group"],
            "location": vm["location"], "size": props["vmSize"], "zone": props["zone"],
            "power_state": props["powerState"], "tags": vm["tags"],
            "disks": [props["osDisk"], *(d["id"] for d in props["dataDisks"])],
            "settings": asdict(ctx.vm.settings)}


def _restored_disks(ctx: RestoreContext, inventory: Inventory) -> list[dict[str, Any]]:
    """The restored disks that exist, where they are (moved in, or not yet), each with its
    LUN (None for the OS disk), SKU, size and the source disk it restores."""
    out = []
    for disk in ctx.disks:
        found = [r for r in map(inventory.lookup, dict.fromkeys((disk.final_id, disk.id)))
                 if r is not None and r["tags"].get(RESTORE_ID_TAG) == ctx.restore_id]
        if found:
            props = found[0]["properties"]
            out.append({"id": found[0]["id"], "lun": disk.lun, "sku": props["sku"],
                        "size_gb": props["diskSizeGB"], "source": disk.source,
                        "encryption_set": disk.encryption_set})
    return out
