"""Figures of ``oja-online``: learning curves, accuracy against depth and init scale, and the per-layer diagnostics."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from neuroplastic.runs.figures import (
    close,
    distinct_colours,
    integer_ticks,
    interval_caption,
    new_panels,
    seed_error_bar,
    ticks_at,
)
from neuroplastic.runs.folder import RunDir

# Which runs the diagnostics figure shows: (method, "before" or "after", label, line style).
_DIAGNOSTIC_LINES = (
    ("bp_fixed", "before", "at init", ":"),
    ("bp_fixed", "after", "BP, one fixed lr", "-"),
    ("bp_oja_fixed", "after", "BP + Oja, fixed θ", "-"),
    ("bp_oja", "after", "BP + Oja, tuned", "--"),
)


def plot_all(
    config: Any, results: dict[str, Any], run_dir: RunDir, *, names: dict[str, str], labels: dict[str, str]
) -> list[str]:
    """Every figure of the run, one set per data set; ``names`` the methods' (in order), ``labels`` the data sets'."""
    colours = dict(zip(names, distinct_colours(len(names)), strict=True))
    paths = []
    for name in config.datasets:
        label = labels[name]
        paths.append(
            _curves(
                config, results["online"][name], label=label, colours=colours, names=names, run_dir=run_dir, name=name
            )
        )
        paths.append(_sweeps(config, results, name=name, label=label, colours=colours, names=names, run_dir=run_dir))
        paths.append(_diagnostics(config, results, name, label, run_dir))
    return paths


def _save(figure: Figure, title: str, run_dir: RunDir, name: str) -> str:
    """Title the figure, lay it out below the title, save it as ``name`` and release it; returns its path."""
    figure.suptitle(title, fontsize=9)
    figure.tight_layout(rect=(0, 0, 1, 0.95))
    path = run_dir.save_figure(figure, name)
    close(figure)
    return path


def _methods(condition: dict[str, Any], names: dict[str, str]) -> list[str]:
    return [m for m in names if m in condition]


def _curves(config, online, *, label, colours, names, run_dir, name) -> str:
    figure, axes = new_panels(len(online), max_columns=3, width=4.6, height=3.6)
    seeds = []
    for ax, (kind, condition) in zip(axes, online.items(), strict=True):
        for method in _methods(condition, names):
            runs = condition[method]["runs"]
            points = min(len(r["curve"]) for r in runs)
            xs = [runs[0]["curve"][k][0] for k in range(points)]
            bars = [seed_error_bar([100 * r["curve"][k][1] for r in runs], bounds=(0, 100)) for k in range(points)]
            mean = np.array([b[0] for b in bars])
            ax.plot(xs, mean, color=colours[method], label=names[method], lw=1.2)
            if len(runs) > 1:
                ax.fill_between(
                    xs, mean - [b[1] for b in bars], mean + [b[2] for b in bars], color=colours[method], alpha=0.15
                )
            seeds.append(len(runs))
        ax.set_xlabel("online samples seen")
        ax.set_ylabel(f"test accuracy (%), first {config.curve_samples} test images")
        ax.set_title(f"{label}, {kind} input", fontsize=9)
    axes[0].legend(fontsize=6)
    return _save(figure, f"Learning curves: {interval_caption(seeds)} (bands)", run_dir, f"learning_curves_{name}")


def _sweeps(config, results, *, name, label, colours, names, run_dir) -> str:
    figure, axes = new_panels(2, max_columns=2, width=5.2, height=3.8)
    seeds = []
    for ax, sweep, xlabel in zip(axes, ("depth", "init"), ("hidden layers", "init scale g (× Xavier)"), strict=True):
        points = results[sweep][name]
        xs = [float(k) for k in points]
        for method in _methods(next(iter(points.values())), names):
            bars = [
                seed_error_bar([100 * r["accuracy"] for r in p[method]["runs"]], bounds=(0, 100))
                for p in points.values()
            ]
            seeds += [p[method]["n"] for p in points.values()]
            error = [[b[1] for b in bars], [b[2] for b in bars]]
            ax.errorbar(
                xs,
                [b[0] for b in bars],
                yerr=error,
                marker="o",
                ms=3,
                capsize=2,
                color=colours[method],
                label=names[method],
            )
        if sweep == "init":
            ax.set_xscale("log")
        ticks_at(ax, xs)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test accuracy (%)")
        ax.set_ylim(0, 100)
    axes[0].legend(fontsize=6)
    return _save(
        figure,
        f"{label}, {config.sweep_preprocessing} input, {config.sweep_samples} online samples;"
        f" {interval_caption(seeds)}",
        run_dir,
        f"accuracy_sweeps_{name}",
    )


def _diagnostic_conditions(config, results, name) -> list[tuple[str, dict[str, Any]]]:
    """The deepest network, the smallest init and the largest init at which plain BP kept finite weights."""
    depth = max(config.depths)
    inits = results["init"][name]

    def bp_finite(g: float) -> bool:
        return all(r["diverged_at"] is None for r in inits[f"{g:g}"].get("bp_fixed", {"runs": []})["runs"])

    largest = max((g for g in config.init_scales if bp_finite(g)), default=max(config.init_scales))
    out = [(f"{depth} hidden layers", results["depth"][name][str(depth)])]
    for g in sorted({min(config.init_scales), largest}):
        out.append((f"init g = {g:g}", inits[f"{g:g}"]))
    return out


def _mean_over_seeds(runs, when: str, key: str) -> list[float]:
    """Per layer, the mean over the seeds whose value is finite (NaN where none is)."""
    layers = len(runs[0][when][key])
    means = []
    for l in range(layers):
        values = [r[when][key][l] for r in runs if r[when][key][l] is not None]
        means.append(float(np.mean(values)) if values else math.nan)
    return means


def _diagnostics(config, results, name, label, run_dir) -> str:
    conditions = _diagnostic_conditions(config, results, name)
    figure, axes = new_panels(2 * len(conditions), max_columns=len(conditions), width=4.2, height=3.8)
    seeds = []
    for column, (title, condition) in enumerate(conditions):
        for row, (key, ylabel) in enumerate((("rms", "RMS activity per unit"), ("rank", "effective rank"))):
            ax = axes[row * len(conditions) + column]
            for method, when, line_label, style in _DIAGNOSTIC_LINES:
                if method not in condition:
                    continue
                runs = condition[method]["runs"]
                values = _mean_over_seeds(runs, when, key)
                diverged = sum(r["diverged_at"] is not None for r in runs) if when == "after" else 0
                seeds.append(len(runs))
                note = f" ({diverged} of {len(runs)} diverged)" if diverged else ""
                ax.plot(range(1, len(values) + 1), values, style, marker="o", ms=2.5, label=line_label + note)
            if key == "rms":
                ax.set_yscale("log")
            integer_ticks(ax)
            ax.set_xlabel("layer ℓ (last: logits)")
            ax.set_ylabel(ylabel)
            ax.set_title(f"{label}, {title}", fontsize=9)
            ax.legend(fontsize=6)
    return _save(
        figure,
        f"Activity through depth before and after training (first {config.diagnostic_samples} test images); "
        f"mean over the seeds (of {max(seeds, default=0)}) whose weights stayed finite",
        run_dir,
        f"diagnostics_{name}",
    )
