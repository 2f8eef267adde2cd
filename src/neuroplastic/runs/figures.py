"""Figures written to files, with one house style and the helpers every figure shares.

Importing this module chooses no plotting backend (a notebook keeps its own); the command line, which only writes
files, uses Agg (`neuroplastic.runs.backend.use_file_backend`).

Error bars and bands over seeds are 95% Student-t intervals of the mean (`seed_error_bar`, `interval_caption`),
never standard deviations; sweep axes carry ticks at the swept values only (`ticks_at`), count axes at whole
numbers (`integer_ticks`); lines that must be told apart take `distinct_colours`; an empty panel says why
(`label_empty`).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from typing import Any, Literal

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullFormatter, NullLocator

from neuroplastic.runs.bootstrap import CI_LEVEL, t_interval

Axis = Literal["x", "y"]
# Qualitative palettes: tab10's ten hues are pairwise at least ~27 CIELAB ΔE apart; tab20 adds a lighter partner
# of each, used only beyond ten lines.
_TAB10 = [matplotlib.colors.to_hex(c) for c in matplotlib.colormaps["tab10"].colors]
_TAB20_LIGHT = [matplotlib.colors.to_hex(c) for c in matplotlib.colormaps["tab20"].colors[1::2]]


def _style(ax: Axes) -> None:
    ax.grid(True, alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)


def new_figure(ncols: int = 1, *, width: float = 4.5, height: float = 3.4) -> tuple[Figure, list[Axes]]:
    """A figure with ``ncols`` side-by-side axes (one row of `new_panels`); returns ``(figure, axes_list)``."""
    return new_panels(ncols, max_columns=ncols, width=width, height=height)


def new_panels(
    count: int, *, max_columns: int = 3, width: float = 4.5, height: float = 3.4
) -> tuple[Figure, list[Axes]]:
    """``count`` panels in rows of at most ``max_columns``; returns the ``count`` axes in reading order.

    Grid cells beyond ``count`` (the end of the last row) are switched off.
    """
    if count < 1 or max_columns < 1:
        raise ValueError(f"need count >= 1 and max_columns >= 1, got {count}, {max_columns}")
    columns = min(count, max_columns)
    rows = math.ceil(count / columns)
    figure, grid = plt.subplots(rows, columns, figsize=(width * columns, height * rows), squeeze=False)
    cells = list(grid.ravel())
    for ax in cells[count:]:
        ax.set_axis_off()
    for ax in cells[:count]:
        _style(ax)
    return figure, cells[:count]


def close(figure: Figure) -> None:
    """Release a figure's memory once saved."""
    plt.close(figure)


def _axis(ax: Axes, axis: Axis):
    if axis not in ("x", "y"):
        raise ValueError(f"axis must be 'x' or 'y', got {axis!r}")
    return ax.xaxis if axis == "x" else ax.yaxis


def integer_ticks(ax: Axes, axis: Axis = "x") -> None:
    """Major ticks on whole numbers only (layers, depths, counts), no minor ticks; call after any ``set_*scale``."""
    which = _axis(ax, axis)
    which.set_major_locator(MaxNLocator(integer=True))
    which.set_minor_locator(NullLocator())


def ticks_at(ax: Axes, values: Sequence[float], axis: Axis = "x") -> None:
    """Major ticks exactly at ``values`` (a sweep's settings), labelled ``{:g}``; no minor ticks or labels.

    Works on linear and log axes alike (so log-axis minor labels cannot collide); call after any ``set_*scale``.
    """
    which = _axis(ax, axis)
    which.set_major_locator(FixedLocator(sorted({float(v) for v in values})))
    which.set_major_formatter(FuncFormatter(lambda value, _position: f"{value:g}"))
    which.set_minor_locator(NullLocator())
    which.set_minor_formatter(NullFormatter())


def distinct_colours(count: int) -> list[str]:
    """``count`` hex colours for lines to tell apart: tab10 (pairwise distinct up to ten), then lighter partners.

    Beyond twenty the list repeats; pair such lines with line styles or markers.
    """
    palette = _TAB10 + _TAB20_LIGHT
    return [palette[i % len(palette)] for i in range(count)]


def label_empty(ax: Axes, why: str, *, line_width: int = 30) -> Text:
    """Write ``why`` (wrapped at ``line_width`` characters) across an empty, tickless panel: never a silent blank."""
    ax.set_xticks([])
    ax.set_yticks([])
    wrapped = textwrap.fill(why, line_width)
    return ax.text(0.5, 0.5, wrapped, transform=ax.transAxes, ha="center", va="center", fontsize=8, color="0.35")


def seed_error_bar(
    values: Sequence[float] | Any, bounds: tuple[float, float] | None = None
) -> tuple[float, float, float]:
    """``(mean, below, above)``: the 95% Student-t interval of the mean over seeds, t_{n−1} · sd/√n each side.

    ``bounds`` clips the interval as `t_interval` does (an accuracy's [0, 100] %). Both lengths are NaN for a
    single seed (no interval: matplotlib then draws no bar).
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    low, high = t_interval(x, bounds=bounds)
    mean = float(x.mean())
    return mean, mean - low, high - mean


def interval_caption(seeds: int | Sequence[int]) -> str:
    """What a figure's bars are, e.g. ``mean ± 95% t-interval over 5 seeds`` (``seeds``: a count, or each one's)."""
    counts = sorted({seeds} if isinstance(seeds, int) else set(seeds))
    n = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
    if counts[-1] < 2:
        return f"mean of {n} seed (no interval)"
    return f"mean ± {CI_LEVEL:.0%} t-interval over {n} seeds"
