"""``reservoir-lesions``: basal-ganglia lesions and dopamine manipulations in SUPERTREX (Pyle & Rosenbaum 2019).

SUPERTREX on Task 2 (2-joint arm) under interventions on the exploratory ("basal ganglia") pathway: removing it
before, during or after learning, depleting the dopamine-like modulation Φ (and restoring it part-way, the
treatment analogue), replacing it by a tonic offset (L-DOPA-like), and a pathological (corrupted) exploratory
output that is then removed (pallidotomy-like). Every intervention is data: a :class:`Plan` of switches per training
trial, and the switches of each test run. Which of these the paper ran, and with which parameters, is not
stated in the paper's text we could check: each result is this model's prediction, set beside the qualitative claim
of the basal-ganglia-as-tutor account the paper follows, as a paired difference over seeds.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Literal

from neuroplastic.experiments.reservoir_motor import (
    ReservoirMotorConfig,
    format_stats,
    per_seed,
    plot_hand_paths,
    summary_stats,
    train_and_test,
)
from neuroplastic.reservoir import NO_SWITCHES, Phase, Plan, Simulation, Switches
from neuroplastic.runs.bootstrap import t_interval
from neuroplastic.runs.experiment import Experiment, ExperimentConfig, ReportRow
from neuroplastic.runs.figures import close, label_empty, new_figure
from neuroplastic.runs.folder import RunDir
from neuroplastic.runs.ledger import Ledger

PROTOCOL = {"authors": "authors' protocol", "closed_loop": "closed loop"}
PATHWAY = {"removed": "removed", "kept": "kept frozen", "kept_learning": "kept and learning (W₁ frozen)"}
INTERVENTIONS = (
    "control",
    "lesion_before",
    "lesion_during",
    "dopamine_depleted",
    "dopamine_restored",
    "tonic_only",
)
EQUIVALENCE_MARGIN = 0.05  # "no worse": the paired difference's 95 % interval lies below this deviation


@dataclass(frozen=True)
class Claim:
    """A qualitative claim as a paired comparison over seeds.

    Deviation of ``condition`` under test ``variant`` minus that of ``baseline`` under ``baseline_variant``,
    expected ``direction``: ">" worse, "<" better, "≈" no worse (within :data:`EQUIVALENCE_MARGIN`).
    """

    name: str
    text: str
    condition: str
    variant: str
    baseline: str
    baseline_variant: str
    direction: Literal[">", "<", "≈"]
    anchor: str


CLAIMS = (
    Claim(
        "lesion_before",
        "a basal-ganglia lesion before learning blocks learning",
        "lesion_before",
        "removed",
        "control",
        "removed",
        ">",
        "GPi inactivation impairs learning (Turner & Desmurget 2010; Piron et al. 2016)",
    ),
    Claim(
        "lesion_during",
        "a lesion during learning stops learning what is not yet consolidated",
        "lesion_during",
        "removed",
        "control",
        "removed",
        ">",
        "GPi inactivation impairs learning (Turner & Desmurget 2010)",
    ),
    Claim(
        "lesion_after",
        "after consolidation, removing the basal-ganglia pathway spares the skill (automaticity)",
        "control",
        "removed",
        "control",
        "kept_learning",
        "≈",
        "GPi inactivation spares over-learned movements (Desmurget & Turner 2010)",
    ),
    Claim(
        "dopamine_depleted",
        "dopamine depletion (Parkinson's) impairs learning a new skill",
        "dopamine_depleted",
        "removed",
        "control",
        "removed",
        ">",
        "impaired motor-skill learning in Parkinson's disease",
    ),
    Claim(
        "dopamine_restored",
        "restoring dopamine part-way through restores learning",
        "dopamine_restored",
        "removed",
        "dopamine_depleted",
        "removed",
        "<",
        "dopamine replacement as treatment",
    ),
    Claim(
        "tonic_only",
        "tonic dopamine without its phasic signal (L-DOPA-like) does not restore learning",
        "tonic_only",
        "removed",
        "control",
        "removed",
        ">",
        "L-DOPA impairs learning (Shohamy et al. 2006)",
    ),
    Claim(
        "pathological_output",
        "a pathological basal-ganglia output degrades a learned skill",
        "pathological_output",
        "kept",
        "control",
        "kept",
        ">",
        "basal-ganglia output in Parkinson's disease",
    ),
    Claim(
        "pallidotomy",
        "removing the pathological output (pallidotomy-like) restores the skill",
        "pathological_output",
        "removed",
        "pathological_output",
        "kept",
        "<",
        "pallidotomy relieves parkinsonian motor symptoms",
    ),
)


@dataclass(frozen=True, kw_only=True)
class ReservoirLesionsConfig(ExperimentConfig):
    """Full protocol of Task 2 (N = 1000, 10 × 10-s training trials, 5 test trials), 11 seeds batched.

    ``interventions``: which trainings to run ("control" also yields the pathological-output test and the lesion
    after learning); ``lesion_during_trial``: the number of training trials before the mid-learning lesion;
    ``dopamine_restored_trial``: the number of depleted training trials before dopamine is restored.
    ``dopamine_scale`` multiplies Φ while depleted (0.25: attenuated, not abolished).
    """

    preset: Literal["pyle2019-task2", "resci2021-task2"] = "pyle2019-task2"
    clock: bool = False
    n: int = 1000
    period: int = 50_000
    train_trials: int = 10
    test_trials: int = 5
    seeds: int = 11
    interventions: tuple[str, ...] = INTERVENTIONS
    lesion_during_trial: int = 5
    dopamine_restored_trial: int = 5
    dopamine_scale: float = 0.25
    tonic_offset: float = 0.5
    corrupt_noise: float = 0.3
    corrupt_offset: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("lesion_during_trial", "dopamine_restored_trial"):
            if not 0 < getattr(self, name) < self.train_trials:
                raise ValueError(f"{name} must lie in 1..{self.train_trials - 1}, got {getattr(self, name)}")
        unknown = set(self.interventions) - set(INTERVENTIONS)
        if unknown or not self.interventions:
            raise ValueError(f"interventions must be a non-empty subset of {INTERVENTIONS}, got {self.interventions}")
        if self.dopamine_scale < 0 or self.corrupt_noise < 0:
            raise ValueError("dopamine_scale and corrupt_noise must be >= 0")
        _motor_config(self)  # the motor experiment's own checks (sizes, trials, seeds), before anything runs

    @classmethod
    def quick(cls) -> ReservoirLesionsConfig:
        """N = 200, 0.4-s trials, 2 seeds: every intervention runs, but nothing consolidates at this length."""
        return cls(
            quick_variant=True,
            n=200,
            period=2000,
            train_trials=5,
            test_trials=2,
            seeds=2,
            lesion_during_trial=2,
            dopamine_restored_trial=2,
        )


def _motor_config(config: ReservoirLesionsConfig) -> ReservoirMotorConfig:
    return ReservoirMotorConfig(
        seed=config.seed,
        device=config.device,
        presets=(config.preset,),
        n=config.n,
        period=config.period,
        train_trials=config.train_trials,
        test_trials=config.test_trials,
        seeds=config.seeds,
        threads=config.threads,
    )


def conditions(config: ReservoirLesionsConfig) -> dict[str, tuple[str, Plan]]:
    """Training interventions: name -> (description, plan of switches over the training trials)."""
    lesion = Switches(lesioned=True)
    depleted = Switches(dopamine_scale=config.dopamine_scale)
    return {
        "control": ("no intervention", Plan()),
        "lesion_before": ("exploratory pathway removed before learning (t = 0)", Plan((Phase(lesion),))),
        "lesion_during": (
            f"exploratory pathway removed at the start of training trial {config.lesion_during_trial + 1}",
            Plan((Phase(trials=config.lesion_during_trial), Phase(lesion))),
        ),
        "dopamine_depleted": (
            f"Φ scaled by {config.dopamine_scale:g} throughout training",
            Plan((Phase(depleted),)),
        ),
        "dopamine_restored": (
            f"Φ scaled by {config.dopamine_scale:g} for {config.dopamine_restored_trial} training trials, "
            "then restored",
            Plan((Phase(depleted, trials=config.dopamine_restored_trial), Phase(NO_SWITCHES))),
        ),
        "tonic_only": (
            f"phasic Φ removed, tonic offset {config.tonic_offset:g} (L-DOPA-like)",
            Plan((Phase(Switches(dopamine_scale=0.0, tonic_offset=config.tonic_offset)),)),
        ),
    }


KEPT = Switches(keep_exploratory=True)  # test with the final W₂ r, without exploration noise
KEPT_LEARNING = Switches(keep_exploratory=True, gate_theta=1e-12)  # W₂ explores and learns; the gate shut, W₁ frozen


def _test_both_protocols(
    sim: Simulation,
    trained: dict[str, Any],
    replay: Any,
    config: ReservoirLesionsConfig,
    switches: Switches,
    *,
    learn: bool,
    label: str,
) -> dict[str, list[float | None]]:
    """Test trials from the trained loop state under ``switches``, the authors' (replayed) protocol, then closed loop.

    The readout goes on from where the previous test left it (``restore(..., readout=False)``): the corruption's
    noise stream, and W₂ with its running averages when it keeps learning, carry over from one test to the next.
    """
    deviations = {}
    for protocol, feedback in (("authors", "replay"), ("closed_loop", "closed_loop")):
        sim.restore(trained, readout=False)
        trace = sim.run(
            config.test_trials * config.period,
            learn=learn,
            feedback=feedback,
            replay=replay if feedback == "replay" else None,
            record_every=config.period,
            switches=switches,
        )
        deviations[f"{label}/{protocol}"] = per_seed(trace.deviation)
    return deviations


def _entry(description: str, deviations: dict[str, list[float]], result: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": description,
        "deviation": deviations,
        "summary": {k: summary_stats(v) for k, v in deviations.items()},
        "train_rmse_last_trial": result["train_rmse_last_trial"],
        "final_norms": result["final_norms"],
        "dropped": result["dropped"],
        "curves": {
            k: result["curves"][k]
            for k in ("norm_time_s", "norms", "time_s", "D", "hand_authors", "hand_closed_loop", "target")
        },
    }


def run(config: ReservoirLesionsConfig, run_dir: RunDir) -> dict[str, Any]:
    """Train SUPERTREX under each intervention; test with the exploratory pathway removed and kept.

    The pathological-output condition reuses the control network: its exploratory output is corrupted at test
    (kept) and then removed, which is exactly the control's 'removed' test.
    """
    motor = _motor_config(config)
    ledger = Ledger.load(run_dir)
    for name, (description, plan) in conditions(config).items():
        if (name,) in ledger or name not in config.interventions:
            continue
        result, sim, replay = train_and_test(
            motor,
            config.preset,
            "supertrex",
            config.clock,
            plan=plan,
            checkpoint=functools.partial(ledger.save_partial, (name,)),
            resume=ledger.partial((name,)),
        )
        trained = sim.state()
        deviations = {f"removed/{k}": v for k, v in result["deviation"].items()}
        if not any(phase.switches.lesioned for phase in plan.phases):
            deviations |= _test_both_protocols(sim, trained, replay, config, KEPT, learn=False, label="kept")
        if name == "control":
            pathological = Switches(
                keep_exploratory=True, corrupt_noise=config.corrupt_noise, corrupt_offset=config.corrupt_offset
            )
            corrupted = {k: v for k, v in deviations.items() if k.startswith("removed/")}
            corrupted |= _test_both_protocols(sim, trained, replay, config, pathological, learn=False, label="kept")
            # recorded before the control: a kill between the two records repeats the control's last trial only
            ledger.record(
                ("pathological_output",),
                _entry(
                    f"trained network, then z₂ corrupted by offset {config.corrupt_offset:g} + "
                    f"{config.corrupt_noise:g}·U[−1, 1]",
                    corrupted,
                    result,
                ),
            )
            deviations |= _test_both_protocols(
                sim, trained, replay, config, KEPT_LEARNING, learn=True, label="kept_learning"
            )
        run_dir.log(condition=name, deviation=deviations, final_norms=result["final_norms"])
        ledger.record((name,), _entry(description, deviations, result))
    done = {name: entry for (name,), entry in ledger.items()}
    notes = [
        f"SUPERTREX, {config.preset}, N = {config.n}, {config.train_trials} training trials of {config.period} steps, "
        f"{config.test_trials} test trials, seeds {config.seed}–{config.seed + config.seeds - 1}"
        + (", clock input" if config.clock else ", no input")
        + ".",
        "Test columns: 'removed' drops the exploratory pathway at test (the authors' test); 'kept' keeps the final, "
        "frozen W₂ r (without exploration noise); 'kept_learning' (control only) keeps W₂ exploring and learning with "
        "W₁ frozen. 'authors' = replayed training output fed back, 'closed_loop' = own output.",
        "Why 'kept' is much worse than 'removed' after consolidation (measured, Task 2 seed 1: 0.561 vs 0.017): "
        "W₂ does not decay to zero. RMHL keeps z₂(t) = W₂(t) r(t) near zero at every step (|z₂| rms 0.003 in the "
        "last training trial), but W₂ itself keeps moving with the trial phase: its Hebbian steps lie along r, "
        "whose common mode (‖r̄‖ ≈ 19 of ‖r‖ ≈ 20) couples all phases, so |W₂(t + lag) r(t)| grows to ≈ 0.13 "
        "(joint 2) half a trial later and returns to ≈ 0.01 after one trial. Frozen at its final value, W₂ adds a"
        " phase-dependent error; kept *learning* at test (W₁ frozen) it gives 0.024. The skill lives in W₁, as "
        "the paper says; the exploratory pathway is small only while it keeps learning.",
        "Which interventions the paper used, and their parameters, is not stated in the paper's text; "
        "these are the model's answers, not reproductions of a published table. Each claim is tested as a paired "
        "difference over the seeds both conditions finished (same J, Q, x(0) and noise streams), mean with its 95 % "
        "Student-t interval: 'agrees' when the interval lies on the claimed side of 0 (for 'no worse', below "
        f"{EQUIVALENCE_MARGIN:g}), 'disagrees' when it lies on the other, 'inconclusive' otherwise.",
    ]
    if config.quick_variant:
        notes.append("Quick run (smoke test): nothing consolidates at this length, so no claim gets a verdict.")
    claims = evaluate_claims(done, quick=config.quick_variant)
    figures = [_plot(done, run_dir), _plot_trajectories(done, run_dir)]
    return {"conditions": done, "claims": claims, "figures": figures, "notes": notes}


def paired_difference(a: list[float | None], b: list[float | None]) -> dict[str, float | int | None]:
    """Mean of a − b over the seeds where both finished, with its 95 % Student-t interval (None below 2 pairs)."""
    diffs = [x - y for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    if not diffs:
        return {"n": 0, "mean": None, "ci_low": None, "ci_high": None}
    low, high = t_interval(diffs) if len(diffs) > 1 else (None, None)
    return {"n": len(diffs), "mean": sum(diffs) / len(diffs), "ci_low": low, "ci_high": high}


def verdict(difference: dict[str, Any], direction: str) -> str:
    """'agrees', 'disagrees' or 'inconclusive' from the paired interval (see the notes)."""
    low, high = difference["ci_low"], difference["ci_high"]
    if low is None or math.isnan(low):
        return "inconclusive"
    if direction == ">":
        return "agrees" if low > 0 else "disagrees" if high < 0 else "inconclusive"
    if direction == "<":
        return "agrees" if high < 0 else "disagrees" if low > 0 else "inconclusive"
    return "agrees" if high < EQUIVALENCE_MARGIN else "disagrees" if low > EQUIVALENCE_MARGIN else "inconclusive"


def evaluate_claims(done: dict[str, Any], *, quick: bool) -> list[dict[str, Any]]:
    """Each :data:`CLAIMS` entry whose conditions ran, under both test protocols."""
    evaluated = []
    for claim in CLAIMS:
        for protocol in PROTOCOL:
            variant, baseline = f"{claim.variant}/{protocol}", f"{claim.baseline_variant}/{protocol}"
            if claim.condition not in done or claim.baseline not in done:
                continue
            a, b = done[claim.condition]["deviation"], done[claim.baseline]["deviation"]
            if variant not in a or baseline not in b:
                continue
            difference = paired_difference(a[variant], b[baseline])
            evaluated.append(
                {
                    "claim": claim.name,
                    "protocol": protocol,
                    "difference": difference,
                    "verdict": "quick run: no verdict" if quick else verdict(difference, claim.direction),
                }
            )
    return evaluated


def _plot(done: dict[str, Any], run_dir: RunDir) -> str:
    figure, axes = new_figure(2)
    for name, c in done.items():
        axes[0].semilogy(c["curves"]["time_s"], c["curves"]["D"], label=name.replace("_", " "))
        if "W1" in c["curves"]["norms"]:
            axes[1].plot(c["curves"]["norm_time_s"], c["curves"]["norms"]["W1"], label=name.replace("_", " "))
    axes[0].set_xlabel("time (s): training, then test")
    axes[0].set_ylabel("D(t), mean over seeds")
    axes[1].set_xlabel("training time (s)")
    axes[1].set_ylabel("‖W₁‖ (mastery pathway), mean over seeds")
    axes[0].legend(fontsize=7)
    if not axes[1].has_data():
        label_empty(axes[1], "no condition recorded ‖W₁‖ (only SUPERTREX has a mastery pathway)")
    path = run_dir.save_figure(figure, "lesions")
    close(figure)
    return path


def _plot_trajectories(done: dict[str, Any], run_dir: RunDir) -> str:
    """Hand paths in the last test trial (the exploratory pathway removed), one panel per intervention."""
    figure, axes = new_figure(len(done), width=3.2, height=3.2)
    for ax, (name, c) in zip(axes, done.items(), strict=True):
        plot_hand_paths(ax, c["curves"], name.replace("_", " "), "hand")
    axes[0].legend(fontsize=7)
    path = run_dir.save_figure(figure, "lesion_trajectories")
    close(figure)
    return path


def summarize(results: dict[str, Any]) -> list[ReportRow]:
    """Deviation per intervention and test variant, then each claim's paired difference and verdict."""
    rows = []
    for c in results["conditions"].values():
        for variant, s in c["summary"].items():
            pathway, protocol = variant.split("/")
            rows.append(
                ReportRow(
                    f"{c['description']}: deviation, exploratory pathway {PATHWAY[pathway]}, {PROTOCOL[protocol]}",
                    format_stats(s),
                    None,
                    "paper's lesion parameters unconfirmed",
                )
            )
    claims = {c.name: c for c in CLAIMS}
    expected = {">": "worse (Δ > 0)", "<": "better (Δ < 0)", "≈": f"no worse (Δ < {EQUIVALENCE_MARGIN:g})"}
    for e in results.get("claims", []):
        claim, d = claims[e["claim"]], e["difference"]
        if d["mean"] is None:
            ours = f"no seed finished both; {e['verdict']}"
        elif d["ci_low"] is None:
            ours = f"Δ = {d['mean']:+.4f} (1 pair, no interval); {e['verdict']}"
        else:
            ours = f"Δ = {d['mean']:+.4f} [{d['ci_low']:+.4f}, {d['ci_high']:+.4f}] ({d['n']} pairs); {e['verdict']}"
        rows.append(
            ReportRow(
                f"Model prediction: {claim.text} ({claim.condition} {PATHWAY[claim.variant]} − {claim.baseline} "
                f"{PATHWAY[claim.baseline_variant]}, {PROTOCOL[e['protocol']]})",
                ours,
                f"expected {expected[claim.direction]}",
                claim.anchor,
            )
        )
    return rows


EXPERIMENT = Experiment(
    name="reservoir-lesions",
    description="SUPERTREX Task 2 under basal-ganglia lesions, dopamine depletion and pathological exploratory output.",
    paper="Pyle & Rosenbaum (2019), Neural Computation 31(7):1430",
    config_class=ReservoirLesionsConfig,
    run=run,
    summarize=summarize,
)
