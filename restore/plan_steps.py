"""The steps a restore plan runs and what each waits for: the seed's chain of steps per
restore path and mode (``target.mode``), with the cleanups beside it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from restore.plan import ReplacePlan, RestoreContext
    from restore.scenario import Scenario


@dataclass(frozen=True, slots=True)
class PlannedStep:
    name: str
    after: tuple[str, ...] = ()


def planned_steps(scenario: Scenario, ctx: RestoreContext) -> tuple[PlannedStep, ...]:
    if ctx.replace is not None:
        return _replace_steps(scenario, ctx, ctx.replace)
    if ctx.vm is None:
        return _disks_only_steps(scenario, ctx)
    original = scenario.is_original_location
    safety = ["snapshot_source"] if ctx.safety_snapshots else []
    if scenario.restore_point.kind == "snapshot":
        copies = any(d.snapshot_copy for d in ctx.disks)
        chain = ["preflight", *(["copy_snapshots"] if copies else []),
                 "create_disks_from_snapshots",
                 *([*safety, "remove_source_vm"] if original else []), "create_vm",
                 "attach_disks"]
        steps = _chained(chain)
        if copies:
            steps.append(PlannedStep("remove_snapshot_copies", ("create_disks_from_snapshots",)))
    else:
        chain = [
            "preflight",
            *(["retrieve_archived_data"] if scenario.restore_point.tier == "archive" else []),
            *(["create_staging_rg"] if original else []),
            "create_empty_disks", "launch_worker", "restore_data", "detach_disks",
            "deallocate_worker",
            *([*safety, "remove_source_vm", "move_disks"] if original else []),
            "create_vm", "attach_disks",
        ]
        steps = _chained(chain)
        last = "release_worker" if ctx.pool else "remove_worker"
        steps.append(PlannedStep(last, ("deallocate_worker",)))
        if original:
            steps.append(PlannedStep("remove_staging_rg", ("attach_disks", last)))
    if not ctx.vm.power_on:
        steps.append(PlannedStep("stop_restored_vm", ("attach_disks",)))
    if safety:
        steps.append(PlannedStep("remove_safety_snapshots", ("attach_disks",)))
    return tuple(_as_drill(steps) if ctx.drill else steps)


def _as_drill(steps: list[PlannedStep]) -> list[PlannedStep]:
    """A drill's steps: its network made after preflight, before anything else; the VM's
    health checked once it runs with its disks; its group removed after the checks and
    the other cleanups, whatever the checks found (a failed check rolls back)."""
    preflight, *rest = steps
    after_network = [PlannedStep(s.name, tuple("create_drill_network" if a == "preflight" else a
                                               for a in s.after)) for s in rest]
    cleanups = [s.name for s in rest if s.name in ("remove_worker", "remove_snapshot_copies")]
    return [preflight, PlannedStep("create_drill_network", ("preflight",)), *after_network,
            PlannedStep("check_health", ("attach_disks",)),
            PlannedStep("remove_drill", ("check_health", *cleanups))]


def _disks_only_steps(scenario: Scenario, ctx: RestoreContext) -> tuple[PlannedStep, ...]:
    """Restore disks only: the disks are made (and written), the temporary resources
    removed; nothing is attached to them and the source is left alone."""
    if scenario.restore_point.kind == "snapshot":
        copies = any(d.snapshot_copy for d in ctx.disks)
        return tuple(_chained(["preflight", *(["copy_snapshots"] if copies else []),
                               "create_disks_from_snapshots",
                               *(["remove_snapshot_copies"] if copies else [])]))
    return tuple(_chained([*_disks_written(scenario),
                           "release_worker" if ctx.pool else "remove_worker"]))


def _replace_steps(scenario: Scenario, ctx: RestoreContext, replace: ReplacePlan
                   ) -> tuple[PlannedStep, ...]:
    """Replace the source VM's disks: the disks are restored as for disks only, then the VM
    is deallocated (as late as can be), its disks swapped in one update, the old ones
    tagged and kept, and the VM started (and the old disks deleted, if asked)."""
    if scenario.restore_point.kind == "snapshot":
        steps = _chained(["preflight", "create_disks_from_snapshots", "deallocate_source_vm"])
    else:
        steps = _chained(_disks_written(scenario))
        steps += [PlannedStep("release_worker" if ctx.pool else "remove_worker",
                              ("deallocate_worker",)),
                  PlannedStep("deallocate_source_vm", ("detach_disks",))]
    steps += [PlannedStep("swap_disks", ("deallocate_source_vm",)),
              PlannedStep("keep_replaced_disks", ("swap_disks",))]
    if replace.power_on:
        steps.append(PlannedStep("start_source_vm", ("swap_disks",)))
    if replace.delete_replaced:
        steps.append(PlannedStep("remove_replaced_disks", (
            "keep_replaced_disks", *(["start_source_vm"] if replace.power_on else []))))
    return tuple(steps)


def _disks_written(scenario: Scenario) -> list[str]:
    """The image-level steps up to restored disks detached from deallocated workers, when
    no staging group is made (disks only, disks replaced)."""
    return ["preflight",
            *(["retrieve_archived_data"] if scenario.restore_point.tier == "archive" else []),
            "create_empty_disks", "launch_worker", "restore_data", "detach_disks",
            "deallocate_worker"]


def _chained(names: list[str]) -> list[PlannedStep]:
    return [PlannedStep(n, (names[i - 1],) if i else ()) for i, n in enumerate(names)]
