"""``reservoir-motor``: Pyle & Rosenbaum (2019) Tasks 1–3 with FORCE, RMHL and SUPERTREX, over batched seeds.

Every (task, learner) pair is trained twice: as in the authors' scripts (no input) and with a phase/clock input
u(t) = (cos 2πt/T, sin 2πt/T). Each trained network is then tested twice: under the authors' test protocol (Task 1:
the target is fed back, i.e. teacher forcing; Tasks 2–3: the output recorded five trials earlier in training is
replayed) and closed loop (the network's own output fed back). Deviation = mean of D(t) over the test trials,
D = √(low-passed squared hand error), as in ReScience's replication.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

import torch

from neuroplastic.core.devices import resolve_device
from neuroplastic.reservoir import (
    FEEDBACK_DESCRIPTIONS,
    NO_PLAN,
    RLS,
    RMHL,
    NotApplicable,
    Plan,
    Preset,
    Reservoir,
    Simulation,
    Supertrex,
    Trace,
    preset,
)
from neuroplastic.runs.bootstrap import t_interval
from neuroplastic.runs.experiment import Experiment, ExperimentConfig, ReportRow
from neuroplastic.runs.figures import close, label_empty, new_figure
from neuroplastic.runs.folder import RunDir
from neuroplastic.runs.ledger import Ledger

Algorithm = Literal["force", "rmhl", "supertrex"]
ALGORITHMS: dict[str, tuple[Algorithm, ...]] = {
    "pyle2019-task1": ("force", "rmhl", "supertrex"),
    "pyle2019-task2": ("rmhl", "supertrex"),
    "pyle2019-task3": ("rmhl", "supertrex"),
    "resci2021-task3": ("supertrex",),
}
LABELS = {"force": "FORCE", "rmhl": "RMHL", "supertrex": "SUPERTREX"}
TASK_LABELS = {
    "pyle2019-task1": "Task 1 (butterfly)",
    "pyle2019-task2": "Task 2 (2-joint arm)",
    "pyle2019-task3": "Task 3 (3-joint arm + cost, original)",
    "resci2021-task3": "Task 3 (3-joint arm + cost, ReScience-modified)",
}
# ReScience C 7(1) #11, deviation mean ± sd over 11 seeds (seeds < 0.5), original MATLAB scripts, authors' protocol.
RESCI = {
    ("pyle2019-task1", "force"): "0.003 ± 0.002 (11/11)",
    ("pyle2019-task1", "rmhl"): "0.168 ± 0.038 (11/11)",
    ("pyle2019-task1", "supertrex"): "0.006 ± 0.003 (11/11)",
    ("pyle2019-task2", "rmhl"): "0.759 ± 0.284 (0/11)",
    ("pyle2019-task2", "supertrex"): "0.011 ± 0.003 (11/11), median 0.0088",
    ("pyle2019-task3", "rmhl"): "0.850 ± 0.313 (1/11)",
    ("pyle2019-task3", "supertrex"): "0.881 ± 0.224 (5/11)",
    ("resci2021-task3", "supertrex"): "0.140 ± 0.071 (10/11), median 0.067",
}
# Our own separate NumPy simulation of the paper's equations (seed 1; not a published number):
# closed-loop deviation with a clock input.
CLOSED_LOOP_CLOCK = {
    ("pyle2019-task1", "force"): "0.0030",
    ("pyle2019-task2", "supertrex"): "0.036",
    ("pyle2019-task2", "rmhl"): "1.14, 4.17 (2 seeds)",
    ("pyle2019-task3", "supertrex"): "0.717",
}
PROTOCOL_LABELS = {"authors": "authors' test protocol", "closed_loop": "closed loop"}


@dataclass(frozen=True, kw_only=True)
class ReservoirMotorConfig(ExperimentConfig):
    """Full protocol: N = 1000, 10-s trials (50,000 steps), 10 training + 5 test trials, 11 seeds batched.

    ``mastery_target``: what SUPERTREX's mastery pathway regresses onto, the exploratory output z₂ or its low-pass
    z̄₂ ("preset": z₂ on Task 1, z̄₂ on Tasks 2–3, as the authors' scripts). ``connectivity``: how J's connections
    are drawn (see :class:`~neuroplastic.reservoir.ReservoirConfig`). A seed that diverges is dropped from its batch
    and recorded; the others finish.
    """

    presets: tuple[str, ...] = ("pyle2019-task1", "pyle2019-task2", "pyle2019-task3", "resci2021-task3")
    algorithms: tuple[Algorithm, ...] = ("force", "rmhl", "supertrex")
    inputs: tuple[Literal["none", "clock"], ...] = ("none", "clock")
    n: int = 1000
    period: int = 50_000
    train_trials: int = 10
    test_trials: int = 5
    seeds: int = 11
    dtype: Literal["float64", "float32"] = "float64"
    points_per_trial: int = 100
    mastery_target: Literal["preset", "z2", "zbar2"] = "preset"
    connectivity: Literal["bernoulli", "with_replacement"] = "bernoulli"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mastery_target not in ("preset", "z2", "zbar2"):
            raise ValueError(f"mastery_target must be 'preset', 'z2' or 'zbar2', got {self.mastery_target!r}")
        if self.connectivity not in ("bernoulli", "with_replacement"):
            raise ValueError(f"connectivity must be 'bernoulli' or 'with_replacement', got {self.connectivity!r}")
        unknown = [p for p in self.presets if p not in ALGORITHMS]
        if unknown:
            raise ValueError(f"unknown presets {unknown}; choose from {sorted(ALGORITHMS)}")
        if not self.presets or not self.algorithms or not self.inputs:
            raise ValueError("presets, algorithms and inputs must each name at least one entry")
        if not any(a in ALGORITHMS[p] for p in self.presets for a in self.algorithms):
            runs = "; ".join(f"{p}: {', '.join(ALGORITHMS[p])}" for p in self.presets)
            raise ValueError(f"no learner in algorithms={list(self.algorithms)} runs on these presets ({runs})")
        if self.test_trials < 1 or self.train_trials <= self.test_trials:
            raise ValueError("need test_trials >= 1 and train_trials > test_trials (the replay protocol needs them)")
        if self.n < 2 or self.period < 10 or self.seeds < 1 or self.points_per_trial < 1:
            raise ValueError("need n >= 2, period >= 10, seeds >= 1, points_per_trial >= 1")

    @classmethod
    def quick(cls) -> ReservoirMotorConfig:
        """Task 2 only (RMHL, SUPERTREX), N = 200, 0.4-s trials, 2 seeds: exercises every path in ≤ 2 minutes."""
        return cls(
            quick_variant=True, presets=("pyle2019-task2",), n=200, period=2000, train_trials=5, test_trials=2, seeds=2
        )


def configured_preset(config: ReservoirMotorConfig, name: str, clock: bool) -> Preset:
    """The preset ``name`` at the config's size and trial length, with its mastery target and connectivity."""
    p = preset(name, period=config.period, n=config.n, clock=clock)
    reservoir = replace(p.reservoir, connectivity=config.connectivity)
    supertrex = p.supertrex
    if supertrex is not None and config.mastery_target != "preset":
        supertrex = replace(supertrex, mastery_target=config.mastery_target)
    return replace(p, reservoir=reservoir, supertrex=supertrex)


def _step_seconds(p: Preset) -> float:
    """The time step dt in seconds (the reservoir's dt is in ms)."""
    return p.reservoir.dt * 1e-3


def build_readout(p: Preset, algorithm: Algorithm) -> RLS | RMHL | Supertrex:
    """The learner ``algorithm`` with the preset's constants (FORCE raises NotApplicable on the arm tasks)."""
    if algorithm == "force":
        if p.force is None:
            raise NotApplicable(f"FORCE is not applicable to {p.name}: it needs target joint angles")
        return RLS(p.force)
    if algorithm == "rmhl":
        return RMHL(p.rmhl)
    return Supertrex(p.supertrex)


def train_and_test(
    config: ReservoirMotorConfig,
    name: str,
    algorithm: Algorithm,
    clock: bool,
    *,
    plan: Plan = NO_PLAN,
    checkpoint: Callable[[dict[str, Any]], None] | None = None,
    resume: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], Simulation, torch.Tensor | None]:
    """Train one (preset, learner, input) condition over the batch of seeds, then test under both protocols.

    ``plan``: the interventions of each training trial (none by default). Returns ``(results, simulation,
    replay)``: per-seed numbers with downsampled curves for the figures, the simulation restored to the end of
    training and the replay signal of the authors' protocol (None for Task 1), for further tests such as lesions.
    ``checkpoint`` is called after every training trial with the training so far (tensors and plain data); passing
    that back as ``resume`` continues from there, bit for bit.
    """
    device, dtype = resolve_device(config.device), getattr(torch, config.dtype)
    p = configured_preset(config, name, clock)
    seeds = [config.seed + i for i in range(config.seeds)]
    net = Reservoir(p.reservoir, p.task.n_out, seeds, dtype=dtype, device=device)
    sim = Simulation(
        net, build_readout(p, algorithm), p.task, clock=clock, threads=config.threads, on_divergence="drop"
    )
    T, every = config.period, max(1, config.period // config.points_per_trial)
    replaying = p.authors_feedback == "replay"
    tick = time.perf_counter()
    traces: list[Trace] = []
    if resume is not None:
        sim.load_state_dict(resume["simulation"])
        traces = [Trace.from_dict(t) for t in resume["traces"]]
    for trial in range(len(traces), config.train_trials):
        replayed = replaying and trial >= config.train_trials - config.test_trials  # the authors' test replays these
        switches = plan.switches(trial)
        traces.append(sim.run(T, learn=True, record_every=every, keep_outputs=replayed, switches=switches))
        if checkpoint is not None and trial + 1 < config.train_trials:
            checkpoint({"traces": [t.to_dict() for t in traces], "simulation": sim.state_dict()})
    first_trial = traces[0]
    replay = torch.cat([t.outputs for t in traces if t.outputs is not None]) if replaying else None
    trained = sim.state()
    tests = {}
    for protocol, feedback in (("authors", p.authors_feedback), ("closed_loop", "closed_loop")):
        sim.restore(trained)
        tests[protocol] = sim.run(
            config.test_trials * T, learn=False, feedback=feedback, replay=replay, record_every=every
        )
    sim.restore(trained)
    results = {
        "preset": name,
        "algorithm": algorithm,
        "input": "clock" if clock else "none",
        "seeds": seeds,
        "train_rmse_first_trial": per_seed(first_trial.mse.sqrt()),
        "train_rmse_last_trial": per_seed(traces[-1].mse.sqrt()),
        "deviation": {k: per_seed(t.deviation) for k, t in tests.items()},
        "dropped": dropped_records(sim),
        "protocols": {
            "authors": FEEDBACK_DESCRIPTIONS[p.authors_feedback],
            "closed_loop": FEEDBACK_DESCRIPTIONS["closed_loop"],
        },
        "final_norms": {k: per_seed(v, sim.alive) for k, v in sim.readout_state.weight_norms().items()},
        "seconds": round(time.perf_counter() - tick, 1),
        "curves": _curves(traces, tests, T, step_seconds=_step_seconds(p)),
    }
    return results, sim, replay


def per_seed(values: torch.Tensor, rows: list[int] | None = None) -> list[float | None]:
    """A per-seed list with None for each seed dropped after diverging (NaN in ``values``).

    ``rows``: the batch positions ``values`` belongs to, when it holds only the seeds still running.
    """
    if rows is not None:
        full = torch.full((max(rows, default=-1) + 1,), math.nan, dtype=values.dtype)
        full[rows] = values.cpu()
        values = full
    return [None if math.isnan(v) else v for v in values.tolist()]


def dropped_records(sim: Simulation) -> list[dict[str, Any]]:
    """Each seed the simulation dropped: seed, step, the non-finite quantities and the cause."""
    return [{"seed": d.seed, "step": d.step, "quantities": list(d.quantities), "cause": d.cause} for d in sim.dropped]


LEARNED_BELOW = 0.5  # ReScience's criterion for a seed that learned the task: deviation < 0.5


def summary_stats(values: list[float | None]) -> dict[str, float | int | None]:
    """Per-seed deviations summarised over the seeds that finished (None = dropped after diverging).

    Mean with its 95 % Student-t interval, sd, median, and counts: ``n`` seeds, ``finished``, ``learned``
    (deviation < 0.5, ReScience's criterion).
    """
    finite = [v for v in values if v is not None]
    stats: dict[str, float | int | None] = {"n": len(values), "finished": len(finite)}
    stats["learned"] = sum(v < LEARNED_BELOW for v in finite)
    if not finite:
        return stats | {"mean": None, "sd": None, "median": None, "ci_low": None, "ci_high": None}
    v = torch.tensor(finite, dtype=torch.float64)
    low, high = t_interval(finite) if len(finite) > 1 else (None, None)
    sd = v.std().item() if len(finite) > 1 else None
    return stats | {"mean": v.mean().item(), "sd": sd, "median": v.median().item(), "ci_low": low, "ci_high": high}


def format_stats(s: dict[str, Any], *, deviation: bool = True) -> str:
    """``median 0.0173; mean 0.0200 [0.0150, 0.0250]; 11/11 finished, 11/11 learned`` (interval: 95 % t).

    ``deviation=False`` (a quantity other than a deviation) leaves out the count of seeds that learned.
    """
    counts = f"{s['finished']}/{s['n']} finished"
    if deviation:
        counts += f", {s['learned']}/{s['n']} learned (< {LEARNED_BELOW:g})"
    if s["mean"] is None:
        return counts
    interval = "" if s["ci_low"] is None else f" [{s['ci_low']:.4f}, {s['ci_high']:.4f}]"
    return f"median {s['median']:.4f}; mean {s['mean']:.4f}{interval}; {counts}"


def _thin(values: torch.Tensor, points: int = 300) -> list:
    step = max(1, math.ceil(values.shape[0] / points))
    return values[::step].tolist()


def _curves(traces: list, tests: dict[str, Any], period: int, *, step_seconds: float) -> dict[str, Any]:
    """Seed-mean D(t) and weight norms through training and test; seed-0 hand path of the last test trial."""
    """Seed means are over the seeds that finished (a dropped seed is NaN from its divergence on, and left out)."""
    steps = torch.cat([t.steps for t in traces] + [tests["authors"].steps])
    finished = tests["closed_loop"].finished
    D = torch.cat([t.D for t in traces] + [tests["authors"].D])[:, finished].mean(1)
    norms = {k: torch.cat([t.norms[k] for t in traces])[:, finished].mean(1) for k in traces[0].norms}
    last = tests["authors"].steps >= tests["authors"].steps[-1] - period + 1
    shown = int(finished.nonzero()[0]) if bool(finished.any()) else 0
    return {
        "time_s": _thin(steps.double() * step_seconds),
        "D": _thin(D),
        "D_closed_loop": _thin(tests["closed_loop"].D[:, finished].mean(1)),
        "norm_time_s": _thin(torch.cat([t.steps for t in traces]).double() * step_seconds),
        "norms": {k: _thin(v) for k, v in norms.items()},
        "hand_seed_position": shown,
        "hand_authors": _thin(tests["authors"].hand[last, shown]),
        "hand_closed_loop": _thin(tests["closed_loop"].hand[last, shown]),
        "target": _thin(tests["authors"].target[last]),
    }


def _conditions(config: ReservoirMotorConfig) -> list[tuple[str, Algorithm, bool]]:
    return [
        (name, algorithm, clock == "clock")
        for name in config.presets
        for algorithm in ALGORITHMS[name]
        if algorithm in config.algorithms
        for clock in config.inputs
    ]


def not_applicable(config: ReservoirMotorConfig) -> dict[str, str]:
    """``preset/force`` -> the reason, for each requested preset on which FORCE cannot be trained (the arm tasks)."""
    reasons = {}
    for name in config.presets:
        if "force" in config.algorithms and "force" not in ALGORITHMS[name]:
            try:
                build_readout(preset(name, n=2), "force")
            except NotApplicable as error:
                reasons[f"{name}/force"] = str(error)
    return reasons


def condition_key(name: str, algorithm: str, clock: bool) -> str:
    """``preset/algorithm/input``."""
    return f"{name}/{algorithm}/{'clock' if clock else 'none'}"


def run(config: ReservoirMotorConfig, run_dir: RunDir) -> dict[str, Any]:
    """Train and test every condition in turn.

    A checkpoint after every training trial and every finished condition makes a killed run resume there.
    """
    ledger = Ledger.load(run_dir)
    done: dict[str, Any] = {}
    for name, algorithm, clock in _conditions(config):
        key = condition_key(name, algorithm, clock)
        part = (name, algorithm, "clock" if clock else "none")
        if part in ledger:
            done[key] = ledger[part]
            continue
        result, _, _ = train_and_test(
            config,
            name,
            algorithm,
            clock,
            checkpoint=functools.partial(ledger.save_partial, part),
            resume=ledger.partial(part),
        )
        result["summary"] = {k: summary_stats(v) for k, v in result["deviation"].items()}
        done[key] = result
        run_dir.log(
            condition=key,
            train_rmse_last_trial=result["train_rmse_last_trial"],
            deviation=result["deviation"],
            dropped=result["dropped"],
            seconds=result["seconds"],
        )
        ledger.record(part, result)
    figures = [_plot_trajectories(done, run_dir), _plot_D(done, run_dir), _plot_norms(done, run_dir)]
    step = _step_seconds(configured_preset(config, config.presets[0], clock=False))
    notes = [
        f"N = {config.n}, trials of {config.period} steps ({config.period * step:g} s at dt = {step * 1e3:g} ms), "
        f"{config.train_trials} training + {config.test_trials} test trials, seeds {config.seed}–"
        f"{config.seed + config.seeds - 1} run as one batch, {config.dtype}; J drawn '{config.connectivity}'; "
        f"SUPERTREX's mastery target {config.mastery_target} ('preset': z₂ on Task 1, z̄₂ on Tasks 2–3).",
        "A seed whose state or output becomes non-finite is dropped from its batch (seed, step and quantity are "
        "recorded) and the others finish; statistics are over the seeds that finished: median, mean with its 95 % "
        "Student-t interval, k/n finished and k/n learned (deviation < 0.5).",
        "Authors' test protocol: Task 1 feeds the *target* back (teacher forcing), Tasks 2–3 replay the output "
        "recorded five trials earlier; neither is autonomous generation. 'Closed loop' feeds back the network's own "
        "output. 'clock' conditions add the input u(t) = (cos 2πt/T, sin 2πt/T) through W_in ~ U[−1, 1], kept on at "
        "test; 'none' is the authors' input-free network.",
        "FORCE is not applicable to Tasks 2–3 (it needs target joint angles, i.e. inverse kinematics).",
        "Deviation = mean of D(t) over the test trials, D = √(squared hand error low-passed with 2·10⁻⁴ per step); "
        "'learned' = deviation < 0.5 (ReScience's 'satisfactory'). References: ReScience C 7(1) #11 (original "
        "scripts, authors' protocol); closed-loop-with-clock references are our own separate NumPy simulation of "
        "the paper's equations, one seed (not a published number).",
    ]
    if any(name.endswith("task3") for name in config.presets):
        notes.append(
            "Task 3's movement cost: pyle2019-task3 charges Σ c_k |z_k − z̄₂,k| (total output minus the exploratory "
            "low-pass, as Task3_ST.m), resci2021-task3 the high-pass of the total output. The scripts also add the "
            "cost to the test error; our deviation is the hand distance alone."
        )
    if config.period < 50_000 or config.n < 1000:
        notes.append(
            "Reduced run (shorter trials and/or smaller N than the paper's 10-s trials at N = 1000): SUPERTREX's "
            "transfer needs the error below θ, which short trials do not reach, so deviations are not comparable "
            "with the references."
        )
    for key, c in done.items():
        for d in c.get("dropped", []):
            notes.append(
                f"{key}: seed {d['seed']} dropped at step {d['step']} ({', '.join(d['quantities'])} non-finite; "
                f"{d['cause']})."
            )
    return {"conditions": done, "not_applicable": not_applicable(config), "figures": figures, "notes": notes}


def _panel_keys(done: dict[str, Any]) -> list[str]:
    return [k for k in done if k.endswith("/none")] or list(done)


def _panel_title(key: str) -> str:
    """``pyle2019-task2/supertrex/none`` → ``Task 2 (2-joint arm)`` over ``SUPERTREX`` (``, clock input`` if any)."""
    preset_name, algorithm, inp = key.split("/")
    return f"{TASK_LABELS[preset_name]}\n{LABELS[algorithm]}" + ("" if inp == "none" else f", {inp} input")


def plot_hand_paths(ax: Any, curves: dict[str, Any], title: str, effector: str) -> None:
    """The target and the last test trial's path under both protocols (a dropped seed's NaN path is left out)."""
    target = torch.tensor(curves["target"])
    ax.plot(target[:, 0], target[:, 1], "k-", lw=2, alpha=0.4, label="target")
    for name, style in (("hand_authors", "C0-"), ("hand_closed_loop", "C3-")):
        path = torch.tensor(curves[name], dtype=torch.float64)
        if bool(torch.isfinite(path).all()):
            ax.plot(path[:, 0], path[:, 1], style, lw=0.8, label=name.removeprefix("hand_").replace("_", " "))
    ax.set_title(title, fontsize=8)
    ax.set_xlabel(f"{effector} x")
    ax.set_ylabel(f"{effector} y")
    ax.set_aspect("equal", "datalim")


def _plot_trajectories(done: dict[str, Any], run_dir: RunDir) -> str:
    keys = _panel_keys(done)
    figure, axes = new_figure(len(keys), width=3.6, height=3.4)
    for ax, key in zip(axes, keys, strict=True):
        plot_hand_paths(ax, done[key]["curves"], _panel_title(key), "pen")
    axes[0].legend(fontsize=7)
    path = run_dir.save_figure(figure, "trajectories")
    close(figure)
    return path


def _plot_D(done: dict[str, Any], run_dir: RunDir) -> str:
    presets = sorted({k.split("/")[0] for k in done})
    figure, axes = new_figure(len(presets))
    for ax, name in zip(axes, presets, strict=True):
        for key, c in done.items():
            if key.startswith(name + "/"):
                _, algorithm, inp = key.split("/")
                ax.semilogy(c["curves"]["time_s"], c["curves"]["D"], label=f"{LABELS[algorithm]} ({inp})")
        ax.set_xlabel("time (s): training, then test (authors' protocol)")
        ax.set_ylabel("D(t), mean over seeds")
        ax.set_title(TASK_LABELS[name], fontsize=9)
        ax.legend(fontsize=7)
    path = run_dir.save_figure(figure, "distance_to_target")
    close(figure)
    return path


def _plot_norms(done: dict[str, Any], run_dir: RunDir) -> str:
    keys = [k for k in done if "/supertrex/" in k] or list(done)
    figure, axes = new_figure(len(keys), width=3.6)
    for ax, key in zip(axes, keys, strict=True):
        c = done[key]["curves"]
        for name, values in c["norms"].items():
            label = {"W1": "‖W₁‖ mastery", "W2": "‖W₂‖ exploratory"}.get(name, f"‖{name}‖")
            ax.plot(c["norm_time_s"], values, label=label)
        ax.set_xlabel("training time (s)")
        ax.set_ylabel("Frobenius norm, mean over seeds")
        ax.set_title(_panel_title(key), fontsize=8)
        if c["norms"]:
            ax.legend(fontsize=7)
        else:
            label_empty(ax, "no readout weight norms were recorded for this condition")
    path = run_dir.save_figure(figure, "weight_norms")
    close(figure)
    return path


def summarize(results: dict[str, Any]) -> list[ReportRow]:
    """Deviation per task, learner, input and protocol (median, mean [95 % t-interval], k/n) beside ReScience."""
    rows = []
    for key, c in results["conditions"].items():
        name, algorithm, inp = key.split("/")
        for protocol, s in c["summary"].items():
            ours = format_stats(s)
            if inp == "none" and protocol == "authors":
                reference, source = RESCI.get((name, algorithm)), "ReScience C 7(1) #11, mean ± sd over 11 seeds"
            elif inp == "clock" and protocol == "closed_loop":
                reference, source = (
                    CLOSED_LOOP_CLOCK.get((name, algorithm)),
                    "our separate NumPy simulation, one seed (not a published number)",
                )
            else:
                reference, source = None, ""
            what = f"{PROTOCOL_LABELS[protocol]}, input {inp}"
            rows.append(
                ReportRow(f"{TASK_LABELS[name]} {LABELS[algorithm]} deviation ({what})", ours, reference, source)
            )
    for key, reason in results.get("not_applicable", {}).items():
        name, algorithm = key.split("/")
        rows.append(
            ReportRow(f"{TASK_LABELS[name]} {LABELS[algorithm]}", f"not applicable: {reason}", "n/a", "the paper")
        )
    return rows


EXPERIMENT = Experiment(
    name="reservoir-motor",
    description="FORCE, RMHL and SUPERTREX on the butterfly and planar-arm tasks; authors' protocol and closed loop.",
    paper="Pyle & Rosenbaum (2019), Neural Computation 31(7):1430",
    config_class=ReservoirMotorConfig,
    run=run,
    summarize=summarize,
)
