"""``oja-online``: Oja's rule with backprop or feedback alignment under the Oja paper's three difficulties.

Shervani-Tabar, Mirhoseini & Rosenbaum (arXiv 2408.08408): (1) online learning (batch 1, one pass) on MNIST and
Fashion-MNIST; (2) depth; (3) badly scaled initialisation (Xavier × g). Methods: backprop (``bp``), backprop + Oja
(``bp_oja``), feedback alignment (``fa``), FA + Oja (``fa_oja``), each the rule ΔW = −θ₀ e yᵀ + θ_oja (y yᵀ_pre −
y yᵀ W) at batch 1, and mini-batch Adam (``adam``, the "engineering tricks" reference). θ₀ and θ_oja are picked by
a grid on a validation split (the last ``n_val`` images of the training split), never on the test set, once per
dataset at the base architecture and Xavier init; the sweeps reuse them. All seeds and grid points of one
feedback mode run as one batched computation (a leading network dimension).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch.nn import functional as F

from neuroplastic.core.devices import resolve_device
from neuroplastic.core.mlp import Activation, mlp
from neuroplastic.core.seeding import make_generator
from neuroplastic.core.threads import torch_threads
from neuroplastic.experiments.base import Experiment, ReportRow
from neuroplastic.experiments.datasets import DataExperimentConfig, load_train_test, synthetic_note
from neuroplastic.feedback.errors import forward
from neuroplastic.plasticity import Learner, Rule, init_state, stack_states
from neuroplastic.runs.bootstrap import format_percent_interval
from neuroplastic.runs.figures import (
    close,
    distinct_colours,
    interval_caption,
    new_figure,
    seed_error_bar,
    ticks_at,
)
from neuroplastic.runs.folder import RunDir

DatasetName = Literal["mnist", "fashion_mnist"]
METHODS = ("bp", "bp_oja", "fa", "fa_oja", "adam")
_LABELS = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}
_NAMES = {"bp": "BP", "bp_oja": "BP + Oja", "fa": "FA", "fa_oja": "FA + Oja", "adam": "Adam, mini-batch"}


@dataclass(frozen=True, kw_only=True)
class OjaOnlineConfig(DataExperimentConfig):
    """The three difficulties. ``n_train`` online samples (one pass) precede the ``n_val`` validation images."""

    datasets: tuple[DatasetName, ...] = ("mnist", "fashion_mnist")
    hidden: tuple[int, ...] = (170, 130, 100, 70)
    activation: Activation = "softplus"
    softplus_beta: float = 10.0
    seeds: int = 5
    n_train: int = 50000
    n_val: int = 10000
    n_test: int = 0
    tune_samples: int = 10000
    lr_grid: tuple[float, ...] = (0.003, 0.01, 0.03)
    oja_grid: tuple[float, ...] = (0.001, 0.003, 0.01)
    depths: tuple[int, ...] = (2, 4, 6, 8, 10)
    depth_width: int = 100
    init_scales: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0, 10.0)
    sweep_samples: int = 20000
    adam_lr: float = 1e-3
    adam_batch: int = 32

    def __post_init__(self) -> None:
        super().__post_init__()
        if min(self.hidden, default=1) < 1:
            raise ValueError(f"hidden widths must be >= 1, got {list(self.hidden)}")
        if not self.datasets or not self.hidden or not self.depths or not self.init_scales:
            raise ValueError("datasets, hidden, depths and init_scales must each name at least one entry")
        if self.seeds < 1 or self.n_train < 1 or self.n_val < 1 or self.tune_samples < 1 or self.sweep_samples < 1:
            raise ValueError("seeds, n_train, n_val, tune_samples and sweep_samples must be >= 1")
        if self.n_test < 0:
            raise ValueError("n_test must be >= 0 (0 = the whole test split)")
        if not self.lr_grid or not self.oja_grid or min(self.lr_grid + self.oja_grid) <= 0:
            raise ValueError("lr_grid and oja_grid must hold positive values")
        if min(self.depths) < 1 or self.depth_width < 1 or min(self.init_scales) <= 0:
            raise ValueError("depths >= 1, depth_width >= 1 and init_scales > 0 required")
        if not self.adam_lr > 0 or self.adam_batch < 1 or not self.softplus_beta > 0:
            raise ValueError("adam_lr and softplus_beta must be > 0, adam_batch >= 1")

    @classmethod
    def quick(cls) -> OjaOnlineConfig:
        """MNIST only, a small network, 2 seeds, 2,000 online samples."""
        return cls(
            quick_variant=True,
            datasets=("mnist",),
            hidden=(64, 32),
            seeds=2,
            n_train=2000,
            n_val=500,
            n_test=1000,
            tune_samples=1000,
            lr_grid=(0.01, 0.03),
            oja_grid=(0.003, 0.01),
            depths=(1, 4),
            depth_width=32,
            init_scales=(0.3, 1.0, 3.0),
            sweep_samples=1000,
        )


@dataclass(frozen=True)
class _Data:
    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor


def _load(config: OjaOnlineConfig, name: str, run_dir: RunDir, device: torch.device) -> _Data:
    train, test = load_train_test(name, run_dir=run_dir, config=config)
    if config.n_train + config.n_val > len(train):
        raise ValueError(f"n_train + n_val = {config.n_train + config.n_val} exceeds the {len(train)} training images")
    n_test = config.n_test or len(test)
    x, y = train.batch(torch.arange(config.n_train + config.n_val), flatten=True, device=device)
    tx, ty = test.batch(torch.arange(min(n_test, len(test))), flatten=True, device=device)
    n = config.n_train
    return _Data(train.name, x[:n], y[:n], x[n:], y[n:], tx, ty)


def _sizes(config: OjaOnlineConfig, hidden: tuple[int, ...]) -> list[int]:
    return [784, *hidden, 10]


@torch.no_grad()
def _accuracy(weights, x, y, config: OjaOnlineConfig, chunk: int = 2000) -> torch.Tensor:
    """Accuracy of each of the S stacked networks; a network with non-finite logits counts as chance."""
    correct = torch.zeros(weights[0].shape[0], device=x.device)
    finite = torch.ones(weights[0].shape[0], dtype=torch.bool, device=x.device)
    for start in range(0, len(x), chunk):
        logits = forward(weights, x[start : start + chunk], activation=config.activation, beta=config.softplus_beta)[-1]
        finite &= torch.isfinite(logits).all(-1).all(-1)
        correct += (logits.argmax(-1) == y[start : start + chunk]).sum(-1)
    return torch.where(finite, correct / len(x), torch.full_like(correct, 0.1))


@torch.no_grad()
def _online(
    config: OjaOnlineConfig,
    data: _Data,
    sizes: list[int],
    feedback: str,
    thetas: list[tuple[float, float]],
    seeds: list[int],
    gain: float,
    steps: int,
    eval_x: torch.Tensor,
    eval_y: torch.Tensor,
    device: torch.device,
) -> list[dict[str, Any]]:
    """Train len(thetas) × len(seeds) networks online as one stack; return accuracy and divergence per network."""
    combos = list(itertools.product(thetas, seeds))
    states = [
        init_state(sizes, feedback=feedback, generator=make_generator(seed, 1), gain=gain, device=device)
        for _, seed in combos
    ]
    state = stack_states(states)
    lr = torch.tensor([t[0] for t, _ in combos], device=device).view(-1, 1, 1)
    oja = torch.tensor([t[1] for t, _ in combos], device=device).view(-1, 1, 1)
    learner = Learner(Rule({"pseudo_grad": lr, "oja": oja}), feedback, config.activation, config.softplus_beta)
    orders = torch.stack([torch.randperm(len(data.train_x), generator=make_generator(s, 2))[:steps] for _, s in combos])
    orders = orders.to(device)
    diverged_at = [None] * len(combos)
    with torch_threads(1):
        state = _stream(learner, state, data, orders, steps, diverged_at)
    accuracy = _accuracy(state.weights, eval_x, eval_y, config)
    return [
        {"lr": t[0], "oja": t[1], "seed": s, "accuracy": float(a), "diverged_at": d}
        for (t, s), a, d in zip(combos, accuracy.tolist(), diverged_at, strict=True)
    ]


def _stream(learner, state, data, orders, steps, diverged_at):
    """One online pass; records the first check (every 500 steps) at which each network's weights are non-finite."""
    rows = torch.arange(orders.shape[0], device=orders.device)
    for step in range(steps):
        idx = orders[:, step]
        learner.step_(state, data.train_x[idx].unsqueeze(1), data.train_y[idx].unsqueeze(1))
        if (step + 1) % 500 == 0 or step + 1 == steps:
            bad = ~torch.isfinite(state.weights[0]).flatten(1).all(1)
            for i in rows[bad].tolist():
                diverged_at[i] = diverged_at[i] or step + 1
    return state


def _adam(config, data, hidden, seeds, gain, steps, eval_x, eval_y, device) -> list[dict[str, Any]]:
    """Mini-batch Adam, one pass over the same number of samples (the engineering-tricks reference)."""
    out = []
    with torch_threads(1):
        for seed in seeds:
            out.append(_adam_one(config, data, hidden, seed, gain, steps, eval_x, eval_y, device))
    return out


def _adam_one(config, data, hidden, seed, gain, steps, eval_x, eval_y, device) -> dict[str, Any]:
    """One Adam run (one seed)."""
    model = mlp(
        _sizes(config, hidden),
        activation=config.activation,
        beta=config.softplus_beta,
        init_gain=gain,
        generator=make_generator(seed, 1),
    ).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.adam_lr)
    order = torch.randperm(len(data.train_x), generator=make_generator(seed, 2))[:steps].to(device)
    for start in range(0, steps, config.adam_batch):
        idx = order[start : start + config.adam_batch]
        loss = F.cross_entropy(model(data.train_x[idx]), data.train_y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        accuracy = float((model(eval_x).argmax(1) == eval_y).float().mean())
    return {"seed": seed, "accuracy": accuracy if math.isfinite(loss.item()) else 0.1, "diverged_at": None}


def _methods(config, data, hidden, chosen, gain, steps, eval_x, eval_y, device, seeds) -> dict[str, list[dict]]:
    """Every method with its chosen (θ₀, θ_oja) on ``seeds``; bp and fa stacks run once each."""
    results = {}
    for feedback in ("bp", "fa"):
        thetas = [tuple(chosen[feedback]), tuple(chosen[f"{feedback}_oja"])]
        runs = _online(
            config, data, _sizes(config, hidden), feedback, thetas, seeds, gain, steps, eval_x, eval_y, device
        )
        results[feedback] = runs[: len(seeds)]
        results[f"{feedback}_oja"] = runs[len(seeds) :]
    results["adam"] = _adam(config, data, hidden, seeds, gain, steps, eval_x, eval_y, device)
    return results


def _tune(config: OjaOnlineConfig, data: _Data, device: torch.device) -> dict[str, Any]:
    """Grid over θ₀ (and θ_oja) per method on the validation split, seed ``config.seed``."""
    grid = [(lr, 0.0) for lr in config.lr_grid] + list(itertools.product(config.lr_grid, config.oja_grid))
    chosen, table = {}, {}
    for feedback in ("bp", "fa"):
        steps = min(config.tune_samples, config.n_train)
        sizes = _sizes(config, config.hidden)
        runs = _online(config, data, sizes, feedback, grid, [config.seed], 1.0, steps, data.val_x, data.val_y, device)
        table[feedback] = runs
        for method, with_oja in ((feedback, False), (f"{feedback}_oja", True)):
            candidates = [r for r in runs if (r["oja"] > 0) == with_oja]
            best = max(candidates, key=lambda r: r["accuracy"])
            chosen[method] = [best["lr"], best["oja"]]
    return {"chosen": chosen, "grid": table}


def _summary(runs: list[dict]) -> dict[str, Any]:
    acc = torch.tensor([r["accuracy"] for r in runs], dtype=torch.float64)
    sd = float(acc.std()) if len(acc) > 1 else 0.0
    return {
        "mean": float(acc.mean()),
        "sd": sd,
        "n": len(runs),
        "diverged": sum(r["diverged_at"] is not None for r in runs),
        "runs": runs,
    }


def run(config: OjaOnlineConfig, run_dir: RunDir) -> dict[str, Any]:
    """Tune, then online learning per dataset, then depth and init-scale sweeps on the first dataset."""
    device = resolve_device(config.device)
    state = run_dir.load_checkpoint() or {"completed": {}}
    done: dict[str, Any] = state["completed"]
    seeds = [config.seed + k for k in range(config.seeds)]
    datasets: dict[str, _Data] = {}

    def data_for(name: str) -> _Data:
        if name not in datasets:
            datasets[name] = _load(config, name, run_dir, device)
        return datasets[name]

    def phase(key: str, fn) -> Any:
        if key not in done:
            done[key] = fn()
            run_dir.log(phase=key, result=_brief(done[key]))
            run_dir.save_checkpoint({"completed": done})
        return done[key]

    def compare(name: str, hidden: tuple[int, ...], chosen: dict, gain: float, steps: int) -> dict[str, Any]:
        """Test accuracy of every method, all seeds, on ``name``'s test split."""
        data = data_for(name)
        runs = _methods(config, data, hidden, chosen, gain, steps, data.test_x, data.test_y, device, seeds)
        return {m: _summary(r) for m, r in runs.items()}

    for name in config.datasets:
        tuned = phase(f"{name}/tune", lambda n=name: _tune(config, data_for(n), device))
        phase(f"{name}/online", lambda n=name, t=tuned: compare(n, config.hidden, t["chosen"], 1.0, config.n_train))
    first = config.datasets[0]
    chosen = done[f"{first}/tune"]["chosen"]
    steps = min(config.sweep_samples, config.n_train)
    for depth in config.depths:
        hidden = (config.depth_width,) * depth
        phase(f"{first}/depth/{depth}", lambda h=hidden: compare(first, h, chosen, 1.0, steps))
    for gain in config.init_scales:
        phase(f"{first}/init/{gain:g}", lambda g=gain: compare(first, config.hidden, chosen, g, steps))
    results = _assemble(config, done)
    results["figures"] = _plot(config, results, run_dir)
    results["notes"] = _notes(config, results, datasets)
    return results


def _brief(value: Any) -> Any:
    if isinstance(value, dict) and "chosen" in value:
        return value["chosen"]
    return {m: round(v["mean"], 4) for m, v in value.items()}


def _assemble(config: OjaOnlineConfig, done: dict[str, Any]) -> dict[str, Any]:
    first = config.datasets[0]
    return {
        "tuning": {n: done[f"{n}/tune"] for n in config.datasets},
        "online": {n: done[f"{n}/online"] for n in config.datasets},
        "depth": {str(d): done[f"{first}/depth/{d}"] for d in config.depths},
        "init": {f"{g:g}": done[f"{first}/init/{g:g}"] for g in config.init_scales},
    }


def _plot(config: OjaOnlineConfig, results: dict[str, Any], run_dir: RunDir) -> list[str]:
    paths = []
    for key, xlabel, xs in (
        ("depth", "hidden layers", [float(d) for d in config.depths]),
        ("init", "init scale g (× Xavier)", list(config.init_scales)),
    ):
        figure, (ax,) = new_figure(1, width=5.0)
        seeds = []
        for method, colour in zip(METHODS, distinct_colours(len(METHODS)), strict=True):
            accuracies = [[100 * r["accuracy"] for r in results[key][k][method]["runs"]] for k in results[key]]
            bars = [seed_error_bar(a, bounds=(0, 100)) for a in accuracies]
            seeds += [len(a) for a in accuracies]
            mean, error = [b[0] for b in bars], [[b[1] for b in bars], [b[2] for b in bars]]
            ax.errorbar(xs, mean, yerr=error, marker="o", ms=3, capsize=2, color=colour, label=_NAMES[method])
        if key == "init":
            ax.set_xscale("log")
        ticks_at(ax, xs)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test accuracy (%)")
        ax.set_ylim(0, 100)
        title = f"{_LABELS[config.datasets[0]]}, {config.sweep_samples} online samples\n{interval_caption(seeds)}"
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
        paths.append(run_dir.save_figure(figure, f"accuracy_vs_{key}"))
        close(figure)
    return paths


def _claims(results: dict[str, Any]) -> list[tuple[str, bool]]:
    """The paper's qualitative claims, checked on our means (difference beyond one pooled sd counts)."""

    def better(a, b) -> bool:
        return a["mean"] - b["mean"] > max(a["sd"], b["sd"])

    online = results["online"]
    claims = [
        (f"{_LABELS[n]}: BP + Oja beats pure BP online", better(online[n]["bp_oja"], online[n]["bp"])) for n in online
    ]
    claims += [
        (f"{_LABELS[n]}: FA + Oja beats FA online", better(online[n]["fa_oja"], online[n]["fa"])) for n in online
    ]
    deepest = max(results["depth"], key=int)
    claims.append(
        (
            f"depth {deepest}: BP + Oja beats BP",
            better(results["depth"][deepest]["bp_oja"], results["depth"][deepest]["bp"]),
        )
    )
    for g, r in results["init"].items():
        if float(g) != 1.0:
            claims.append((f"init g = {g}: BP + Oja beats BP", better(r["bp_oja"], r["bp"])))
    return claims


def _notes(config: OjaOnlineConfig, results: dict[str, Any], datasets: dict[str, _Data]) -> list[str]:
    notes = [
        f"Online: batch 1, one pass over {config.n_train} training images, {config.seeds} seeds (new init, B and"
        f" order each); network 784-{'-'.join(map(str, config.hidden))}-10, {config.activation}"
        f" (β = {config.softplus_beta:g}), no biases, Xavier init. Rule ΔW = −θ₀ e yᵀ + θ_oja (y y_preᵀ − y yᵀ W),"
        " softmax post at the output, batch sum. θ chosen on the validation split (last"
        f" {config.n_val} training images) from θ₀ ∈ {list(config.lr_grid)}, θ_oja ∈ {list(config.oja_grid)}"
        f" after {config.tune_samples} samples; chosen: {results['tuning'][config.datasets[0]]['chosen']}.",
        f"Sweeps on {_LABELS[config.datasets[0]]} with {config.sweep_samples} online samples and the same θ:"
        f" depth {list(config.depths)} hidden layers of {config.depth_width}; init Xavier × {list(config.init_scales)}."
        f" Adam: mini-batch {config.adam_batch}, lr {config.adam_lr:g}, one pass over the same samples.",
        "Diverged networks (non-finite weights) are scored at chance (10%) and counted in 'diverged'.",
    ]
    if not config.quick_variant:  # a quick variant is too small to test a claim
        notes.append(
            "The Oja paper's numbers are not quoted (not checked against its full text); only its qualitative "
            "claims are checked."
        )
        notes += [f"Claim {'supported' if ok else 'NOT supported'}: {text}." for text, ok in _claims(results)]
    notes += synthetic_note(config)
    return notes


def summarize(results: dict[str, Any]) -> list[ReportRow]:
    """Test accuracy (mean [95% t-interval] over seeds) per dataset and method, then the claims."""
    rows = []
    for name, methods in results["online"].items():
        for method, r in methods.items():
            rows.append(
                ReportRow(
                    f"{_LABELS[name]} online test accuracy, {_NAMES[method]} (mean [95% t-interval] over "
                    f"{len(r['runs'])} seeds)",
                    format_percent_interval([run["accuracy"] for run in r["runs"]]),
                    None,
                    "Oja paper (numbers unconfirmed)",
                )
            )
    for text, ok in _claims(results):
        rows.append(ReportRow(text, "yes" if ok else "no", "yes (paper's claim)", "Oja paper abstract", verdict=True))
    return rows


EXPERIMENT = Experiment(
    name="oja-online",
    description="Oja's rule with backprop / FA: online learning, depth and bad init (Shervani-Tabar et al. 2024).",
    paper="Shervani-Tabar, Mirhoseini & Rosenbaum 2024",
    config_class=OjaOnlineConfig,
    run=run,
    summarize=summarize,
)
