"""``fixedpoint-linear``: Zhu & Rosenbaum (2024) linear teacher–student task, loss landscape and update angles.

Linear fixed points r = W r + x, so r = A x with A = (I − W)⁻¹, loss J = (1/m)‖A X − R̂‖²_F. Three rules, full
batch: ΔW1 (Euclidean gradient), ΔW2 (an exact gradient step in A mapped back to W) and ΔW3 (its inverse-free
linearisation, a natural-gradient step). Setup A (the paper's linear task): n = 200, m = 100, NumPy seed 2023,
3500 steps.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from neuroplastic.core.devices import resolve_device
from neuroplastic.core.metrics import angle_degrees
from neuroplastic.core.progress import progress
from neuroplastic.core.seeding import make_generator
from neuroplastic.core.streams import LandscapeStream
from neuroplastic.fixedpoint import LinearTask, euclidean, linear_teacher_student, max_real_eig, reparam, reparam_exact
from neuroplastic.runs.experiment import Experiment, ExperimentConfig, ReportRow
from neuroplastic.runs.figures import close, distinct_colours, new_figure
from neuroplastic.runs.folder import RunDir
from neuroplastic.runs.ledger import Key, Ledger

LinearRule = Literal["dw1", "dw2", "dw3"]
_NAMES = {"dw1": "ΔW1 (gradient)", "dw2": "ΔW2 (reparameterised)", "dw3": "ΔW3 (linearised reparam.)"}
SOURCE = "re-run of the authors' notebook (seed 2023)"
# (rule, η) -> J at steps 100, 1000, 3500 and max Re λ(W) at the end, from a re-run of the authors' notebook
REFERENCE = {
    ("dw1", 0.3): (0.226, 5.4e-3, 1.5e-4, 0.49),
    ("dw1", 1.0): (0.057, 6.9e-4, 1.9e-5, 0.48),
    ("dw1", 3.0): (0.063, 1.9e-2, 1.6e-2, 0.35),
    ("dw2", 1.0): (0.031, 1.2e-6, 6.9e-16, 0.58),
    ("dw2", 3.0): (1.4e-3, 4.0e-14, 1.5e-29, 0.58),
    ("dw3", 1.0): (0.031, 1.2e-6, 6.9e-16, 0.58),
    ("dw3", 3.0): (1.4e-3, 4.1e-14, 1.5e-30, 0.58),
}
REFERENCE_J0 = 3.19


@dataclass(frozen=True, kw_only=True)
class FixedPointLinearConfig(ExperimentConfig):
    """Setup A (learning curves), B (landscape slices) and C (angles); ``task_seed`` is the notebook's NumPy seed."""

    n: int = 200
    m: int = 100
    task_seed: int = 2023
    learning_rates: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0, 3.0)
    rules: tuple[LinearRule, ...] = ("dw1", "dw2", "dw3")
    steps: int = 3500
    log_every: int = 50
    angle_lr: float = 0.3
    angle_steps: int = 3500
    slice_directions: int = 10
    slice_points: int = 201
    grid_points: int = 61
    direction_scale: float = 2.5

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("n", "m", "steps", "log_every", "angle_steps", "slice_directions", "slice_points", "grid_points"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.learning_rates or any(not lr > 0 for lr in self.learning_rates):
            raise ValueError(f"learning_rates must be positive, got {self.learning_rates}")
        if not self.rules or any(r not in _NAMES for r in self.rules):
            raise ValueError(f"rules must be among {sorted(_NAMES)}, got {self.rules}")
        if not self.angle_lr > 0 or not self.direction_scale > 0:
            raise ValueError("angle_lr and direction_scale must be > 0")

    @classmethod
    def quick(cls) -> FixedPointLinearConfig:
        """A small variant for CI: n = 50, m = 25, 300 steps, small landscape grids."""
        return cls(
            quick_variant=True, n=50, m=25, steps=300, log_every=10, angle_steps=300, slice_points=41, grid_points=21
        )


def _updates(
    task: LinearTask, W: torch.Tensor, lr: float, rules: tuple[LinearRule, ...]
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """J(W) and the requested updates at W (rows are samples: r_i = A x_i, δ_i = ∂J/∂r_i)."""
    eye = torch.eye(W.shape[0], dtype=W.dtype, device=W.device)
    x = task.inputs.T
    rates = torch.linalg.solve(eye - W, task.inputs).T
    error = rates - task.targets.T
    delta = 2 * error / x.shape[0]
    ones = torch.ones(W.shape[0], dtype=W.dtype, device=W.device)
    rule_fns = {
        "dw1": lambda: euclidean(W, rates, ones, delta),
        "dw2": lambda: reparam_exact(W, ones, x, delta, lr),
        "dw3": lambda: reparam(W, rates, ones, delta),
    }
    return (error**2).sum() / x.shape[0], {rule: rule_fns[rule]() for rule in rules}


def _train(task: LinearTask, rule: LinearRule, lr: float, steps: int) -> dict[str, Any]:
    W = task.w_init.clone()
    losses: list[float] = []
    diverged_at = None
    for step in range(steps + 1):
        loss, updates = _updates(task, W, lr, (rule,))
        if not bool(torch.isfinite(loss)) or not bool(torch.isfinite(updates[rule]).all()):
            diverged_at = step
            break
        losses.append(loss.item())
        if step < steps:
            W = W - lr * updates[rule]
    return {"loss": losses, "diverged_at": diverged_at, "max_re_eig": max_real_eig(W) if diverged_at is None else None}


def _angles(task: LinearTask, config: FixedPointLinearConfig, device: torch.device) -> dict[str, list[float]]:
    """θ12 = ∠(ΔW1, ΔW2) along ΔW2 training and θ23 = ∠(ΔW2, ΔW3) along ΔW3 training, from a fresh W₀."""
    g = make_generator(config.seed, LandscapeStream.ANGLE_START)
    fresh = 0.75 * torch.randn(config.n, config.n, generator=g, dtype=torch.float64) / math.sqrt(config.n)
    out: dict[str, list[float]] = {"theta12": [], "theta23": []}
    for rule, key, pair in (("dw2", "theta12", ("dw1", "dw2")), ("dw3", "theta23", ("dw2", "dw3"))):
        W = fresh.to(device)
        for _ in range(config.angle_steps):
            _, updates = _updates(task, W, config.angle_lr, (*pair, rule))
            out[key].append(angle_degrees(updates[pair[0]], updates[pair[1]]))
            W = W - config.angle_lr * updates[rule]
    return out


def _landscape(task: LinearTask, config: FixedPointLinearConfig, device: torch.device) -> dict[str, Any]:
    """J along random W-slices through an exact minimiser W₀, and a 2-D slice in W beside the same slice in A."""
    x, target = task.inputs, task.targets
    n, m = x.shape
    eye = torch.eye(n, dtype=torch.float64, device=device)
    w0 = (target - x) @ torch.linalg.pinv(target)
    a0 = torch.linalg.inv(eye - w0)
    g = make_generator(config.seed, LandscapeStream.SLICE_DIRECTIONS)

    def direction() -> torch.Tensor:
        return (config.direction_scale * torch.randn(n, n, generator=g, dtype=torch.float64) / math.sqrt(n)).to(device)

    def j_of_w(W: torch.Tensor) -> float:
        return (((torch.linalg.solve(eye - W, x) - target) ** 2).sum() / m).item()

    def j_of_a(A: torch.Tensor) -> float:
        return (((A @ x - target) ** 2).sum() / m).item()

    t = torch.linspace(-1, 1, config.slice_points, dtype=torch.float64)
    slices = []
    for _ in range(config.slice_directions):
        d = direction()
        slices.append([j_of_w(w0 + s * d) for s in t])
    d1, d2, e1, e2 = direction(), direction(), direction(), direction()
    grid = torch.linspace(-1, 1, config.grid_points, dtype=torch.float64)
    j_w = [[j_of_w(w0 + s1 * d1 + s2 * d2) for s1 in grid] for s2 in grid]
    j_a = [[j_of_a(a0 + s1 * e1 + s2 * e2) for s1 in grid] for s2 in grid]
    return {"t": t.tolist(), "slices": slices, "grid": grid.tolist(), "j_w": j_w, "j_a": j_a, "j_at_w0": j_of_w(w0)}


def run(config: FixedPointLinearConfig, run_dir: RunDir) -> dict[str, Any]:
    """Train every (rule, η) pair; then angles and landscape. A checkpoint after each pair makes a killed run resume."""
    device = resolve_device(config.device)
    task = linear_teacher_student(config.n, config.m, seed=config.task_seed)
    task = LinearTask(*(t.to(device) for t in (task.inputs, task.targets, task.teacher, task.w_init)))
    curves = Ledger.load(run_dir)
    pairs = [(rule, lr) for rule in config.rules for lr in config.learning_rates]
    for rule, lr in progress(pairs, desc="rules × learning rates"):
        if (rule, lr) in curves:
            continue
        result = _train(task, rule, lr, config.steps)
        for step in range(0, len(result["loss"]), config.log_every):
            run_dir.log(rule=rule, lr=lr, step=step, loss=result["loss"][step])
        curves.record((rule, lr), result)
    angles = _angles(task, config, device)
    landscape = _landscape(task, config, device)
    best = {rule: _best(curves, rule, config) for rule in config.rules}
    figures = [
        _plot_curves(config, curves, run_dir),
        _plot_angles(config, angles, run_dir),
        _plot_landscape(landscape, run_dir),
    ]
    summary = {
        f"{rule}/{lr:g}": {
            "J": {str(s): c["loss"][s] for s in (0, 100, 1000, 3500, config.steps) if s < len(c["loss"])},
            "final_J": c["loss"][-1],
            "max_re_eig": c["max_re_eig"],
            "diverged_at": c["diverged_at"],
        }
        for (rule, lr), c in curves.items()
    }
    inside = sum(v < 1e3 for s in landscape["slices"] for v in s) / sum(len(s) for s in landscape["slices"])
    j0 = curves[pairs[0]]["loss"][0]
    slice_max = max(max(s) for s in landscape["slices"])
    t12, t23 = angles["theta12"], angles["theta23"]
    notes = [
        f"Setup A: n = {config.n}, m = {config.m}, NumPy seed {config.task_seed} (draw order X, Ŵ, noise, W₀), G = I,"
        f" {config.steps} full-batch steps per rule and η, float64. J(W₀) at step 0 = {j0:.4g}"
        f" (authors' notebook: {REFERENCE_J0}).",
        "Best η per rule (lowest final J): "
        + ", ".join(f"{_NAMES[r]} {_describe_best(best[r])}" for r in config.rules)
        + ".",
        f"Angles along training at η = {config.angle_lr:g} from a fresh W₀ (no η is given for the angle plot):"
        f" θ12 starts at"
        f" {t12[0]:.1f}° and ends at {t12[-1]:.1f}°; θ23 starts at {t23[0]:.2f}° and ends at {t23[-1]:.2g}°.",
        f"Landscape: J at the minimiser W₀ = (R̂ − X) pinv(R̂) is {landscape['j_at_w0']:.2g}; along"
        f" {config.slice_directions} random W directions (scale {config.direction_scale:g}/√n), max J on the slices is"
        f" {slice_max:.3g} and {100 * inside:.0f}% of points have J < 1000; in A-coordinates J is a convex quadratic.",
    ]
    return {
        "results": summary,
        "best": best,
        "angles": {k: [v[0], v[min(299, len(v) - 1)], v[-1]] for k, v in angles.items()},
        "landscape": {"j_at_w0": landscape["j_at_w0"], "max_slice_J": slice_max},
        "steps": config.steps,
        "setup": [config.n, config.m, config.task_seed],
        "figures": figures,
        "notes": notes,
    }


def _best(curves: Mapping[Key, Any], rule: str, config: FixedPointLinearConfig) -> dict[str, Any]:
    """The η with the lowest final J among those that did not diverge (lr None when every η diverged)."""
    runs = {lr: curves[rule, lr] for lr in config.learning_rates}
    finals = {lr: c["loss"][-1] for lr, c in runs.items() if c["diverged_at"] is None}
    if not finals:
        return {"lr": None, "final_J": None, "diverged_at": {f"{lr:g}": c["diverged_at"] for lr, c in runs.items()}}
    lr = min(finals, key=finals.get)
    return {"lr": lr, "final_J": finals[lr]}


def _describe_best(best: dict[str, Any]) -> str:
    if best["lr"] is None:
        steps = ", ".join(f"η = {lr} at step {step}" for lr, step in best["diverged_at"].items())
        return f"every η diverged ({steps})"
    return f"η = {best['lr']:g} → J = {best['final_J']:.3g}"


def _plot_curves(config: FixedPointLinearConfig, curves: Mapping[Key, Any], run_dir: RunDir) -> str:
    figure, axes = new_figure(len(config.rules))
    colours = distinct_colours(len(config.learning_rates))
    for ax, rule in zip(axes, config.rules, strict=True):
        for colour, lr in zip(colours, config.learning_rates, strict=True):
            ax.semilogy(curves[rule, lr]["loss"], color=colour, label=f"η = {lr:g}")
        ax.set_xlabel("step")
        ax.set_ylabel("J")
        ax.set_title(_NAMES[rule])
        ax.legend(fontsize=7)
    path = run_dir.save_figure(figure, "learning_curves")
    close(figure)
    return path


def _plot_angles(config: FixedPointLinearConfig, angles: dict[str, list[float]], run_dir: RunDir) -> str:
    figure, (ax,) = new_figure(1)
    ax.plot(angles["theta12"], label="θ12 = ∠(ΔW1, ΔW2), training with ΔW2")
    ax.plot(angles["theta23"], label="θ23 = ∠(ΔW2, ΔW3), training with ΔW3")
    ax.set_xlabel(f"step (η = {config.angle_lr:g})")
    ax.set_ylabel("angle (degrees)")
    ax.legend(fontsize=7)
    path = run_dir.save_figure(figure, "angles")
    close(figure)
    return path


def _plot_landscape(landscape: dict[str, Any], run_dir: RunDir) -> str:
    figure, axes = new_figure(3)
    for s in landscape["slices"]:
        axes[0].semilogy(landscape["t"], s, lw=0.8)
    axes[0].set_xlabel("t")
    axes[0].set_ylabel("J(W₀ + t W₁)")
    axes[0].set_title("random W slices")
    extent = (landscape["grid"][0], landscape["grid"][-1]) * 2
    for ax, key, title in ((axes[1], "j_w", "J in W-coordinates"), (axes[2], "j_a", "J in A-coordinates")):
        image = ax.imshow(np.log10(np.asarray(landscape[key]) + 1e-30), origin="lower", extent=extent, cmap="viridis")
        figure.colorbar(image, ax=ax, label="log10 J")
        ax.set_xlabel("t₁")
        ax.set_ylabel("t₂")
        ax.set_title(title)
        ax.grid(False)
    path = run_dir.save_figure(figure, "landscape")
    close(figure)
    return path


def summarize(results: dict[str, Any]) -> list[ReportRow]:
    """J at steps 100/1000/3500 and max Re λ(W) per (rule, η) beside a re-run of the authors' notebook; best η."""
    rows = []
    comparable = results["setup"] == [200, 100, 2023]
    source = SOURCE if comparable else "quick variant: no published number at this size"
    for (rule, lr), reference_row in REFERENCE.items():
        ref = reference_row if comparable else (None,) * 4
        ours = results["results"].get(f"{rule}/{lr:g}")
        if ours is None:
            continue
        label = f"{_NAMES[rule]}, η = {lr:g}"
        for step, value in zip(("100", "1000", "3500"), ref[:3], strict=True):
            if step in ours["J"]:
                rows.append(ReportRow(f"{label}: J at step {step}", ours["J"][step], value, source))
        if ours["max_re_eig"] is not None and results["steps"] == 3500:
            rows.append(ReportRow(f"{label}: max Re λ(W) at the end", ours["max_re_eig"], ref[3], source))
    for rule, best in results["best"].items():
        rows.append(
            ReportRow(
                f"{_NAMES[rule]}: best η (final J after {results['steps']} steps)",
                _describe_best(best),
                None,
                "",
            )
        )
    return rows


EXPERIMENT = Experiment(
    name="fixedpoint-linear",
    description="Linear fixed points: ΔW1 vs ΔW2 vs ΔW3 learning curves, update angles and loss landscape.",
    paper="Zhu & Rosenbaum (2024), Learning fixed points of RNNs by reparameterizing the network model",
    config_class=FixedPointLinearConfig,
    run=run,
    summarize=summarize,
)
