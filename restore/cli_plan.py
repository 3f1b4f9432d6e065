"""`restorelab plan`: the steps and operations a restore would run, from the scenario
alone or (``--backend azure``) after reading the source and the preflight in Azure."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any

import typer

import restore
from restore.cli import (
    DEFAULT_SCENARIO,
    EXIT_BAD_INPUT,
    JsonOpt,
    RehydrateOpt,
    RepositoryOpt,
    ScenarioArg,
    SourceGroupOpt,
    SourceVmOpt,
    SubscriptionOpt,
    _error,
    _guarded,
    _naming,
    _prepare_live,
    app,
    container_repository,
)
from restore.cli_output import show_plan
from restore.errors import ScenarioError
from restore.shipped import find_scenario


@app.command()
def plan(
    scenario: ScenarioArg = DEFAULT_SCENARIO,
    backend: Annotated[str, typer.Option(
        "--backend", help="'sim': plan from the scenario file alone. 'azure': read the "
        "source VM from the subscription, run the preflight checks (source, restore point, "
        "target group and region, names, quotas, VM sizes) and list what a real restore "
        "would create and delete. Writes nothing either way.")] = "sim",
    subscription: SubscriptionOpt = None,
    source_vm: SourceVmOpt = None,
    source_group: SourceGroupOpt = None,
    repository: RepositoryOpt = None,
    rehydrate_with: RehydrateOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the steps and every operation the restore in SCENARIO would run; runs nothing."""
    if backend == "azure":
        live = _guarded(lambda: _prepare_live(
            scenario, subscription, source_vm, source_group,
            container_repository(repository, rehydrate_with), show=not as_json))
        summary = {**_plan_summary(live.plan), "backend": "azure",
                   "creates": live.creates, "deletes": live.deletes}
    elif backend == "sim":
        summary = _guarded(lambda: _plan(scenario))
    else:
        _error(ScenarioError("--backend", "", f"unknown backend {backend!r} for plan "
                             "(available: sim, azure)"))
        raise typer.Exit(EXIT_BAD_INPUT)
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        show_plan(summary)


def _plan(scenario: str) -> dict[str, Any]:
    loaded = restore.load_scenario(find_scenario(scenario))
    with _naming(scenario):
        the_plan = restore.plan_for(loaded)
    return _plan_summary(the_plan)


def _plan_summary(the_plan: Any) -> dict[str, Any]:
    from restore.engine import dry_run

    ops: dict[str, list[dict[str, str]]] = {s.name: [] for s in the_plan.steps}
    for ticket in dry_run(the_plan):
        ops[ticket.step].append({"op": ticket.op.kind, "resource": ticket.op.resource})
    ctx = the_plan.context
    removes_source = "remove_source_vm" in the_plan.step_names
    return {
        "scenario": the_plan.scenario,
        "restore_id": ctx.restore_id,
        "mode": "replace_disks" if ctx.replace else "vm" if ctx.vm else "disks",
        "subscription": ctx.subscription,
        "target_subscription": ctx.target_subscription,
        "restored_disks": [{"id": d.final_id, "lun": d.lun, "sku": d.sku,
                            "size_gb": d.size_gb, "source": d.source,
                            "encryption_set": d.encryption_set} for d in ctx.disks],
        "vm_settings": dataclasses.asdict(ctx.vm.settings) if ctx.vm else None,
        "removed_not_restored": list(ctx.unrestored_disks) if removes_source else [],
        "replaced_disks": [{"lun": lun, "old": old, "new": new, "kept": not
                            ctx.replace.delete_replaced} for lun, old, new in ctx.replace.swaps]
        if ctx.replace else [],
        "steps": [{"name": s.name, "after": list(s.after), "operations": ops[s.name]}
                  for s in the_plan.steps],
    }
