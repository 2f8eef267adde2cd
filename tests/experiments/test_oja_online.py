import json

import pytest
import yaml

from neuroplastic.experiments.oja_online import EXPERIMENT, METHODS, OjaOnlineConfig
from neuroplastic.runs.runner import run_experiment


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("oja-online")
    run_experiment(EXPERIMENT, OjaOnlineConfig.quick(), path)
    return path, json.loads((path / "results.json").read_text())


def test_quick_run_learns_and_tunes_on_validation(quick_run):
    path, results = quick_run
    online = results["online"]["mnist"]
    assert set(online) == set(METHODS)
    for method, r in online.items():
        assert r["n"] == 2 and r["diverged"] == 0
        assert r["mean"] > 0.4, (method, r["mean"])  # chance is 0.1
    tuning = results["tuning"]["mnist"]
    config = OjaOnlineConfig.quick()
    for feedback in ("bp", "fa"):
        grid = tuning["grid"][feedback]
        for method, with_oja in ((feedback, False), (f"{feedback}_oja", True)):
            candidates = [r for r in grid if (r["oja"] > 0) == with_oja]
            lr, oja = tuning["chosen"][method]
            assert lr in config.lr_grid and (oja in config.oja_grid if with_oja else oja == 0)
            best = max(r["accuracy"] for r in candidates)
            assert any(r["lr"] == lr and r["oja"] == oja and r["accuracy"] == best for r in candidates)
    assert set(results["depth"]) == {str(d) for d in config.depths}
    assert set(results["init"]) == {f"{g:g}" for g in config.init_scales}
    for sweep in ("depth", "init"):
        for point in results[sweep].values():
            assert all(0.0 <= point[m]["mean"] <= 1.0 for m in METHODS)
    assert all((path / f).is_file() for f in results["figures"])
    assert not any(n.startswith("Claim") for n in results["notes"])  # a quick variant tests no claim


def test_the_quick_report_has_no_reference_column_and_no_verdicts(quick_run):
    path, results = quick_run
    assert results["quick"] is True and yaml.safe_load((path / "config.yaml").read_text())["quick_variant"] is True
    report = (path / "report.md").read_text()
    assert "**Quick variant**" in report and "| quantity | ours (quick variant) |" in report
    assert "reference" not in report.split("| quantity |")[1] and "beats" not in report
    rows = EXPERIMENT.summarize(results)
    assert [r for r in rows if r.verdict] == [r for r in rows if "beats" in r.quantity] != []


def test_summary_rows(quick_run):
    _, results = quick_run
    rows = EXPERIMENT.summarize(results)
    assert len([r for r in rows if "test accuracy" in r.quantity]) == len(METHODS)
    assert all(r.ours in ("yes", "no") for r in rows if "beats" in r.quantity)


def test_config_validation():
    with pytest.raises(ValueError):
        OjaOnlineConfig(lr_grid=())
    with pytest.raises(ValueError):
        OjaOnlineConfig(init_scales=(0.0,))
    with pytest.raises(ValueError):
        OjaOnlineConfig(seeds=0)
