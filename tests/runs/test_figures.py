"""The shared figure helpers, and the real plotting functions drawn from small hand-made results.

Error-bar half-widths are checked against t_{0.975, n−1} · sd/√n with t quantiles hard-coded from tables.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest
from matplotlib.colors import to_rgb

from neuroplastic.experiments import (
    fixedpoint_linear,
    meta_plasticity,
    oja_figures,
    oja_online,
    pc_train,
    reservoir_lesions,
    reservoir_motor,
)
from neuroplastic.runs.figures import (
    distinct_colours,
    integer_ticks,
    interval_caption,
    label_empty,
    new_figure,
    new_panels,
    seed_error_bar,
    ticks_at,
)

T_975 = {1: 12.706204736174707, 2: 4.302652729749464, 4: 2.7764451051977987}  # t_{0.975, df}


class FigureRecorder:
    """Stands in for a RunDir: keeps each saved figure by name instead of writing a PNG."""

    def __init__(self) -> None:
        self.figures = {}

    def save_figure(self, figure, name: str) -> str:
        figure.canvas.draw()  # lay out ticks and labels as the saved PNG would
        self.figures[name] = figure
        return f"figures/{name}.png"


def t_half_width(values) -> float:
    x = np.asarray(values, dtype=np.float64)
    return T_975[x.size - 1] * x.std(ddof=1) / math.sqrt(x.size)


def cielab(colour) -> np.ndarray:
    """sRGB (D65) → CIE L*a*b*."""
    rgb = np.asarray(to_rgb(colour))
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    to_xyz = np.array(
        [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
    )
    xyz = to_xyz @ linear / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def smallest_colour_difference(colours) -> float:
    """The smallest CIE76 ΔE between any two of ``colours`` (≈ 2.3 is just noticeable; > 25 reads as other hues)."""
    return min(float(np.linalg.norm(cielab(a) - cielab(b))) for a, b in itertools.combinations(colours, 2))


def visible_labels(ticklabels) -> list[str]:
    return [t.get_text() for t in ticklabels if t.get_visible() and t.get_text()]


def error_bar_half_widths(container) -> list[float]:
    """Half the length of each vertical error bar of an errorbar (or bar-with-yerr) container."""
    (bar_lines,) = container.lines[2]
    return [(top[1] - bottom[1]) / 2 for bottom, top in bar_lines.get_segments()]


def panel_texts(ax) -> list[str]:
    """The panel's own texts, line breaks undone."""
    return [" ".join(t.get_text().split()) for t in ax.texts]


# --- the helpers ---


def test_distinct_colours_are_pairwise_far_apart_up_to_ten():
    colours = distinct_colours(10)
    assert len(set(colours)) == 10
    assert smallest_colour_difference(colours) > 25
    assert distinct_colours(5) == colours[:5]
    assert len(set(distinct_colours(20))) == 20


def test_the_old_shades_of_blue_would_fail_the_distinctness_bar():
    shades = [(c * 0.2, c * 0.5, c) for c in np.linspace(0.15, 0.9, 5)]
    assert smallest_colour_difference(shades) < 25


def test_integer_ticks_put_ticks_on_whole_numbers_only():
    figure, (ax,) = new_figure()
    ax.plot([1, 4], [0.2, 0.8])
    integer_ticks(ax)
    figure.canvas.draw()
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks)
    assert len(ax.xaxis.get_minorticklocs()) == 0


def test_ticks_at_labels_the_swept_values_on_a_log_axis_without_minor_labels():
    figure, (ax,) = new_figure()
    ax.plot([0.3, 1.0, 3.0], [1, 2, 3])
    ax.set_xscale("log")
    ticks_at(ax, [0.3, 1.0, 3.0])
    figure.canvas.draw()
    assert list(ax.get_xticks()) == [0.3, 1.0, 3.0]
    assert visible_labels(ax.get_xticklabels()) == ["0.3", "1", "3"]
    assert visible_labels(ax.get_xticklabels(minor=True)) == []


def test_label_empty_writes_the_reason_into_the_panel():
    figure, (ax,) = new_figure()
    text = label_empty(ax, "nothing was swept")
    assert panel_texts(ax) == ["nothing was swept"]
    assert text.get_transform() == ax.transAxes and text.get_position() == (0.5, 0.5)
    long = label_empty(new_figure()[1][0], "word " * 20, line_width=30)
    assert max(len(line) for line in long.get_text().splitlines()) <= 30
    assert list(ax.get_xticks()) == [] and list(ax.get_yticks()) == []


def test_new_panels_wraps_six_panels_into_two_rows_of_three():
    figure, axes = new_panels(6, max_columns=3)
    assert len(axes) == 6
    rows = {round(ax.get_position().y0, 3) for ax in axes}
    columns = {round(ax.get_position().x0, 3) for ax in axes}
    assert len(rows) == 2 and len(columns) == 3
    _, five = new_panels(5, max_columns=3)
    assert len(five) == 5 and sum(ax.axison for ax in five[0].figure.axes) == 5


def test_seed_error_bar_is_the_t_interval_half_width_not_the_sd():
    values = [0.91, 0.87, 0.95, 0.89, 0.93]
    mean, below, above = seed_error_bar(values)
    assert mean == pytest.approx(np.mean(values))
    assert below == pytest.approx(t_half_width(values), rel=1e-9) and above == pytest.approx(below, rel=1e-9)
    assert below != pytest.approx(np.std(values, ddof=1))
    assert all(math.isnan(v) for v in seed_error_bar([0.9])[1:])
    wide = [40.0, 95.0]  # two seeds: t = 12.7, the interval passes 0 and 100
    mean, below, above = seed_error_bar(wide, bounds=(0, 100))
    assert (mean - below, mean + above) == (0.0, 100.0)


def test_interval_caption_says_which_interval_and_how_many_seeds():
    assert interval_caption(5) == "mean ± 95% t-interval over 5 seeds"
    assert interval_caption([3, 5, 5]) == "mean ± 95% t-interval over 3–5 seeds"
    assert interval_caption(1) == "mean of 1 seed (no interval)"


# --- oja_online ---


def oja_results(config: oja_online.OjaOnlineConfig, accuracies: dict[str, list[float]]) -> dict:
    def point(offset: float) -> dict:
        return {
            m: {"n": len(accuracies[m]), "runs": [{"accuracy": a + offset} for a in accuracies[m]]}
            for m in config.methods
        }

    return {
        "depth": {"mnist": {str(d): point(-0.01 * d) for d in config.depths}},
        "init": {"mnist": {f"{g:g}": point(0.01 * g) for g in config.init_scales}},
    }


def test_oja_sweep_figures_have_integer_depth_ticks_plain_log_ticks_and_t_interval_bars():
    config = replace(oja_online.OjaOnlineConfig.quick(), depths=(1, 4), init_scales=(0.3, 1.0, 3.0), seeds=5)
    rng = np.random.default_rng(0)
    accuracies = {m: list(0.8 + 0.05 * rng.standard_normal(5)) for m in config.methods}
    recorder = FigureRecorder()
    names = {m: oja_online.NAMES[m] for m in config.methods}
    colours = dict(zip(names, distinct_colours(len(names)), strict=True))
    oja_figures._sweeps(
        config,
        oja_results(config, accuracies),
        name="mnist",
        label="MNIST",
        colours=colours,
        names=names,
        run_dir=recorder,
    )

    figure = recorder.figures["accuracy_sweeps_mnist"]
    depth_ax, init_ax = figure.axes
    assert list(depth_ax.get_xticks()) == [1.0, 4.0]
    assert visible_labels(depth_ax.get_xticklabels()) == ["1", "4"]
    assert visible_labels(init_ax.get_xticklabels()) == ["0.3", "1", "3"]
    assert visible_labels(init_ax.get_xticklabels(minor=True)) == []
    assert "mean ± 95% t-interval over 5 seeds" in figure._suptitle.get_text()

    for ax in (depth_ax, init_ax):
        for container, method in zip(ax.containers, config.methods, strict=True):
            expected = t_half_width([100 * a for a in accuracies[method]])
            assert error_bar_half_widths(container) == pytest.approx([expected] * len(container.lines[0].get_xdata()))
        colours = [container.lines[0].get_color() for container in ax.containers]
        assert smallest_colour_difference(colours) > 25


# --- fixedpoint_linear ---


def test_fixedpoint_learning_curves_tell_the_five_rates_apart():
    config = fixedpoint_linear.FixedPointLinearConfig()
    curves = {
        (rule, lr): {"loss": list(np.geomspace(1, 1e-3 * (i + 1), 20))}
        for rule in config.rules
        for i, lr in enumerate(config.learning_rates)
    }
    recorder = FigureRecorder()
    fixedpoint_linear._plot_curves(config, curves, recorder)
    for ax in recorder.figures["learning_curves"].axes:
        assert len(ax.lines) == len(config.learning_rates) == 5
        assert smallest_colour_difference([line.get_color() for line in ax.lines]) > 25


# --- meta_plasticity ---


def meta_rule(terms: tuple[str, ...], pool: bool) -> dict:
    steps, seeds = 30, 2
    rule = {
        "terms": list(terms),
        "theta_trajectory": np.linspace(0, 1, steps * seeds * len(terms)).reshape(steps, seeds, len(terms)).tolist(),
        "train_accuracy": list(np.linspace(0.3, 0.8, steps)),
        "train_query_loss": list(np.linspace(1.2, 0.6, steps)),
        "alignment": [40.0, 60.0, 80.0],
    }
    if pool:
        rule["scales"] = dict.fromkeys(terms, 1.0)
    return rule


def meta_sweeps(per_seed: list[float]) -> dict:
    def entry(offset: float) -> dict:
        return meta_plasticity._interval([v + offset for v in per_seed])

    return {
        rule: {"depth": {"2": entry(0.0), "4": entry(-0.05)}, "shots": {"2": entry(-0.1), "10": entry(0.0)}}
        for rule in ("bp", "fa")
    }


def test_meta_plasticity_theta_figure_has_two_rows_and_legible_legends():
    config = meta_plasticity.MetaPlasticityConfig.quick()
    rules = {name: meta_rule(terms, pool=name == "fa_pool") for name, (_, terms) in meta_plasticity.RULES.items()}
    assert len(rules) == 6
    recorder = FigureRecorder()
    meta_plasticity._plot(config, {"rules": rules, "sweeps": meta_sweeps([0.6, 0.7, 0.65])}, recorder)
    axes = [ax for ax in recorder.figures["theta_trajectories"].axes if ax.axison]
    assert len(axes) == 6
    assert len({round(ax.get_position().y0, 3) for ax in axes}) == 2
    for ax in axes:
        legend = ax.get_legend()
        assert min(text.get_fontsize() for text in legend.get_texts()) >= 7


def test_meta_plasticity_sweep_panels_have_integer_ticks_and_t_interval_bars():
    config = meta_plasticity.MetaPlasticityConfig.quick()
    rules = {"bp": meta_rule(("pseudo_grad",), pool=False), "fa": meta_rule(("pseudo_grad",), pool=False)}
    per_seed = [0.6, 0.7, 0.65]
    recorder = FigureRecorder()
    meta_plasticity._plot(config, {"rules": rules, "sweeps": meta_sweeps(per_seed)}, recorder)
    depth_ax, shots_ax = recorder.figures["accuracy_vs_depth_and_shots"].axes
    assert list(depth_ax.get_xticks()) == [2.0, 4.0]
    assert visible_labels(shots_ax.get_xticklabels()) == ["2", "10"]
    assert visible_labels(shots_ax.get_xticklabels(minor=True)) == []
    for ax in (depth_ax, shots_ax):
        assert ax.get_title() == "mean ± 95% t-interval over 3 seeds"
        for container in ax.containers:
            assert error_bar_half_widths(container) == pytest.approx([t_half_width([100 * v for v in per_seed])] * 2)
    (alignment_ax,) = recorder.figures["alignment_angles"].axes
    assert all(float(t).is_integer() for t in alignment_ax.get_xticks())


def test_meta_plasticity_sweep_panels_say_why_they_are_empty():
    config = meta_plasticity.MetaPlasticityConfig.quick()
    recorder = FigureRecorder()
    meta_plasticity._plot(config, {"rules": {"bp": meta_rule(("pseudo_grad",), pool=False)}, "sweeps": {}}, recorder)
    for ax in recorder.figures["accuracy_vs_depth_and_shots"].axes:
        assert panel_texts(ax) == ["not swept: the config's sweep_rules is empty"]
        assert not ax.has_data()


# --- reservoir_motor and reservoir_lesions ---


def reservoir_condition(norms: dict[str, list[float]]) -> dict:
    t = np.linspace(0, 2 * np.pi, 50)
    loop = np.stack([np.sin(t), np.sin(2 * t) / 2], axis=1).tolist()
    return {
        "curves": {
            "target": loop,
            "hand_authors": loop,
            "hand_closed_loop": loop,
            "time_s": [0.0, 1.0],
            "D": [1.0, 0.1],
            "norm_time_s": [0.0, 0.5, 1.0],
            "norms": norms,
        }
    }


def test_reservoir_trajectories_have_pen_axes_equal_aspect_and_readable_titles():
    done = {
        "pyle2019-task2/supertrex/none": reservoir_condition({"W1": [1, 2, 3], "W2": [1, 0.5, 0.2]}),
        "resci2021-task3/force/none": reservoir_condition({"W": [1, 2, 3]}),
    }
    recorder = FigureRecorder()
    reservoir_motor._plot_trajectories(done, recorder)
    axes = recorder.figures["trajectories"].axes
    assert [ax.get_title() for ax in axes] == [
        "Task 2 (2-joint arm)\nSUPERTREX",
        "Task 3 (3-joint arm + cost, ReScience-modified)\nFORCE",
    ]
    for ax in axes:
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("pen x", "pen y")
        assert ax.get_aspect() == 1.0


def test_reservoir_weight_norms_have_y_labels_readable_titles_and_explained_empty_panels():
    done = {
        "pyle2019-task2/supertrex/none": reservoir_condition({"W1": [1, 2, 3], "W2": [1, 0.5, 0.2]}),
        "pyle2019-task2/supertrex/clock": reservoir_condition({}),
    }
    recorder = FigureRecorder()
    reservoir_motor._plot_norms(done, recorder)
    full, empty = recorder.figures["weight_norms"].axes
    assert full.get_title() == "Task 2 (2-joint arm)\nSUPERTREX"
    assert empty.get_title() == "Task 2 (2-joint arm)\nSUPERTREX, clock input"
    for ax in (full, empty):
        assert ax.get_ylabel() and "/" not in ax.get_title()
    assert panel_texts(full) == [] and len(full.lines) == 2
    assert panel_texts(empty) == ["no readout weight norms were recorded for this condition"]


def test_reservoir_lesions_norm_panel_says_why_it_is_empty():
    recorder = FigureRecorder()
    reservoir_lesions._plot({"intact": reservoir_condition({"W": [1, 2, 3]})}, recorder)
    _, norm_ax = recorder.figures["lesions"].axes
    assert panel_texts(norm_ax) == ["no condition recorded ‖W₁‖ (only SUPERTREX has a mastery pathway)"]


# --- pc_train ---


def test_pc_train_bars_are_t_intervals_over_seeds():
    config = replace(pc_train.PCTrainConfig.quick(), networks=("mlp",), datasets=("mnist",))
    per_seed = [0.97, 0.975, 0.968]
    results = {
        "mlp": {"mnist": {mode: {"test_accuracy": per_seed, "mean": 0.0, "sd": 0.0} for mode in config.settings()}}
    }
    recorder = FigureRecorder()
    pc_train._plot(config, results, recorder)
    (ax,) = recorder.figures["test_accuracy"].axes
    assert ax.get_title().endswith("mean ± 95% t-interval over 3 seeds")
    bars = [c for c in ax.containers if hasattr(c, "errorbar")]
    assert len(bars) == len(config.settings())
    for bar in bars:
        assert error_bar_half_widths(bar.errorbar) == pytest.approx([t_half_width([100 * a for a in per_seed])])
