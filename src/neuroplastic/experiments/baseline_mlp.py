"""``baseline-mlp``: plain backprop MLP on MNIST and Fashion-MNIST, online (batch 1, one pass) and mini-batch.

The default network is the 5-layer net of Shervani-Tabar & Rosenbaum (2023, Fig. 1): 784-170-130-100-70-10,
softplus (β = 10), no biases, Xavier init, so later experiments can use these numbers as their backprop
baseline. Online mode: one SGD step per training image, one pass. Mini-batch mode: shuffled mini-batches
for a few epochs (Adam by default, the "engineering tricks" reference).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn
from torch.nn import functional as F

from neuroplastic.core.activations import SOFTPLUS_BETA, ActivationName
from neuroplastic.core.devices import resolve_device
from neuroplastic.core.divergence import check_finite
from neuroplastic.core.mlp import mlp
from neuroplastic.core.progress import progress
from neuroplastic.core.seeding import make_generator
from neuroplastic.core.streams import TrainingStream
from neuroplastic.data import LabelledImages
from neuroplastic.data.sources import dataset_spec
from neuroplastic.experiments.datasets import MNIST_PIXELS, DataExperimentConfig, load_train_test, synthetic_note
from neuroplastic.runs.experiment import Experiment, ReportRow
from neuroplastic.runs.figures import close, new_figure
from neuroplastic.runs.folder import RunDir
from neuroplastic.runs.ledger import Ledger

DatasetName = Literal["mnist", "fashion_mnist"]
Mode = Literal["online", "minibatch"]
_LABELS = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}


@dataclass(frozen=True, kw_only=True)
class BaselineMLPConfig(DataExperimentConfig):
    """Backprop MLP baseline. ``train_subset``/``test_subset`` of 0 mean the whole split."""

    datasets: tuple[DatasetName, ...] = ("mnist", "fashion_mnist")
    modes: tuple[Mode, ...] = ("online", "minibatch")
    hidden: tuple[int, ...] = (170, 130, 100, 70)
    activation: ActivationName = "softplus"
    softplus_beta: float = SOFTPLUS_BETA
    bias: bool = False
    online_lr: float = 0.01
    minibatch_optimizer: Literal["sgd", "adam"] = "adam"
    minibatch_lr: float = 1e-3
    batch_size: int = 100
    epochs: int = 5
    eval_every: int = 5000
    train_subset: int = 0
    test_subset: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if min(self.hidden, default=1) < 1:
            raise ValueError(f"hidden widths must be >= 1, got {list(self.hidden)}")
        if not self.datasets or not self.modes:
            raise ValueError("datasets and modes must each name at least one entry")
        for name in ("online_lr", "minibatch_lr", "softplus_beta"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("batch_size", "epochs", "eval_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.train_subset < 0 or self.test_subset < 0:
            raise ValueError("train_subset and test_subset must be >= 0 (0 = whole split)")

    @classmethod
    def quick(cls) -> BaselineMLPConfig:
        """MNIST only: one full online pass and one mini-batch epoch."""
        return cls(quick_variant=True, datasets=("mnist",), epochs=1)


@torch.no_grad()
def evaluate(model: nn.Module, data: LabelledImages, device: torch.device, chunk: int = 2000) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on all of ``data``."""
    total_loss, correct = 0.0, 0
    for start in range(0, len(data), chunk):
        x, y = data.batch(torch.arange(start, min(start + chunk, len(data))), flatten=True, device=device)
        logits = model(x)
        total_loss += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
    return total_loss / len(data), correct / len(data)


def _batches(
    train: LabelledImages, *, seed: int, phase: int, start: int, steps: int, batch: int, device: torch.device
) -> Iterator[tuple[int, torch.Tensor, torch.Tensor]]:
    """Yield ``(step, x, y)`` from ``start`` on; each epoch is a permutation fixed by (seed, phase, epoch).

    Images are converted to float a block of about 1024 samples at a time (cheaper than per step for batch 1).
    """
    n_train = len(train)
    steps_per_epoch = math.ceil(n_train / batch)
    step, order, order_epoch = start, torch.empty(0), -1
    while step < steps:
        epoch, position = divmod(step, steps_per_epoch)
        if epoch != order_epoch:
            order, order_epoch = torch.randperm(n_train, generator=make_generator(seed, phase, epoch)), epoch
        block_end = min(steps_per_epoch, position + max(1, 1024 // batch), position + steps - step)
        x_block, y_block = train.batch(order[position * batch : block_end * batch], flatten=True, device=device)
        for k in range(block_end - position):
            yield step, x_block[k * batch : (k + 1) * batch], y_block[k * batch : (k + 1) * batch]
            step += 1


def _train_phase(
    config: BaselineMLPConfig,
    *,
    mode: Mode,
    phase: int,
    train: LabelledImages,
    test: LabelledImages,
    run_dir: RunDir,
    device: torch.device,
    resume: dict[str, Any] | None,
    checkpoint: Callable[[dict[str, Any]], None],
) -> dict[str, Any]:
    n_train = len(train)
    batch = 1 if mode == "online" else config.batch_size
    steps_per_epoch = math.ceil(n_train / batch)
    steps = n_train if mode == "online" else config.epochs * steps_per_epoch
    eval_interval = max(1, config.eval_every // batch)

    sizes = [train.n_features, *config.hidden, train.n_classes]
    dataset = phase // len(config.modes)  # both modes of a data set start from the same weights
    init = make_generator(config.seed, dataset, TrainingStream.INIT)
    model = mlp(sizes, activation=config.activation, beta=config.softplus_beta, bias=config.bias, generator=init)
    model.to(device)
    if mode == "online":
        optimizer: torch.optim.Optimizer = torch.optim.SGD(model.parameters(), lr=config.online_lr)
    elif config.minibatch_optimizer == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=config.minibatch_lr)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=config.minibatch_lr)

    first_step, curve, seconds = 0, [], 0.0
    if resume is not None:
        model.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        first_step, curve, seconds = resume["step"], resume["curve"], resume["seconds"]
    else:
        loss, acc = evaluate(model, test, device)
        curve.append([0, loss, acc])
        run_dir.log(phase=phase, mode=mode, dataset=train.name, samples=0, test_loss=loss, test_accuracy=acc)

    batches = _batches(train, seed=config.seed, phase=phase, start=first_step, steps=steps, batch=batch, device=device)
    tick = time.perf_counter()
    for step, x, y in progress(batches, total=steps, initial=first_step, desc=f"{train.name} {mode}"):
        loss = F.cross_entropy(model(x), y)
        check_finite(loss.detach(), step=step, what=f"training loss ({train.name}, {mode})")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        done = step + 1
        if done % eval_interval == 0 or done == steps:
            seconds += time.perf_counter() - tick
            test_loss, test_acc = evaluate(model, test, device)
            samples = (done // steps_per_epoch) * n_train + min((done % steps_per_epoch) * batch, n_train)
            curve.append([samples, test_loss, test_acc])
            run_dir.log(
                phase=phase,
                mode=mode,
                dataset=train.name,
                samples=samples,
                test_loss=test_loss,
                test_accuracy=test_acc,
                train_loss=loss.item(),
            )
            checkpoint(
                {
                    "step": done,
                    "curve": curve,
                    "seconds": seconds,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                }
            )
            tick = time.perf_counter()
    final = curve[-1]
    return {
        "test_loss": final[1],
        "test_accuracy": final[2],
        "train_samples_seen": final[0],
        "train_seconds": round(seconds, 2),
        "curve": curve,
    }


def run(config: BaselineMLPConfig, run_dir: RunDir) -> dict[str, Any]:
    """Train every (dataset, mode) pair in turn; checkpoints at each evaluation make a killed run resume."""
    device = resolve_device(config.device)
    ledger = Ledger.load(run_dir)
    for d, dataset in enumerate(config.datasets):
        pending = [(m, mode) for m, mode in enumerate(config.modes) if (dataset, mode) not in ledger]
        if not pending:
            continue
        train, test = load_train_test(
            dataset,
            run_dir=run_dir,
            config=config,
            train_subset=config.train_subset,
            test_subset=config.test_subset,
        )
        for m, mode in pending:
            phase, part = d * len(config.modes) + m, (dataset, mode)
            result = _train_phase(
                config,
                mode=mode,
                phase=phase,
                train=train,
                test=test,
                run_dir=run_dir,
                device=device,
                resume=ledger.partial(part),
                checkpoint=functools.partial(ledger.save_partial, part),
            )
            ledger.record(part, {**result, "data": train.name})
    results: dict[str, Any] = {dataset: {} for dataset in config.datasets}
    for (dataset, mode), value in ledger.items():
        results[dataset][mode] = value
    notes = [
        f"Network {'-'.join(map(str, (MNIST_PIXELS, *config.hidden, dataset_spec(config.datasets[0]).n_classes)))},"
        f" {config.activation}"
        + (f" (β = {config.softplus_beta:g})" if config.activation == "softplus" else "")
        + f", {'with' if config.bias else 'no'} biases, Xavier init. Online: SGD, lr {config.online_lr:g}, batch 1,"
        f" one pass. Mini-batch: {config.minibatch_optimizer}, lr {config.minibatch_lr:g}, batch {config.batch_size},"
        f" {config.epochs} epoch(s). Seed {config.seed}."
    ]
    notes += synthetic_note(config)
    figure_path = _plot_curves(config, results, run_dir)
    return {"results": results, "figures": [figure_path], "notes": notes}


def _plot_curves(config: BaselineMLPConfig, results: dict[str, Any], run_dir: RunDir) -> str:
    figure, axes = new_figure(len(config.datasets))
    for ax, dataset in zip(axes, config.datasets, strict=True):
        for mode, style in (("online", "-o"), ("minibatch", "-s")):
            if mode in results[dataset]:
                curve = torch.tensor(results[dataset][mode]["curve"])
                ax.plot(curve[:, 0] / 1000, 100 * curve[:, 2], style, ms=3, label=mode)
        ax.set_xlabel("training samples seen (thousands)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(_LABELS[dataset])
        ax.legend()
    path = run_dir.save_figure(figure, "learning_curves")
    close(figure)
    return path


def summarize(results: dict[str, Any]) -> list[ReportRow]:
    """Test accuracy per dataset and mode (no published target: this is the baseline later papers use)."""
    rows = []
    for dataset, modes in results["results"].items():
        for mode, r in modes.items():
            what = "online, batch 1, one pass" if mode == "online" else "mini-batch"
            rows.append(
                ReportRow(
                    f"{_LABELS[dataset]} test accuracy ({what}, {r['train_samples_seen']} samples)",
                    r["test_accuracy"],
                    None,
                    "baseline for later experiments",
                )
            )
    return rows


EXPERIMENT = Experiment(
    name="baseline-mlp",
    description="Backprop MLP on MNIST and Fashion-MNIST: online (batch 1, one pass) and mini-batch.",
    paper="Baselines",
    config_class=BaselineMLPConfig,
    run=run,
    summarize=summarize,
)
