"""One run of a sweep, as a worker process executes it: ``python -m neuroplastic.runs.sweep_task SWEEP INDEX``.

The same function is what a SLURM array task calls. Through `run_experiment` it waits for the run's lock while
another process holds it, skips a finished run, resumes an interrupted one, and records a failure in
``error.json`` before re-raising.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

from neuroplastic.runs.config import config_from_dict
from neuroplastic.runs.folder import RunDir
from neuroplastic.runs.reference import load_experiment
from neuroplastic.runs.runner import run_experiment
from neuroplastic.runs.sweep_plan import load_plan


def run_planned(sweep_dir: str | Path, index: int) -> str:
    """Execute run ``index`` of the sweep in ``sweep_dir``; returns ``"done"`` or ``"skipped"`` (already done).

    Anything that stops the run, including an experiment that cannot be loaded, is recorded in ``error.json``.
    """
    sweep_dir = Path(sweep_dir)
    plan = load_plan(sweep_dir)
    if not 0 <= index < len(plan.runs):
        raise IndexError(f"run index {index} is outside the sweep's {len(plan.runs)} runs")
    run = plan.runs[index]
    path = sweep_dir / run.folder
    argv = ["neuroplastic-sweep-task", str(sweep_dir), str(index)]
    try:
        experiment = load_experiment(plan.reference)
        config = config_from_dict(experiment.config_class, run.config)
        outcome = run_experiment(experiment, config, path, argv=argv, wait=True)
    except Exception as err:  # also those raised before the run took its folder (device, folder checks)
        path.mkdir(parents=True, exist_ok=True)
        RunDir(path).record_error(f"{type(err).__name__}: {err}", traceback.format_exc())
        raise
    return "skipped" if outcome.skipped else "done"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: ``SWEEP_DIR INDEX``; exit code 0 when the run is finished, 1 when it failed."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m neuroplastic.runs.sweep_task SWEEP_DIR INDEX", file=sys.stderr)
        return 2
    from neuroplastic.core.progress import set_quiet
    from neuroplastic.runs.backend import use_file_backend

    set_quiet(True)
    use_file_backend()
    try:
        print(run_planned(args[0], int(args[1])))
    except Exception:  # noqa: BLE001 - recorded in error.json; the traceback goes to the worker's log
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
