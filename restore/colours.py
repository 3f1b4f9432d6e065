"""The colours restorelab draws steps (and a fleet's priority groups) in, in the plots and
in the HTML report alike: distinct, and never the red that marks a failure."""

from __future__ import annotations

import colorsys

FAILED_COLOUR = "#d62728"
"""A failed step or operation (matplotlib's tab:red)."""

DISTINCT_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
    "#aec7e8", "#ffbb78", "#98df8a", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5",
    "#393b79", "#5254a3", "#6b6ecf", "#9c9ede", "#637939", "#8ca252", "#b5cf6b", "#cedb9c",
    "#8c6d31", "#bd9e39", "#e7ba52", "#e7cb94", "#843c39", "#ad494a", "#d6616b", "#e7969c",
    "#7b4173", "#a55194", "#ce6dbd", "#de9ed6", "#3182bd", "#6baed6", "#9ecae1", "#c6dbef",
    "#e6550d", "#fd8d3c", "#fdae6b", "#fdd0a2", "#31a354", "#74c476", "#a1d99b", "#c7e9c0",
    "#756bb1", "#9e9ac8", "#bcbddc", "#dadaeb",
)
"""matplotlib's tab20 strong hues, then their light pairs, then tab20b and tab20c: 52
colours, without tab20's reds (failures) and without greys (a fleet's queue, an
interrupted operation)."""


def distinct_colours(count: int) -> list[str]:
    """``count`` colours, no two alike: the first of ``DISTINCT_COLOURS``, or when more are
    needed evenly spaced hues short of red (0.05 to 0.95 of the colour wheel)."""
    if count <= len(DISTINCT_COLOURS):
        return list(DISTINCT_COLOURS[:count])
    return [_hex(colorsys.hsv_to_rgb(0.05 + 0.9 * i / count, 0.65, 0.85)) for i in range(count)]


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(255 * c):02x}" for c in rgb)
