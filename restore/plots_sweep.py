"""A sweep's distributions: histogram and empirical CDF of the runs' duration and cost,
their p50/p95/p99 marked, the RTO (and the share of runs meeting it) when asked."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from restore.plots import FAILED, finish, new_figure, time_unit

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MARKED = {"p50": ("tab:green", "-"), "p95": ("tab:orange", "--"), "p99": ("tab:purple", ":")}
RTO_COLOUR = "black"
UNITS = {"minutes": "min", "hours": "h"}


def sweep_plot(result: Any, path: str | Path | None = None) -> Figure:
    """``result`` (a SweepResult): a row for duration and, when the runs have a cost, one
    for cost; each a histogram (failed runs stacked in red) and an ECDF of all the runs,
    the summary's percentiles (of all the runs, as ``to_dict()``) as vertical lines."""
    import numpy as np

    found = result.to_dict()
    durations, costs, succeeded = _runs(result, np)
    rows = 1 if found["cost"] is None else 2
    figure = new_figure("SweepResult.plot()", 11, 3.6 * rows + 0.8)
    axes = figure.subplots(rows, 2, squeeze=False)
    unit, unit_name = time_unit(float(durations.max()))
    rto = found.get("rto")
    _row(axes[0], durations / unit, succeeded, found["duration_s"], (unit, UNITS[unit_name]),
         f"restore duration ({unit_name})", rto)
    if rows == 2:
        _row(axes[1], costs, succeeded, found["cost"], (1.0, found["currency"]),
             f"restore cost ({found['currency']})", None)
    failed = found["failed"]
    note = f", {failed} failed (in red; counted in the percentiles)" if failed else \
        ", none failed"
    figure.suptitle(f"{found['scenario']}: {found['runs']} runs ({found['method']}){note}",
                    fontsize=11)
    return finish(figure, path)


def _runs(result: Any, np: Any) -> tuple[Any, Any, Any]:
    """Every run's duration and cost (NaN: none) and whether it succeeded, as arrays."""
    outcomes = result.outcomes
    if hasattr(outcomes, "durations"):  # sampled runs: arrays already, all succeeded
        return outcomes.durations, outcomes.costs, np.ones(len(outcomes), dtype=bool)
    durations = np.array([o.duration_s for o in outcomes], dtype=float)
    costs = np.array([np.nan if o.cost is None else o.cost for o in outcomes], dtype=float)
    return durations, costs, np.array([o.status == "succeeded" for o in outcomes])


def _row(axes: Any, values: Any, succeeded: Any, summary: dict[str, float],
         unit: tuple[float, str], label: str, rto: dict[str, Any] | None) -> None:
    """A histogram and an ECDF of ``values`` (in ``unit``: its size, its short name),
    with the percentile lines; failed runs stacked in red when there are any."""
    import numpy as np

    hist, ecdf = axes
    shown = ~np.isnan(values)
    values, succeeded = values[shown], succeeded[shown]
    bins = int(np.clip(np.sqrt(len(values)), 10, 60))
    if succeeded.all():
        hist.hist(values, bins=bins, color="tab:blue", label="runs")
    else:
        hist.hist([values[succeeded], values[~succeeded]], bins=bins, stacked=True,
                  color=["tab:blue", FAILED], label=["succeeded", "failed"])
    _ecdf(ecdf, values, "0.2" if not succeeded.all() else "tab:blue", "all runs")
    if not succeeded.all() and succeeded.any():
        _ecdf(ecdf, values[succeeded], "tab:blue", "succeeded runs only")
        ecdf.legend(fontsize=8, loc="lower right")
    for ax in axes:
        _marks(ax, summary, unit, rto)
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    hist.set_ylabel("runs")
    ecdf.set_ylabel("share of runs at or below")
    ecdf.set_ylim(0, 1.02)
    hist.legend(fontsize=8)


def _ecdf(ax: Any, values: Any, colour: Any, label: str) -> None:
    import numpy as np

    ordered = np.sort(values)
    ax.step(ordered, np.arange(1, len(ordered) + 1) / len(ordered), where="post",
            color=colour, label=label)


def _marks(ax: Any, summary: dict[str, float], unit: tuple[float, str],
           rto: dict[str, Any] | None) -> None:
    """The p50/p95/p99 lines and, when given, the RTO line with its share of runs met."""
    size, name_of = unit
    for name, (colour, style) in MARKED.items():
        line = ax.axvline(summary[name] / size, color=colour, linestyle=style,
                          label=f"{name} {summary[name] / size:.3g} {name_of}")
        line.set_gid(name)
    if rto is not None:
        line = ax.axvline(rto["target_s"] / size, color=RTO_COLOUR, linewidth=2,
                          label=f"RTO {rto['target_s'] / size:.3g} {name_of}: "
                                f"P(meet) {rto['p_meet']:.1%}")
        line.set_gid("rto")
