"""Oracle: the scores each seed returns, written out, and their Student-t intervals worked by hand from a t-table."""

import json
from dataclasses import dataclass

from neuroplastic.runs.bootstrap import format_percent_interval
from neuroplastic.runs.experiment import Experiment, ExperimentConfig, ReportRow
from neuroplastic.runs.runner import reproduce


@dataclass(frozen=True, kw_only=True)
class SeededConfig(ExperimentConfig):
    fail_seed: int = -1


def seeded_run(config, run_dir):
    if config.seed == config.fail_seed:
        raise RuntimeError(f"deliberate failure at seed {config.seed}")
    return {"score": 0.5 + 0.1 * config.seed, "label": "same", "figures": [], "notes": []}


@dataclass(frozen=True, kw_only=True)
class FlakyConfig(SeededConfig):
    fail_seed: int = 2


def summarize(results):
    return [ReportRow("score", results["score"], 0.7, "Paper"), ReportRow("label", results["label"])]


def seeded(name, config_class=SeededConfig):
    return Experiment(name, f"{name} description", "Paper", config_class, seeded_run, summarize)


def test_reproduce_over_seeds_reports_mean_and_t_interval_of_all_finished_seeds(tmp_path):
    experiments = [seeded("good"), seeded("flaky", FlakyConfig)]
    entries = reproduce(experiments, tmp_path, quick=False, seeds=[0, 1, 2, 3], echo=lambda _: None)
    good, flaky = entries
    assert [r["score"] for r in good.seed_results] == [0.5, 0.6, 0.7, 0.8]
    assert all((tmp_path / "good" / f"seed{s}" / "results.json").exists() for s in range(4))
    report = (tmp_path / "report.md").read_text()
    assert "mean [95% Student-t interval of the mean] (n)" in report and "Quick variant" not in report
    # x̄ ± t_{n−1, 0.975} s/√n with the t-table's t_{3, 0.975} = 3.18245 and t_{2, 0.975} = 4.30265:
    # 0.65 ± 3.18245 · 0.129099/2 and 0.633333 ± 4.30265 · 0.152753/√3
    assert "| score | 0.65 [0.4446, 0.8554] (n=4) | 0.7 | Paper |" in report
    assert "| label | same |" in report
    flaky_scores = [0.5, 0.6, 0.8]  # seed 2 failed: reported, and the others still aggregated
    assert "| score | 0.6333 [0.2539, 1.013] (n=3) |" in report
    assert "1 of 4 seeds failed: seed 2: RuntimeError: deliberate failure at seed 2" in report
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["seeds"] == [0, 1, 2, 3]
    assert [r["score"] for r in summary["experiments"]["flaky"]["seed_results"]] == flaky_scores
    assert flaky.error and len(flaky.seed_results) == 3


def test_a_quick_reproduction_says_so_and_shows_no_reference_column(tmp_path):
    reproduce([seeded("good")], tmp_path, quick=True, seeds=[0, 1], echo=lambda _: None)
    report = (tmp_path / "report.md").read_text()
    assert report.count("**Quick variant**") == 1 and "| quantity | ours (quick variant) |" in report
    assert "Paper |" not in report and "0.7 |" not in report.split("ours (quick variant)")[1]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["quick"] is True and summary["experiments"]["good"]["results"]["quick"] is True


def test_percent_interval_of_three_seeds_and_of_one():
    # mean 0.8, sd 0.1, t_{2, 0.975} = 4.3027: half-width 4.3027 · 0.1 / √3 = 0.2484, clipped to 1 above
    assert format_percent_interval([0.7, 0.8, 0.9]) == "80.0% [55.2, 100.0]"
    assert format_percent_interval([0.772]) == "77.2% (1 seed, no interval)"
