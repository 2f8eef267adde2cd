"""Where a sweep's runs execute: worker processes on this machine, or one SLURM job array through submitit.

Both wait by polling the run folders (`run_state`), never by blocking on a job: without SLURM accounting a
job killed before it writes a result would block submitit's ``job.result()`` forever. The SLURM executor asks
``squeue`` (with a timeout) which array tasks are still queued or running; a task that has left the queue
without finishing or failing (cancelled, pre-empted, node lost) is reported as lost and stays pending, so the
next ``neuroplastic sweep`` re-submits it.
"""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

from neuroplastic.runs.folder import RunDir
from neuroplastic.runs.sweep_plan import SweepPlan
from neuroplastic.runs.sweep_status import run_state
from neuroplastic.runs.sweep_task import run_planned

Echo = Callable[[str], None]
JOBS_FILE = "jobs.jsonl"


class Executor(Protocol):
    """Runs the given planned runs and returns once each is done, failed or lost."""

    def execute(self, plan: SweepPlan, sweep_dir: Path, indices: list[int], echo: Echo) -> None:
        """Execute runs ``indices`` of ``plan``; report progress through ``echo``."""


def _finished(plan: SweepPlan, sweep_dir: Path, index: int) -> bool:
    return run_state(sweep_dir / plan.runs[index].folder) in ("done", "failed")


@dataclass
class LocalExecutor:
    """At most ``max_parallel`` worker processes at once, each running one run (``python -m ...sweep_task``).

    Each worker's ``OMP_NUM_THREADS`` is ``cpu_count // max_parallel`` unless set already (for libraries other than
    torch: a run uses its config's ``threads`` torch threads).
    A worker still running after ``time_min`` minutes (if given) is killed and its run recorded as failed.
    """

    max_parallel: int = 1
    time_min: float | None = None
    poll_s: float = 0.2

    def __post_init__(self) -> None:
        if self.max_parallel < 1:
            raise ValueError(f"max_parallel must be >= 1, got {self.max_parallel}")
        if self.time_min is not None and not self.time_min > 0:
            raise ValueError(f"time_min must be > 0, got {self.time_min}")

    def execute(self, plan: SweepPlan, sweep_dir: Path, indices: list[int], echo: Echo) -> None:
        """Run ``indices`` in worker processes; a failing worker does not stop the others."""
        env = dict(os.environ)
        env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // self.max_parallel)))
        logs = sweep_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        queue: list[int] = list(indices)
        running: dict[int, tuple[subprocess.Popen, float]] = {}
        try:
            while queue or running:
                while queue and len(running) < self.max_parallel:
                    index = queue.pop(0)
                    with open(logs / f"{index}.log", "ab") as log:
                        command = [sys.executable, "-m", "neuroplastic.runs.sweep_task", str(sweep_dir), str(index)]
                        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
                    running[index] = (process, time.monotonic())
                for index, (process, started) in list(running.items()):
                    overdue = self.time_min is not None and time.monotonic() - started > 60 * self.time_min
                    if overdue and process.poll() is None:
                        process.kill()
                        process.wait()
                        RunDir(sweep_dir / plan.runs[index].folder).record_error(
                            f"TimeoutError: killed after {self.time_min:g} min"
                        )
                    if process.poll() is not None:
                        del running[index]
                        echo(f"  #{index} {run_state(sweep_dir / plan.runs[index].folder)}")
                time.sleep(self.poll_s)
        finally:
            for process, _ in running.values():
                process.terminate()
            for process, _ in running.values():
                process.wait()


def _import_submitit():
    try:
        import submitit
    except ImportError:
        raise ImportError(
            'the slurm executor needs submitit: pip install -e ".[cluster]" (or pip install submitit)'
        ) from None
    return submitit


def active_slurm_jobs(timeout_s: float = 20.0) -> set[str] | None:
    """IDs (``123_4`` for array tasks) of this user's queued or running SLURM jobs; ``None`` if squeue fails.

    Completing jobs (state CG: their processes have ended or are being killed) do not count.
    """
    try:
        out = subprocess.run(
            ["squeue", f"--user={getpass.getuser()}", "--noheader", "--array", "--format=%i %t"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {job for job, state in (line.split() for line in out.splitlines() if line.strip()) if state != "CG"}


def submitted_jobs(sweep_dir: Path) -> dict[int, str]:
    """The latest SLURM job ID recorded for each run index of the sweep."""
    path = sweep_dir / JOBS_FILE
    if not path.exists():
        return {}
    jobs: dict[int, str] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            jobs[record["index"]] = record["job_id"]
    return jobs


@dataclass
class SlurmExecutor:
    """One submitit job array on a SLURM cluster (``AutoExecutor(cluster="slurm")``).

    ``time_min`` is each task's time limit, ``max_parallel`` the array's parallelism cap (0: none); runs whose
    previous job is still queued or running are watched rather than submitted again.
    """

    partition: str | None = None
    time_min: int = 60
    mem_gb: float | None = None
    gpus: int = 0
    cpus: int = 1
    max_parallel: int = 0
    poll_s: float = 1.0
    squeue_every_s: float = 2.0
    squeue_unreachable_s: float = 300.0

    def __post_init__(self) -> None:
        _import_submitit()
        if self.time_min < 1 or self.cpus < 1 or self.gpus < 0 or self.max_parallel < 0:
            raise ValueError("need time_min >= 1, cpus >= 1, gpus >= 0 and max_parallel >= 0")

    def execute(self, plan: SweepPlan, sweep_dir: Path, indices: list[int], echo: Echo) -> None:
        """Submit ``indices`` as one array, then poll run folders and ``squeue`` until every run is settled."""
        submitit = _import_submitit()
        active = active_slurm_jobs()
        previous = submitted_jobs(sweep_dir)
        waiting = {i: previous[i] for i in indices if active and previous.get(i) in active}
        fresh = [i for i in indices if i not in waiting]
        if waiting:
            echo(f"  {len(waiting)} runs still queued or running from an earlier submission: watching them")
        if fresh:
            executor = submitit.AutoExecutor(folder=sweep_dir / "slurm" / "%j", cluster="slurm")
            parameters: dict = {"timeout_min": self.time_min, "cpus_per_task": self.cpus, "name": plan.experiment}
            parameters.update({"slurm_partition": self.partition} if self.partition else {})
            parameters.update({"mem_gb": self.mem_gb} if self.mem_gb else {})
            parameters.update({"gpus_per_node": self.gpus} if self.gpus else {})
            parameters.update({"slurm_array_parallelism": self.max_parallel} if self.max_parallel else {})
            executor.update_parameters(**parameters)
            jobs = executor.map_array(run_planned, [str(sweep_dir)] * len(fresh), fresh)
            now = datetime.now(timezone.utc).isoformat(timespec="seconds")
            with open(sweep_dir / JOBS_FILE, "a", encoding="utf-8") as handle:
                for index, job in zip(fresh, jobs, strict=True):
                    handle.write(json.dumps({"index": index, "job_id": job.job_id, "submitted": now}) + "\n")
                    waiting[index] = job.job_id
            echo(f"  submitted {len(fresh)} runs as SLURM array {jobs[0].job_id.split('_')[0]}")
        self._wait(plan, sweep_dir, waiting, echo)

    def _wait(self, plan: SweepPlan, sweep_dir: Path, waiting: dict[int, str], echo: Echo) -> None:
        absent_once: set[int] = set()
        last_seen = time.monotonic()
        next_squeue = 0.0
        while waiting:
            time.sleep(self.poll_s)
            active = active_slurm_jobs() if time.monotonic() >= next_squeue else None
            for index in [i for i in waiting if _finished(plan, sweep_dir, i)]:
                echo(f"  #{index} {run_state(sweep_dir / plan.runs[index].folder)} (job {waiting.pop(index)})")
            if active is None:
                if time.monotonic() - last_seen > self.squeue_unreachable_s:
                    echo(f"  squeue unreachable for {self.squeue_unreachable_s:.0f} s: stop waiting; see --status")
                    return
                continue
            last_seen, next_squeue = time.monotonic(), time.monotonic() + self.squeue_every_s
            # A task must be missing from two consecutive squeue answers (taken before reading its folder)
            # before it counts as lost: a run writes results.json before its job leaves the queue.
            for index in [i for i in waiting if waiting[i] not in active]:
                if index in absent_once and not _finished(plan, sweep_dir, index):
                    job = waiting.pop(index)
                    echo(f"  #{index} lost: job {job} left the queue without a result; re-run the sweep to resubmit")
                absent_once.add(index)
            absent_once &= {i for i in waiting if waiting[i] not in active}
