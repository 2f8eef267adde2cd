"""The state of each run of a sweep, read from its folder alone: done, running, failed or pending.

- done: ``results.json`` exists (written last by the run).
- running: a process holds the run's lock (``.lock`` in the run folder, an ``flock`` that the kernel releases
  when the process dies, however it dies, so a killed or cancelled job never looks running; see
  `neuroplastic.runs.claim`).
- failed: ``error.json`` exists (the exception that stopped the run) and nobody is running it.
- pending: anything else: never started, queued, or stopped without a trace (cancelled, pre-empted, node lost).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from neuroplastic.runs.claim import is_locked
from neuroplastic.runs.folder import RunDir
from neuroplastic.runs.sweep_plan import SweepPlan

State = Literal["done", "running", "failed", "pending"]
STATES: tuple[State, ...] = ("done", "running", "failed", "pending")


def run_state(run_path: Path) -> State:
    """The state of the run in ``run_path`` (see the module docstring)."""
    run = RunDir(run_path)
    if run.is_finished:
        return "done"
    if is_locked(run_path):
        return "running"
    return "failed" if run.error_file.exists() else "pending"


def sweep_states(plan: SweepPlan, sweep_dir: Path) -> dict[int, State]:
    """The state of every planned run, by index."""
    return {run.index: run_state(Path(sweep_dir) / run.folder) for run in plan.runs}


def format_status(plan: SweepPlan, sweep_dir: Path) -> str:
    """A human summary: counts per state, then each failed run with its error and each running run."""
    states = sweep_states(plan, sweep_dir)
    counts = {s: sum(1 for v in states.values() if v == s) for s in STATES}
    lines = [
        f"sweep {sweep_dir}: {plan.experiment}, {len(plan.runs)} runs "
        f"({len(plan.runs) // len(plan.seeds)} grid points × {len(plan.seeds)} seeds)",
        "  " + ", ".join(f"{counts[s]} {s}" for s in STATES),
    ]
    for run in plan.runs:
        state = states[run.index]
        if state in ("failed", "running"):
            where = f"  {state}: #{run.index} {run.folder} {_point_text(run.point)} seed {run.seed}"
            if state == "failed":
                where += f": {RunDir(Path(sweep_dir) / run.folder).read_error()['error']}"
            lines.append(where)
    return "\n".join(lines)


def _point_text(point: dict[str, Any]) -> str:
    return "(" + ", ".join(f"{k}={v}" for k, v in point.items()) + ")" if point else "(no grid)"
