"""The optimizer's scatter: every candidate's p95 duration and mean cost, the Pareto front
highlighted, the best marked, the RTO as a line (matplotlib, the analysis extra)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from restore.plots import HOUR, finish, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from restore.backends.optimize import OptimizeResult


def plot(result: OptimizeResult, path: str | None = None) -> Figure:
    """The figure; saved to ``path`` when given."""
    figure = new_figure("plotting", 7, 4.5)
    ax = figure.subplots()
    every = result.candidates
    ax.scatter([c.p95_s / HOUR for c in every], [c.mean_cost for c in every], color="0.7",
               label="candidates")
    front = sorted(result.front, key=lambda c: c.p95_s)
    ax.plot([c.p95_s / HOUR for c in front], [c.mean_cost for c in front], "o-",
            color="tab:blue", label="Pareto front")
    best = result.best
    if best is not None:
        ax.scatter([best.p95_s / HOUR], [best.mean_cost], marker="*", s=250, color="tab:red",
                   zorder=3, label=f"best (candidate {best.number})")
    if result.goal.rto_s is not None:
        ax.axvline(result.goal.rto_s / HOUR, color="tab:orange", linestyle="--",
                   label=f"RTO {result.goal.rto_s / HOUR:.2f} h")
    ax.set_xlabel("p95 duration (hours)")
    ax.set_ylabel("mean cost (USD)")
    ax.set_title(f"{result.scenario.name}: {len(every)} candidates, {result.runs} runs each")
    ax.legend()
    return finish(figure, path)
