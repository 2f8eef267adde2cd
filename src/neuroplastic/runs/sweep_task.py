"""One run of a sweep, as a worker process executes it: ``python -m neuroplastic.runs.sweep_task SWEEP INDEX``.

The same function is what a SLURM array task calls. It holds the run's lock while it runs, skips a finished run,
resumes an interrupted one (through `run_experiment`), and records a failure in ``error.json`` before re-raising.
"""

from __future__ import annotations

import os
import socket
import sys
import traceback
from datetime import datetime, timezone
from pathlib import Path

import torch

from neuroplastic.core.atomic import atomic_write_json
from neuroplastic.runs.config import config_from_dict
from neuroplastic.runs.reference import load_experiment
from neuroplastic.runs.runner import run_experiment
from neuroplastic.runs.sweep_plan import load_plan
from neuroplastic.runs.sweep_status import ERROR_FILE, run_lock


def run_planned(sweep_dir: str | Path, index: int) -> str:
    """Execute run ``index`` of the sweep in ``sweep_dir``; returns ``"done"`` or ``"skipped"`` (already done).

    Anything that stops the run, including an experiment that cannot be loaded, is recorded in ``error.json``.
    """
    _threads_from_allocation()
    sweep_dir = Path(sweep_dir)
    plan = load_plan(sweep_dir)
    if not 0 <= index < len(plan.runs):
        raise IndexError(f"run index {index} is outside the sweep's {len(plan.runs)} runs")
    run = plan.runs[index]
    path = sweep_dir / run.folder
    with run_lock(path):
        if (path / "results.json").exists():
            return "skipped"
        (path / ERROR_FILE).unlink(missing_ok=True)
        try:
            experiment = load_experiment(plan.reference)
            config = config_from_dict(experiment.config_class, run.config)
            run_experiment(experiment, config, path, argv=["neuroplastic-sweep-task", str(sweep_dir), str(index)])
        except Exception as err:
            record_error(path, f"{type(err).__name__}: {err}", traceback.format_exc())
            raise
    return "done"


def _threads_from_allocation() -> None:
    """In a SLURM task, use as many torch threads as CPUs allocated (unless ``OMP_NUM_THREADS`` says otherwise).

    torch otherwise starts one thread per core of the node, and oversubscribed threads slow small ops many-fold.
    """
    cpus = os.environ.get("SLURM_CPUS_PER_TASK")
    if cpus and "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(int(cpus))


def record_error(run_path: Path, error: str, trace: str = "") -> None:
    """Write the run's ``error.json``: the message, its traceback, where and when."""
    atomic_write_json(
        run_path / ERROR_FILE,
        {
            "error": error,
            "type": error.partition(":")[0],
            "traceback": trace,
            "host": socket.gethostname(),
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
    )


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: ``SWEEP_DIR INDEX``; exit code 0 when the run is finished, 1 when it failed."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m neuroplastic.runs.sweep_task SWEEP_DIR INDEX", file=sys.stderr)
        return 2
    from neuroplastic.core.progress import set_quiet

    set_quiet(True)
    try:
        print(run_planned(args[0], int(args[1])))
    except Exception:  # noqa: BLE001 - recorded in error.json; the traceback goes to the worker's log
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
