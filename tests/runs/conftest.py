import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

SLURM_SCRIPTS = Path(__file__).parent / "slurm"


def _slurm_unavailable() -> str | None:
    if shutil.which("slurmctld") is None or shutil.which("slurmd") is None or shutil.which("munged") is None:
        return "SLURM not installed (apt-get install --no-install-recommends slurmctld slurmd slurm-client munge)"
    if os.geteuid() != 0:
        return "starting slurmctld/slurmd/munged needs root"
    try:
        import submitit  # noqa: F401
    except ImportError:
        return 'submitit not installed (pip install -e ".[cluster]")'
    return None


@pytest.fixture(scope="session")
def slurm_cluster():
    """A single-node SLURM on localhost for the test session; yields the partition name.

    Config, state and logs live in a temporary folder; the daemons are stopped by PID afterwards.
    """
    reason = _slurm_unavailable()
    if reason:
        pytest.skip(reason)
    work = tempfile.mkdtemp(prefix="neuroplastic-slurm-")
    saved = os.environ.get("SLURM_CONF")
    try:
        started = subprocess.run(
            ["bash", str(SLURM_SCRIPTS / "start_slurm.sh"), work], capture_output=True, text=True, timeout=300
        )
        if started.returncode != 0:
            pytest.fail(f"SLURM did not start:\n{started.stdout}\n{started.stderr}")
        os.environ["SLURM_CONF"] = f"{work}/etc/slurm.conf"
        yield "debug"
    finally:
        subprocess.run(["bash", str(SLURM_SCRIPTS / "stop_slurm.sh"), work], timeout=60)
        if saved is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = saved
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(params=["local", "slurm"])
def executor(request):
    """The same sweep tests run with the local process pool and with a real SLURM job array."""
    from neuroplastic.runs.executors import LocalExecutor, SlurmExecutor

    if request.param == "local":
        return LocalExecutor(max_parallel=2, poll_s=0.1)
    partition = request.getfixturevalue("slurm_cluster")
    return SlurmExecutor(partition=partition, time_min=5, poll_s=0.2, squeue_every_s=0.5)


@pytest.fixture
def gated(monkeypatch):
    """The gated test experiment, importable here and in every worker (local or SLURM) this test starts."""
    from neuroplastic.experiments import get_experiment

    here = str(Path(__file__).parent)
    monkeypatch.syspath_prepend(here)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p))
    return get_experiment("gated_experiment:EXPERIMENT")
