from dataclasses import replace

import pytest

from neuroplastic.data import DataUnavailableError
from neuroplastic.experiments import pc_gradients, pc_train
from neuroplastic.pc import fixed_pred_ratio
from neuroplastic.runs.runner import run_experiment


@pytest.fixture
def mnist_available():
    from neuroplastic import data

    try:
        data.fetch("mnist")
        data.fetch("fashion_mnist")
    except DataUnavailableError as err:
        pytest.skip(f"MNIST or Fashion-MNIST unreachable: {err}")


@pytest.mark.realdata
def test_pc_gradients_quick_reproduces_the_closed_form_and_exactness(tmp_path, mnist_available):
    quick = pc_gradients.PCGradientsConfig.quick()
    config = replace(quick, networks=("mnist_cnn", "cifar_cnn"), synthetic_data=("cifar10",))  # no CIFAR-10 here
    results = run_experiment(pc_gradients.EXPERIMENT, config, tmp_path).results
    assert any("synthetic images stood in for cifar10" in note for note in results["notes"])
    for network, depth in (("mnist_cnn", 5), ("cifar_cnn", 6)):
        by_key = results["results"][network]
        closed = [1 - fixed_pred_ratio(config.eta, config.n, depth, l) for l in range(1, depth + 1)]
        assert by_key["fixed_pred"]["mean_relative_error"] == pytest.approx(closed, abs=1e-4)  # float32 training
        assert max(by_key["exact_fpa"]["mean_relative_error"]) < 1e-5
        assert max(by_key["exact_fpa"]["mean_angle"]) < 0.5
    strict = results["results"]["mnist_cnn"]["strict"]["mean_relative_error"]
    assert strict[0] > strict[-2] > strict[-1]  # attenuated most in the deepest layers
    assert (tmp_path / "figures" / "relative_error_mnist_cnn.png").exists()
    rows = {row.quantity: row for row in pc_gradients.summarize(results)}
    assert rows["MNIST CNN fixed_pred η=0.1 n=20: relative error per layer"].ours == "0.885, 0.705, 0.42, 0.135, 0"


@pytest.mark.realdata
def test_pc_train_quick_learns_with_every_setting(tmp_path, mnist_available):
    results = run_experiment(pc_train.EXPERIMENT, pc_train.PCTrainConfig.quick(), tmp_path).results["results"]
    for network, by_dataset in results.items():
        for dataset, by_mode in by_dataset.items():
            for mode, r in by_mode.items():
                assert r["mean"] > 0.2, (network, dataset, mode, r["mean"])  # chance is 0.1 (20 steps only)
                assert len(r["test_accuracy"]) == 2
            assert by_mode["backprop"]["time_vs_backprop"] == pytest.approx(1.0)
