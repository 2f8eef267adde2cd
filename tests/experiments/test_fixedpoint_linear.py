import pytest

from neuroplastic.experiments import fixedpoint_linear
from neuroplastic.experiments.fixedpoint_linear import FixedPointLinearConfig
from neuroplastic.runs.runner import run_experiment


def test_quick_linear_run_keeps_the_papers_ordering(tmp_path):
    outcome = run_experiment(fixedpoint_linear.EXPERIMENT, FixedPointLinearConfig.quick(), tmp_path / "run")
    results = outcome.results
    best = results["best"]
    # at the best η of each rule, the reparameterised rules end far below the Euclidean gradient
    assert best["dw3"]["final_J"] * 10 < best["dw1"]["final_J"]
    assert best["dw2"]["final_J"] * 10 < best["dw1"]["final_J"]
    for lr in (0.3, 1.0, 3.0):  # ΔW3 is the first-order form of ΔW2: their curves nearly coincide
        j2, j3 = results["results"][f"dw2/{lr:g}"]["final_J"], results["results"][f"dw3/{lr:g}"]["final_J"]
        assert abs(j2 - j3) < 0.1 * j2
    theta12, theta23 = results["angles"]["theta12"], results["angles"]["theta23"]
    assert theta12[0] > 60 and theta23[0] < 2.5 and theta23[-1] < theta23[0]
    assert results["landscape"]["j_at_w0"] < 1e-20 and results["landscape"]["max_slice_J"] > 1e3
    assert {row.quantity for row in fixedpoint_linear.summarize(results)} >= {"ΔW1 (gradient), η = 1: J at step 100"}
    assert (tmp_path / "run" / "figures" / "landscape.png").exists()


@pytest.mark.slow
def test_full_size_task_matches_the_spec_table_at_step_1000(tmp_path):
    config = FixedPointLinearConfig(
        rules=("dw1", "dw3"), learning_rates=(1.0, 3.0), steps=1000, angle_steps=1, slice_directions=1, grid_points=3
    )
    results = run_experiment(fixedpoint_linear.EXPERIMENT, config, tmp_path / "run").results["results"]
    assert results["dw3/1"]["J"]["1000"] == pytest.approx(1.2e-6, rel=0.05)
    assert results["dw1/1"]["J"]["1000"] == pytest.approx(6.9e-4, rel=0.05)
    assert results["dw3/3"]["J"]["1000"] < 1e-12 < 1e-3 < results["dw1/3"]["J"]["1000"]


def test_a_rule_whose_every_learning_rate_diverges_is_reported_not_crashed(tmp_path, monkeypatch):
    def diverging(task, rule, lr, steps):
        return {"loss": [1.0, 2.0, 3.0], "diverged_at": 3, "max_re_eig": None}

    monkeypatch.setattr(fixedpoint_linear, "_train", diverging)
    config = FixedPointLinearConfig(
        n=20, m=10, rules=("dw1",), learning_rates=(1.0, 3.0), steps=5, angle_steps=1, slice_directions=1, grid_points=3
    )
    results = run_experiment(fixedpoint_linear.EXPERIMENT, config, tmp_path / "run").results
    assert results["best"]["dw1"] == {"lr": None, "final_J": None, "diverged_at": {"1": 3, "3": 3}}
    assert any("every η diverged (η = 1 at step 3, η = 3 at step 3)" in note for note in results["notes"])
    assert any("every η diverged" in str(row.ours) for row in fixedpoint_linear.summarize(results))
