"""Plots of restores (matplotlib, the analysis extra): a restore's Gantt chart here, a
fleet's in ``plots_fleet``, a sweep's distributions in ``plots_sweep``.

Each draws on a bare ``matplotlib.figure.Figure`` (no pyplot state, no backend switch, so
it is safe in a notebook and in a server) and returns it; ``path`` also saves it there,
the format from the suffix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from restore.colours import FAILED_COLOUR as FAILED
from restore.colours import distinct_colours
from restore.engine import RECOVERY_STEPS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from restore.report import Report

ANALYSIS = "pip install 'restorelab[analysis]'"
HOUR = 3600.0
HOURS_FROM_S = 3 * HOUR  # a longer span is drawn in hours, a shorter one in minutes
STEP_HEIGHT = 0.8
OPS_HEIGHT = 0.56  # the part of a step's row its operations share
SLIVER = 0.002


def new_figure(what: str, width: float, height: float) -> Figure:
    """A figure laid out by matplotlib's constrained layout; ImportError saying how to
    install matplotlib when it is missing."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(f"{what} needs matplotlib: {ANALYSIS}") from None
    return Figure(figsize=(width, height), layout="constrained")


def finish(figure: Figure, path: str | Path | None) -> Figure:
    """``figure``, saved to ``path`` first when given (the format from its suffix)."""
    if path is not None:
        figure.savefig(path, dpi=120)
    return figure


def time_unit(span_s: float) -> tuple[float, str]:
    """The seconds per unit and the unit's name to draw a span of ``span_s`` in."""
    return (HOUR, "hours") if span_s > HOURS_FROM_S else (60.0, "minutes")


def lanes(spans: Sequence[tuple[float, float]]) -> list[int]:
    """Each span's lane, the fewest lanes in which no two spans of a lane overlap (the
    lowest free lane, spans taken by start): as many lanes as spans at once at most."""
    ends: list[float] = []
    found = [0] * len(spans)
    for index in sorted(range(len(spans)), key=lambda i: spans[i]):
        start, end = spans[index]
        lane = next((k for k, free_at in enumerate(ends) if free_at <= start), len(ends))
        ends[lane:lane + 1] = [end]
        found[index] = lane
    return found


@dataclass(frozen=True, slots=True)
class Scale:
    """Seconds to the x axis: ``unit`` seconds per unit; a restore that ran ``end_s``."""

    unit: float
    end_s: float

    def x(self, seconds: float) -> float:
        return seconds / self.unit

    def width(self, start_s: float, end_s: float) -> float:
        """A bar's width, at least a sliver (1/500 of the chart) so an instant shows."""
        return max(end_s - start_s, self.end_s * SLIVER) / self.unit


def gantt(report: Report, path: str | Path | None = None, *,
          operations: bool = True) -> Figure:
    """A row per step in start order, its operations as thinner bars inside it."""
    steps = sorted(report.steps, key=lambda s: s["start_s"])
    end_s = max([report.duration_s or 0.0, *(s["end_s"] or 0.0 for s in steps)])
    unit, unit_name = time_unit(end_s)
    scale = Scale(unit, end_s)
    figure = new_figure("Report.gantt()", 10, 0.36 * len(steps) + 2.2)
    ax = figure.add_subplot()
    colours = dict(zip((s["name"] for s in steps), distinct_colours(len(steps)), strict=True))
    row = {s["name"]: y for y, s in enumerate(steps)}
    for s in steps:
        _step_bar(ax, s, row[s["name"]], colours[s["name"]], scale)
    marks: set[str] = {_step_mark(s) for s in steps} - {""}
    if operations:
        earlier = len(report.earlier_operations)
        for index, op in enumerate(report.operations):
            if op["step"] in row:
                marks |= _op_marks(op, index < earlier)
        _op_bars(ax, report.operations, earlier, row, colours, scale)
    ax.set_yticks(range(len(steps)), [s["name"] for s in steps], fontsize=8)
    for label, s in zip(ax.get_yticklabels(), steps, strict=True):
        if s["status"] == "failed":
            label.set_color(FAILED)
    ax.set_ylim(len(steps) - 0.5, -0.5)  # the first step on top
    ax.set_xlim(0, end_s / unit * 1.04 or 1)
    ax.set_xlabel(f"time since the restore started ({unit_name})")
    ax.set_ylabel("step")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(_title(report, unit, unit_name), fontsize=10)
    _legend(figure, marks)
    return finish(figure, path)


def _step_bar(ax: Any, step: dict[str, Any], y: int, colour: Any, scale: Scale) -> None:
    """The step's bar: light, edged in its colour (failed: red; unfinished: dashed)."""
    end = _end(step, scale.end_s)
    failed = step["status"] == "failed"
    bar = ax.barh(y, scale.width(step["start_s"], end), left=scale.x(step["start_s"]),
                  height=STEP_HEIGHT, color=colour, alpha=0.35,
                  edgecolor=FAILED if failed else colour, linewidth=2 if failed else 1,
                  linestyle="--" if step["end_s"] is None else "-",
                  hatch="xx" if step["name"] in RECOVERY_STEPS else None)
    bar.patches[0].set_gid(f"step:{step['name']}")
    if failed:
        ax.plot(scale.x(end), y, marker="X", markersize=9, color=FAILED, zorder=4)


def _step_mark(step: dict[str, Any]) -> str:
    """What the legend must explain about a step's bar ("" when nothing)."""
    if step["status"] == "failed":
        return "failed step"
    if step["name"] in RECOVERY_STEPS:
        return "recovery step"
    return "unfinished" if step["end_s"] is None else ""


def _op_marks(op: dict[str, Any], earlier: bool) -> set[str]:
    return {name for name, shown in (("retried", op["attempts"] > 1),
                                     ("failed operation", op["status"] == "failed"),
                                     ("earlier session", earlier),
                                     ("unfinished", op["end_s"] is None)) if shown}


def _op_bars(ax: Any, ops: list[dict[str, Any]], earlier: int, row: dict[str, int],
             colours: dict[str, Any], scale: Scale) -> None:
    """Each step's operations in lanes inside its row: solid in the step's colour,
    hatched and labelled ×N when retried, red-edged when failed, faded when from a
    session before a resume."""
    by_step: dict[str, list[int]] = {}
    for index, op in enumerate(ops):
        if op["step"] in row:
            by_step.setdefault(op["step"], []).append(index)
    for step, indexes in by_step.items():
        spans = [(ops[i]["start_s"], _end(ops[i], scale.end_s)) for i in indexes]
        lane_of = lanes(spans)
        height = OPS_HEIGHT / (max(lane_of) + 1)
        for index, (start, end), lane in zip(indexes, spans, lane_of, strict=True):
            y = row[step] - OPS_HEIGHT / 2 + (lane + 0.5) * height
            _op_bar(ax, ops[index], index, (start, end), y, height, colours[step],
                    index < earlier, scale)


def _op_bar(ax: Any, op: dict[str, Any], index: int, span: tuple[float, float], y: float,
            height: float, colour: Any, earlier: bool, scale: Scale) -> None:
    start, end = span
    retried, failed = op["attempts"] > 1, op["status"] == "failed"
    bar = ax.barh(y, scale.width(start, end), left=scale.x(start), height=height * 0.85,
                  color=colour, alpha=0.45 if earlier else 1.0,
                  edgecolor=FAILED if failed else "black", linewidth=1.2 if failed else 0.4,
                  hatch="////" if retried else None,
                  linestyle="--" if op["end_s"] is None else "-")
    bar.patches[0].set_gid(f"op:{index}:{op['step']}:{op['op']}")
    if retried:
        ax.annotate(f"×{op['attempts']}", (scale.x(end), y), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize=7)


def _end(record: dict[str, Any], end_s: float) -> float:
    """When it ended, or (still running when the restore stopped) the report's end."""
    return end_s if record["end_s"] is None else record["end_s"]


def _title(report: Report, unit: float, unit_name: str) -> str:
    head = f"{report.scenario}: {report.status} in " \
           f"{report.duration_s / unit:.1f} {unit_name}"
    if report.earlier_operations:
        head += " (resumed)"
    error = report.error
    if error:
        head += f"\nstopped at {error.get('step')}: {error.get('code')}"
    return head


LEGEND = {
    "retried": {"facecolor": "white", "edgecolor": "black", "hatch": "////",
                "label": "retried operation (×N: its attempts)"},
    "failed operation": {"facecolor": "white", "edgecolor": FAILED, "linewidth": 1.2,
                         "label": "failed operation"},
    "failed step": {"facecolor": "white", "edgecolor": FAILED, "linewidth": 2,
                    "label": "failed step (✕ at its end)"},
    "recovery step": {"facecolor": "white", "edgecolor": "0.3", "hatch": "xx",
                      "label": "recovery step (rollback / keep data)"},
    "earlier session": {"facecolor": "0.6", "alpha": 0.45, "edgecolor": "black",
                        "label": "operation of a session before the resume"},
    "unfinished": {"facecolor": "white", "edgecolor": "black", "linestyle": "--",
                   "label": "unfinished when the restore stopped"},
}


def _legend(figure: Figure, marks: set[str]) -> None:
    """Under the chart: how a step and its operations are drawn, and each mark shown."""
    from matplotlib.patches import Patch

    handles = [Patch(facecolor="0.75", edgecolor="0.5", label="step (its own colour)"),
               Patch(facecolor="0.45", edgecolor="black", label="operation")]
    handles += [Patch(**LEGEND[mark]) for mark in LEGEND if mark in marks]
    figure.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 3),
                  fontsize=8, frameon=False)
