import json
import math
from dataclasses import replace

import pytest
import torch
from torch import nn

from neuroplastic import pc
from neuroplastic.data import DataUnavailableError
from neuroplastic.experiments import pc_gradients, pc_shared, pc_train
from neuroplastic.pc import fixed_pred_ratio
from neuroplastic.runs.folder import RunDir
from neuroplastic.runs.ledger import Ledger
from neuroplastic.runs.runner import run_experiment


@pytest.fixture
def mnist_available():
    from neuroplastic import data

    try:
        data.fetch("mnist")
        data.fetch("fashion_mnist")
    except DataUnavailableError as err:
        pytest.skip(f"MNIST or Fashion-MNIST unreachable: {err}")


def closed_form(eta: float, n: int, depth: int) -> list[float]:
    return [1 - fixed_pred_ratio(eta, n, depth, l) for l in range(1, depth + 1)]


@pytest.fixture(scope="module")
def quick_gradients(tmp_path_factory):
    """The quick pc-gradients run, with the CIFAR CNN on synthetic images (no CIFAR-10 here) and 200 test images (each
    evaluation of the CIFAR CNN costs about a second per 100 images): (results, folder)."""
    from neuroplastic import data

    try:
        data.fetch("mnist")
    except DataUnavailableError as err:
        pytest.skip(f"MNIST unreachable: {err}")
    quick = pc_gradients.PCGradientsConfig.quick()
    config = replace(quick, networks=("mnist_cnn", "cifar_cnn"), synthetic_data=("cifar10",), test_subset=200)
    path = tmp_path_factory.mktemp("pc-gradients")
    return run_experiment(pc_gradients.EXPERIMENT, config, path).results, path


@pytest.mark.realdata
def test_pc_gradients_quick_reproduces_the_closed_form_and_exactness(quick_gradients):
    results, path = quick_gradients
    assert any("synthetic images stood in for cifar10" in note for note in results["notes"])
    for network, depth in (("mnist_cnn", 5), ("cifar_cnn", 6)):
        by_key = results["results"][network]
        assert by_key["fixed_pred"]["mean_relative_error"] == pytest.approx(closed_form(0.1, 20, depth), abs=1e-4)
        assert max(by_key["exact_fpa"]["mean_relative_error"]) < 1e-5
        assert max(by_key["exact_fpa"]["mean_angle"]) < 0.5
    mnist = results["results"]["mnist_cnn"]
    for key in ("strict", "strict_vhat"):
        strict = mnist[key]["mean_relative_error"]
        assert strict[0] > strict[-2] > strict[-1]  # attenuated most in the deepest layers
    assert mnist["strict_vhat"]["label"] == "strict η=0.1 n=20 (MSE, dθ at v̂ as in 2021)"
    assert mnist["backprop_mse"]["label"] == "backprop (MSE)"
    assert (path / "figures" / "relative_error_mnist_cnn.png").exists()
    rows = {row.quantity: row for row in pc_gradients.summarize(results)}
    assert rows["MNIST CNN fixed_pred η=0.1 n=20 (CE): relative error per layer"].ours == "0.885, 0.705, 0.42, 0.135, 0"
    assert rows["MNIST CNN backprop (MSE): test accuracy"].ours == mnist["backprop_mse"]["test_accuracy"]


@pytest.mark.realdata
def test_pc_gradients_quick_sweeps_fixed_prediction_on_the_closed_form_and_strict_divergence_as_data(quick_gradients):
    results, path = quick_gradients
    sweeps = results["sweeps"]["mnist_cnn"]
    fig4 = sweeps["fig4"]
    assert fig4["trained_by"] == "backprop (CE)"
    offsets, absolute = (fig4["variants"][v]["curves"] for v in ("offsets", "absolute"))
    for eta in ("0.1", "1"):  # ours follows 1 − P[Bin(n−1, η) ≥ L−l] in float32, for every n
        expected = [closed_form(float(eta), n, 5) for n in fig4["n"]]
        assert torch.tensor(offsets[eta]["relative_error"]) == pytest.approx(torch.tensor(expected), abs=1e-4)
    at_l = fig4["n"].index(5)
    assert offsets["1"]["relative_error"][at_l:] == [[0.0] * 5] * (len(fig4["n"]) - at_l)  # exact from n = L on
    # Absolute storage cancels in float32: above ours (which is exactly 0) in the hidden layers, yet within 1.5%.
    assert all(0 < e < 0.015 for row in absolute["1"]["relative_error"][at_l:] for e in row[:4])
    rows = {row.quantity: row.ours for row in pc_gradients.summarize(results)}
    for variant in ("fixed_pred (CE)", "fixed_pred (CE, absolute storage)"):
        quantity = f"MNIST CNN Fig. 4, {variant}, η = 1: first n from which each layer's relative error stays ≤ 0.015"
        assert rows[quantity] == "5, 4, 3, 2, 1"  # layers 4, 3, 2, 1 become exact at n = 2, 3, 4, 5
    fig2 = sweeps["fig2"]
    assert fig2["trained_by"] == "backprop (MSE)" and fig2["closed_form"] is None
    for variant in ("beliefs", "vhat"):
        curves = fig2["variants"][variant]["curves"]
        assert curves["0.1"]["energy_rise"] is None and curves["0.1"]["diverged"] is None
        stable = curves["0.1"]["relative_error"][-1]
        assert stable[0] > stable[3] > stable[4]
        unstable = curves["1"]  # η = 1 diverges: recorded as data, the run goes on
        assert unstable["energy_rise"] is not None or unstable["diverged"] is not None
        last = [float(e) for e in unstable["relative_error"][-1]]
        assert all(math.isnan(e) for e in last) or max(last) > 100
    for name in ("fig2_mnist_cnn.png", "fig4_mnist_cnn.png"):
        assert (path / "figures" / name).exists()


def test_a_sweep_records_a_diverging_strict_inference_and_the_larger_n_as_nan():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Sequential(nn.Linear(6, 8), nn.Tanh()), nn.Sequential(nn.Linear(8, 8)), nn.Linear(8, 3))
    x, y = torch.randn(4, 6), torch.tensor([0, 1, 2, 0])
    setting = pc_shared.Setting("strict", "mse", eta=9.0)
    curve = pc_gradients.sweep_curve(model, setting, x, y, (1, 2, 400, 800))
    assert curve["energy_rise"] is not None
    assert curve["diverged"]["n"] == 400 and "step" in curve["diverged"]["message"]
    assert all(math.isfinite(e) for row in curve["relative_error"][:2] for e in row)
    assert all(math.isnan(e) for row in curve["relative_error"][2:] for e in row)


def test_a_setting_names_its_loss_and_refuses_an_option_of_another_mode():
    assert pc_shared.Setting("backprop", "mse").loss_fn is pc_shared.mse_onehot
    assert pc_shared.Setting("fixed_pred", "ce", 0.2, 10, storage="absolute").label == (
        "fixed_pred η=0.2 n=10 (CE, absolute storage)"
    )
    assert pc_shared.Setting("strict", "mse").pc_mode() == pc.Strict(eta=1.0, n=None)
    absolute = pc_shared.Setting("fixed_pred", eta=0.5, n=3, storage="absolute")
    assert absolute.pc_mode() == pc.FixedPred(eta=0.5, n=3, storage="absolute")
    assert pc_shared.Setting("exact").pc_mode() == pc.Exact()
    with pytest.raises(ValueError, match="backprop is not a predictive-coding mode"):
        pc_shared.Setting("backprop").pc_mode()
    with pytest.raises(ValueError, match="storage is an option of fixed prediction, not of strict"):
        pc_shared.Setting("strict", "mse", storage="absolute")
    with pytest.raises(ValueError, match="strict_grad_at is an option of strict PC, not of backprop"):
        pc_shared.Setting("backprop", strict_grad_at="vhat")
    with pytest.raises(ValueError, match="loss must be one of ce, mse, got 'l1'"):
        pc_shared.Setting("backprop", "l1")


@pytest.mark.realdata
def test_pc_train_quick_learns_with_every_setting(tmp_path, mnist_available):
    results = run_experiment(pc_train.EXPERIMENT, pc_train.PCTrainConfig.quick(), tmp_path).results["results"]
    for network, by_dataset in results.items():
        for dataset, by_mode in by_dataset.items():
            assert list(by_mode) == ["backprop", "backprop_mse", "strict", "fixed_pred"]
            for mode, r in by_mode.items():
                assert r["mean"] > 0.2, (network, dataset, mode, r["mean"])  # chance is 0.1 (80 steps only)
                assert len(r["test_accuracy"]) == 2
            assert by_mode["backprop"]["time_vs_backprop"] == pytest.approx(1.0)
            assert by_mode["strict"]["label"].endswith("(MSE)") and by_mode["backprop_mse"]["label"] == "backprop (MSE)"


def tiny_configs():
    """pc-train and pc-gradients on a few synthetic MNIST images, each step of either kind at least once."""
    train = pc_train.PCTrainConfig(
        networks=("mlp",),
        datasets=("mnist",),
        synthetic_data=("mnist",),
        seeds=1,
        epochs=1,
        batch_size=20,
        train_subset=40,
        test_subset=20,
    )
    gradients = pc_gradients.PCGradientsConfig(
        networks=("mnist_cnn",),
        synthetic_data=("mnist",),
        mnist_steps=2,
        mnist_batch=8,
        record_every=1,
        test_subset=20,
        sweep_etas=(1.0,),
        strict_sweep_n=(1,),
        fixed_pred_sweep_n=(1,),
    )
    return [(pc_train, train), (pc_gradients, gradients)]


@pytest.mark.parametrize(("module", "config"), tiny_configs(), ids=["pc-train", "pc-gradients"])
def test_the_pc_experiments_run_on_the_device_the_config_names(module, config, tmp_path, monkeypatch, offline):
    asked, used = [], set()

    def resolve(name):
        asked.append(name)
        return torch.device("cpu")

    def spy(function, position):
        def recorded(*args, **kwargs):
            used.add(args[position])
            return function(*args, **kwargs)

        return recorded

    monkeypatch.setattr(module, "resolve_device", resolve)
    monkeypatch.setattr(module, "make_network", spy(module.make_network, 2))
    monkeypatch.setattr(module, "image_batch", spy(module.image_batch, 3))
    monkeypatch.setattr(module, "accuracy", spy(module.accuracy, 3))
    # "cuda" passes the config's check (a device type we support) but not the runner's (no CUDA here): call run
    # directly, so the experiment must resolve config.device itself and put every network and batch there.
    module.EXPERIMENT.run(
        replace(config, device="cuda"), RunDir.prepare(tmp_path / "cuda", experiment="x", config=config)
    )
    assert asked == ["cuda"] and used == {torch.device("cpu")}
    outcome = run_experiment(module.EXPERIMENT, config, tmp_path / "cpu")
    assert json.loads((outcome.path / "environment.json").read_text())["device"] == "cpu"
    assert asked == ["cuda", "cpu"]


def test_pc_gradients_killed_inside_a_sweep_resumes_to_the_same_results(tmp_path, monkeypatch, offline):
    config = replace(tiny_configs()[1][1], sweep_etas=(0.5, 1.0))
    whole = run_experiment(pc_gradients.EXPERIMENT, config, tmp_path / "whole").results
    saves, save = [], Ledger.save_partial

    def killed_at_the_third_sweep_curve(ledger, part, curves):
        if part[1] == "fig2" and sum(map(len, curves.values())) == 3:
            raise KeyboardInterrupt
        saves.append(part)
        save(ledger, part, curves)

    monkeypatch.setattr(Ledger, "save_partial", killed_at_the_third_sweep_curve)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(pc_gradients.EXPERIMENT, config, tmp_path / "killed")
    assert saves[-1][1] == "fig2"  # two of Fig. 2's curves were saved
    monkeypatch.setattr(Ledger, "save_partial", save)
    curves, sweep_curve = [], pc_gradients.sweep_curve
    monkeypatch.setattr(pc_gradients, "sweep_curve", lambda *args: curves.append(args[1]) or sweep_curve(*args))
    resumed = run_experiment(pc_gradients.EXPERIMENT, config, tmp_path / "killed").results
    assert len(curves) == 2 * 4 - 2  # the two saved curves of Fig. 2 were not computed again
    assert resumed["results"] == whole["results"] and resumed["sweeps"] == whole["sweeps"]
