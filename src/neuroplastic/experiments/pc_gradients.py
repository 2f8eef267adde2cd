"""``pc-gradients``: per-layer agreement of predictive-coding updates with backprop (Rosenbaum 2022, Figs. 1, 3, 5).

Each setting trains the paper's network with Adam on its own updates; every ``record_every`` steps the update
of the current batch is compared with backprop's gradient on the same batch and parameters: relative error
‖dθ_l − ∇_l‖/‖∇_l‖ and angle per PC layer. For fixed prediction with η < 1 the closed form 1 − P[Bin(n−1, η) ≥ L−l]
is drawn beside the measurement.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import torch

from neuroplastic.core.divergence import check_finite
from neuroplastic.core.progress import progress
from neuroplastic.core.seeding import make_generator
from neuroplastic.experiments.base import Experiment, ReportRow
from neuroplastic.experiments.datasets import DataExperimentConfig, load_split, synthetic_note
from neuroplastic.experiments.pc_shared import (
    PAPER,
    Setting,
    accuracy,
    image_batch,
    make_network,
    train_step,
)
from neuroplastic.pc import first_energy_rise, fixed_pred_ratio
from neuroplastic.runs.figures import close, new_figure
from neuroplastic.runs.folder import RunDir

CNN = Literal["mnist_cnn", "cifar_cnn"]
_DATASET = {"mnist_cnn": "mnist", "cifar_cnn": "cifar10"}
_FLOOR = 1e-8
_TITLE = {"mnist_cnn": "MNIST CNN", "cifar_cnn": "CIFAR-10 CNN"}
_PAPER_VALUES = {
    ("mnist_cnn", "strict"): "≈ 0.97, 0.9, 0.6–0.8, 0.3, 0 (Fig. 1; MSE)",
    ("mnist_cnn", "fixed_pred"): "0.88, 0.72, 0.43, 0.14, 0 (Fig. 3)",
    ("mnist_cnn", "exact_fpa"): "< 0.015 in float32 (Fig. 5)",
    ("cifar_cnn", "fixed_pred"): "0.97, 0.89, 0.71, 0.43, 0.135, 0 (Fig. 3)",
    ("cifar_cnn", "exact_fpa"): "< 1e-3 in float32 (Fig. 5)",
}


@dataclass(frozen=True, kw_only=True)
class PCGradientsConfig(DataExperimentConfig):
    """The paper's settings: MNIST CNN 400 Adam steps (lr 2e-3, batch 300); CIFAR CNN 975 steps (lr 1e-2, batch 256)."""

    networks: tuple[CNN, ...] = ("mnist_cnn", "cifar_cnn")
    eta: float = 0.1
    n: int = 20
    mnist_steps: int = 400
    mnist_batch: int = 300
    mnist_lr: float = 2e-3
    cifar_steps: int = 975
    cifar_batch: int = 256
    cifar_lr: float = 1e-2
    record_every: int = 10
    test_subset: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.networks:
            raise ValueError("networks must name at least one network")
        if not 0 < self.eta < 2:
            raise ValueError(f"eta must be in (0, 2), got {self.eta}")
        for name in ("n", "mnist_steps", "mnist_batch", "cifar_steps", "cifar_batch", "record_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.test_subset < 0:
            raise ValueError("test_subset must be >= 0 (0 = the whole test set)")

    @classmethod
    def quick(cls) -> PCGradientsConfig:
        """Twelve steps of the MNIST CNN; the CIFAR CNN (two tiny batches) only with ``--set networks=…,cifar_cnn``.

        CIFAR-10 needs files the user supplies, so the quick variant leaves that network out rather than fail.
        """
        return cls(
            quick_variant=True,
            networks=("mnist_cnn",),
            mnist_steps=12,
            cifar_steps=2,
            cifar_batch=4,
            record_every=4,
            test_subset=1000,
        )

    def schedule(self, network: str) -> tuple[int, int, float]:
        """(steps, batch size, Adam learning rate) for ``network``."""
        if network == "mnist_cnn":
            return self.mnist_steps, self.mnist_batch, self.mnist_lr
        return self.cifar_steps, self.cifar_batch, self.cifar_lr


def settings(config: PCGradientsConfig) -> list[tuple[str, Setting]]:
    """(key, setting): strict and fixed prediction at (η, n), fixed prediction at η = 1, n = L, and backprop."""
    return [
        ("strict", Setting("strict", config.eta, config.n)),
        ("fixed_pred", Setting("fixed_pred", config.eta, config.n)),
        ("exact_fpa", Setting("fixed_pred", 1.0, None)),
        ("backprop", Setting("backprop")),
    ]


def _train(
    config: PCGradientsConfig,
    network: str,
    key: str,
    setting: Setting,
    data,
    phase: int,
    run_dir: RunDir,
    state,
    completed,
) -> dict[str, Any]:
    steps, batch, lr = config.schedule(network)
    train, test = data
    model = make_network(network, config.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    record = {"steps": [], "relative_error": [], "angle": [], "loss": [], "energy_rises": 0}
    start = 0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        record, start = state["record"], state["step"]
    order = torch.randperm(len(train), generator=make_generator(config.seed, list(_DATASET).index(network)))
    for step in progress(range(start, steps), total=steps, initial=start, desc=f"{network} {setting.label}"):
        idx = order[(torch.arange(batch) + step * batch) % len(train)]
        x, y = image_batch(train, idx, network)
        measure = setting.mode != "backprop" and (step % config.record_every == 0 or step == steps - 1)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="strict PC energy increased", category=RuntimeWarning)
            loss, result = train_step(model, optimizer, setting, x, y, compare=measure)
        if result is not None and result.energy is not None:
            record["energy_rises"] += first_energy_rise(result.energy) is not None
        check_finite(loss, step=step, what=f"training loss ({network}, {setting.label})")
        if measure:
            rows = result.comparison[1:]
            record["steps"].append(step)
            record["relative_error"].append([r.relative_error for r in rows])
            record["angle"].append([r.angle_degrees for r in rows])
        record["loss"].append(loss)
        if measure or step == steps - 1:
            run_dir.log(
                network=network,
                setting=key,
                step=step,
                loss=loss,
                relative_error=record["relative_error"][-1] if measure else None,
            )
            run_dir.save_checkpoint(
                {
                    "phase": phase,
                    "step": step + 1,
                    "record": record,
                    "completed": completed,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                }
            )
    errors = torch.tensor(record["relative_error"]) if record["relative_error"] else None
    angles = torch.tensor(record["angle"]) if record["angle"] else None
    return {
        "label": setting.label,
        **record,
        "mean_relative_error": errors.mean(0).tolist() if errors is not None else None,
        "mean_angle": angles.mean(0).tolist() if angles is not None else None,
        "test_accuracy": accuracy(model, test, network),
        "data": train.name,
    }


def _load(config: PCGradientsConfig, network: str, run_dir: RunDir):
    steps, batch, _ = config.schedule(network)
    n_test = config.test_subset or 10000
    shape = (3, 32, 32) if network == "cifar_cnn" else (28, 28)
    options = {"run_dir": run_dir, "config": config, "synthetic_shape": shape}
    train = load_split(_DATASET[network], "train", synthetic_size=steps * batch, **options)
    test = load_split(_DATASET[network], "test", synthetic_size=n_test, **options)
    return train, test.subset(torch.arange(min(n_test, len(test))))


def run(config: PCGradientsConfig, run_dir: RunDir) -> dict[str, Any]:
    """Train every (network, setting) and record its per-layer agreement with backprop."""
    state = run_dir.load_checkpoint()
    completed: dict[str, Any] = state["completed"] if state else {}
    phase = 0
    for network in config.networks:
        pending = [(key, setting) for key, setting in settings(config) if f"{network}/{key}" not in completed]
        data = _load(config, network, run_dir) if pending else None
        for key, setting in settings(config):
            if f"{network}/{key}" not in completed:
                resume = state if state is not None and state["phase"] == phase else None
                completed[f"{network}/{key}"] = _train(
                    config, network, key, setting, data, phase, run_dir, resume, completed
                )
                state = None
            phase += 1
    results: dict[str, Any] = {network: {} for network in config.networks}
    for name, value in completed.items():
        network, key = name.split("/")
        results[network][key] = value
    closed_form = {
        network: [1 - fixed_pred_ratio(config.eta, config.n, depth, l) for l in range(1, depth + 1)]
        for network, depth in (("mnist_cnn", 5), ("cifar_cnn", 6))
        if network in config.networks
    }
    figures = [_plot(config, network, results[network], closed_form[network], run_dir) for network in config.networks]
    notes = [
        "Relative error ‖dθ_l − ∇_l‖/‖∇_l‖ per PC layer (layer 1 first), averaged over the recorded steps of "
        "training with Adam on each setting's own updates; computed in float32 like the paper.",
    ]
    notes += synthetic_note(config)
    return {"results": results, "closed_form_fixed_pred": closed_form, "figures": figures, "notes": notes}


def _plot(config: PCGradientsConfig, network: str, results: dict, closed_form: list[float], run_dir: RunDir) -> str:
    keys = [k for k, _ in settings(config) if k != "backprop"]
    figure, axes = new_figure(len(keys), width=4.2)
    for ax, key in zip(axes, keys, strict=True):
        curves = torch.tensor(results[key]["relative_error"])
        for l in range(curves.shape[1]):
            line = ax.plot(results[key]["steps"], curves[:, l].clamp(min=_FLOOR), label=f"layer {l + 1}")[0]
            if key == "fixed_pred" and closed_form[l] > 0:
                ax.axhline(closed_form[l], ls="--", lw=0.8, color=line.get_color())
        ax.set_yscale("log")
        ax.set_ylim(_FLOOR / 2, 3)
        ax.set_title(f"{_TITLE[network]}: {results[key]['label']}", fontsize=9)
        ax.set_xlabel("training step")
    axes[0].set_ylabel(f"relative error vs backprop (< {_FLOOR:g} drawn at {_FLOOR:g})")
    axes[-1].legend(fontsize=7)
    if "fixed_pred" in keys:
        axes[keys.index("fixed_pred")].text(
            0.02,
            0.02,
            "dashed: closed form 1 − P[Bin(n−1, η) ≥ L−l]",
            transform=axes[keys.index("fixed_pred")].transAxes,
            fontsize=7,
        )
    path = run_dir.save_figure(figure, f"relative_error_{network}")
    close(figure)
    return path


def _fmt(values: list[float | str] | None) -> str:
    """Per-layer values; non-finite ones arrive from results.json as the strings "inf"/"nan"."""
    if values is None:
        return "—"
    return ", ".join(v if isinstance(v, str) else f"{v:.3g}" if v >= 1e-3 or v == 0 else f"{v:.1e}" for v in values)


def summarize(results: dict[str, Any]) -> list[ReportRow]:
    """Mean relative error per layer for each setting, beside the paper's figure values."""
    rows = []
    for network, by_key in results["results"].items():
        for key, r in by_key.items():
            if key == "backprop":
                rows.append(ReportRow(f"{_TITLE[network]} backprop: test accuracy", r["test_accuracy"], None, ""))
                continue
            paper = _PAPER_VALUES.get((network, key))
            rows.append(
                ReportRow(
                    f"{_TITLE[network]} {r['label']}: relative error per layer",
                    _fmt(r["mean_relative_error"]),
                    paper,
                    PAPER if paper else "",
                )
            )
            rows.append(
                ReportRow(f"{_TITLE[network]} {r['label']}: mean angle per layer (°)", _fmt(r["mean_angle"]), None, "")
            )
            rows.append(ReportRow(f"{_TITLE[network]} {r['label']}: test accuracy", r["test_accuracy"], None, ""))
            if r["energy_rises"]:
                rows.append(
                    ReportRow(
                        f"{_TITLE[network]} {r['label']}: steps whose inference energy rose",
                        f"{r['energy_rises']} of {len(r['loss'])}",
                        None,
                        "inference unstable",
                    )
                )
        if network in results["closed_form_fixed_pred"]:
            rows.append(
                ReportRow(
                    f"{_TITLE[network]} fixed prediction closed form 1 − a_(L−l)",
                    _fmt(results["closed_form_fixed_pred"][network]),
                    None,
                    "derived",
                )
            )
    return rows


EXPERIMENT = Experiment(
    name="pc-gradients",
    description="Per-layer relative error and angle of PC updates vs backprop (strict, fixed prediction).",
    paper=PAPER,
    config_class=PCGradientsConfig,
    run=run,
    summarize=summarize,
)
