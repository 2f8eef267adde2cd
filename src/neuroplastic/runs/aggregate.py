"""Aggregating a sweep: per grid point, n, mean, sd and 95 % bootstrap CI (`neuroplastic.runs.bootstrap`) over seeds.

``aggregate_sweep`` applies `summarize_sample` to every numeric scalar of each run's ``results.json`` (nested keys
joined with ``.``), per grid point; a metric that some runs of a point lack is not aggregated there, and is listed.
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
from neuroplastic.runs.bootstrap import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, CI_LEVEL, Summary, summarize_sample
from neuroplastic.runs.figures import close, new_figure
from neuroplastic.runs.sweep_plan import load_plan
from neuroplastic.runs.sweep_status import sweep_states

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


@dataclass
class PointAggregate:
    """One grid point: its planned/done/failed counts, a `Summary` per common metric, and what is missing where."""

    point: dict[str, Any]
    planned: int
    done: int
    failed: int
    summaries: dict[str, Summary]
    missing: dict[str, list[str]]


def aggregate_points(runs: list[tuple[dict[str, Any], str, dict[str, float] | None, bool]]) -> list[PointAggregate]:
    """Group ``(point, folder, metrics or None if unfinished, failed)`` by point and summarise each metric."""
    groups: dict[str, list[tuple[dict[str, Any], str, dict[str, float] | None, bool]]] = {}
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
                summaries[name] = summarize_sample([metrics[name] for _, metrics in finished])
        points.append(
            PointAggregate(group[0][0], len(group), len(finished), sum(1 for *_, f in group if f), summaries, missing)
        )
    return points


def _metric_order(finished: list[tuple[str, dict[str, float]]]):
    order: dict[str, int] = {}
    for _, metrics in finished:
        for name in metrics:
            order.setdefault(name, len(order))
    return order.__getitem__


def aggregate_sweep(sweep_dir: Path) -> tuple[list[str], list[PointAggregate]]:
    """The grid keys and the per-point aggregates of every finished run in the sweep folder ``sweep_dir``."""
    sweep_dir = Path(sweep_dir)
    plan = load_plan(sweep_dir)
    states = sweep_states(plan, sweep_dir)
    runs = []
    for run in plan.runs:
        path = sweep_dir / run.folder
        metrics = (
            numeric_metrics(json.loads((path / "results.json").read_text())) if states[run.index] == "done" else None
        )
        runs.append((run.point, run.folder, metrics, states[run.index] == "failed"))
    return list(plan.grid), aggregate_points(runs)


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


def render_markdown(grid_keys: list[str], points: list[PointAggregate], *, title: str, figures: list[str]) -> str:
    """A Markdown section per grid point (counts, table of n/mean/sd/CI, missing metrics), then the figures."""
    lines = [
        f"# {title}",
        "",
        f"Mean, sample sd and {CI_LEVEL:.0%} percentile-bootstrap CI of the mean over all finished seeds "
        f"({BOOTSTRAP_RESAMPLES} resamples, generator seed {BOOTSTRAP_SEED}).",
        "",
    ]
    for p in points:
        label = ", ".join(f"{k} = {_cell(p.point[k])}" for k in grid_keys) or "all runs"
        lines += [f"## {label}", "", f"{p.done} of {p.planned} runs finished, {p.failed} failed.", ""]
        if p.summaries:
            lines += ["| metric | n | mean | sd | 95% CI |", "|---|---|---|---|---|"]
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
    return "\n".join(lines).rstrip() + "\n"


def plot_metric(grid_keys: list[str], points: list[PointAggregate], metric: str, x_key: str):
    """Mean of ``metric`` against grid key ``x_key`` with its CI band; one line per value of the other keys.

    A positive numeric key spanning a factor of 10 or more is drawn on a log axis.
    """
    if x_key not in grid_keys:
        raise ValueError(f"--x {x_key!r} is not a grid key; grid keys: {', '.join(grid_keys) or 'none'}")
    others = [k for k in grid_keys if k != x_key]
    xs = sorted({_cell(p.point[x_key]) for p in points}, key=_sort_key)
    numeric = all(isinstance(_sort_key(x)[1], float) for x in xs)
    lines: dict[str, list[tuple[float, Summary]]] = {}
    for p in points:
        if metric in p.summaries:
            label = ", ".join(f"{k}={_cell(p.point[k])}" for k in others)
            position = float(_cell(p.point[x_key])) if numeric else float(xs.index(_cell(p.point[x_key])))
            lines.setdefault(label, []).append((position, p.summaries[metric]))
    if not lines:
        raise ValueError(f"metric {metric!r} is aggregated at no grid point")
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
    ax.set_title(f"{metric}: mean and {CI_LEVEL:.0%} bootstrap CI", fontsize=9)
    if others:
        ax.legend(fontsize=7)
    return figure


def write_aggregate(
    sweep_dir: Path, *, metrics: list[str] | None = None, x_key: str | None = None, echo=print
) -> dict[str, Path]:
    """Write ``aggregate/aggregate.md``, ``aggregate.csv`` and ``figures/*.png`` in the sweep folder.

    Figures: each of ``metrics`` (default: up to 8 metrics aggregated at every grid point) against ``x_key``
    (default: the first grid key); none when the sweep has no grid.
    """
    sweep_dir = Path(sweep_dir)
    grid_keys, points = aggregate_sweep(sweep_dir)
    out = sweep_dir / "aggregate"
    common = [m for m in (points[0].summaries if points else {}) if all(m in p.summaries for p in points)]
    if metrics:
        unknown = [m for m in metrics if not any(m in p.summaries for p in points)]
        if unknown:
            raise ValueError(f"no aggregated metric {unknown}; available: {', '.join(common) or 'none'}")
    chosen = metrics or common[:MAX_DEFAULT_FIGURES]
    figures = []
    for stale in (out / "figures").glob("*.png"):
        stale.unlink()
    if grid_keys and chosen:
        x_key = x_key or grid_keys[0]
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
    plan_name = load_plan(sweep_dir).experiment
    paths = {"markdown": out / "aggregate.md", "csv": out / "aggregate.csv"}
    atomic_write_text(paths["csv"], render_csv(grid_keys, points))
    atomic_write_text(
        paths["markdown"], render_markdown(grid_keys, points, title=f"Sweep of {plan_name}", figures=figures)
    )
    return paths


def _stats(s: Summary) -> tuple[float, ...]:
    return (s.mean, s.sd, s.ci_low, s.ci_high)


def _fmt(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.4g}"


def _cell(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def _sort_key(text: str) -> tuple[int, float | str]:
    try:
        return (0, float(text))
    except ValueError:
        return (1, text)
