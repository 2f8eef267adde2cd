import json
from dataclasses import dataclass

from neuroplastic.runs.experiment import Experiment, ExperimentConfig, ReportRow
from neuroplastic.runs.figures import close, new_figure
from neuroplastic.runs.runner import build_config, default_run_path, reproduce


@dataclass(frozen=True, kw_only=True)
class ToyConfig(ExperimentConfig):
    value: float = 2.0
    fail: bool = False

    @classmethod
    def quick(cls):
        return cls(value=1.0)


def toy_run(config, run_dir):
    if config.fail:
        raise RuntimeError("deliberate failure")
    figure, (ax,) = new_figure()
    ax.plot([0, 1], [0, config.value])
    path = run_dir.save_figure(figure, "line")
    close(figure)
    return {"value": config.value, "figures": [path], "notes": ["a toy note"], "diverged": float("inf")}


@dataclass(frozen=True, kw_only=True)
class FailingConfig(ToyConfig):
    fail: bool = True


def toy(name, paper, config_class=ToyConfig):
    return Experiment(
        name,
        f"{name} description",
        paper,
        config_class,
        toy_run,
        lambda r: [ReportRow("value", r["value"], 1.0, "Toy et al. (2020)")],
    )


def test_build_config_applies_quick_seed_device_and_overrides():
    exp = toy("a", "Paper A")
    assert build_config(exp).value == 2.0
    cfg = build_config(exp, quick=True, seed=4, device="cpu", overrides=["value=3"])
    assert (cfg.value, cfg.seed, cfg.device) == (3.0, 4, "cpu")
    assert default_run_path(exp, cfg).parts[:2] == ("runs", "a")
    assert default_run_path(exp, cfg).name.endswith("-seed4")


def test_reproduce_writes_one_report_with_a_table_per_paper(tmp_path):
    experiments = [toy("a", "Paper A"), toy("b", "Paper B"), toy("c", "Paper A", FailingConfig)]
    messages = []
    entries = reproduce(experiments, tmp_path, quick=True, echo=messages.append)
    assert [e.error is None for e in entries] == [True, True, False]
    report = (tmp_path / "report.md").read_text()
    assert report.index("## Paper A") < report.index("### `a`") < report.index("### `c`") < report.index("## Paper B")
    assert "| value | 1 | 1 | Toy et al. (2020) |" in report
    assert "![line](a/figures/line.png)" in report and (tmp_path / "a" / "figures" / "line.png").exists()
    assert "**Failed:** RuntimeError: deliberate failure" in report
    assert "deliberate failure" in json.loads((tmp_path / "c" / "error.json").read_text())["traceback"]
    assert "- a toy note" in report
    assert (tmp_path / "summary.json").exists() and (tmp_path / "a" / "report.md").exists()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["experiments"]["a"]["results"]["diverged"] == "inf"  # non-finite numbers survive as strings
    # A second reproduce skips the finished runs and retries the failed one.
    messages.clear()
    reproduce(experiments, tmp_path, quick=True, echo=messages.append)
    assert "[a] already finished" in messages and "[c] FAILED: deliberate failure" in messages


def test_a_reproduction_folder_in_use_is_refused_and_a_rerun_repeats_nothing(tmp_path):
    import pytest

    from neuroplastic.runs.claim import hold_lock
    from neuroplastic.runs.errors import RunFolderBusy

    experiments = [toy("a", "Paper A")]
    reproduce(experiments, tmp_path, quick=True, echo=lambda _: None)
    results = (tmp_path / "a" / "results.json").stat().st_mtime_ns
    with hold_lock(tmp_path, wait=False, kind="reproduction"), pytest.raises(RunFolderBusy, match="reproduction"):
        reproduce(experiments, tmp_path, quick=True, echo=lambda _: None)
    messages = []
    reproduce(experiments, tmp_path, quick=True, echo=messages.append)
    assert "[a] already finished" in messages and (tmp_path / "a" / "results.json").stat().st_mtime_ns == results
