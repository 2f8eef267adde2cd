import json
from dataclasses import replace

import pytest

from neuroplastic.experiments.fa_online import EXPERIMENT, FAOnlineConfig
from neuroplastic.runs.runner import run_experiment


def test_quick_run_gives_both_learning_curves_and_crossing_samples(offline, tmp_path):
    config = replace(FAOnlineConfig.quick(), synthetic_data=("mnist",))
    run_experiment(EXPERIMENT, config, tmp_path)
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["checkpoints"] == list(config.checkpoints)
    for feedback in ("bp", "fa"):
        curve = results["rules"][feedback]["curve"]
        assert len(curve) == len(config.checkpoints) and all(len(p["per_seed"]) == config.seeds for p in curve)
        assert curve[-1]["mean"] > curve[0]["mean"] + 0.2  # it learned from chance
        for threshold, s in results["rules"][feedback]["samples_to"].items():
            reached = [n for n in s["per_seed"] if n is not None]
            assert all(n in config.checkpoints for n in reached)
            assert all(  # the first checkpoint at or above the threshold, per seed
                next(c for c, p in zip(config.checkpoints, curve) if p["per_seed"][i] >= float(threshold)) == n
                for i, n in enumerate(s["per_seed"])
                if n is not None
            )
    assert (tmp_path / results["figures"][0]).is_file()
    assert any("samples to" in row.quantity for row in EXPERIMENT.summarize(results))


def test_config_validation():
    with pytest.raises(ValueError, match="checkpoints"):
        FAOnlineConfig(checkpoints=(100, 50))
    with pytest.raises(ValueError, match="checkpoints"):
        FAOnlineConfig(n_train=1000)
    with pytest.raises(ValueError, match="feedbacks"):
        FAOnlineConfig(feedbacks=("dfa",))
