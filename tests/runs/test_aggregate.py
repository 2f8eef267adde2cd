import itertools
import json
import math
import statistics

import numpy as np
import pytest

from neuroplastic.runs.aggregate import (
    SkippedPoint,
    aggregate_points,
    aggregate_sweep,
    check_metrics,
    check_x_key,
    numeric_metrics,
    plot_metric,
    render_csv,
    render_markdown,
    write_aggregate,
)
from neuroplastic.runs.bootstrap import bootstrap_ci, summarize_sample
from neuroplastic.runs.sweep_plan import PlannedRun, SweepPlan, save_plan


def exact_bootstrap_cdf(sample):
    """The exact bootstrap distribution of the mean: all n^n equally likely resamples, enumerated."""
    means = np.sort([np.mean(r) for r in itertools.product(sample, repeat=len(sample))])
    return lambda t: np.searchsorted(means, t, side="right") / means.size


def test_bootstrap_ci_matches_the_exact_bootstrap_distribution():
    rng = np.random.default_rng(7)
    sample = rng.normal(size=6).tolist()  # 6^6 = 46,656 resamples, enumerated exactly
    cdf = exact_bootstrap_cdf(sample)
    low, high = bootstrap_ci(sample)
    # 10,000 resamples estimate the 2.5 % and 97.5 % points; their Monte-Carlo sd is ≈ 0.0016 in probability
    assert 0.025 - 0.006 < cdf(low) < 0.025 + 0.006
    assert 0.975 - 0.006 < cdf(high) < 0.975 + 0.006
    assert bootstrap_ci(sample) == (low, high)  # seeded: the same sample always gives the same interval
    assert bootstrap_ci(sample, seed=1) != (low, high)


def test_summary_matches_a_direct_computation():
    sample = [0.91, 0.93, 0.92, 0.95, 0.90]
    s = summarize_sample(sample)
    assert s.n == 5
    assert s.mean == pytest.approx(statistics.fmean(sample), rel=1e-15)
    assert s.sd == pytest.approx(statistics.stdev(sample), rel=1e-12)
    half = 2.7764451051977987 * statistics.stdev(sample) / math.sqrt(5)  # t_{0.975, 4} from tables
    assert (s.ci_low, s.ci_high) == pytest.approx((0.922 - half, 0.922 + half), rel=1e-12)
    assert s.interval_name == "95% Student-t interval"
    constant = summarize_sample([2.5, 2.5, 2.5])
    assert (constant.ci_low, constant.ci_high, constant.sd) == (2.5, 2.5, 0.0)
    single = summarize_sample([4.0])
    assert math.isnan(single.sd) and math.isnan(single.ci_low) and math.isnan(single.ci_high)
    boot = summarize_sample(sample, interval="bootstrap")
    assert (boot.ci_low, boot.ci_high) == bootstrap_ci(sample) and boot.interval == "bootstrap"
    assert math.isnan(summarize_sample([1.0, math.nan]).mean)  # a diverged seed is not dropped
    with pytest.raises(ValueError, match="at least one"):
        bootstrap_ci([])


def test_numeric_metrics_flattens_scalars_and_reads_non_finite_strings():
    results = {"a": 1, "b": {"c": 2.5, "d": [1, 2], "e": {"f": "inf"}}, "ok": True, "name": "x", "g": "nan"}
    metrics = numeric_metrics(results)
    assert set(metrics) == {"a", "b.c", "b.e.f", "g"}
    assert metrics["a"] == 1.0 and metrics["b.e.f"] == math.inf and math.isnan(metrics["g"])


def test_mixed_metric_sets_aggregate_the_common_ones_and_say_what_is_missing():
    runs = [
        ({"lr": 0.1}, "r0", {"acc": 0.9, "loss": 0.3}, "done"),
        ({"lr": 0.1}, "r1", {"acc": 0.8}, "done"),
        ({"lr": 0.1}, "r2", None, "failed"),
        ({"lr": 1.0}, "r3", {"acc": 0.5, "extra": 1.0}, "done"),
        ({"lr": 1.0}, "r4", {"acc": 0.7, "extra": 3.0}, "done"),
    ]
    points = aggregate_points(runs)
    first, second = points
    assert (first.planned, first.done, first.failed, first.unfinished) == (3, 2, 1, {"r2": "failed"})
    assert list(first.summaries) == ["acc"] and first.missing == {"loss": ["r1"]}
    assert first.summaries["acc"].mean == pytest.approx(0.85)
    assert set(second.summaries) == {"acc", "extra"} and second.missing == {}
    markdown = render_markdown(["lr"], points, title="t", figures=[])
    assert "`loss` missing in 1 of 2 runs (r1)" in markdown and "2 of 3 runs finished, 1 failed" in markdown
    lines = render_csv(["lr"], points).splitlines()
    assert lines[0] == "lr,metric,n,mean,sd,ci_low,ci_high"
    assert [line.split(",")[:3] for line in lines[1:]] == [
        ["0.1", "acc", "2"],
        ["1.0", "acc", "2"],
        ["1.0", "extra", "2"],
    ]
    figure = plot_metric(["lr"], points, "acc", "lr")
    (line,) = figure.axes[0].lines
    assert line.get_xdata().tolist() == [0.1, 1.0] and line.get_ydata().tolist() == pytest.approx([0.85, 0.6])
    with pytest.raises(ValueError, match="not a grid key"):
        plot_metric(["lr"], points, "acc", "momentum")


def make_sweep(root, grid, finished, failed=()):
    """A sweep over ``grid`` × seeds 0-1; the runs in ``finished`` and ``failed`` are (grid values..., seed)."""
    runs = []
    keys = list(grid)
    for index, (*values, seed) in enumerate(itertools.product(*grid.values(), [0, 1])):
        point = dict(zip(keys, values, strict=True))
        folder = "toy/" + "-".join(f"{k}{v}" for k, v in point.items()) + f"-seed{seed}"
        runs.append(PlannedRun(index, point, seed, {**point, "seed": seed}, folder))
        (root / folder).mkdir(parents=True)
        if (*values, seed) in finished:
            score = float(values[0]) * 10 + seed
            (root / folder / "results.json").write_text(json.dumps({"score": score, "loss": -score, "notes": []}))
        elif (*values, seed) in failed:
            (root / folder / "error.json").write_text(json.dumps({"error": "RuntimeError: boom"}))
    save_plan(SweepPlan("toy", "toy_module:EXPERIMENT", True, [], grid, [0, 1], runs), root)


def test_write_aggregate_reads_a_sweep_folder(tmp_path):
    runs = []
    for index, (lr, seed) in enumerate(itertools.product([0.1, 1.0], [0, 1, 2])):
        folder = f"toy/h{lr}-seed{seed}"
        runs.append(PlannedRun(index, {"lr": lr}, seed, {"lr": lr, "seed": seed}, folder))
        if (lr, seed) != (1.0, 2):  # one run never finished
            (tmp_path / folder).mkdir(parents=True)
            (tmp_path / folder / "results.json").write_text(json.dumps({"score": lr * 10 + seed, "notes": []}))
    save_plan(SweepPlan("toy", "toy_module:EXPERIMENT", True, [], {"lr": ["0.1", "1.0"]}, [0, 1, 2], runs), tmp_path)
    paths = write_aggregate(tmp_path, echo=lambda _: None)
    rows = paths["csv"].read_text().splitlines()
    assert rows[1].startswith("0.1,score,3,2.0,1.0,") and rows[2].startswith("1.0,score,2,10.5,")
    assert "2 of 3 runs finished, 0 failed" in paths["markdown"].read_text()
    assert (tmp_path / "aggregate" / "figures" / "score-vs-lr.png").exists()
    assert paths["skipped"] == []


def test_grid_points_without_a_finished_run_are_skipped_by_name(tmp_path):
    grid = {"lr": ["0.1", "0.3", "1.0"], "width": ["8"]}
    make_sweep(tmp_path, grid, finished={("0.1", "8", 0), ("0.1", "8", 1), ("1.0", "8", 0)}, failed={("0.3", "8", 1)})
    echoed = []
    paths = write_aggregate(tmp_path, echo=echoed.append)
    assert echoed == []
    (skipped,) = paths["skipped"]
    assert skipped == SkippedPoint(
        {"lr": "0.3", "width": "8"}, {"toy/lr0.3-width8-seed0": "pending", "toy/lr0.3-width8-seed1": "failed"}
    )
    text = "lr = 0.3, width = 8: no finished run (toy/lr0.3-width8-seed0 pending, toy/lr0.3-width8-seed1 failed)"
    assert str(skipped) == text
    markdown = paths["markdown"].read_text()
    assert f"Not in the figures:\n\n- {text}" in markdown and "0 of 2 runs finished, 1 failed" in markdown
    figures = sorted(p.name for p in (tmp_path / "aggregate" / "figures").iterdir())
    assert figures == ["loss-vs-lr.png", "score-vs-lr.png"]
    figure = plot_metric(*aggregate_sweep(tmp_path), "score", "lr")
    (line,) = figure.axes[0].lines
    assert line.get_xdata().tolist() == [0.1, 1.0] and line.get_ydata().tolist() == pytest.approx([1.5, 10.0])


def test_unknown_metric_lists_the_metrics_of_the_finished_runs(tmp_path):
    make_sweep(tmp_path, {"lr": ["0.1", "1.0"]}, finished={("0.1", 0)})
    with pytest.raises(ValueError) as info:
        write_aggregate(tmp_path, metrics=["score", "nope"])
    assert str(info.value) == (
        "--metric 'nope' is in no finished run; metrics aggregated in the finished runs: score, loss"
    )
    assert not (tmp_path / "aggregate").exists()
    runs = [({"lr": 0.1}, "r0", {"acc": 1.0, "loss": 0.3}, "done"), ({"lr": 0.1}, "r1", {"acc": 0.8}, "done")]
    with pytest.raises(ValueError, match="'loss' is not in every finished run of any grid point; .*: acc$"):
        check_metrics(aggregate_points(runs), ["loss"])
    with pytest.raises(ValueError, match="'acc' is in no finished run; .*: none: no run has finished$"):
        check_metrics(aggregate_points([({"lr": 0.1}, "r0", None, "pending")]), ["acc"])


def test_x_must_be_a_grid_key_even_when_no_figure_is_drawn(tmp_path):
    make_sweep(tmp_path, {"lr": ["0.1"], "width": ["8"]}, finished=set())
    with pytest.raises(ValueError) as info:
        write_aggregate(tmp_path, x_key="nope")
    assert str(info.value) == "--x 'nope' is not a grid key; grid keys: lr, width"
    assert not (tmp_path / "aggregate").exists()
    paths = write_aggregate(tmp_path, x_key="width", echo=lambda _: None)
    assert [str(s) for s in paths["skipped"]] == [
        "lr = 0.1, width = 8: no finished run (toy/lr0.1-width8-seed0 pending, toy/lr0.1-width8-seed1 pending)"
    ]
    with pytest.raises(ValueError, match=r"grid keys: none \(the sweep has no grid\)"):
        check_x_key([], "lr")


def test_no_common_metric_says_so_instead_of_drawing_nothing_silently(tmp_path):
    make_sweep(tmp_path, {"lr": ["0.1", "1.0"]}, finished={("0.1", 0), ("1.0", 0)})
    (tmp_path / "toy/lr1.0-seed0/results.json").write_text(json.dumps({"other": 1.0}))
    echoed = []
    paths = write_aggregate(tmp_path, echo=echoed.append)
    assert echoed == [
        "no metric is aggregated at every grid point with finished runs: no figures; pick some with --metric"
    ]
    assert paths["skipped"] == [] and not list((tmp_path / "aggregate" / "figures").glob("*.png"))
    write_aggregate(tmp_path, metrics=["other"], echo=echoed.append)
    assert [p.name for p in (tmp_path / "aggregate" / "figures").iterdir()] == ["other-vs-lr.png"]


@pytest.mark.parametrize("n", [3, 5])
def test_the_reported_interval_covers_the_mean_of_normal_data_at_its_level(n):
    rng = np.random.default_rng(2024 + n)
    draws = rng.normal(loc=0.7, scale=0.05, size=(2000, n))
    covered = [s.ci_low <= 0.7 <= s.ci_high for s in map(summarize_sample, draws)]
    assert 0.93 <= np.mean(covered) <= 0.97
    bootstrapped = [
        s.ci_low <= 0.7 <= s.ci_high for s in (summarize_sample(d, interval="bootstrap", resamples=2000) for d in draws)
    ]
    assert np.mean(bootstrapped) < 0.9  # why the bootstrap is not the default at few seeds
