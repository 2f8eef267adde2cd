"""Aggregating a sweep: per grid point, n, mean, sd and a 95 % interval of the mean over seeds (Student t by default).

``aggregate_sweep`` applies `summarize_sample` to every numeric scalar of each run's ``results.json`` (nested keys
joined with ``.``), per grid point; a metric that some runs of a point lack is not aggregated there, and is listed.
Figures draw the grid points with finished runs; those without one are named as skipped, with their runs' states.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuroplastic.core.atomic import atomic_write, atomic_write_text
from neuroplastic.runs.bootstrap import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    CI_LEVEL,
    Interval,
    Summary,
    summarize_sample,
)
from neuroplastic.runs.figures import close, new_figure
from neuroplastic.runs.folder import RunDir
from neuroplastic.runs.sweep_plan import load_plan
from neuroplastic.runs.sweep_status import State, sweep_states

MAX_DEFAULT_FIGURES = 8
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "infinity": math.inf, "-infinity": -math.inf}


def numeric_metrics(results: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Every numeric scalar of ``results`` (nested dicts flattened to ``a.b.c``; lists, strings, bools skipped).

    Non-finite numbers, which ``results.json`` stores as the strings ``"nan"``/``"inf"``/``"-inf"``, count.
    """
    out: dict[str, float] = {}
    for key, value in results.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(numeric_metrics(value, f"{name}."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = float(value)
        elif isinstance(value, str) and value.lower() in _NON_FINITE:
            out[name] = _NON_FINITE[value.lower()]
    return out


Run = tuple[dict[str, Any], str, dict[str, float] | None, State]
"""One run of a sweep: its grid point, folder, metrics (None unless finished) and state."""


@dataclass
class PointAggregate:
    """One grid point: its planned/done/failed counts, a `Summary` per common metric, and what is missing where.

    ``unfinished`` maps the folder of each run without results to its state (running, failed or pending).
    """

    point: dict[str, Any]
    planned: int
    done: int
    failed: int
    summaries: dict[str, Summary]
    missing: dict[str, list[str]]
    unfinished: dict[str, State]


def aggregate_points(runs: list[Run], interval: Interval = "t") -> list[PointAggregate]:
    """Group ``(point, folder, metrics or None if unfinished, state)`` by point and summarise each metric."""
    groups: dict[str, list[Run]] = {}
    for run in runs:
        groups.setdefault(json.dumps(run[0], sort_keys=True), []).append(run)
    points = []
    for group in groups.values():
        finished = [(folder, metrics) for _, folder, metrics, _ in group if metrics is not None]
        names = sorted({name for _, metrics in finished for name in metrics}, key=_metric_order(finished))
        summaries, missing = {}, {}
        for name in names:
            lacking = [folder for folder, metrics in finished if name not in metrics]
            if lacking:
                missing[name] = lacking
            else:
                summaries[name] = summarize_sample([metrics[name] for _, metrics in finished], interval=interval)
        unfinished = {folder: state for _, folder, metrics, state in group if metrics is None}
        failed = sum(1 for state in unfinished.values() if state == "failed")
        points.append(PointAggregate(group[0][0], len(group), len(finished), failed, summaries, missing, unfinished))
    return points


@dataclass(frozen=True)
class SkippedPoint:
    """A grid point left out of the figures because none of its runs has finished; its runs' folders → states."""

    point: dict[str, Any]
    runs: dict[str, State]

    def __str__(self) -> str:
        states = ", ".join(f"{folder} {state}" for folder, state in self.runs.items())
        return f"{_label(self.point)}: no finished run ({states})"


def skipped_points(points: list[PointAggregate]) -> list[SkippedPoint]:
    """The grid points without a finished run, which no figure can draw."""
    return [SkippedPoint(p.point, p.unfinished) for p in points if p.done == 0]


def _metric_order(finished: list[tuple[str, dict[str, float]]]):
    order: dict[str, int] = {}
    for _, metrics in finished:
        for name in metrics:
            order.setdefault(name, len(order))
    return order.__getitem__


def aggregate_sweep(sweep_dir: Path, interval: Interval = "t") -> tuple[list[str], list[PointAggregate]]:
    """The grid keys and the per-point aggregates of every finished run in the sweep folder ``sweep_dir``."""
    sweep_dir = Path(sweep_dir)
    plan = load_plan(sweep_dir)
    states = sweep_states(plan, sweep_dir)
    runs = []
    for run in plan.runs:
        state = states[run.index]
        metrics = numeric_metrics(RunDir(sweep_dir / run.folder).read_results()) if state == "done" else None
        runs.append((run.point, run.folder, metrics, state))
    return list(plan.grid), aggregate_points(runs, interval)


def render_csv(grid_keys: list[str], points: list[PointAggregate]) -> str:
    """One row per (grid point, metric): the grid values, metric, n, mean, sd, ci_low, ci_high."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*grid_keys, "metric", "n", "mean", "sd", "ci_low", "ci_high"])
    for p in points:
        for name, s in p.summaries.items():
            values = [_cell(p.point[k]) for k in grid_keys]
            writer.writerow([*values, name, s.n, *(repr(v) if math.isfinite(v) else "" for v in _stats(s))])
    return buffer.getvalue()


def render_markdown(
    grid_keys: list[str], points: list[PointAggregate], *, title: str, figures: list[str], interval: Interval = "t"
) -> str:
    """A Markdown section per grid point (counts, table of n/mean/sd/CI, missing metrics), then the figures.

    The figures are followed by the grid points they skip for want of a finished run.
    """
    lines = [
        f"# {title}",
        "",
        f"Mean, sample sd and {_interval_text(interval)} of the mean over all finished seeds.",
        "",
    ]
    for p in points:
        lines += [f"## {_label(p.point)}", "", f"{p.done} of {p.planned} runs finished, {p.failed} failed.", ""]
        if p.summaries:
            lines += [f"| metric | n | mean | sd | {CI_LEVEL:.0%} CI ({interval}) |", "|---|---|---|---|---|"]
            for name, s in p.summaries.items():
                ci = f"[{_fmt(s.ci_low)}, {_fmt(s.ci_high)}]"
                lines.append(f"| {name} | {s.n} | {_fmt(s.mean)} | {_fmt(s.sd)} | {ci} |")
            lines.append("")
        for name, folders in p.missing.items():
            lines.append(
                f"- `{name}` missing in {len(folders)} of {p.done} runs ({', '.join(folders)}): not aggregated"
            )
        lines += [""] if p.missing else []
    lines += [f"![{Path(f).stem}]({f})\n" for f in figures]
    skipped = skipped_points(points)
    if grid_keys and skipped:
        lines += ["Not in the figures:", "", *(f"- {s}" for s in skipped), ""]
    return "\n".join(lines).rstrip() + "\n"


def check_x_key(grid_keys: list[str], x_key: str) -> None:
    """Raise `ValueError` listing the grid keys unless ``x_key`` is one of them."""
    if x_key not in grid_keys:
        keys = ", ".join(grid_keys) or "none (the sweep has no grid)"
        raise ValueError(f"--x {x_key!r} is not a grid key; grid keys: {keys}")


def check_metrics(points: list[PointAggregate], metrics: list[str]) -> None:
    """Raise `ValueError` listing the metrics aggregated somewhere unless each of ``metrics`` is one of them."""
    aggregated = list(dict.fromkeys(name for p in points for name in p.summaries))
    partial = {name for p in points for name in p.missing}
    for metric in metrics:
        if metric in aggregated:
            continue
        why = "is not in every finished run of any grid point" if metric in partial else "is in no finished run"
        available = ", ".join(aggregated) or "none: no run has finished"
        raise ValueError(f"--metric {metric!r} {why}; metrics aggregated in the finished runs: {available}")


def plot_metric(grid_keys: list[str], points: list[PointAggregate], metric: str, x_key: str):
    """Mean of ``metric`` against grid key ``x_key`` with its CI band; one line per value of the other keys.

    A positive numeric key spanning a factor of 10 or more is drawn on a log axis.
    """
    check_x_key(grid_keys, x_key)
    others = [k for k in grid_keys if k != x_key]
    drawn = [p for p in points if metric in p.summaries]
    if not drawn:
        raise ValueError(f"metric {metric!r} is aggregated at no grid point")
    xs = sorted({_cell(p.point[x_key]) for p in drawn}, key=_sort_key)
    numeric = all(isinstance(_sort_key(x)[1], float) for x in xs)
    lines: dict[str, list[tuple[float, Summary]]] = {}
    for p in drawn:
        label = ", ".join(f"{k}={_cell(p.point[k])}" for k in others)
        position = float(_cell(p.point[x_key])) if numeric else float(xs.index(_cell(p.point[x_key])))
        lines.setdefault(label, []).append((position, p.summaries[metric]))
    figure, (ax,) = new_figure()
    for label, entries in lines.items():
        entries.sort(key=lambda e: e[0])
        x = [e[0] for e in entries]
        ax.plot(x, [e[1].mean for e in entries], "-o", ms=3, label=label or None)
        ax.fill_between(x, [e[1].ci_low for e in entries], [e[1].ci_high for e in entries], alpha=0.25)
    if not numeric:
        ax.set_xticks(range(len(xs)), xs)
    elif float(xs[0]) > 0 and float(xs[-1]) >= 10 * float(xs[0]):
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks([float(x) for x in xs], xs)
    ax.set_xlabel(x_key)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric}: mean and {drawn[0].summaries[metric].interval_name} (band)", fontsize=9)
    if others:
        ax.legend(fontsize=7)
    return figure


def write_aggregate(
    sweep_dir: Path,
    *,
    metrics: list[str] | None = None,
    x_key: str | None = None,
    interval: Interval = "t",
    echo=print,
) -> dict[str, Any]:
    """Write ``aggregate/aggregate.md``, ``aggregate.csv`` and ``figures/*.png`` in the sweep folder.

    Figures: each of ``metrics`` (default: up to 8 metrics aggregated at every grid point with a finished run)
    against ``x_key`` (default: the first grid key); none when the sweep has no grid. Grid points without a
    finished run are left out of the figures. Returns the paths (``"markdown"``, ``"csv"``) and, as ``"skipped"``,
    a `SkippedPoint` for each point left out. An unknown metric or ``x_key`` raises `ValueError` listing the
    valid ones, before anything is written. ``interval``: ``t`` (Student t) or ``bootstrap`` (percentile; it
    undercovers at few seeds).
    """
    sweep_dir = Path(sweep_dir)
    grid_keys, points = aggregate_sweep(sweep_dir, interval)
    if x_key is not None:
        check_x_key(grid_keys, x_key)
    check_metrics(points, metrics or [])
    x_key = x_key or (grid_keys[0] if grid_keys else None)
    finished = [p for p in points if p.done]
    common = [m for m in (finished[0].summaries if finished else {}) if all(m in p.summaries for p in finished)]
    chosen = metrics or common[:MAX_DEFAULT_FIGURES]
    out = sweep_dir / "aggregate"
    figures = []
    for stale in (out / "figures").glob("*.png"):
        stale.unlink()
    if x_key is not None:
        for metric in chosen:
            figure = plot_metric(grid_keys, points, metric, x_key)
            name = f"figures/{re.sub(r'[^A-Za-z0-9_.-]+', '_', metric)}-vs-{x_key}.png"
            atomic_write(
                out / name, lambda handle, f=figure: f.savefig(handle, format="png", dpi=120, bbox_inches="tight")
            )
            close(figure)
            figures.append(name)
        if not metrics and len(common) > len(chosen):
            echo(f"figures for the first {len(chosen)} of {len(common)} metrics; pick others with --metric")
        if not chosen and finished:
            echo("no metric is aggregated at every grid point with finished runs: no figures; pick some with --metric")
    plan_name = load_plan(sweep_dir).experiment
    paths = {"markdown": out / "aggregate.md", "csv": out / "aggregate.csv"}
    atomic_write_text(paths["csv"], render_csv(grid_keys, points))
    atomic_write_text(
        paths["markdown"],
        render_markdown(grid_keys, points, title=f"Sweep of {plan_name}", figures=figures, interval=interval),
    )
    return {**paths, "skipped": skipped_points(points) if grid_keys else []}


def _interval_text(interval: Interval) -> str:
    if interval == "t":
        return f"{CI_LEVEL:.0%} Student-t interval (x̄ ± t_(n−1) sd/√n)"
    return (
        f"{CI_LEVEL:.0%} percentile-bootstrap interval ({BOOTSTRAP_RESAMPLES} resamples, generator seed "
        f"{BOOTSTRAP_SEED}; it undercovers at few seeds)"
    )


def _stats(s: Summary) -> tuple[float, ...]:
    return (s.mean, s.sd, s.ci_low, s.ci_high)


def _fmt(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.4g}"


def _label(point: dict[str, Any]) -> str:
    return ", ".join(f"{k} = {_cell(v)}" for k, v in point.items()) or "all runs"


def _cell(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def _sort_key(text: str) -> tuple[int, float | str]:
    try:
        return (0, float(text))
    except ValueError:
        return (1, text)
