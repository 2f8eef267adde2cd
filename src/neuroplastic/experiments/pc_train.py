"""``pc-train``: train with backprop, strict PC and fixed-prediction PC; test accuracy over seeds and time vs backprop.

Every (network, dataset, setting, seed) cell starts from the same initial weights for a given seed and sees the
same mini-batches; Adam applies each setting's update. Backprop runs on both losses, so strict PC (MSE on one-hot
targets, as the paper's Fig. 1) compares with backprop on its own loss. Evaluation is a plain forward pass.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch

from neuroplastic.core.devices import resolve_device
from neuroplastic.core.divergence import check_finite
from neuroplastic.core.progress import progress
from neuroplastic.core.seeding import make_generator
from neuroplastic.experiments.datasets import DataExperimentConfig, load_train_test
from neuroplastic.experiments.pc_shared import (
    PAPER,
    Setting,
    accuracy,
    image_batch,
    make_network,
    train_step,
)
from neuroplastic.runs.bootstrap import format_percent_interval
from neuroplastic.runs.experiment import Experiment, ReportRow
from neuroplastic.runs.figures import close, interval_caption, new_figure, seed_error_bar
from neuroplastic.runs.folder import RunDir
from neuroplastic.runs.ledger import Key, Ledger

TrainNetwork = Literal["mnist_cnn", "mlp"]
Dataset = Literal["mnist", "fashion_mnist"]
_TITLE = {"mnist_cnn": "MNIST CNN", "mlp": "MLP 784-256-256-10", "mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}
_THIRD_PARTY = {  # LeNet, 10 seeds, strict η = 0.05 and fixed prediction n = 10: for scale, not the same settings
    ("mnist", "backprop"): "98.49 ± 0.08%",
    ("mnist", "fixed_pred"): "98.51%",
    ("mnist", "strict"): "98.47%",
    ("fashion_mnist", "backprop"): "87.18%",
    ("fashion_mnist", "fixed_pred"): "87.32%",
    ("fashion_mnist", "strict"): "87.22%",
}
_THIRD_PARTY_SOURCE = "third-party LeNet, 10 seeds (torch2pc-layerwise-thesis); other η, n"
_BASELINE = "backprop"  # the cell every time is measured against


@dataclass(frozen=True, kw_only=True)
class PCTrainConfig(DataExperimentConfig):
    """The paper's MNIST schedule (Adam lr 2e-3, batch 300, 2 epochs) for every network and dataset."""

    networks: tuple[TrainNetwork, ...] = ("mnist_cnn", "mlp")
    datasets: tuple[Dataset, ...] = ("mnist", "fashion_mnist")
    eta: float = 0.1
    n: int = 20
    seeds: int = 3
    epochs: int = 2
    batch_size: int = 300
    lr: float = 2e-3
    train_subset: int = 0
    test_subset: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.networks or not self.datasets:
            raise ValueError("networks and datasets must each name at least one entry")
        if not 0 < self.eta < 2:
            raise ValueError(f"eta must be in (0, 2), got {self.eta}")
        for name in ("n", "seeds", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0 or self.train_subset < 0 or self.test_subset < 0:
            raise ValueError("lr must be > 0 and the subsets >= 0 (0 = whole split)")

    @classmethod
    def quick(cls) -> PCTrainConfig:
        """Two seeds, one epoch of batch-50 steps over 4,000 training images of each data set, 1,000 test images."""
        return cls(quick_variant=True, seeds=2, epochs=1, batch_size=50, train_subset=4000, test_subset=1000)

    def settings(self) -> dict[str, Setting]:
        """Backprop on cross-entropy and on MSE, strict PC (MSE) and fixed-prediction PC (cross-entropy) at (η, n)."""
        return {
            _BASELINE: Setting("backprop", "ce"),
            "backprop_mse": Setting("backprop", "mse"),
            "strict": Setting("strict", "mse", self.eta, self.n),
            "fixed_pred": Setting("fixed_pred", "ce", self.eta, self.n),
        }


def _train_cell(
    config: PCTrainConfig, *, network: str, setting: Setting, seed: int, data, label: str, device: torch.device
) -> dict[str, Any]:
    train, test = data
    model = make_network(network, seed, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    seconds, losses = 0.0, []
    for epoch in range(config.epochs):
        order = torch.randperm(len(train), generator=make_generator(seed, epoch))
        batches = order.split(config.batch_size)
        start = time.perf_counter()
        for step, idx in enumerate(progress(batches, total=len(batches), desc=f"{label} epoch {epoch + 1}")):
            x, y = image_batch(train, idx, network, device)
            loss, _ = train_step(model, optimizer, setting, x, y)
            check_finite(loss, step=epoch * len(batches) + step, what=f"training loss ({label})")
            losses.append(loss)
        seconds += time.perf_counter() - start
    return {
        "test_accuracy": accuracy(model, test, network, device),
        "epoch_seconds": seconds / config.epochs,
        "loss": losses,
    }


def run(config: PCTrainConfig, run_dir: RunDir) -> dict[str, Any]:
    """Train every cell; a checkpoint after each cell lets a killed run resume.

    Cells run seed by seed, so a stopped run has every setting at its first seeds.
    """
    device = resolve_device(config.device)
    cells = Ledger.load(run_dir)
    seeds = [config.seed + i for i in range(config.seeds)]
    for dataset in config.datasets:
        keys = [(net, mode, s) for s in seeds for net in config.networks for mode in config.settings()]
        pending = [(net, mode, s) for net, mode, s in keys if (net, dataset, mode, s) not in cells]
        data = (
            load_train_test(
                dataset,
                run_dir=run_dir,
                config=config,
                train_subset=config.train_subset,
                test_subset=config.test_subset,
            )
            if pending
            else None
        )
        for network, mode, seed in pending:
            cell = (network, dataset, mode, seed)
            label = f"{network} {dataset} {mode} seed {seed}"
            result = _train_cell(
                config,
                network=network,
                setting=config.settings()[mode],
                seed=seed,
                data=data,
                label=label,
                device=device,
            )
            run_dir.log(cell=list(cell), test_accuracy=result["test_accuracy"], epoch_seconds=result["epoch_seconds"])
            cells.record(cell, result)
    results = _aggregate(config, cells, seeds)
    return {
        "results": results,
        "cells": {"/".join(map(str, cell)): result for cell, result in cells.items()},
        "figures": [_plot(config, results, run_dir)],
        "notes": _notes(config),
    }


def _aggregate(config: PCTrainConfig, cells: Mapping[Key, Any], seeds: list[int]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for network in config.networks:
        for dataset in config.datasets:
            base = statistics.mean(cells[network, dataset, _BASELINE, s]["epoch_seconds"] for s in seeds)
            for mode in config.settings():
                runs = [cells[network, dataset, mode, s] for s in seeds]
                accuracies = [r["test_accuracy"] for r in runs]
                seconds = statistics.mean(r["epoch_seconds"] for r in runs)
                results.setdefault(network, {}).setdefault(dataset, {})[mode] = {
                    "label": config.settings()[mode].label,
                    "test_accuracy": accuracies,
                    "mean": statistics.mean(accuracies),
                    "sd": statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0,
                    "epoch_seconds": seconds,
                    "time_vs_backprop": seconds / base,
                }
    return results


def _notes(config: PCTrainConfig) -> list[str]:
    return [
        f"Adam lr {config.lr:g}, batch {config.batch_size}, {config.epochs} epoch(s), {config.seeds} seed(s) "
        f"(mean and 95% Student-t interval over all seeds). Strict PC uses MSE on one-hot targets (as the paper's "
        "Fig. 1) and compares with backprop on MSE; fixed prediction uses cross-entropy, like backprop (CE). Times per "
        f"epoch exclude evaluation, are relative to backprop (CE) and were measured on {config.device} here.",
    ]


def _plot(config: PCTrainConfig, results: dict[str, Any], run_dir: RunDir) -> str:
    figure, axes = new_figure(len(config.datasets))
    modes = list(config.settings())
    width = 0.8 / len(modes)
    for ax, dataset in zip(axes, config.datasets, strict=True):
        seeds = []
        for i, mode in enumerate(modes):
            accuracies = [[100 * a for a in results[net][dataset][mode]["test_accuracy"]] for net in config.networks]
            bars = [seed_error_bar(a, bounds=(0, 100)) for a in accuracies]
            seeds += [len(a) for a in accuracies]
            positions = [j + (i - (len(modes) - 1) / 2) * width for j in range(len(config.networks))]
            means, errors = [b[0] for b in bars], [[b[1] for b in bars], [b[2] for b in bars]]
            ax.bar(positions, means, width, yerr=errors, label=config.settings()[mode].label, capsize=3)
        ax.set_xticks(range(len(config.networks)), [_TITLE[net] for net in config.networks], fontsize=8)
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{_TITLE[dataset]}\n{interval_caption(seeds)}", fontsize=9)
        ax.set_ylim(bottom=max(0, min(ax.get_ylim()[1] - 40, 60)))
    axes[0].legend(fontsize=7)
    path = run_dir.save_figure(figure, "test_accuracy")
    close(figure)
    return path


def summarize(results: dict[str, Any]) -> list[ReportRow]:
    """Test accuracy (mean [95% t-interval] over seeds) and time per epoch relative to backprop, per cell."""
    rows = []
    for network, by_dataset in results["results"].items():
        for dataset, by_mode in by_dataset.items():
            for mode, r in by_mode.items():
                accuracy = format_percent_interval(r["test_accuracy"])
                ours = f"{accuracy} ({r['time_vs_backprop']:.2f}× backprop time)"
                reference = _THIRD_PARTY.get((dataset, mode))
                source = _THIRD_PARTY_SOURCE if reference else ""
                quantity = f"{_TITLE[network]}, {_TITLE[dataset]}, {r['label']}: test accuracy, mean [95% t-interval]"
                rows.append(ReportRow(f"{quantity} over {len(r['test_accuracy'])} seeds", ours, reference, source))
    return rows


EXPERIMENT = Experiment(
    name="pc-train",
    description="Train CNN and MLP with backprop, strict PC and fixed-prediction PC; accuracy over seeds, time.",
    paper=PAPER,
    config_class=PCTrainConfig,
    run=run,
    summarize=summarize,
)
