"""``reservoir-automaticity``: whether SUPERTREX's skill moves into the mastery pathway, over seeds and trials.

Pyle & Rosenbaum (2019) call the basal-ganglia (exploratory) pathway removable once the skill is consolidated in the
cortical (mastery) pathway. SUPERTREX is trained on Task 2 for up to 30 trials; after each training trial the trained
network is tested for one trial with the exploratory pathway removed (z = W₁ r, the authors' test) and kept frozen
(z = W₁ r + W₂ r, no exploration noise), fed back the output recorded in that training trial (the authors' replay
protocol for Task 2). Replay drives the reservoir the same way whichever output is read, so the two test passes see
the same rates r, and their outputs differ by exactly z₂ = W₂ r. Tests never learn and draw no noise, so the training
trajectory is the one an untested run would follow.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Literal

import torch

from neuroplastic.core.devices import resolve_device
from neuroplastic.experiments.reservoir_lesions import paired_difference
from neuroplastic.experiments.reservoir_motor import dropped_records, format_stats, per_seed, summary_stats
from neuroplastic.reservoir import Reservoir, Simulation, Supertrex, Switches, preset
from neuroplastic.reservoir.simulate import deviation
from neuroplastic.runs.bootstrap import t_interval
from neuroplastic.runs.experiment import Experiment, ExperimentConfig, ReportRow
from neuroplastic.runs.figures import close, new_figure
from neuroplastic.runs.folder import RunDir
from neuroplastic.runs.ledger import Ledger

QUANTITIES = {
    "D_removed": "deviation, exploratory pathway removed",
    "D_kept": "deviation, exploratory pathway kept (frozen W₂)",
    "W1": "‖W₁‖ (mastery)",
    "W2": "‖W₂‖ (exploratory)",
    "z2_rms": "RMS of z₂ = W₂ r over the test trial",
}


@dataclass(frozen=True, kw_only=True)
class ReservoirAutomaticityConfig(ExperimentConfig):
    """SUPERTREX on Task 2 (N = 1000, 10-s trials), ``trials`` training trials, 11 seeds batched.

    ``report_trials``: the trial counts at which the report states the numbers (the scripts' 10, and 30).
    """

    preset: Literal["pyle2019-task2", "resci2021-task2"] = "pyle2019-task2"
    n: int = 1000
    period: int = 50_000
    trials: int = 30
    report_trials: tuple[int, ...] = (10, 30)
    seeds: int = 11
    dtype: Literal["float64", "float32"] = "float64"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.preset not in ("pyle2019-task2", "resci2021-task2"):
            raise ValueError(f"preset must be 'pyle2019-task2' or 'resci2021-task2', got {self.preset!r}")
        if self.n < 2 or self.period < 10 or self.seeds < 1 or self.trials < 1:
            raise ValueError("need n >= 2, period >= 10, seeds >= 1 and trials >= 1")
        if not self.report_trials or any(not 1 <= t <= self.trials for t in self.report_trials):
            raise ValueError(f"report_trials must name trial counts in 1..{self.trials}, got {self.report_trials}")

    @classmethod
    def quick(cls) -> ReservoirAutomaticityConfig:
        """N = 200, 0.4-s trials, 4 trials, 2 seeds: every path runs, nothing consolidates."""
        return cls(quick_variant=True, n=200, period=2000, trials=4, report_trials=(2, 4), seeds=2)


KEPT = Switches(keep_exploratory=True)  # z = W₁ r + W₂ r at test


def _rms(difference: torch.Tensor) -> torch.Tensor:
    """Per-seed RMS over steps and outputs of a (T, B, d) tensor."""
    return difference.pow(2).mean(dim=(0, 2)).sqrt()


def run(config: ReservoirAutomaticityConfig, run_dir: RunDir) -> dict[str, Any]:
    """Train trial by trial; after each, test with the exploratory pathway removed and kept.

    A checkpoint after each trial holds the whole simulation, so a killed run resumes at its last finished trial.
    """
    device, dtype = resolve_device(config.device), getattr(torch, config.dtype)
    p = preset(config.preset, period=config.period, n=config.n)
    seeds = [config.seed + i for i in range(config.seeds)]
    net = Reservoir(p.reservoir, p.task.n_out, seeds, dtype=dtype, device=device)
    sim = Simulation(net, Supertrex(p.supertrex), p.task, threads=config.threads, on_divergence="drop")
    T = config.period
    trials: list[dict[str, Any]] = []
    ledger = Ledger.load(run_dir)
    state = ledger.partial(("training",))
    if state is not None:
        trials = state["trials"]
        sim.load_state_dict(state["simulation"])
    tick = time.perf_counter()
    for trial in range(len(trials) + 1, config.trials + 1):
        training = sim.run(T, learn=True, record_every=T, keep_outputs=True)
        trained = sim.state()
        test = {"feedback": "replay", "replay": training.outputs, "record_every": T, "keep_outputs": True}
        kept = sim.run(T, learn=False, switches=KEPT, **test)
        sim.restore(trained)
        removed = sim.run(T, learn=False, **test)
        sim.restore(trained)
        alive, rows = sim.alive, [trained["alive"].index(i) for i in sim.alive]
        z1 = removed.outputs[:, alive]
        D_removed = deviation(p.task, z1, trained["step"], trained["D2"][rows])
        norms = sim.readout_state.weight_norms()
        record = {
            "trial": trial,
            "train_rmse": per_seed(training.mse.sqrt()),
            "D_removed": per_seed(D_removed, alive),
            "D_kept": per_seed(kept.deviation),
            "W1": per_seed(norms["W1"], alive),
            "W2": per_seed(norms["W2"], alive),
            "z2_rms": per_seed(_rms(kept.outputs[:, alive] - z1), alive),
        }
        trials.append(record)
        run_dir.log(**record)
        ledger.save_partial(("training",), {"trials": trials, "simulation": sim.state_dict()})
    results = {
        "seeds": seeds,
        "trials": trials,
        "dropped": dropped_records(sim),
        "at": {str(t): _at(trials, t) for t in config.report_trials},
        "W2_peak_then_falls": _peak_then_falls(trials),
        "seconds": round(time.perf_counter() - tick, 1),
    }
    results["figures"] = [_plot(trials, run_dir)]
    results["notes"] = [
        f"SUPERTREX, {config.preset}, N = {config.n}, trials of {T} steps, seeds {seeds[0]}–{seeds[-1]} as one batch, "
        f"{config.dtype}. After each training trial, one test trial replaying that training trial's output, read with "
        "the exploratory pathway removed and kept frozen from the same rates (so RMS z₂ is exact).",
        "Numbers are means over the seeds that finished with 95 % Student-t intervals; 'kept − removed' is a paired "
        "difference over seeds.",
    ]
    if config.quick_variant:
        results["notes"].append("Quick run (smoke test): nothing consolidates at this length.")
    return results


def _at(trials: list[dict[str, Any]], trial: int) -> dict[str, Any]:
    """Each quantity's summary after ``trial`` trials, and the paired difference D_kept − D_removed."""
    record = trials[trial - 1]
    summary = {name: summary_stats(record[name]) for name in QUANTITIES}
    summary["kept_minus_removed"] = paired_difference(record["D_kept"], record["D_removed"])
    return summary


def _peak_then_falls(trials: list[dict[str, Any]]) -> dict[str, int]:
    """How many finished seeds end with ‖W₂‖ below their peak, and with ‖W₁‖ above ‖W₂‖."""
    last = trials[-1]
    counts = {"finished": 0, "W2_below_peak": 0, "W1_above_W2": 0}
    for seed in range(len(last["W2"])):
        history = [t["W2"][seed] for t in trials]
        if last["W2"][seed] is None:
            continue
        counts["finished"] += 1
        counts["W2_below_peak"] += int(last["W2"][seed] < max(history))
        counts["W1_above_W2"] += int(last["W1"][seed] > last["W2"][seed])
    return counts


def _band(values: list[list[float | None]]) -> tuple[list[float], list[float], list[float]]:
    """Per trial: mean over finished seeds and its 95 % Student-t interval (NaN where fewer than 2 seeds)."""
    means, lows, highs = [], [], []
    for per_trial in values:
        finite = [v for v in per_trial if v is not None]
        means.append(sum(finite) / len(finite) if finite else math.nan)
        low, high = t_interval(finite) if len(finite) > 1 else (math.nan, math.nan)
        lows.append(low)
        highs.append(high)
    return means, lows, highs


def _plot(trials: list[dict[str, Any]], run_dir: RunDir) -> str:
    figure, axes = new_figure(3, width=4.0)
    x = [t["trial"] for t in trials]
    panels = (
        (axes[0], ("W1", "W2"), "Frobenius norm"),
        (axes[1], ("z2_rms",), "RMS of z₂ = W₂ r"),
        (axes[2], ("D_removed", "D_kept"), "test deviation (replay)"),
    )
    for ax, names, ylabel in panels:
        for name in names:
            mean, low, high = _band([t[name] for t in trials])
            ax.plot(x, mean, marker=".", label=QUANTITIES[name])
            ax.fill_between(x, low, high, alpha=0.25)
        ax.set_xlabel("training trials")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7)
    axes[2].set_yscale("log")
    figure.suptitle("SUPERTREX Task 2: mean over seeds, band = 95 % Student-t interval", fontsize=9)
    path = run_dir.save_figure(figure, "automaticity")
    close(figure)
    return path


def summarize(results: dict[str, Any]) -> list[ReportRow]:
    """Each quantity after each reported trial count, the kept − removed difference, and the ‖W₂‖ peak count."""
    rows = []
    for trial, summary in results["at"].items():
        for name, label in QUANTITIES.items():
            ours = format_stats(summary[name], deviation=name.startswith("D_"))
            rows.append(ReportRow(f"after {trial} trials: {label}", ours, None, ""))
        d = summary["kept_minus_removed"]
        interval = "" if d["ci_low"] is None else f" [{d['ci_low']:+.4f}, {d['ci_high']:+.4f}]"
        ours = "no seed finished" if d["mean"] is None else f"{d['mean']:+.4f}{interval} ({d['n']} pairs)"
        rows.append(
            ReportRow(
                f"after {trial} trials: deviation kept − removed, paired",
                ours,
                "≈ 0 once consolidated",
                "the paper's automaticity claim",
            )
        )
    counts = results["W2_peak_then_falls"]
    rows.append(
        ReportRow(
            "seeds whose final ‖W₂‖ is below its peak; whose final ‖W₁‖ exceeds ‖W₂‖",
            f"{counts['W2_below_peak']}/{counts['finished']}; {counts['W1_above_W2']}/{counts['finished']}",
            "all: W₂ rises then falls, W₁ takes over",
            "the paper's weight-norm description",
        )
    )
    return rows


EXPERIMENT = Experiment(
    name="reservoir-automaticity",
    description="SUPERTREX Task 2 over 30 trials: pathway norms, RMS of z₂, and the skill with the exploratory "
    "pathway removed or kept.",
    paper="Pyle & Rosenbaum (2019), Neural Computation 31(7):1430",
    config_class=ReservoirAutomaticityConfig,
    run=run,
    summarize=summarize,
)
