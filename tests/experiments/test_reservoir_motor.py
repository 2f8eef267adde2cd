import pytest

from neuroplastic.experiments.reservoir_motor import EXPERIMENT, ReservoirMotorConfig, build_readout
from neuroplastic.reservoir import NotApplicable, preset
from neuroplastic.runs.runner import run_experiment


def test_quick_run_learns_and_reports_both_protocols(tmp_path):
    outcome = run_experiment(EXPERIMENT, ReservoirMotorConfig.quick(), tmp_path)
    conditions = outcome.results["conditions"]
    assert set(conditions) == {f"pyle2019-task2/{a}/{i}" for a in ("rmhl", "supertrex") for i in ("none", "clock")}
    for c in conditions.values():
        # learning happened: the hand error of the last training trial is well below the first trial's
        for first, last in zip(c["train_rmse_first_trial"], c["train_rmse_last_trial"], strict=True):
            assert last < 0.75 * first
        assert "replayed training output" in c["protocols"]["authors"]
        assert c["deviation"]["authors"] != c["deviation"]["closed_loop"]
    rows = EXPERIMENT.summarize(outcome.results)
    assert len(rows) == 8
    assert {r.reference for r in rows if "authors" in r.quantity and "input none" in r.quantity} == {
        "0.759 ± 0.284 (0/11)",
        "0.011 ± 0.003 (11/11), median 0.0088",
    }
    assert all((tmp_path / f).exists() for f in outcome.results["figures"])


def test_force_is_refused_on_the_arm_and_bad_configs_are_refused():
    with pytest.raises(NotApplicable, match="joint angles"):
        build_readout(preset("pyle2019-task2", n=10), "force", [0], dtype=None, device="cpu")
    with pytest.raises(ValueError, match="unknown presets"):
        ReservoirMotorConfig(presets=("task9",))
    with pytest.raises(ValueError, match="train_trials > test_trials"):
        ReservoirMotorConfig(train_trials=5, test_trials=5)
