import csv
import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
import yaml

from neuroplastic.cli import main
from neuroplastic.experiments import get_experiment
from neuroplastic.runs.config import ConfigError
from neuroplastic.runs.executors import submitted_jobs
from neuroplastic.runs.folder import RunDir, RunFolderConflict
from neuroplastic.runs.sweep import run_sweep
from neuroplastic.runs.sweep_plan import load_plan, parse_grid, parse_seeds, plan_sweep, save_plan
from neuroplastic.runs.sweep_status import format_status, sweep_states

EXPERIMENT = "fixedpoint-linear"  # needs no data set: fast in a fresh process, nothing to download
TINY = [
    "n=20",
    "steps=20",
    "m=10",
    "angle_steps=5",
    "slice_points=5",
    "grid_points=5",
    "slice_directions=2",
    "learning_rates=1.0",
    "rules=dw1",
]


def sweep(executor, out, grid, seeds, overrides=TINY, experiment=None):
    experiment = experiment or get_experiment(EXPERIMENT)
    messages = []
    outcome = run_sweep(
        experiment,
        executor,
        grid=parse_grid(experiment.config_class, grid),
        seeds=parse_seeds(seeds),
        quick=True,
        overrides=overrides,
        out=out,
        echo=messages.append,
    )
    return outcome, messages


def results_mtimes(path):
    return {p: p.stat().st_mtime_ns for p in Path(path).glob("*/*/results.json")}


def gates(tmp_path):
    """An open gate and a closed one: ``--grid gate=OPEN,CLOSED`` gives a run that finishes and one that waits."""
    (tmp_path / "open").touch()
    return tmp_path / "open", tmp_path / "closed"


def test_parse_seeds_and_grid():
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("5,0-2,1") == [5, 0, 1, 2]
    for bad in ("a", "3-1", "1-", ""):
        with pytest.raises(ValueError, match="--seeds"):
            parse_seeds(bad)
    cls = get_experiment(EXPERIMENT).config_class
    assert parse_grid(cls, ["steps=10,20", "rules=dw1;dw1,dw2"]) == {"steps": ["10", "20"], "rules": ["dw1", "dw1,dw2"]}
    assert parse_grid(cls, ["learning_rates=0.1,0.3"]) == {"learning_rates": ["0.1,0.3"]}
    with pytest.raises(ConfigError, match="--seeds"):
        parse_grid(cls, ["seed=1,2"])
    with pytest.raises(ConfigError, match="twice"):
        parse_grid(cls, ["steps=1", "steps=2"])


def test_plan_types_values_with_the_set_parser_and_rejects_bad_keys_before_anything(tmp_path):
    experiment = get_experiment(EXPERIMENT)
    plan = plan_sweep(experiment, grid={"steps": ["10", "20"], "rules": ["dw1", "dw1,dw2"]}, seeds=[3, 4], quick=True)
    assert len(plan.runs) == 8 and len({r.folder for r in plan.runs}) == 8
    assert [(r.point["steps"], r.point["rules"], r.seed) for r in plan.runs[:3]] == [
        (10, ["dw1"], 3),
        (10, ["dw1"], 4),
        (10, ["dw1", "dw2"], 3),
    ]
    assert all(r.config["seed"] == r.seed and r.config["steps"] == r.point["steps"] for r in plan.runs)
    for grid, message in (({"stepz": ["1"]}, "unknown key 'stepz'"), ({"steps": ["ten"]}, "bad value for steps")):
        with pytest.raises(ConfigError, match=message):
            run_sweep(experiment, None, grid=grid, seeds=[0], out=tmp_path / "bad", echo=lambda _: None)
        assert not (tmp_path / "bad").exists()
    with pytest.raises(ConfigError, match="same config"):
        plan_sweep(experiment, grid={"steps": ["10", "010"]}, seeds=[0])


def test_a_different_sweep_in_the_same_folder_is_refused(tmp_path):
    class Never:
        def execute(self, *args):
            raise AssertionError("nothing should run")

    experiment = get_experiment(EXPERIMENT)
    (tmp_path / "sweep.json").write_text(json.dumps({"experiment": "other"}))
    with pytest.raises(RunFolderConflict, match="different sweep"):
        run_sweep(experiment, Never(), grid={}, seeds=[0], out=tmp_path, echo=lambda _: None)


def test_sweep_runs_every_point_records_failures_and_resumes(executor, tmp_path):
    out = tmp_path / "sweep"
    grid = ["device=cpu,mps"]  # no MPS on Linux: the run raises, after planning accepted the device
    outcome, _ = sweep(executor, out, grid, "0-1")
    plan = load_plan(out)
    assert plan.to_dict() == json.loads((out / "sweep.json").read_text())
    states = {(r.point["device"], r.seed): outcome.states[r.index] for r in plan.runs}
    assert states == {("cpu", 0): "done", ("cpu", 1): "done", ("mps", 0): "failed", ("mps", 1): "failed"}
    for run in plan.runs:
        folder = out / run.folder
        if run.point["device"] == "cpu":
            assert yaml.safe_load((folder / "config.yaml").read_text())["seed"] == run.seed
            results = json.loads((folder / "results.json").read_text())
            curve = results["results"]["dw1/1"]
            assert results["steps"] == 20 and curve["final_J"] < curve["J"]["0"]  # training lowered the loss
        else:
            error = json.loads((folder / "error.json").read_text())
            assert "MPS is not available" in error["error"] and "Traceback" in error["traceback"]
    status = format_status(plan, out)
    assert "2 done, 0 running, 2 failed, 0 pending" in status and "mps" in status

    done_before = results_mtimes(out)
    again, _ = sweep(executor, out, grid, "0-1")
    assert sorted(again.submitted) == [r.index for r in plan.runs if r.point["device"] == "mps"]
    assert results_mtimes(out) == done_before  # finished runs are not repeated

    assert main(["aggregate", str(out), "--x", "device", "--metric", "steps"]) == 0
    rows = list(csv.DictReader((out / "aggregate" / "aggregate.csv").open()))
    steps_rows = [r for r in rows if r["metric"] == "steps"]
    assert [r["device"] for r in steps_rows] == ["cpu"]  # the failed point has no finished seed to aggregate
    assert steps_rows[0]["n"] == "2"
    assert float(steps_rows[0]["mean"]) == float(steps_rows[0]["ci_low"]) == float(steps_rows[0]["ci_high"]) == 20
    assert (out / "aggregate" / "figures" / "steps-vs-device.png").stat().st_size > 0
    markdown = (out / "aggregate" / "aggregate.md").read_text()
    assert "0 of 2 runs finished, 2 failed" in markdown and "steps-vs-device.png" in markdown


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_cancelled_array_task_is_resubmitted_and_finished_runs_are_not_repeated(slurm_cluster, gated, tmp_path):
    from neuroplastic.runs.executors import SlurmExecutor

    executor = SlurmExecutor(partition=slurm_cluster, time_min=5, poll_s=0.2, squeue_every_s=0.5)
    out = tmp_path / "sweep"
    open_gate, closed_gate = gates(tmp_path)
    grid = [f"gate={open_gate},{closed_gate}"]  # run 1 waits for its gate, so it is running when it is cancelled
    driver = threading.Thread(target=sweep, args=(executor, out, grid, "0", (), gated))
    driver.start()
    wait_for(lambda: len(submitted_jobs(out)) == 2, 300, "the array to be submitted")
    long_run = out / load_plan(out).runs[1].folder
    wait_for(lambda: sweep_states(load_plan(out), out)[1] == "running", 300, "the gated run to start")
    cancelled = submitted_jobs(out)[1]
    subprocess.run(["scancel", "--signal=KILL", cancelled], check=True, timeout=30)
    driver.join(timeout=300)
    assert not driver.is_alive()
    # the job leaves the queue (completing) a moment before its killed process releases the run's lock
    wait_for(lambda: sweep_states(load_plan(out), out)[1] != "running", 300, "the cancelled run's process to end")
    assert sweep_states(load_plan(out), out) == {0: "done", 1: "pending"}
    assert not (long_run / "error.json").exists()
    assert [m["step"] for m in RunDir(long_run).metrics()] == [0, 1, 2]  # it was killed inside its run

    done_before = results_mtimes(out)
    closed_gate.touch()
    outcome, messages = sweep(executor, out, grid, "0", (), gated)
    assert outcome.submitted == [1] and outcome.states == {0: "done", 1: "done"}
    assert results_mtimes(out).items() >= done_before.items()
    assert submitted_jobs(out)[1] != cancelled and "lost" not in " ".join(messages)


def test_killed_driver_resumes(executor, gated, tmp_path):
    out = tmp_path / "sweep"
    open_gate, closed_gate = gates(tmp_path)
    command = [sys.executable, "-m", "neuroplastic.cli", "--quiet", "sweep", "gated_experiment:EXPERIMENT", "--quick"]
    command += ["--out", str(out), "--grid", f"gate={open_gate},{closed_gate}", "--max-parallel", "2"]
    if type(executor).__name__ == "SlurmExecutor":
        command += ["--executor", "slurm", "--partition", executor.partition, "--time-min", "5"]
    driver = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(
            lambda: (out / "sweep.json").exists() and sweep_states(load_plan(out), out) == {0: "done", 1: "running"},
            300,
            "one run to finish while the other waits at its gate",
        )
    finally:
        os.killpg(driver.pid, signal.SIGKILL)  # the driver and its local workers, as a crash or Ctrl-C would
        driver.wait()
    on_slurm = type(executor).__name__ == "SlurmExecutor"
    if not on_slurm:  # the killed local worker releases the run's lock once its process is gone
        wait_for(lambda: sweep_states(load_plan(out), out)[1] != "running", 300, "the killed worker to end")
    job = submitted_jobs(out).get(1)
    assert sweep_states(load_plan(out), out) == {0: "done", 1: "running" if on_slurm else "pending"}
    done_before = results_mtimes(out)
    closed_gate.touch()
    outcome, messages = sweep(executor, out, [f"gate={open_gate},{closed_gate}"], "0", (), gated)
    assert outcome.complete and outcome.submitted == [1]  # finished before the kill: not repeated
    assert results_mtimes(out).items() >= done_before.items()
    if on_slurm:  # the job outlived its driver: the new driver watches it instead of submitting it again
        assert submitted_jobs(out)[1] == job and "still queued or running" in " ".join(messages)


def test_local_worker_past_its_time_limit_is_killed_and_recorded_failed(gated, tmp_path):
    from neuroplastic.runs.executors import LocalExecutor

    executor = LocalExecutor(max_parallel=1, time_min=0.002, poll_s=0.02)
    outcome, _ = sweep(executor, tmp_path, [], "0", [f"gate={tmp_path / 'never'}"], gated)  # waits until killed
    assert outcome.states == {0: "failed"}
    assert "killed after 0.002 min" in format_status(outcome.plan, tmp_path)


def test_a_worker_that_cannot_load_its_experiment_records_the_run_failed(gated, tmp_path):
    from neuroplastic.runs.executors import LocalExecutor

    plan = dataclasses.replace(plan_sweep(gated, grid={}, seeds=[0]), reference="gated_experiment_gone:EXPERIMENT")
    save_plan(plan, tmp_path)  # as if the workers' environment lacked the module the driver imported
    LocalExecutor(poll_s=0.02).execute(plan, tmp_path, [0], lambda _: None)
    assert sweep_states(plan, tmp_path) == {0: "failed"}
    assert "experiment 'gated_experiment_gone:EXPERIMENT' cannot be loaded" in format_status(plan, tmp_path)


def test_an_experiment_workers_cannot_import_is_refused_before_anything_runs(gated, tmp_path):
    inner = dataclasses.replace(gated, name="inner")  # defined in no module: no reference to give a worker
    with pytest.raises(ValueError, match="not a module-level attribute of gated_experiment"):
        run_sweep(inner, None, grid={}, seeds=[0], out=tmp_path / "s", echo=lambda _: None)
    assert not (tmp_path / "s").exists()
    assert get_experiment("gated_experiment:EXPERIMENT") is gated
    for bad, message in (("gated_experiment:NOPE", "cannot be loaded"), ("gated_experiment:GatedConfig", "not a")):
        with pytest.raises((ImportError, ValueError), match=message):
            get_experiment(bad)


def test_the_core_package_does_not_need_submitit(monkeypatch):
    import ast

    import neuroplastic

    top_level = []
    for path in Path(neuroplastic.__file__).parent.rglob("*.py"):
        tree = ast.parse(path.read_text())
        inside_functions = {id(node) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) for node in ast.walk(f)}
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n.split(".")[0] == "submitit" for n in names) and id(node) not in inside_functions:
                top_level.append(path.name)
    assert top_level == []  # submitit is imported lazily, by the SLURM executor only
    monkeypatch.setitem(sys.modules, "submitit", None)  # as if not installed
    from neuroplastic.runs.executors import SlurmExecutor

    with pytest.raises(ImportError, match=r'pip install -e "\.\[cluster\]"'):
        SlurmExecutor()


def test_cli_sweep_errors_and_status(tmp_path, capsys):
    assert main(["sweep", EXPERIMENT, "--grid", "stepz=1,2", "--out", str(tmp_path / "a")]) == 2
    assert "unknown key 'stepz'" in capsys.readouterr().err and not (tmp_path / "a").exists()
    assert main(["sweep", EXPERIMENT, "--seeds", "3-1", "--out", str(tmp_path / "a")]) == 2
    assert main(["sweep", "--status", str(tmp_path)]) == 2
    assert "not a sweep folder" in capsys.readouterr().err
    experiment = get_experiment(EXPERIMENT)
    plan = plan_sweep(experiment, grid={"steps": ["10", "20"]}, seeds=[0, 1], quick=True)
    save_plan(plan, tmp_path)
    assert main(["sweep", "--status", str(tmp_path)]) == 0
    assert "4 runs (2 grid points × 2 seeds)\n  0 done, 0 running, 0 failed, 4 pending" in capsys.readouterr().out


class FakeClock:
    """``time.monotonic`` and ``time.sleep`` for a loop under test: sleeping advances the clock, nothing waits."""

    def __init__(self, limit_s=60.0):
        self.now, self.limit_s = 0.0, limit_s

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        if self.now > self.limit_s:
            raise AssertionError(f"still polling after {self.limit_s} s of the fake clock: it would hang")


def test_slurm_polling_settles_lost_tasks_and_never_hangs_without_squeue(tmp_path, monkeypatch):
    pytest.importorskip("submitit")
    from neuroplastic.runs import executors

    plan = plan_sweep(get_experiment(EXPERIMENT), grid={"steps": ["10", "20", "30"]}, seeds=[0], quick=True)
    save_plan(plan, tmp_path)
    (tmp_path / plan.runs[0].folder).mkdir(parents=True)
    (tmp_path / plan.runs[0].folder / "results.json").write_text("{}")
    answers = iter([{"7_1", "7_2"}, {"7_2"}, {"7_2"}])  # 7_1 leaves the queue without a result; 7_2 stays queued
    monkeypatch.setattr(executors, "active_slurm_jobs", lambda: next(answers, None))
    clock = FakeClock()
    monkeypatch.setattr(executors, "time", clock)
    messages = []
    executor = executors.SlurmExecutor(poll_s=0.01, squeue_every_s=0, squeue_unreachable_s=0.3)
    executor._wait(plan, tmp_path, {0: "7_0", 1: "7_1", 2: "7_2"}, messages.append)
    assert 0.3 < clock.now < 0.5  # squeue stopped answering: gave up 0.3 s (of the executor's clock) later
    assert messages[0] == "  #0 done (job 7_0)"
    assert any(m.startswith("  #1 lost: job 7_1") for m in messages)
    assert not any("#2 lost" in m for m in messages) and "squeue unreachable" in messages[-1]


def test_a_sweep_run_and_a_plain_run_of_one_config_and_seed_give_the_same_result(tmp_path):
    from neuroplastic.runs.executors import LocalExecutor
    from neuroplastic.runs.runner import build_config, run_experiment

    experiment = get_experiment(EXPERIMENT)
    outcome, _ = sweep(LocalExecutor(max_parallel=1), tmp_path / "sweep", [], "0")  # workers get every core
    swept = RunDir(tmp_path / "sweep" / outcome.plan.runs[0].folder).read_results()
    torch.set_num_threads(os.cpu_count() or 1)  # the caller's setting must not matter either
    plain = run_experiment(experiment, build_config(experiment, quick=True, overrides=TINY), tmp_path / "plain")
    assert torch.get_num_threads() == (os.cpu_count() or 1)  # restored after the run
    drop = ("wall_time_s",)
    assert {k: v for k, v in plain.results.items() if k not in drop} == {
        k: v for k, v in swept.items() if k not in drop
    }
