"""`restorelab optimize`: search a scenario's choices (workers, rehydration priority, restore
point, disk SKU, a fleet's pool and order) by sweeps, show the Pareto front of p95
duration and mean cost, and write the best scenario."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

import restore
from restore.cli import (
    JsonOpt,
    ScenarioArg,
    SeedOpt,
    _error,
    _guarded,
    _naming,
    app,
    err,
    rto_option,
)
from restore.cli_output import clock, out, output_file
from restore.errors import ScenarioError
from restore.shipped import DEFAULT_SCENARIO, find_scenario

if TYPE_CHECKING:
    from restore.backends.optimize import Candidate, OptimizeResult


class Objective(StrEnum):
    RTO = "rto"
    COST = "cost"


def Listed(name: str, text: str) -> Any:  # noqa: N802 (an annotation, as ScenarioArg)
    """A comma-separated option's annotation."""
    return Annotated[str | None, typer.Option(name, help=text)]


def _listed(value: str | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(v.strip() for v in value.split(",") if v.strip())


@app.command()
def optimize(
    scenario: ScenarioArg = DEFAULT_SCENARIO,
    objective: Annotated[Objective, typer.Option(
        "--objective", help="rto: the lowest p95 duration (within --budget); cost: the "
        "lowest mean cost whose P(duration <= RTO) is at least --confidence (within "
        "--budget).")] = Objective.RTO,
    rto: Annotated[str | None, typer.Option(
        "--rto", help="The recovery time objective: 4h, 90m, 1h30m or seconds (default: "
        "the scenario's rto).")] = None,
    budget: Annotated[float | None, typer.Option(
        "--budget", help="The most a restore may cost on average (USD).")] = None,
    confidence: Annotated[float, typer.Option(
        "--confidence", help="The share of runs that must meet the RTO (--objective "
        "cost) or succeed (--objective rto).")] = 0.95,
    runs: Annotated[int | None, typer.Option(
        "--runs", min=1, help="Runs per candidate (default 200; a fleet 20).")] = None,
    seed: SeedOpt = None,
    restore_points: Listed("--restore-points", "The restore points that exist for this "
                           "restore: backup,snapshot (default: only the scenario's).") = None,
    disk_skus: Listed("--disk-skus", "Let the restored VM's disks take these SKUs "
                      "(target.disk_sku, a new-location restore): "
                      "Premium_LRS,StandardSSD_LRS.") = None,
    worker_sizes: Listed("--worker-sizes", "Worker sizes to try (default: the region "
                         "profile's worker_profile sizes).") = None,
    max_workers: Listed("--max-workers", "A fleet's pool sizes to try: 4,8,16 (default: "
                        "half, one, two and four times its max_workers).") = None,
    keep_order: Annotated[bool, typer.Option(
        "--keep-order", help="A fleet's groups keep their priorities (the critical ones "
        "first): the order of groups is not searched.")] = False,
    plot: Annotated[Path | None, typer.Option(
        "--plot", callback=output_file("--plot"), help="Write the scatter of p95 duration "
        "and mean cost (PNG; needs matplotlib, the analysis extra).")] = None,
    write: Annotated[Path | None, typer.Option(
        "--write", callback=output_file("--write"), help="Where to write the best scenario "
        "(default: <scenario>-optimized.yaml in the current directory).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Search SCENARIO's restore choices by sweeps (the same seed for each candidate) for
    the fastest or the cheapest restore; show the Pareto front and write the best.

    Exit code 1 when no candidate meets the constraints (the closest is named)."""
    result = _guarded(lambda: _optimize(
        scenario, objective.value, rto, budget, confidence, runs, seed, restore_points,
        disk_skus, worker_sizes, max_workers, keep_order, show=not as_json))
    written = _guarded(lambda: _outputs(result, plot, write))
    if as_json:
        print(json.dumps({**result.to_dict(), **written}, indent=2))
    else:
        show_optimize(result, written)
    if result.best is None:
        _error(ScenarioError(result.scenario.name, "", f"no candidate meets the constraints; "
                             f"the closest is candidate {result.closest.number} "
                             f"({_changed(result.closest)}: p95 {clock(result.closest.p95_s)}, "
                             f"mean cost {result.closest.mean_cost:.2f} USD, "
                             f"{result.closest.failed} of {result.runs} runs failed)"))
        raise typer.Exit(1)


def _optimize(scenario: str, objective: str, rto: str | None, budget: float | None,
              confidence: float, runs: int | None, seed: int | None,
              restore_points: str | None, disk_skus: str | None, worker_sizes: str | None,
              max_workers: str | None, keep_order: bool, show: bool) -> OptimizeResult:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from restore.backends.optimize import optimize as search
    from restore.optimize_space import SpaceOptions

    loaded = restore.load_scenario(find_scenario(scenario))
    options = SpaceOptions(_listed(restore_points), _listed(disk_skus), _listed(worker_sizes),
                           _pool_sizes(max_workers, scenario), keep_order)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=err, transient=True, disable=not show) as bar:
        task = bar.add_task(f"optimizing {loaded.name}", total=None)

        def progress(label: str, done: int, total: int) -> None:
            if done == 0:
                bar.reset(task, description=f"candidate {label}", total=total)
            else:
                bar.advance(task, done)

        with _naming(scenario):
            return search(loaded, objective, rto_option(rto, scenario), budget, runs, seed,
                          confidence, options, progress)


def _pool_sizes(value: str | None, scenario: str) -> tuple[int, ...] | None:
    listed = _listed(value)
    if listed is None:
        return None
    if not all(v.isdigit() and int(v) >= 1 for v in listed):
        raise ScenarioError(scenario, "--max-workers", f"whole numbers of at least 1, comma "
                            f"separated (got {value!r})")
    return tuple(int(v) for v in listed)


def _outputs(result: OptimizeResult, plot: Path | None, write: Path | None
             ) -> dict[str, str | None]:
    """Write the plot and the best scenario; where they went."""
    name = result.scenario.name
    if plot is not None:
        try:
            result.plot(str(plot))
        except (ImportError, OSError, ValueError) as exc:  # no matplotlib, a bad path/format
            raise ScenarioError(name, "--plot", " ".join(str(exc).split())) from None
    path = None
    if result.best is not None:
        path = write or Path(f"{result.scenario.name}-optimized.yaml")
        try:
            path.write_text(result.best_yaml(), encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(name, "--write", f"cannot write {path} ({exc.strerror})"
                                ) from None
    return {"written": None if path is None else str(path),
            "plot": None if plot is None else str(plot)}


def show_optimize(result: OptimizeResult, written: dict[str, str | None]) -> None:
    """The Pareto front (and the best, if it is off the front) as a table."""
    goal, best = result.goal, result.best
    table = Table("", "#", "changes from the scenario", "p95", "mean cost", "failed",
                  *(["P(<= RTO)"] if goal.rto_s is not None else []), title_justify="left",
                  title=f"{result.scenario.name}: Pareto front of p95 duration (h:mm:ss) "
                        f"and mean cost (USD), {result.runs} runs per candidate, seed "
                        f"{result.seed}")
    marked = best or result.closest
    shown = result.front + ([] if marked in result.front else [marked])
    for c in sorted(shown, key=lambda c: c.p95_s):
        mark = "" if c is not marked else Text("best", style="bold green") if best else Text(
            "closest", style="yellow")
        table.add_row(mark, str(c.number),
                      _changed(c), clock(c.p95_s), f"{c.mean_cost:,.4f}", str(c.failed),
                      *([f"{c.p_meet:.3f}"] if c.p_meet is not None else []))
    out.print(table)
    out.print(f"{len(result.candidates)} candidates evaluated"
              + (f" ({len(result.pruned)} choices pruned: no valid restore)"
                 if result.pruned else "")
              + f" in {result.seconds:.1f} s by coordinate search over "
              + (", ".join(f"{d.name} ({len(d.values)})" for d in result.dimensions)
                 or "nothing: the scenario leaves no choice"))
    _show_goal(result, best)
    for what, where in written.items():
        if where:
            out.print(f"{'wrote' if what == 'written' else 'plot':<14}{where}")


def _show_goal(result: OptimizeResult, best: Candidate | None) -> None:
    goal = result.goal
    wanted = [f"objective {goal.objective}"]
    if goal.rto_s is not None:
        wanted.append(f"RTO {clock(goal.rto_s)}"
                      + (f" at {goal.confidence:.0%}" if goal.objective == "cost" else ""))
    if goal.budget is not None:
        wanted.append(f"budget {goal.budget:,.2f} USD")
    out.print(", ".join(wanted))
    if best is not None:
        out.print(Text(f"best          candidate {best.number}: {_changed(best)}",
                       style="bold green"))


def _changed(c: Any) -> str:
    return "; ".join(f"{k}: {v}" for k, v in c.changes.items()) or "as the scenario"
