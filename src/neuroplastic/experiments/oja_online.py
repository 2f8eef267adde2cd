"""``oja-online``: does Oja's rule rescue pure backprop online, at depth and under a bad init? With the controls.

Shervani-Tabar, Mirhoseini & Rosenbaum (arXiv 2408.08408) claim that Oja's rule "can substantially improve the
performance of pure backpropagation" under online learning, deep architectures and sub-optimal initialisation, in
place of the "engineering tricks". Per layer, at batch 1:
ΔW_ℓ = −θ₀ e_ℓ y_{ℓ−1}ᵀ + θ_oja,ℓ (y_ℓ y_{ℓ−1}ᵀ − y_ℓ y_ℓᵀ W_ℓ).

Methods (all start from the same Xavier × g weights and see the same samples, per seed, so differences are paired):

- ``bp_fixed``: plain SGD at batch 1 with one learning rate ``fixed_lr`` for every depth and init (untuned);
  ``bp_oja_fixed``: the same θ₀ with θ_oja = ``fixed_oja`` (the paper's likely setting).
- ``bp``: θ₀ tuned per condition; ``bp_oja``: (θ₀, θ_oja) tuned per condition on a grid that includes θ_oja = 0;
  ``bp_oja_layers``: the same with θ_oja scaled per layer by ``oja_layer_scales`` (default: no Oja in layer 1).
- ``fa``, ``fa_oja``: feedback alignment without / with Oja, tuned (not run by default).
- Engineering tricks (learning rates tuned once per data set and preprocessing, at the base network and g = 1):
  ``sgd_batch`` (mini-batch SGD), ``adam_b1`` (Adam at batch 1), ``adam`` (mini-batch Adam), ``layernorm_b1``
  (LayerNorm, SGD at batch 1) and ``batchnorm`` (BatchNorm needs a mini-batch; SGD).

Tuning uses seed ``seed`` and the validation split (the ``n_val`` training images after the ``n_train`` online
samples), never the test set. Inputs are raw, centred or standardised with statistics of the ``n_train`` training
images only. Each condition records learning curves (test accuracy against samples seen) and, for the plastic
methods, each layer's RMS activity and effective rank before and after training.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import torch

from neuroplastic.core.activations import SOFTPLUS_BETA, ActivationName
from neuroplastic.core.devices import resolve_device
from neuroplastic.core.seeding import make_generator
from neuroplastic.core.streams import TrainingStream
from neuroplastic.core.threads import torch_threads
from neuroplastic.data.preprocessing import PREPROCESSING_KINDS, PreprocessingKind, fit_preprocessing
from neuroplastic.experiments.datasets import DataExperimentConfig, load_train_test, synthetic_note
from neuroplastic.experiments.oja_figures import plot_all
from neuroplastic.experiments.oja_tricks import TRICKS, train_trick
from neuroplastic.feedback.errors import forward
from neuroplastic.plasticity import Learner, Rule, apply_update_, init_state, stack_states
from neuroplastic.plasticity.diagnostics import effective_rank
from neuroplastic.runs.bootstrap import format_percent_interval, t_interval
from neuroplastic.runs.experiment import Experiment, ReportRow
from neuroplastic.runs.folder import RunDir
from neuroplastic.runs.ledger import Key, Ledger

DatasetName = Literal["mnist", "fashion_mnist"]
PLASTIC = ("bp_fixed", "bp_oja_fixed", "bp", "bp_oja", "bp_oja_layers", "fa", "fa_oja")
METHODS = PLASTIC + tuple(TRICKS)
DEFAULT_METHODS = tuple(m for m in METHODS if m not in ("fa", "fa_oja"))
NAMES = {
    "bp_fixed": "BP, one fixed lr",
    "bp_oja_fixed": "BP + Oja, fixed θ",
    "bp": "BP, tuned",
    "bp_oja": "BP + Oja, tuned (θ_oja ≥ 0)",
    "bp_oja_layers": "BP + Oja per layer, tuned",
    "fa": "FA, tuned",
    "fa_oja": "FA + Oja, tuned",
    "sgd_batch": "SGD, mini-batch",
    "adam_b1": "Adam, batch 1",
    "adam": "Adam, mini-batch",
    "layernorm_b1": "LayerNorm + SGD, batch 1",
    "batchnorm": "BatchNorm + SGD, mini-batch",
}
LABELS = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}
# Each BP + Oja variant is compared with pure BP run both ways; it "beats BP" only when it beats both.
OJA_VARIANTS = ("bp_oja", "bp_oja_fixed", "bp_oja_layers")
BP_BASELINES = ("bp", "bp_fixed")


@dataclass(frozen=True, kw_only=True)
class OjaOnlineConfig(DataExperimentConfig):
    """The three difficulties and their controls. ``n_train`` online samples (one pass) precede ``n_val`` images.

    ``oja_grid`` must contain 0, so that tuned BP + Oja can choose plain BP. ``oja_layer_scales``: the factors of
    θ_oja in layers 1, 2, … (layers beyond the tuple use its last entry), for ``bp_oja_layers``. Sweeps use
    ``sweep_preprocessing``, ``sweep_samples`` online samples and ``sweep_tune_samples`` for tuning.
    """

    datasets: tuple[DatasetName, ...] = ("mnist", "fashion_mnist")
    methods: tuple[str, ...] = DEFAULT_METHODS
    hidden: tuple[int, ...] = (170, 130, 100, 70)
    activation: ActivationName = "softplus"
    softplus_beta: float = SOFTPLUS_BETA
    seeds: int = 5
    n_train: int = 50000
    n_val: int = 10000
    n_test: int = 0
    preprocessings: tuple[PreprocessingKind, ...] = ("raw", "centred", "standardised")
    sweep_preprocessing: PreprocessingKind = "raw"
    tune_samples: int = 10000
    lr_grid: tuple[float, ...] = (0.003, 0.01, 0.03)
    oja_grid: tuple[float, ...] = (0.0, 0.0001, 0.0003, 0.001, 0.003)
    fixed_lr: float = 0.01
    fixed_oja: float = 0.001
    oja_layer_scales: tuple[float, ...] = (0.0, 1.0)
    depths: tuple[int, ...] = (1, 2, 4, 6, 8, 10)
    depth_width: int = 100
    init_scales: tuple[float, ...] = (0.05, 0.1, 0.3, 1.0, 3.0, 5.0)
    sweep_samples: int = 20000
    sweep_tune_samples: int = 5000
    trick_batch: int = 32
    sgd_batch_lr_grid: tuple[float, ...] = (0.03, 0.1, 0.3)
    adam_lr_grid: tuple[float, ...] = (0.0001, 0.0003, 0.001, 0.003)
    curve_points: int = 20
    curve_samples: int = 2000
    diagnostic_samples: int = 1000

    def __post_init__(self) -> None:
        super().__post_init__()
        problems = []
        if not self.datasets or not self.methods or not self.hidden or not self.depths or not self.init_scales:
            problems.append("datasets, methods, hidden, depths and init_scales must each name at least one entry")
        if unknown := sorted(set(self.methods) - set(METHODS)):
            problems.append(f"unknown methods {unknown}; valid: {', '.join(METHODS)}")
        if unknown := sorted(set(self.preprocessings) - set(PREPROCESSING_KINDS)):
            problems.append(f"unknown preprocessings {unknown}; valid: {', '.join(PREPROCESSING_KINDS)}")
        if self.sweep_preprocessing not in self.preprocessings:
            problems.append(f"sweep_preprocessing {self.sweep_preprocessing!r} must be one of preprocessings")
        if min(self.hidden, default=1) < 1 or min(self.depths, default=1) < 1 or self.depth_width < 1:
            problems.append("hidden widths, depths and depth_width must be >= 1")
        counts = (self.seeds, self.n_train, self.n_val, self.tune_samples, self.sweep_samples, self.sweep_tune_samples)
        if min(counts) < 1 or min(self.curve_points, self.curve_samples, self.diagnostic_samples) < 1:
            problems.append("seeds, sample counts, curve_points, curve_samples and diagnostic_samples must be >= 1")
        if self.n_test < 0:
            problems.append("n_test must be >= 0 (0 = the whole test split)")
        grids = (self.lr_grid, self.sgd_batch_lr_grid, self.adam_lr_grid)
        if not all(grids) or min(min(g) for g in grids) <= 0 or not self.fixed_lr > 0:
            problems.append("lr_grid, sgd_batch_lr_grid, adam_lr_grid and fixed_lr must hold positive values")
        if 0.0 not in self.oja_grid or min(self.oja_grid) < 0 or self.fixed_oja < 0:
            problems.append("oja_grid must include 0 (so tuning can choose plain BP) and hold no negative value")
        if not self.oja_layer_scales or min(self.oja_layer_scales) < 0:
            problems.append("oja_layer_scales must hold at least one value, none negative")
        if min(self.init_scales) <= 0 or not self.softplus_beta > 0 or self.trick_batch < 2:
            problems.append("init_scales and softplus_beta must be > 0, trick_batch >= 2")
        if problems:
            raise ValueError("; ".join(problems))

    @classmethod
    def quick(cls) -> OjaOnlineConfig:
        """MNIST only, a small network, 2 seeds, 2,000 online samples: a smoke test of the pipeline."""
        return cls(
            quick_variant=True,
            datasets=("mnist",),
            hidden=(64, 32),
            seeds=2,
            n_train=2000,
            n_val=500,
            n_test=1000,
            preprocessings=("raw", "centred"),
            tune_samples=1000,
            lr_grid=(0.01, 0.03),
            oja_grid=(0.0, 0.003),
            depths=(1, 4),
            depth_width=32,
            init_scales=(0.3, 1.0, 3.0),
            sweep_samples=1000,
            sweep_tune_samples=500,
            trick_batch=16,
            sgd_batch_lr_grid=(0.1,),
            adam_lr_grid=(0.001,),
            curve_points=4,
            curve_samples=500,
            diagnostic_samples=200,
        )


@dataclass(frozen=True)
class _Data:
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: int


@dataclass(frozen=True)
class _Condition:
    """A network and init to train, and how many online samples to tune and to train on."""

    hidden: tuple[int, ...]
    gain: float
    steps: int
    tune_steps: int


class _Net(NamedTuple):
    """One plastic network of a stack: its feedback, θ₀, θ_oja, per-layer θ_oja factors and seed."""

    method: str
    feedback: str
    lr: float
    oja: float
    scales: tuple[float, ...]
    seed: int


def _layer_scale(scales: tuple[float, ...], layer: int) -> float:
    return scales[min(layer, len(scales) - 1)] if scales else 1.0


def _sizes(data: _Data, hidden: tuple[int, ...]) -> list[int]:
    return [data.train_x.shape[1], *hidden, data.classes]


def _orders(data: _Data, seeds: Sequence[int], steps: int) -> torch.Tensor:
    """The online order of each seed: the same for every method, so comparisons are paired."""
    n = len(data.train_x)
    return torch.stack([torch.randperm(n, generator=make_generator(s, TrainingStream.ORDER))[:steps] for s in seeds])


def _initial_weights(sizes: list[int], seed: int, gain: float, device: torch.device) -> tuple[torch.Tensor, ...]:
    return init_state(
        sizes, feedback="bp", generator=make_generator(seed, TrainingStream.INIT), gain=gain, device=device
    ).weights


@torch.no_grad()
def _plastic_accuracy(weights, x, y, config: OjaOnlineConfig, chunk: int = 2000) -> list[float]:
    """Accuracy of each of the S stacked networks; a network with non-finite logits counts as chance."""
    return _accuracy(
        lambda xs: forward(weights, xs, activation=config.activation, beta=config.softplus_beta)[-1], x, y, chunk
    )


def _accuracy(logits_of: Callable[[torch.Tensor], torch.Tensor], x, y, chunk: int = 2000) -> list[float]:
    correct, finite = None, None
    for start in range(0, len(x), chunk):
        logits = logits_of(x[start : start + chunk])
        hits = (logits.argmax(-1) == y[start : start + chunk]).sum(-1)
        ok = torch.isfinite(logits).flatten(1).all(1)
        correct = hits if correct is None else correct + hits
        finite = ok if finite is None else finite & ok
    chance = 1.0 / int(y.max() + 1)
    return [c / len(x) if f else chance for c, f in zip(correct.tolist(), finite.tolist(), strict=True)]


@torch.no_grad()
def _diagnose(weights, x, config: OjaOnlineConfig) -> list[dict[str, list[float | None]]]:
    """Per network: RMS activity √(mean y²) and effective rank (participation ratio) of each layer y₁..y_L."""
    out = []
    for i in range(weights[0].shape[0]):
        ys = forward([w[i] for w in weights], x, activation=config.activation, beta=config.softplus_beta)[1:]
        ok = [bool(torch.isfinite(y).all()) for y in ys]
        out.append(
            {
                "rms": [float(y.pow(2).mean().sqrt()) if f else None for y, f in zip(ys, ok, strict=True)],
                "rank": [effective_rank(y.double()) if f else None for y, f in zip(ys, ok, strict=True)],
            }
        )
    return out


def _checks(steps: int, points: int) -> set[int]:
    """The samples-seen counts at which learning curves are measured (and divergence checked)."""
    return {round(k * steps / points) for k in range(1, points + 1)} | {steps}


@torch.no_grad()
def _train_plastic(
    config: OjaOnlineConfig,
    data: _Data,
    condition: _Condition,
    nets: list[_Net],
    eval_set: tuple[torch.Tensor, torch.Tensor],
    *,
    steps: int,
    record: bool,
    device: torch.device,
) -> list[dict[str, Any]]:
    """Train the stack ``nets`` (one feedback mode) online; accuracy on ``eval_set``, curves and diagnostics."""
    sizes = _sizes(data, condition.hidden)
    feedback = nets[0].feedback
    states = [
        init_state(
            sizes,
            feedback=feedback,
            generator=make_generator(n.seed, TrainingStream.INIT),
            gain=condition.gain,
            device=device,
        )
        for n in nets
    ]
    state = stack_states(states)
    layers = len(sizes) - 1
    lr = torch.tensor([n.lr for n in nets], device=device).view(-1, 1, 1)
    oja = [
        torch.tensor([n.oja * _layer_scale(n.scales, l) for n in nets], device=device).view(-1, 1, 1)
        for l in range(layers)
    ]
    learner = Learner(Rule({"pseudo_grad": lr, "oja": oja}), feedback, config.activation, config.softplus_beta)
    orders = _orders(data, [n.seed for n in nets], steps).to(device)
    curve_x, curve_y = data.test_x[: config.curve_samples], data.test_y[: config.curve_samples]
    diag_x = data.test_x[: config.diagnostic_samples]
    before = _diagnose(state.weights, diag_x, config) if record else None
    curves: list[list[list[float]]] = [[] for _ in nets]
    diverged: list[int | None] = [None] * len(nets)
    checks = _checks(steps, config.curve_points)
    with torch_threads(1):
        for step in range(steps):
            idx = orders[:, step]
            apply_update_(state, learner.update(state, data.train_x[idx].unsqueeze(1), data.train_y[idx].unsqueeze(1)))
            if step + 1 in checks:
                bad = (~torch.isfinite(state.weights[0]).flatten(1).all(1)).tolist()
                for i, b in enumerate(bad):
                    diverged[i] = diverged[i] or (step + 1 if b else None)
                if record:
                    for curve, a in zip(
                        curves, _plastic_accuracy(state.weights, curve_x, curve_y, config), strict=True
                    ):
                        curve.append([step + 1, a])
    accuracy = _plastic_accuracy(state.weights, *eval_set, config)
    after = _diagnose(state.weights, diag_x, config) if record else None
    runs = []
    for i, n in enumerate(nets):
        run = {"lr": n.lr, "oja": n.oja, "seed": n.seed, "accuracy": accuracy[i], "diverged_at": diverged[i]}
        if record:
            run |= {"curve": curves[i], "before": before[i], "after": after[i]}
        runs.append(run)
    return runs


def _train_tricks(
    config: OjaOnlineConfig,
    data: _Data,
    condition: _Condition,
    *,
    method: str,
    lr: float,
    seeds: list[int],
    eval_set: tuple[torch.Tensor, torch.Tensor],
    steps: int,
    record: bool,
    device: torch.device,
) -> list[dict[str, Any]]:
    """One engineering-trick method at learning rate ``lr`` on ``seeds`` (one stack)."""
    trick = TRICKS[method]
    sizes = _sizes(data, condition.hidden)
    per_seed = [_initial_weights(sizes, s, condition.gain, device) for s in seeds]
    weights = [torch.stack(ws) for ws in zip(*per_seed, strict=True)]
    batch = 1 if trick.batch == "one" else config.trick_batch
    curves: list[list[list[float]]] = [[] for _ in seeds]
    curve_x, curve_y = data.test_x[: config.curve_samples], data.test_y[: config.curve_samples]

    def logits_of(net):
        return lambda xs: net(xs.unsqueeze(0).expand(len(seeds), -1, -1), training=False)

    def on_check(seen: int, net) -> None:
        if record:
            with torch.no_grad():
                for curve, a in zip(curves, _accuracy(logits_of(net), curve_x, curve_y), strict=True):
                    curve.append([seen, a])

    with torch_threads(1):
        net, diverged = train_trick(
            trick,
            weights,
            lr=lr,
            batch=batch,
            inputs=data.train_x,
            labels=data.train_y,
            orders=_orders(data, seeds, steps).to(device),
            activation=config.activation,
            beta=config.softplus_beta,
            checks=_checks(steps, config.curve_points),
            on_check=on_check,
        )
        with torch.no_grad():
            accuracy = _accuracy(logits_of(net), *eval_set)
    return [
        {"lr": lr, "seed": s, "accuracy": a, "diverged_at": d} | ({"curve": c} if record else {})
        for s, a, d, c in zip(seeds, accuracy, diverged, curves, strict=True)
    ]


def _plastic_grid(config: OjaOnlineConfig, feedback: str, seed: int) -> list[_Net]:
    """The tuning grid of one feedback mode: θ₀ × θ_oja (0 included), and for BP the per-layer θ_oja grid."""
    nets = [_Net("grid", feedback, lr, oja, (), seed) for lr in config.lr_grid for oja in config.oja_grid]
    if feedback == "bp" and "bp_oja_layers" in config.methods:
        layered = config.oja_layer_scales
        nets += [
            _Net("layers", feedback, lr, oja, layered, seed) for lr in config.lr_grid for oja in config.oja_grid if oja
        ]
    return nets


def _best(runs: list[dict[str, Any]], keep: Callable[[dict[str, Any]], bool]) -> list[float]:
    """(θ₀, θ_oja) of the best run among ``keep``; ties go to the first in grid order (smaller θ_oja)."""
    best = max((r for r in runs if keep(r)), key=lambda r: r["accuracy"])
    return [best["lr"], best["oja"]]


def _trick_grid(config: OjaOnlineConfig, method: str) -> tuple[float, ...]:
    trick = TRICKS[method]
    if trick.optimiser == "adam":
        return config.adam_lr_grid
    return config.lr_grid if trick.batch == "one" else config.sgd_batch_lr_grid


def _tune(
    config: OjaOnlineConfig, data: _Data, condition: _Condition, *, tricks: bool, device: torch.device
) -> dict[str, Any]:
    """θ per method on the validation split after ``condition.tune_steps`` samples, seed ``config.seed``."""
    val = (data.val_x, data.val_y)
    chosen: dict[str, Any] = {}
    grid: dict[str, list[dict[str, Any]]] = {}
    feedbacks = [f for f in ("bp", "fa") if any(m.startswith(f) for m in config.methods if m in PLASTIC)]
    for feedback in feedbacks:
        nets = _plastic_grid(config, feedback, config.seed)
        runs = _train_plastic(
            config, data, condition, nets, val, steps=condition.tune_steps, record=False, device=device
        )
        for run, net in zip(runs, nets, strict=True):
            run["layers"] = bool(net.scales)
        grid[feedback] = runs
        chosen[feedback] = _best(runs, lambda r: r["oja"] == 0 and not r["layers"])
        chosen[f"{feedback}_oja"] = _best(runs, lambda r: not r["layers"])
        if feedback == "bp" and "bp_oja_layers" in config.methods:
            chosen["bp_oja_layers"] = _best(runs, lambda r: r["oja"] == 0 or r["layers"])
    for method in (m for m in config.methods if m in TRICKS and tricks):
        runs = [
            run
            for lr in _trick_grid(config, method)
            for run in _train_tricks(
                config,
                data,
                condition,
                method=method,
                lr=lr,
                seeds=[config.seed],
                eval_set=val,
                steps=condition.tune_steps,
                record=False,
                device=device,
            )
        ]
        grid[method] = runs
        chosen[method] = [max(runs, key=lambda r: r["accuracy"])["lr"], 0.0]
    return {"chosen": chosen, "grid": grid}


def _compare(
    config: OjaOnlineConfig,
    data: _Data,
    condition: _Condition,
    chosen: dict[str, Any],
    trick_lrs: dict[str, Any],
    device: torch.device,
) -> dict[str, Any]:
    """Every method with its θ on all seeds: test accuracy, learning curves, diagnostics."""
    seeds = [config.seed + k for k in range(config.seeds)]
    test = (data.test_x, data.test_y)
    theta = {"bp_fixed": [config.fixed_lr, 0.0], "bp_oja_fixed": [config.fixed_lr, config.fixed_oja]} | chosen
    out: dict[str, Any] = {}
    for feedback in ("bp", "fa"):
        methods = [m for m in PLASTIC if m in config.methods and m.startswith(feedback)]
        if not methods:
            continue
        distinct: dict[tuple, str] = {}
        for m in methods:
            distinct.setdefault(_identity(m, theta[m], config), m)
        nets = [
            _Net(m, feedback, *theta[m], config.oja_layer_scales if m == "bp_oja_layers" else (), s)
            for m in distinct.values()
            for s in seeds
        ]
        runs = _train_plastic(config, data, condition, nets, test, steps=condition.steps, record=True, device=device)
        for m in methods:
            first = distinct[_identity(m, theta[m], config)]
            out[m] = _summary([r for r, n in zip(runs, nets, strict=True) if n.method == first], theta[m])
    for method in (m for m in config.methods if m in TRICKS):
        lr = trick_lrs[method][0]
        runs = _train_tricks(
            config,
            data,
            condition,
            method=method,
            lr=lr,
            seeds=seeds,
            eval_set=test,
            steps=condition.steps,
            record=True,
            device=device,
        )
        out[method] = _summary(runs, [lr, 0.0])
    return out


def _identity(method: str, theta: list[float], config: OjaOnlineConfig) -> tuple[Any, ...]:
    """What makes two plastic methods one computation: feedback, θ₀, θ_oja and, with Oja, its per-layer factors."""
    lr, oja = theta
    scales = tuple(config.oja_layer_scales) if method == "bp_oja_layers" and oja > 0 else ()
    return method[:2], lr, oja, scales


def _merge_identical(condition: dict[str, Any], config: OjaOnlineConfig) -> None:
    """Methods whose θ coincide with an earlier method's (e.g. tuned BP + Oja choosing θ_oja = 0) get its runs.

    They are one computation: trained twice, two copies of a network would differ by rounding alone (a batched
    product's rounding depends on a network's place in the stack), amplified over thousands of online steps.
    """
    first: dict[tuple, str] = {}
    for m in (m for m in PLASTIC if m in condition):
        key = _identity(m, condition[m]["theta"], config)
        if first.setdefault(key, m) != m:
            condition[m] = condition[first[key]] | {"theta": condition[m]["theta"], "same_as": first[key]}


def _summary(runs: list[dict[str, Any]], theta: list[float]) -> dict[str, Any]:
    acc = [r["accuracy"] for r in runs]
    return {
        "mean": sum(acc) / len(acc),
        "n": len(runs),
        "diverged": sum(r["diverged_at"] is not None for r in runs),
        "theta": theta,
        "runs": runs,
    }


def _load(config: OjaOnlineConfig, name: str, run_dir: RunDir, device: torch.device) -> dict[str, torch.Tensor]:
    train, test = load_train_test(name, run_dir=run_dir, config=config)
    if config.n_train + config.n_val > len(train):
        raise ValueError(f"n_train + n_val = {config.n_train + config.n_val} exceeds the {len(train)} training images")
    n_test = min(config.n_test or len(test), len(test))
    x, y = train.batch(torch.arange(config.n_train + config.n_val), flatten=True, device=device)
    tx, ty = test.batch(torch.arange(n_test), flatten=True, device=device)
    return {"x": x, "y": y, "test_x": tx, "test_y": ty}


def _prepare(config: OjaOnlineConfig, raw: dict[str, torch.Tensor], kind: str) -> tuple[_Data, dict[str, Any]]:
    """The splits preprocessed with statistics of the ``n_train`` online training images only."""
    n = config.n_train
    prep = fit_preprocessing(kind, raw["x"][:n])
    x, tx = prep.apply(raw["x"]), prep.apply(raw["test_x"])
    classes = int(max(raw["y"].max(), raw["test_y"].max())) + 1
    return _Data(x[:n], raw["y"][:n], x[n:], raw["y"][n:], tx, raw["test_y"], classes), prep.record()


def _phases(config: OjaOnlineConfig) -> list[tuple[str, str, Key, _Condition]]:
    """(dataset, preprocessing, (dataset, sweep, setting), condition) in run order, the sweeps' preprocessing first."""
    base = _Condition(config.hidden, 1.0, config.n_train, min(config.tune_samples, config.n_train))
    steps, tune = min(config.sweep_samples, config.n_train), min(config.sweep_tune_samples, config.n_train)
    preps = [config.sweep_preprocessing] + [p for p in config.preprocessings if p != config.sweep_preprocessing]
    out = []
    for name in config.datasets:
        out.append((name, preps[0], (name, "online", preps[0]), base))
        out += [
            (name, preps[0], (name, "depth", str(d)), _Condition((config.depth_width,) * d, 1.0, steps, tune))
            for d in config.depths
        ]
        out += [
            (name, preps[0], (name, "init", f"{g:g}"), _Condition(config.hidden, g, steps, tune))
            for g in config.init_scales
        ]
        out += [(name, p, (name, "online", p), base) for p in preps[1:]]
    return out


def run(config: OjaOnlineConfig, run_dir: RunDir) -> dict[str, Any]:
    """Per data set: online learning under each preprocessing, then the depth and init sweeps; all resumable."""
    device = resolve_device(config.device)
    done = Ledger.load(run_dir)
    raw: dict[str, dict[str, torch.Tensor]] = {}
    prepared: dict[tuple[str, str], tuple[_Data, dict[str, Any]]] = {}

    def data_for(name: str, kind: str) -> tuple[_Data, dict[str, Any]]:
        if name not in raw:
            raw[name] = _load(config, name, run_dir, device)
        if (name, kind) not in prepared:
            prepared[name, kind] = _prepare(config, raw[name], kind)
        return prepared[name, kind]

    def phase(key: Key, fn: Callable[[], Any]) -> Any:
        if key not in done:
            value = fn()
            run_dir.log(phase=list(key), result=_brief(value))
            done.record(key, value)
        return done[key]

    for name, kind, key, condition in _phases(config):
        is_online = key[1] == "online"

        def tune(name=name, kind=kind, condition=condition, is_online=is_online):
            return _tune(config, data_for(name, kind)[0], condition, tricks=is_online, device=device)

        def compare(name=name, kind=kind, key=key, condition=condition):
            data, prep = data_for(name, kind)
            tuned = done[(*key, "tune")]["chosen"]
            trick_lrs = done[name, "online", kind, "tune"]["chosen"]
            return {"preprocessing": prep} | _compare(config, data, condition, tuned, trick_lrs, device)

        phase((*key, "tune"), tune)
        phase(key, compare)
    results = _assemble(config, done)
    results["figures"] = plot_all(config, results, run_dir, names=NAMES, labels=LABELS)
    results["claims"] = [] if config.quick_variant else claims(config, results)
    results["notes"] = _notes(config, results)
    return results


def _brief(value: dict[str, Any]) -> Any:
    if "chosen" in value:
        return value["chosen"]
    return {m: round(v["mean"], 4) for m, v in value.items() if m in METHODS}


def _assemble(config: OjaOnlineConfig, done: Mapping[Key, Any]) -> dict[str, Any]:
    """Results by data set: ``online`` per preprocessing, ``depth`` and ``init`` per setting, each with its tuning."""
    out: dict[str, Any] = {}
    for name, _, key, _ in _phases(config):
        _, sweep, setting = key
        condition = done[key] | {"tuning": done[(*key, "tune")]}
        _merge_identical(condition, config)
        out.setdefault(sweep, {}).setdefault(name, {})[setting] = condition
    return out


def paired_difference(condition: dict[str, Any], a: str, b: str) -> dict[str, Any] | None:
    """Accuracy of method a minus method b, paired by seed: mean and 95 % t-interval (None if either is absent).

    ``same`` marks two methods that are one computation (their θ coincide): the difference is 0 by construction.
    """
    if a not in condition or b not in condition:
        return None
    by_seed = {r["seed"]: r["accuracy"] for r in condition[b]["runs"]}
    diffs = [r["accuracy"] - by_seed[r["seed"]] for r in condition[a]["runs"] if r["seed"] in by_seed]
    low, high = t_interval(diffs) if len(diffs) > 1 else (math.nan, math.nan)
    same = condition[a].get("same_as", a) == condition[b].get("same_as", b)
    return {"b": b, "mean": sum(diffs) / len(diffs), "low": low, "high": high, "n": len(diffs), "same": same}


def _claim_conditions(config: OjaOnlineConfig, results: dict[str, Any]) -> dict[str, list[tuple[str, dict]]]:
    """The conditions each claim is about: online (every preprocessing), deep (≥ 6 layers), bad init (g ≠ 1)."""
    out: dict[str, list[tuple[str, dict]]] = {"online": [], "deep": [], "bad init": []}
    for name in config.datasets:
        label = LABELS[name]
        out["online"] += [(f"{label}, {p} input", results["online"][name][p]) for p in config.preprocessings]
        deep = [d for d in config.depths if d >= 6] or [max(config.depths)]
        out["deep"] += [(f"{label}, {d} hidden layers", results["depth"][name][str(d)]) for d in deep]
        bad = [g for g in config.init_scales if g != 1.0]
        out["bad init"] += [(f"{label}, g = {g:g}", results["init"][name][f"{g:g}"]) for g in bad]
    return out


def claims(config: OjaOnlineConfig, results: dict[str, Any]) -> list[dict[str, Any]]:
    """A verdict per claim from paired differences (BP + Oja − BP, 95 % t-interval over seeds).

    A variant of BP + Oja beats BP in a condition when the interval of its difference lies above 0 against both
    tuned BP and BP at the fixed lr (a failed tuning of one cannot make Oja look good). supported: tuned BP + Oja
    beats BP in every condition of the claim; supported under a stated condition: some variant (tuned, fixed θ or
    per layer) beats BP in some conditions, which are named; otherwise not supported.
    """
    verdicts = []
    for claim, conditions in _claim_conditions(config, results).items():
        rows, wins, worse = [], [], []
        tuned_wins = []
        for label, condition in conditions:
            for a in (v for v in OJA_VARIANTS if v in condition):
                diffs = [d for b in BP_BASELINES if (d := paired_difference(condition, a, b)) is not None]
                rows += [{"condition": label, "a": a, **d} for d in diffs]
                beats = bool(diffs) and all(d["low"] > 0 for d in diffs)
                if beats:
                    wins.append(f"{NAMES[a]}, {label}")
                if a == "bp_oja":
                    tuned_wins.append(beats)
                    if diffs and all(d["high"] < 0 for d in diffs):
                        worse.append(label)
        if tuned_wins and all(tuned_wins):
            verdict = "supported"
        elif wins:
            verdict = "supported under a stated condition"
        else:
            verdict = "not supported"
        verdicts.append({"claim": claim, "verdict": verdict, "where": wins, "tuned_worse": worse, "comparisons": rows})
    return verdicts


def _notes(config: OjaOnlineConfig, results: dict[str, Any]) -> list[str]:
    notes = [
        f"Online: batch 1, one pass over {config.n_train} training images, {config.seeds} seeds (init and order per"
        f" seed, shared by all methods); network n₀-{'-'.join(map(str, config.hidden))}-classes, {config.activation}"
        f" (β = {config.softplus_beta:g}), no biases, Xavier × g. Rule ΔW = −θ₀ e yᵀ + θ_oja,ℓ (y y_preᵀ − y yᵀ W),"
        f" softmax post at the output, batch sum. Fixed: θ₀ = {config.fixed_lr:g}, θ_oja = {config.fixed_oja:g}."
        f" Tuned on the validation split (last {config.n_val} training images, seed {config.seed}): θ₀ ∈"
        f" {list(config.lr_grid)}, θ_oja ∈ {list(config.oja_grid)}, per-layer factors {list(config.oja_layer_scales)}.",
        f"Sweeps ({config.sweep_preprocessing} input, {config.sweep_samples} samples, tuned after"
        f" {config.sweep_tune_samples}): depth {list(config.depths)} hidden layers of {config.depth_width}; init"
        f" Xavier × {list(config.init_scales)}. Tricks: learning rates tuned at the base network, g = 1; mini-batch"
        f" {config.trick_batch}.",
        "Diverged networks (non-finite weights or loss) are scored at chance and counted in 'diverged'.",
    ]
    for c in results["claims"]:
        where = f" ({'; '.join(c['where'])})" if c["where"] and c["verdict"] != "supported" else ""
        worse = (
            f"; tuned BP + Oja significantly below both BP baselines in: {'; '.join(c['tuned_worse'])}"
            if c["tuned_worse"]
            else ""
        )
        notes.append(f"Claim '{c['claim']}': {c['verdict']}{where}{worse}.")
    return notes + synthetic_note(config)


_SETTINGS = {"online": "online, {} input", "depth": "{} hidden layers", "init": "init g = {}"}


def _theta_text(method: str, theta: list[float]) -> str:
    if method in TRICKS:
        return f" (lr {theta[0]:g})"
    return f" (θ₀ {theta[0]:g}" + (f", θ_oja {theta[1]:g})" if "oja" in method else ")")


def _points(diff: dict[str, Any]) -> str:
    """A paired difference in percentage points with its interval."""
    if diff["same"]:
        return "0 (the same runs: equal θ)"
    if diff["n"] < 2:
        return f"{100 * diff['mean']:+.1f} points (1 seed, no interval)"
    return f"{100 * diff['mean']:+.1f} points [{100 * diff['low']:+.1f}, {100 * diff['high']:+.1f}]"


def summarize(results: dict[str, Any]) -> list[ReportRow]:
    """Test accuracy per condition and method (mean [95 % t-interval], θ used); paired differences and verdicts."""
    rows = []
    for sweep, setting in _SETTINGS.items():
        for name, points in results[sweep].items():
            for key, condition in points.items():
                for method in (m for m in METHODS if m in condition):
                    r = condition[method]
                    rows.append(
                        ReportRow(
                            f"{LABELS[name]}, {setting.format(key)}: {NAMES[method]}"
                            f"{_theta_text(method, r['theta'])}, test accuracy over {r['n']} seeds",
                            format_percent_interval([run["accuracy"] for run in r["runs"]]),
                        )
                    )
    for c in results["claims"]:
        for r in c["comparisons"]:
            rows.append(
                ReportRow(f"{c['claim']}: {r['condition']}: {NAMES[r['a']]} − {NAMES[r['b']]}, paired", _points(r))
            )
        rows.append(
            ReportRow(f"Oja helps pure BP: {c['claim']}", c["verdict"], "supported", "Oja paper abstract", True)
        )
    return rows


EXPERIMENT = Experiment(
    name="oja-online",
    description="Oja's rule with backprop: online, deep and badly initialised, against BP and the engineering tricks.",
    paper="Shervani-Tabar, Mirhoseini & Rosenbaum 2024",
    config_class=OjaOnlineConfig,
    run=run,
    summarize=summarize,
)
