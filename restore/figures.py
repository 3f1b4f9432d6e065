"""A notebook's plots checked: every axis of every figure it shows is labelled, with its
unit (``restore.watch_figures()`` in its first cell, ``.check()`` in its last)."""

from __future__ import annotations

import re
from typing import Any

UNITS = frozenset({
    "s", "min", "h", "d", "seconds", "minutes", "hours", "days",
    "USD", "MB", "GB", "GiB", "TB", "MB/s", "GiB/h", "requests/s", "%",
    "count", "runs", "ratio", "fraction", "x",
})
"""What an axis may be measured in: written in parentheses, ``duration (min)``,
``makespan (h, median)``; counts may also end the label, ``workers (count)`` or ``runs``."""

PARENTHESISED = re.compile(r"\(([^()]+)\)")
COUNT_WORDS = ("count", "runs")


def has_unit(label: str) -> bool:
    """Whether an axis label names its unit: a known unit first in parentheses, or a label
    that ends with a count word."""
    for inside in PARENTHESISED.findall(label):
        if re.split(r"[,;]\s*|\s+", inside.strip())[0] in UNITS:
            return True
    return label.strip().split(" ")[-1] in COUNT_WORDS


def axis_problems(figure: Any) -> list[str]:
    """What is wrong with ``figure``'s axis labels: a numeric axis needs a label with a unit,
    a categorical one (text ticks: steps, paths) a label."""
    problems = []
    title = figure.axes[0].get_title() if figure.axes else ""
    for number, ax in enumerate(figure.axes, start=1):
        if not (ax.get_visible() and ax.axison):
            continue
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            label = axis.get_label_text()
            where = f"figure {title!r}, axes {number} ({ax.get_title()!r}), {name} axis"
            if not label.strip():
                problems.append(f"{where}: no label")
            elif not (_categorical(axis) or has_unit(label)):
                problems.append(f"{where}: {label!r} names no unit (one of "
                                f"{', '.join(sorted(UNITS))}, in parentheses)")
    return problems


def _categorical(axis: Any) -> bool:
    """Whether the axis shows categories (names as tick labels: steps, paths), not
    quantities."""
    from matplotlib.category import StrCategoryFormatter
    from matplotlib.ticker import FixedLocator

    if isinstance(axis.get_major_formatter(), StrCategoryFormatter):
        return True
    labels = axis.get_major_formatter().format_ticks(axis.get_majorticklocs())
    return isinstance(axis.get_major_locator(), FixedLocator) and any(
        re.search("[A-Za-z]", label) and not label.startswith("$") for label in labels)


class FigureWatch:
    """The figures a notebook shows: each is remembered when IPython displays it (the
    inline backend closes them after each cell), with those still open at the check."""

    def __init__(self, shell: Any):
        from matplotlib.figure import Figure

        self.shown: dict[int, Any] = {}

        def remember(figure: Figure) -> None:
            self.shown[id(figure)] = figure  # and None: IPython formats it as before

        # The mime-bundle formatter is asked first of every object displayed; the inline
        # backend resets the per-format ones (its image formats) when it starts.
        shell.display_formatter.mimebundle_formatter.for_type(Figure, remember)

    def check(self) -> int:
        """Raise AssertionError listing every axis without a label or unit, in every figure
        shown or open; the number of figures checked otherwise (none is an error: the
        notebook showed no plot, or the watch started after them)."""
        import matplotlib.pyplot as plt

        figures = {**self.shown, **{id(f): f for f in map(plt.figure, plt.get_fignums())}}
        if not figures:
            raise AssertionError("no figure was shown since watch_figures()")
        problems = [p for figure in figures.values() for p in axis_problems(figure)]
        if problems:
            raise AssertionError("axes without a label and unit:\n" + "\n".join(problems))
        return len(figures)


def watch_figures(shell: Any = None) -> FigureWatch:
    """Start remembering every figure the notebook shows (in its first cell; ``shell``:
    default the running IPython); ``.check()`` in its last cell fails on an axis without
    a label and unit."""
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    if shell is None:
        raise RuntimeError("watch_figures() works inside IPython or Jupyter only")
    return FigureWatch(shell)
