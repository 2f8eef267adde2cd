"""Markdown reports: one table per paper, our number beside the paper's, and links to the figures."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuroplastic.runs.bootstrap import format_summary, summarize_sample
from neuroplastic.runs.experiment import Experiment, ReportRow

QUICK_BANNER = (
    "> **Quick variant** — a smoke test of the pipeline at a reduced size, not the paper's protocol. Its numbers "
    "are not comparable with the published ones, so no reference numbers and no verdicts are shown; run without "
    "`--quick` for the reproduction."
)


@dataclass
class ReportEntry:
    """One experiment's outcome for a report: its results (or the error that stopped it) and its folder.

    With several seeds, ``seed_results`` holds every finished seed's results (``results`` is the first one's,
    for notes and figures) and the table shows each quantity's mean and 95% Student-t interval over them.
    """

    experiment: Experiment
    run_path: Path
    results: dict[str, Any] | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    seed_results: list[dict[str, Any]] = field(default_factory=list)


def format_value(value: float | str | None) -> str:
    """Numbers to four significant digits; strings as they are; ``None`` as a dash."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:.4g}"


def seed_rows(experiment: Experiment, seed_results: list[dict[str, Any]]) -> list[ReportRow]:
    """The experiment's report rows over several seeds: numeric ``ours`` becomes ``mean [95% CI] (n=…)``.

    Rows are matched by quantity; a non-numeric value that differs between seeds is shown with "varies".
    """
    per_seed = [{row.quantity: row for row in experiment.summarize(r)} for r in seed_results]
    rows = []
    for quantity, first in per_seed[0].items():
        values = [rows_[quantity].ours for rows_ in per_seed if quantity in rows_]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            ours: float | str = format_summary(summarize_sample(values))
        elif len(set(map(str, values))) == 1:
            ours = values[0]
        else:
            ours = f"{format_value(values[0])} (varies over {len(values)} seeds)"
        rows.append(ReportRow(quantity, ours, first.reference, first.source, first.verdict))
    return rows


def render_report(entries: list[ReportEntry], report_path: Path, *, title: str) -> str:
    """The Markdown text of a report written at ``report_path`` (figure links are relative to it).

    A report of quick variants (``results["quick"]``) opens with `QUICK_BANNER`, and their tables show our numbers
    only: no reference column, no verdict rows.
    """
    lines = [f"# {title}", ""]
    if any(e.results and e.results.get("quick") for e in entries):
        lines += [QUICK_BANNER, ""]
    by_paper: dict[str, list[ReportEntry]] = {}
    for entry in entries:
        by_paper.setdefault(entry.experiment.paper, []).append(entry)
    for paper, group in by_paper.items():
        lines += [f"## {paper}", ""]
        for entry in group:
            lines += _render_entry(entry, report_path.parent)
    return "\n".join(lines).rstrip() + "\n"


def _render_entry(entry: ReportEntry, base: Path) -> list[str]:
    rel_run = os.path.relpath(entry.run_path, base)
    lines = [
        f"### `{entry.experiment.name}` — {entry.experiment.description}",
        "",
        f"Run folder: `{rel_run}`",
        "",
    ]
    if entry.error is not None:
        lines += [f"**Failed:** {entry.error}", ""]
        if not entry.seed_results:
            return lines
    assert entry.results is not None
    if len(entry.seed_results) > 1:
        rows = seed_rows(entry.experiment, entry.seed_results)
        lines += [f"Over {len(entry.seed_results)} seeds: mean [95% Student-t interval of the mean] (n).", ""]
    else:
        rows = entry.experiment.summarize(entry.results)
    if entry.results.get("quick"):
        lines += ["| quantity | ours (quick variant) |", "|---|---|"]
        lines += [f"| {r.quantity} | {format_value(r.ours)} |" for r in rows if not r.verdict]
    else:
        lines += ["| quantity | ours | reference | source |", "|---|---|---|---|"]
        lines += [f"| {r.quantity} | {format_value(r.ours)} | {format_value(r.reference)} | {r.source} |" for r in rows]
    lines.append("")
    for note in entry.results.get("notes", []) + entry.notes:
        lines.append(f"- {note}")
    if entry.results.get("notes") or entry.notes:
        lines.append("")
    for figure in entry.results.get("figures", []):
        link = os.path.relpath(entry.run_path / figure, base)
        lines += [f"![{Path(figure).stem}]({link})", ""]
    return lines
