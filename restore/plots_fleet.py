"""A fleet restore's Gantt chart: a row per VM (its wait, its restore, the time it held a
worker) or a row per worker slot (which VM held it when), coloured by priority group."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from restore.colours import distinct_colours
from restore.plots import FAILED, Scale, finish, lanes, new_figure, time_unit

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BY = ("vm", "worker")
CHAR_SHARE = 0.011  # a hold names its VM when each character has this share of the chart


def fleet_gantt(fleet: Any, path: str | Path | None = None, *, by: str = "vm") -> Figure:
    """``fleet`` (a FleetReport) a row per VM or per worker slot (``by``)."""
    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(map(repr, BY))}, not {by!r}")
    rows = len(fleet.vms) if by == "vm" else len(set(lanes([h[1:] for h in fleet.holds])))
    figure = new_figure("FleetReport.gantt()", 10, 0.22 * rows + 2.4)
    ax = figure.add_subplot()
    unit, unit_name = time_unit(fleet.makespan_s)
    scale = Scale(unit, fleet.makespan_s)
    colours = dict(zip(sorted({v.priority for v in fleet.vms}),
                       distinct_colours(len({v.priority for v in fleet.vms})), strict=True))
    priority = {v.name: v.priority for v in fleet.vms}
    names = (_by_vm if by == "vm" else _by_worker)(ax, fleet, scale, colours, priority)
    ax.set_yticks(range(len(names)), names, fontsize=7 if len(names) > 20 else 8)
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_xlim(0, scale.x(fleet.makespan_s) * 1.02 or 1)
    ax.set_xlabel(f"time since the fleet restore started ({unit_name})")
    ax.set_ylabel("VM" if by == "vm" else "worker slot")
    ax.grid(axis="x", alpha=0.3)
    failed = sum(v.status != "succeeded" for v in fleet.vms)
    ax.set_title(f"{fleet.scenario}: {len(fleet.vms)} VMs, {failed} failed, makespan "
                 f"{scale.x(fleet.makespan_s):.1f} {unit_name}; {fleet.max_workers} "
                 f"workers at most (peak {fleet.peak_workers})", fontsize=10)
    _legend(figure, colours, by, failed, fleet)
    return finish(figure, path)


def _by_vm(ax: Any, fleet: Any, scale: Scale, colours: dict[int, Any],
           priority: dict[str, int]) -> list[str]:
    """A row per VM, by priority then by when it first got a worker: its queue before
    it started, its restore (light), its wait for a worker slot (dotted), its holds."""
    first_hold = {}
    for vm, start, _ in sorted(fleet.holds, key=lambda h: h[1]):
        first_hold.setdefault(vm, start)
    vms = sorted(fleet.vms, key=lambda v: (v.priority, first_hold.get(v.name, v.end_s)))
    row = {v.name: y for y, v in enumerate(vms)}
    for y, vm in enumerate(vms):
        colour = colours[vm.priority]
        if vm.start_s > 0:
            ax.barh(y, scale.width(0, vm.start_s), height=0.3, color="0.8")
        failed = vm.status != "succeeded"
        bar = ax.barh(y, scale.width(vm.start_s, vm.end_s), left=scale.x(vm.start_s),
                      height=0.8, color=colour, alpha=0.3, edgecolor=FAILED if failed
                      else colour, linewidth=2 if failed else 0.8)
        bar.patches[0].set_gid(f"vm:{vm.name}")
        if vm.head_s is not None and vm.placed_s is not None and vm.placed_s > vm.head_s:
            ax.barh(y, scale.width(vm.head_s, vm.placed_s), left=scale.x(vm.head_s),
                    height=0.5, facecolor="white", edgecolor="0.4", hatch="...",
                    linewidth=0.5)
        if failed:
            ax.plot(scale.x(vm.end_s), y, marker="X", markersize=8, color=FAILED, zorder=4)
    for vm, start, end in fleet.holds:
        ax.barh(row[vm], scale.width(start, end), left=scale.x(start), height=0.5,
                color=colours[priority[vm]], edgecolor="black", linewidth=0.4)
    return [v.name for v in vms]


def _by_worker(ax: Any, fleet: Any, scale: Scale, colours: dict[int, Any],
               priority: dict[str, int]) -> list[str]:
    """A row per worker slot (no more than the fleet's peak of workers at once): each
    hold a bar in its VM's priority colour, named (what tells it from the other VMs'
    names) when wide enough."""
    lane_of = lanes([h[1:] for h in fleet.holds])
    common = len(_prefix(fleet))
    for (vm, start, end), lane in zip(fleet.holds, lane_of, strict=True):
        bar = ax.barh(lane, scale.width(start, end), left=scale.x(start), height=0.7,
                      color=colours[priority[vm]], edgecolor="black", linewidth=0.5)
        bar.patches[0].set_gid(f"hold:{vm}")
        label = vm[common:]
        if end - start > CHAR_SHARE * len(label) * fleet.makespan_s:
            ax.text(scale.x((start + end) / 2), lane, label, ha="center", va="center",
                    fontsize=7, clip_on=True)
    return [f"worker {n + 1}" for n in range(len(set(lane_of)))]


def _prefix(fleet: Any) -> str:
    """What all the fleet's VM names start with (none for a single VM)."""
    return os.path.commonprefix([v.name for v in fleet.vms]) if len(fleet.vms) > 1 else ""


def _legend(figure: Figure, colours: dict[int, Any], by: str, failed: int,
            fleet: Any) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(color=c, label=f"priority {p}") for p, c in colours.items()]
    if by == "worker" and _prefix(fleet):
        handles.append(Patch(visible=False, label=f"bars: the VM's name after "
                                                  f"{_prefix(fleet)!r}"))
    if by == "vm":
        handles += [Patch(facecolor="0.6", alpha=0.3, label="restore running"),
                    Patch(facecolor="0.5", edgecolor="black", label="holding a worker"),
                    Patch(facecolor="white", edgecolor="0.4", hatch="...",
                          label="waiting for a worker slot (first)"),
                    Patch(color="0.8", label="queued before its start")]
    if failed:
        handles.append(Patch(facecolor="white", edgecolor=FAILED, linewidth=2,
                             label="failed (✕ at its end)"))
    figure.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4),
                  fontsize=8, frameon=False)
