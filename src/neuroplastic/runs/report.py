"""Markdown reports: one table per paper, our number beside the paper's, and links to the figures."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuroplastic.experiments.base import Experiment, ReportRow


@dataclass
class ReportEntry:
    """One experiment's outcome for a report: its results (or the error that stopped it) and its folder."""

    experiment: Experiment
    run_path: Path
    results: dict[str, Any] | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)


def format_value(value: float | str | None) -> str:
    """Numbers to four significant digits; strings as they are; ``None`` as a dash."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:.4g}"


def render_report(entries: list[ReportEntry], report_path: Path, *, title: str) -> str:
    """The Markdown text of a report written at ``report_path`` (figure links are relative to it)."""
    lines = [f"# {title}", ""]
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
        return lines + [f"**Failed:** {entry.error}", ""]
    assert entry.results is not None
    rows: list[ReportRow] = entry.experiment.summarize(entry.results)
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
