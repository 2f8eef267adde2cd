"""A sweep: grid × seeds of one experiment, each run an ordinary run folder under the sweep folder.

Re-running a sweep skips finished runs and re-submits the missing and the failed ones; a run that another process
is running (an earlier driver's worker or job) is waited for, since a worker blocks on the run's lock and then
skips a finished run. So a sweep survives pre-emption, a lost node or a killed driver.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from neuroplastic.runs.claim import claim_folder
from neuroplastic.runs.executors import Echo, Executor
from neuroplastic.runs.experiment import Experiment
from neuroplastic.runs.sweep_plan import PLAN_FILE, SweepPlan, plan_sweep, save_plan
from neuroplastic.runs.sweep_status import State, sweep_states


@dataclass
class SweepOutcome:
    """The sweep's folder, its plan, the runs handed to the executor, and every run's state once it returned."""

    path: Path
    plan: SweepPlan
    states: dict[int, State]
    submitted: list[int]

    @property
    def complete(self) -> bool:
        """Every run finished."""
        return all(state == "done" for state in self.states.values())


def default_sweep_path(plan: SweepPlan, root: Path = Path("runs")) -> Path:
    """``runs/<experiment>/sweep-<hash>``, the hash over experiment, quick, overrides, grid and seeds."""
    key = json.dumps({k: v for k, v in plan.to_dict().items() if k not in ("runs", "reference")}, sort_keys=True)
    return root / plan.experiment / f"sweep-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def run_sweep(
    experiment: Experiment,
    executor: Executor,
    *,
    grid: dict[str, list[str]],
    seeds: list[int],
    quick: bool = False,
    overrides: list[str] | tuple[str, ...] = (),
    out: Path | None = None,
    echo: Echo = print,
) -> SweepOutcome:
    """Plan the sweep, record the plan, execute (or wait for) every run not yet done, and return the states."""
    plan = plan_sweep(experiment, grid=grid, seeds=seeds, quick=quick, overrides=overrides)
    path = claim_folder(Path(out) if out is not None else default_sweep_path(plan), marker=PLAN_FILE, kind="sweep")
    save_plan(plan, path)
    before = sweep_states(plan, path)
    todo = [i for i, state in before.items() if state != "done"]
    counts = {state: sum(1 for s in before.values() if s == state) for state in ("done", "running", "failed")}
    echo(
        f"sweep {path}: {len(plan.runs)} runs; {counts['done']} already done, {counts['failed']} failed before, "
        f"{counts['running']} running elsewhere (waited for), {len(todo) - counts['running']} to run"
    )
    if todo:
        executor.execute(plan, path.resolve(), todo, echo)
    return SweepOutcome(path, plan, sweep_states(plan, path), todo)
