"""Matplotlib set up for files only (no screen needed), with one house style."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def new_figure(ncols: int = 1, *, width: float = 4.5, height: float = 3.4) -> tuple[Figure, list]:
    """A figure with ``ncols`` side-by-side axes; returns ``(figure, axes_list)``."""
    figure, axes = plt.subplots(1, ncols, figsize=(width * ncols, height), squeeze=False)
    for ax in axes[0]:
        ax.grid(True, alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    return figure, list(axes[0])


def close(figure: Figure) -> None:
    """Release a figure's memory once saved."""
    plt.close(figure)
