"""The state of each run of a sweep, read from its folder alone: done, running, failed or pending.

- done: ``results.json`` exists (written last by the run).
- running: a process holds the run's lock (``.lock`` in the run folder, an ``flock`` that the kernel releases
  when the process dies, however it dies, so a killed or cancelled job never looks running).
- failed: ``error.json`` exists (the exception that stopped the run) and nobody is running it.
- pending: anything else: never started, queued, or stopped without a trace (cancelled, pre-empted, node lost).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from neuroplastic.runs.sweep_plan import SweepPlan

State = Literal["done", "running", "failed", "pending"]
STATES: tuple[State, ...] = ("done", "running", "failed", "pending")
LOCK_FILE = ".lock"
ERROR_FILE = "error.json"


@contextmanager
def run_lock(run_path: Path) -> Iterator[None]:
    """Hold the run's lock for the duration (waiting while another process holds it)."""
    run_path.mkdir(parents=True, exist_ok=True)
    fd = os.open(run_path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def is_running(run_path: Path) -> bool:
    """Whether some process holds the run's lock right now."""
    try:
        fd = os.open(run_path / LOCK_FILE, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def run_state(run_path: Path) -> State:
    """The state of the run in ``run_path`` (see the module docstring)."""
    if (run_path / "results.json").exists():
        return "done"
    if is_running(run_path):
        return "running"
    return "failed" if (run_path / ERROR_FILE).exists() else "pending"


def read_error(run_path: Path) -> dict[str, Any]:
    """The recorded failure of a run (``error``, ``type``, ``traceback``, ``host``, ``time``)."""
    return json.loads((run_path / ERROR_FILE).read_text())


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
                where += f": {read_error(Path(sweep_dir) / run.folder)['error']}"
            lines.append(where)
    return "\n".join(lines)


def _point_text(point: dict[str, Any]) -> str:
    return "(" + ", ".join(f"{k}={v}" for k, v in point.items()) + ")" if point else "(no grid)"
