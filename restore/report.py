"""The restore report: the JSON contract of ARCHITECTURE.md, built from the engine's records
and the backend's inventory of resources before and after."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from restore.engine import Engine
from restore.plan import RESTORE_ID_TAG, RestoreContext

if TYPE_CHECKING:
    import pandas as pd

Resources = list[dict[str, Any]]


@dataclass(slots=True)
class Report:
    scenario: str
    backend: str
    seed: int
    restore_id: str
    status: str
    error: dict[str, Any] | None
    duration_s: float
    steps: list[dict[str, Any]]
    operations: list[dict[str, Any]]
    final_state: dict[str, Resources]
    restored_vm: dict[str, Any] | None
    leaked: list[str]
    source_intact: bool
    data_verified: bool | None
    critical_path_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @property
    def exit_code(self) -> int:
        return {"succeeded": 0, "interrupted": 3}.get(self.status, 1)

    def timeline(self) -> pd.DataFrame:
        """Steps and operations as rows: level, name, step, start_s, end_s, duration_s, ..."""
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


def _span(record: dict[str, Any]) -> dict[str, float]:
    return {"start_s": record["start_s"], "end_s": record["end_s"],
            "duration_s": round(record["end_s"] - record["start_s"], 3)}


def build_report(engine: Engine, backend: str, seed: int, duration_s: float,
                 before: Resources, after: Resources) -> Report:
    """Assemble the report from the engine's records and the resources before and after."""
    ctx = engine.plan.context
    restored = _restored_vm(ctx, after)
    return Report(
        scenario=engine.plan.scenario, backend=backend, seed=seed, restore_id=ctx.restore_id,
        status=engine.status, error=engine.error, duration_s=_t(duration_s),
        steps=[_times({"name": s.name, "start_s": s.start_s, "end_s": s.end_s,
                       "status": s.status, "attempts": s.attempts}) for s in engine.steps],
        operations=[_times({"op": o.op, "resource": o.resource, "step": o.step,
                            "start_s": o.start_s, "end_s": o.end_s, "status": o.status,
                            "attempts": o.attempts, "error_code": o.error_code})
                    for o in engine.operations],
        final_state={"resources": after},
        restored_vm=restored,
        leaked=_leaked(ctx, after, restored if engine.status == "succeeded" else None),
        source_intact=_source(ctx, before) == _source(ctx, after),
        data_verified=None,
        critical_path_s=_t(engine.critical_path_s()),
    )


def _t(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


def _times(record: dict[str, Any]) -> dict[str, Any]:
    record["start_s"], record["end_s"] = _t(record["start_s"]), _t(record["end_s"])
    return record


def _by_id(resources: Resources) -> dict[str, dict[str, Any]]:
    return {r["id"].lower(): r for r in resources}


def _restored_vm(ctx: RestoreContext, after: Resources) -> dict[str, Any] | None:
    vm = _by_id(after).get(ctx.vm.id.lower())
    if vm is None:
        return None
    props = vm["properties"]
    return {"id": vm["id"], "name": vm["name"], "resource_group": vm["resource_group"],
            "location": vm["location"], "size": props["vmSize"], "zone": props["zone"],
            "power_state": props["powerState"], "tags": vm["tags"],
            "disks": [props["osDisk"], *(d["id"] for d in props["dataDisks"])]}


def _leaked(ctx: RestoreContext, after: Resources, restored: dict[str, Any] | None) -> list[str]:
    """Resources this restore created and still exist, other than the restored VM's own."""
    kept = set()
    if restored is not None:
        kept = {restored["id"].lower(), ctx.vm.nic.lower(), *(d.lower() for d in restored["disks"])}
    return [r["id"] for r in after
            if r["tags"].get(RESTORE_ID_TAG) == ctx.restore_id and r["id"].lower() not in kept]


def _source(ctx: RestoreContext, resources: Resources) -> list[dict[str, Any]] | None:
    """The source VM and its disks as they are, or None when any of them is gone."""
    found = _by_id(resources)
    wanted = [ctx.source.vm, *ctx.source.disks]
    if any(w.lower() not in found for w in wanted):
        return None
    return [found[w.lower()] for w in wanted]
