"""The reservoir-automaticity experiment.

Oracle: the same seeds trained with no tests in between, and the uninterrupted run for a resumed one.
"""

import pytest
import torch

from neuroplastic.experiments.reservoir_automaticity import EXPERIMENT, ReservoirAutomaticityConfig
from neuroplastic.reservoir import Reservoir, Simulation, Supertrex, preset
from neuroplastic.runs.folder import RunDir
from neuroplastic.runs.ledger import Ledger
from neuroplastic.runs.runner import run_experiment


def test_testing_after_each_trial_leaves_the_training_trajectory_unchanged(tmp_path):
    """The oracle: the same seeds trained trial after trial with no tests in between."""
    config = ReservoirAutomaticityConfig.quick()
    results = run_experiment(EXPERIMENT, config, tmp_path).results
    p = preset(config.preset, period=config.period, n=config.n)
    seeds = [config.seed + i for i in range(config.seeds)]
    sim = Simulation(Reservoir(p.reservoir, 2, seeds), Supertrex(p.supertrex), p.task)
    for record in results["trials"]:
        untested = sim.run(config.period, learn=True).mse.sqrt()
        torch.testing.assert_close(
            torch.tensor(record["train_rmse"], dtype=torch.float64), untested, rtol=0, atol=1e-12
        )
    norms = sim.readout_state.weight_norms()
    torch.testing.assert_close(
        torch.tensor(results["trials"][-1]["W2"], dtype=torch.float64), norms["W2"], rtol=0, atol=1e-12
    )
    assert set(results["at"]) == {"2", "4"}
    # replay drives both tests alike, so the outputs differ by z₂ = W₂ r alone: no W₂, no difference
    assert all(v > 0 for v in results["trials"][-1]["z2_rms"])
    rows = EXPERIMENT.summarize(results)
    assert len(rows) == 2 * 6 + 1
    assert all((tmp_path / f).exists() for f in results["figures"])


def test_bad_automaticity_config_is_refused():
    with pytest.raises(ValueError, match="report_trials"):
        ReservoirAutomaticityConfig(trials=5, report_trials=(10,))


def test_a_killed_run_resumes_to_the_uninterrupted_result(tmp_path, monkeypatch):
    config = ReservoirAutomaticityConfig.quick()
    reference = run_experiment(EXPERIMENT, config, tmp_path / "reference").results
    original = Ledger.save_partial

    def killed_after_two_trials(self, part, training):
        original(self, part, training)
        if len(training["trials"]) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(Ledger, "save_partial", killed_after_two_trials)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(EXPERIMENT, config, tmp_path / "killed")
    monkeypatch.setattr(Ledger, "save_partial", original)
    resumed = run_experiment(EXPERIMENT, config, tmp_path / "killed").results
    assert resumed["trials"] == reference["trials"]
    assert [m["trial"] for m in RunDir(tmp_path / "killed").metrics()] == [1, 2, 3, 4]
