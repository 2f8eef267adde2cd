"""The reservoir-motor experiment.

Oracle: the quick run's own per-seed numbers summarised independently (``statistics.median_low``: the report's
median of an even count is the lower middle value, as ``torch.median``), hand-computed
Student-t intervals, and the uninterrupted run for a resumed one.
"""

import statistics

import pytest

from neuroplastic.experiments.reservoir_motor import (
    EXPERIMENT,
    LABELS,
    PROTOCOL_LABELS,
    TASK_LABELS,
    ReservoirMotorConfig,
    build_readout,
    configured_preset,
    format_stats,
    summary_stats,
)
from neuroplastic.reservoir import NotApplicable, preset
from neuroplastic.runs.ledger import Ledger
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
    by_quantity = {r.quantity: r.ours for r in rows}
    for key, c in conditions.items():  # one row per condition and protocol, led by the median over seeds
        name, algorithm, inp = key.split("/")
        for protocol, label in PROTOCOL_LABELS.items():
            ours = by_quantity[f"{TASK_LABELS[name]} {LABELS[algorithm]} deviation ({label}, input {inp})"]
            assert ours.startswith(f"median {statistics.median_low(c['deviation'][protocol]):.4f}; ")
    assert len(rows) == 2 * len(conditions) + 1
    assert outcome.results["not_applicable"] == {
        "pyle2019-task2/force": "FORCE is not applicable to pyle2019-task2: it needs target joint angles"
    }
    assert rows[-1].ours.startswith("not applicable") and rows[-1].reference == "n/a"
    assert {r.reference for r in rows if "authors" in r.quantity and "input none" in r.quantity} == {
        "0.759 ± 0.284 (0/11)",
        "0.011 ± 0.003 (11/11), median 0.0088",
    }
    assert all((tmp_path / f).exists() for f in outcome.results["figures"])


def test_tasks_1_and_3_run_every_learner_under_both_protocols(tmp_path):
    """A tiny run of Task 1 (FORCE, RMHL, SUPERTREX) and Task 3 (original and ReScience-modified presets)."""
    config = ReservoirMotorConfig(
        presets=("pyle2019-task1", "pyle2019-task3", "resci2021-task3"),
        n=60,
        period=300,
        train_trials=3,
        test_trials=1,
        seeds=2,
        points_per_trial=10,
    )
    results = run_experiment(EXPERIMENT, config, tmp_path).results
    c = results["conditions"]
    expected = {"pyle2019-task1/" + a for a in ("force", "rmhl", "supertrex")}
    expected |= {"pyle2019-task3/rmhl", "pyle2019-task3/supertrex", "resci2021-task3/supertrex"}
    assert set(c) == {f"{k}/{i}" for k in expected for i in ("none", "clock")}
    assert set(results["not_applicable"]) == {"pyle2019-task3/force", "resci2021-task3/force"}
    for key, condition in c.items():
        task1 = key.startswith("pyle2019-task1")
        assert ("teacher forced" if task1 else "replayed training output") in condition["protocols"]["authors"]
        assert len(condition["deviation"]["closed_loop"]) == 2
    force = c["pyle2019-task1/force/none"]  # FORCE's training error falls within the first trials
    for first, last in zip(force["train_rmse_first_trial"], force["train_rmse_last_trial"], strict=True):
        assert last < 0.8 * first
    rows = EXPERIMENT.summarize(results)
    assert len(rows) == 2 * len(c) + 2


def test_force_is_refused_on_the_arm_and_bad_configs_are_refused():
    with pytest.raises(NotApplicable, match="joint angles"):
        build_readout(preset("pyle2019-task2", n=10), "force")
    with pytest.raises(ValueError, match=r"no learner .* \(resci2021-task3: supertrex\)"):
        ReservoirMotorConfig(presets=("resci2021-task3",), algorithms=("rmhl",))
    with pytest.raises(ValueError, match="mastery_target must be"):
        ReservoirMotorConfig(mastery_target="z1")
    with pytest.raises(ValueError, match="connectivity must be"):
        ReservoirMotorConfig(connectivity="exact")
    with pytest.raises(ValueError, match="unknown presets"):
        ReservoirMotorConfig(presets=("task9",))
    with pytest.raises(ValueError, match="train_trials > test_trials"):
        ReservoirMotorConfig(train_trials=5, test_trials=5)


def test_statistics_leave_out_dropped_seeds_and_count_them():
    """Hand values over the finished seeds (0.1, 0.7, 0.3): mean 0.3667, sd 0.3055, t(0.975, 2) = 4.3027."""
    s = summary_stats([0.1, None, 0.7, 0.3])
    assert (s["n"], s["finished"], s["learned"]) == (4, 3, 2)
    assert s["mean"] == pytest.approx(0.36667, abs=1e-4) and s["median"] == pytest.approx(0.3)
    assert (s["ci_low"], s["ci_high"]) == pytest.approx((0.36667 - 0.75891, 0.36667 + 0.75891), abs=1e-4)
    assert format_stats(s).endswith("3/4 finished, 2/4 learned (< 0.5)")
    assert format_stats(summary_stats([None, None])) == "0/2 finished, 0/2 learned (< 0.5)"


def test_mastery_target_and_connectivity_reach_the_preset():
    config = ReservoirMotorConfig(mastery_target="zbar2", connectivity="with_replacement", n=50, period=100)
    p = configured_preset(config, "pyle2019-task1", clock=True)
    assert p.supertrex.mastery_target == "zbar2" and p.reservoir.connectivity == "with_replacement"
    assert p.reservoir.n == 50 and p.reservoir.n_inputs == 2 and p.task.period == 100
    default = configured_preset(ReservoirMotorConfig(), "pyle2019-task1", clock=False)
    assert default.supertrex.mastery_target == "z2" and default.reservoir.connectivity == "bernoulli"


def test_a_run_killed_inside_a_condition_resumes_to_the_uninterrupted_result(tmp_path, monkeypatch):
    config = ReservoirMotorConfig(
        presets=("pyle2019-task2",),
        algorithms=("supertrex",),
        inputs=("none",),
        n=60,
        period=500,
        train_trials=4,
        test_trials=2,
        seeds=2,
        points_per_trial=10,
    )
    reference = run_experiment(EXPERIMENT, config, tmp_path / "reference").results["conditions"]
    original = Ledger.save_partial

    def killed_in_the_third_training_trial(self, part, training):
        original(self, part, training)
        if len(training["traces"]) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(Ledger, "save_partial", killed_in_the_third_training_trial)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(EXPERIMENT, config, tmp_path / "killed")
    monkeypatch.setattr(Ledger, "save_partial", original)
    resumed = run_experiment(EXPERIMENT, config, tmp_path / "killed").results["conditions"]
    for key, condition in reference.items():
        for field in ("deviation", "train_rmse_first_trial", "train_rmse_last_trial", "final_norms", "curves"):
            assert resumed[key][field] == condition[field], field
