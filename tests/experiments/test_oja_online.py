import json
import math

import pytest
import yaml

from neuroplastic.experiments.oja_online import (
    BP_BASELINES,
    EXPERIMENT,
    METHODS,
    OJA_VARIANTS,
    OjaOnlineConfig,
    claims,
    paired_difference,
)
from neuroplastic.runs.runner import run_experiment


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("oja-online")
    run_experiment(EXPERIMENT, OjaOnlineConfig.quick(), path)
    return path, json.loads((path / "results.json").read_text())


def _conditions(results):
    for sweep in ("online", "depth", "init"):
        for setting in results[sweep]["mnist"].values():
            yield sweep, setting


def _layers(results, config):
    """(condition, number of weight layers) for every condition of the quick run."""
    for sweep in ("online", "depth", "init"):
        for key, condition in results[sweep]["mnist"].items():
            yield condition, (int(key) if sweep == "depth" else len(config.hidden)) + 1


def test_quick_run_has_every_method_condition_and_learns(quick_run):
    _, results = quick_run
    config = OjaOnlineConfig.quick()
    assert set(results["online"]["mnist"]) == set(config.preprocessings)
    assert set(results["depth"]["mnist"]) == {str(d) for d in config.depths}
    assert set(results["init"]["mnist"]) == {f"{g:g}" for g in config.init_scales}
    for sweep, condition in _conditions(results):
        assert set(condition) - {"preprocessing", "tuning"} == set(config.methods)
        for method in config.methods:
            r = condition[method]
            assert r["n"] == 2 and [run["seed"] for run in r["runs"]] == [0, 1]
            assert all(0.0 <= run["accuracy"] <= 1.0 for run in r["runs"])
        if sweep == "online":
            for method in config.methods:
                assert condition[method]["mean"] > 0.4, (method, condition[method]["mean"])  # chance is 0.1


def test_tuning_picks_the_validation_best_on_a_grid_that_includes_zero(quick_run):
    _, results = quick_run
    config = OjaOnlineConfig.quick()
    for sweep, condition in _conditions(results):
        tuning = condition["tuning"]
        grid, chosen = tuning["grid"]["bp"], tuning["chosen"]
        uniform = [r for r in grid if not r["layers"]]
        assert {(r["lr"], r["oja"]) for r in uniform} == {(a, b) for a in config.lr_grid for b in config.oja_grid}
        best_bp = max(r["accuracy"] for r in uniform if r["oja"] == 0)
        best_oja = max(r["accuracy"] for r in uniform)
        assert chosen["bp"][1] == 0 and any(
            [r["lr"], r["oja"]] == chosen["bp"] and r["accuracy"] == best_bp for r in uniform
        )
        assert any([r["lr"], r["oja"]] == chosen["bp_oja"] and r["accuracy"] == best_oja for r in uniform)
        assert condition["bp"]["theta"] == chosen["bp"] and condition["bp_oja"]["theta"] == chosen["bp_oja"]
        assert condition["bp_fixed"]["theta"] == [config.fixed_lr, 0.0]
        assert condition["bp_oja_fixed"]["theta"] == [config.fixed_lr, config.fixed_oja]
        if sweep == "online":  # trick learning rates are tuned here, on their own grids
            assert chosen["adam_b1"][0] in config.adam_lr_grid and chosen["layernorm_b1"][0] in config.lr_grid
            assert chosen["sgd_batch"][0] in config.sgd_batch_lr_grid
        else:
            assert not set(chosen) & {"adam", "adam_b1", "sgd_batch", "layernorm_b1", "batchnorm"}


def test_curves_diagnostics_and_preprocessing_are_recorded(quick_run):
    _, results = quick_run
    config = OjaOnlineConfig.quick()
    for kind, condition in results["online"]["mnist"].items():
        assert condition["preprocessing"]["kind"] == kind
        assert (condition["preprocessing"]["mean"] is None) == (kind == "raw")
        for method in config.methods:
            for run in condition[method]["runs"]:
                seen = [point[0] for point in run["curve"]]
                assert seen == sorted(seen) and seen[-1] == config.n_train and len(seen) >= config.curve_points
    for condition, layers in _layers(results, config):
        run = condition["bp_oja_fixed"]["runs"][0]
        for when in ("before", "after"):
            assert len(run[when]["rms"]) == len(run[when]["rank"]) == layers
            assert all(v > 0 for v in run[when]["rms"] + run[when]["rank"])
        # the same init for every method of a seed: the diagnostics before training agree
        assert condition["bp_fixed"]["runs"][0]["before"] == run["before"]


def test_the_quick_report_has_no_verdicts_but_figures(quick_run):
    path, results = quick_run
    assert results["quick"] is True and yaml.safe_load((path / "config.yaml").read_text())["quick_variant"] is True
    assert results["claims"] == [] and not any(n.startswith("Claim") for n in results["notes"])
    report = (path / "report.md").read_text()
    assert "**Quick variant**" in report and "supported" not in report
    assert not [r for r in EXPERIMENT.summarize(results) if r.verdict]
    assert len(results["figures"]) == 3 and all((path / f).is_file() for f in results["figures"])


def test_methods_with_the_same_theta_are_one_computation(quick_run):
    """Tuned BP + Oja choosing θ_oja = 0 (or tuned BP choosing the fixed lr) is that method: the same runs."""
    _, results = quick_run
    merged = 0
    for _, condition in _conditions(results):
        first = {}
        for method in ("bp_fixed", "bp_oja_fixed", "bp", "bp_oja", "bp_oja_layers"):
            lr, oja = condition[method]["theta"]
            key = (lr, oja, method == "bp_oja_layers" and oja > 0)
            if key in first:
                merged += 1
                assert condition[method]["same_as"] == first[key]
                assert condition[method]["runs"] == condition[first[key]]["runs"]
            else:
                first[key] = method
                assert "same_as" not in condition[method]
    assert merged > 0  # the quick grid makes some tuned choices coincide


def _condition(a, b):
    return {
        "x": {"runs": [{"seed": s, "accuracy": v} for s, v in enumerate(a)]},
        "y": {"runs": [{"seed": s, "accuracy": v} for s, v in enumerate(b)]},
    }


def test_paired_difference_is_the_t_interval_of_per_seed_differences():
    a, b = [0.90, 0.92, 0.95, 0.91, 0.93], [0.89, 0.90, 0.91, 0.90, 0.92]
    d = [x - y for x, y in zip(a, b, strict=True)]
    mean = sum(d) / 5
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / 4)
    half = 2.7764451051977987 * sd / math.sqrt(5)  # t_{0.975, 4}
    out = paired_difference(_condition(a, b), "x", "y")
    assert out["n"] == 5 and out["mean"] == pytest.approx(mean, abs=1e-15)
    assert (out["low"], out["high"]) == pytest.approx((mean - half, mean + half), abs=1e-9)
    assert paired_difference(_condition(a, b), "x", "absent") is None
    # pairing matters: the unpaired spread of a would make this interval cross 0; paired it does not
    assert out["low"] > 0


def _results(config, diffs):
    """Results where, per condition, BP + Oja (tuned) − BP (tuned) = ``diffs[label]`` on every seed (plus noise)."""
    noise = [0.0, 0.001, -0.001, 0.002, -0.002]

    def condition(delta):
        base = [0.8 + n for n in noise]
        runs = lambda values: {"runs": [{"seed": s, "accuracy": v} for s, v in enumerate(values)]}  # noqa: E731
        return {
            "bp": runs(base),
            "bp_oja": runs([v + delta + n for v, n in zip(base, reversed(noise), strict=True)]),
            "bp_fixed": runs(base),
            "bp_oja_fixed": runs(base),
        }

    return {
        "online": {"mnist": {p: condition(diffs.get("online", 0.0)) for p in config.preprocessings}},
        "depth": {"mnist": {str(d): condition(diffs.get("deep", 0.0)) for d in config.depths}},
        "init": {"mnist": {f"{g:g}": condition(diffs.get("init", 0.0)) for g in config.init_scales}},
    }


def test_verdicts_follow_the_paired_intervals():
    config = OjaOnlineConfig(datasets=("mnist",))
    verdicts = {c["claim"]: c for c in claims(config, _results(config, {"online": 0.05, "deep": -0.05}))}
    assert verdicts["online"]["verdict"] == "supported"
    assert verdicts["deep"]["verdict"] == "not supported"
    assert len(verdicts["deep"]["tuned_worse"]) == len([d for d in config.depths if d >= 6])
    assert verdicts["bad init"]["verdict"] == "not supported" and not verdicts["bad init"]["tuned_worse"]
    # only the fixed-θ comparison wins somewhere: supported under that stated condition
    results = _results(config, {})
    results["init"]["mnist"]["0.05"]["bp_oja_fixed"]["runs"] = [
        {"seed": s, "accuracy": 0.9 + 0.001 * s} for s in range(5)
    ]
    bad_init = next(c for c in claims(config, results) if c["claim"] == "bad init")
    assert bad_init["verdict"] == "supported under a stated condition"
    assert bad_init["where"] == ["BP + Oja, fixed θ, MNIST, g = 0.05"]
    assert {(r["a"], r["b"]) for r in bad_init["comparisons"]} == {
        (a, b) for a in OJA_VARIANTS[:2] for b in BP_BASELINES
    }


def test_beating_a_failed_tuning_of_bp_is_not_beating_bp():
    """BP + Oja must beat BP run both ways: above tuned BP (whose tuning failed) but not above BP at the fixed lr."""
    config = OjaOnlineConfig(datasets=("mnist",))
    results = _results(config, {})
    deepest = results["depth"]["mnist"][str(max(config.depths))]
    deepest["bp"]["runs"] = [{"seed": s, "accuracy": 0.5 + 0.001 * s} for s in range(5)]
    deepest["bp_oja"]["runs"] = [{"seed": s, "accuracy": 0.7 - 0.001 * s} for s in range(5)]
    deep = next(c for c in claims(config, results) if c["claim"] == "deep")
    assert deep["verdict"] == "not supported" and deep["where"] == []
    above_tuned = [r for r in deep["comparisons"] if r["a"] == "bp_oja" and r["b"] == "bp" and r["low"] > 0]
    assert len(above_tuned) == 1


def test_config_validation():
    for bad in (
        {"oja_grid": (0.001, 0.003)},  # no 0: tuning could not choose plain BP
        {"oja_grid": (0.0, -0.001)},
        {"methods": ("bp", "sgd")},
        {"preprocessings": ("raw",), "sweep_preprocessing": "centred"},
        {"preprocessings": ("whitened",)},
        {"lr_grid": ()},
        {"init_scales": (0.0,)},
        {"seeds": 0},
        {"trick_batch": 1},
        {"oja_layer_scales": ()},
    ):
        with pytest.raises(ValueError):
            OjaOnlineConfig(**bad)
    assert set(OjaOnlineConfig().methods) < set(METHODS)
