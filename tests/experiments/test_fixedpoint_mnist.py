from dataclasses import replace

from neuroplastic.experiments import fixedpoint_mnist
from neuroplastic.experiments.fixedpoint_mnist import FixedPointMNISTConfig
from neuroplastic.runs.runner import run_experiment

SYNTHETIC = replace(FixedPointMNISTConfig.quick(), synthetic_data=("mnist",))


def test_quick_run_reparameterised_rule_beats_the_euclidean_gradient(tmp_path, offline):
    outcome = run_experiment(fixedpoint_mnist.EXPERIMENT, SYNTHETIC, tmp_path / "run")
    results = outcome.results["results"]["mnist"]
    best = outcome.results["best"]["mnist"]
    dw1, dw3 = results["euclidean"][best["euclidean"]], results["reparam"][best["reparam"]]
    assert dw3["train_loss_last50"] < dw1["train_loss_last50"]
    assert dw3["test_accuracy"] > 0.3  # chance is 0.1
    assert dw3["max_re_eig_W"] < 1 and dw3["max_abscissa"] < 0  # ΔW3 keeps the fixed points stable
    for runs in results.values():
        for r in runs.values():
            assert r["unconverged_steps"] == 0 and r["max_residual"] <= 1e-5
    assert any("synthetic" in note for note in outcome.results["notes"])
    rows = fixedpoint_mnist.summarize(outcome.results)
    assert rows and all(row.reference is None for row in rows)  # quick sizes have no published counterpart
