"""The predictive-coding modes as option objects, each validating its own options and running its inference.

Every mode turns one feedforward pass into beliefs v, errors ε and the update dθ per layer (descent convention,
so ``optimizer.step()`` after writing it into ``.grad`` descends). ``MODES`` maps each mode's name to its class.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import ClassVar, Literal

import torch

from neuroplastic.core.divergence import DivergenceError
from neuroplastic.pc.exact import exact_errors
from neuroplastic.pc.feedforward import Feedforward, LossFn, all_finite
from neuroplastic.pc.fixed_pred import STORAGES, Storage, fixed_pred_errors
from neuroplastic.pc.grads import grads_from_errors
from neuroplastic.pc.layers import PCLayers
from neuroplastic.pc.strict import GRAD_AT, GradAt, first_energy_rise, strict_inference


@dataclass(frozen=True)
class Batch:
    """What every mode reads: the PC layers, loss, batch, feedforward pass and parameters θ_l per layer.

    ``initial`` holds the initial belief offsets Δ_l = v_l^(0) − v̂_l (``None`` = start at v̂_l).
    """

    layers: PCLayers
    loss_fn: LossFn
    x: torch.Tensor
    y: torch.Tensor
    ff: Feedforward
    params: list[list[torch.nn.Parameter]]
    initial: list[torch.Tensor | None]


@dataclass(frozen=True)
class Inference:
    """A mode's outcome: beliefs v and errors ε (indexed 0..L), the update dθ per layer, steps and strict's F.

    ``update`` is ``None`` when incremental PC has already applied it.
    """

    v: list[torch.Tensor]
    eps: list[torch.Tensor | None]
    update: list[list[torch.Tensor | None]] | None
    steps: int
    energy: torch.Tensor | None = None


@dataclass(frozen=True)
class Strict:
    """Strict PC: n steps of gradient descent on F = ½Σ‖ε_l‖² + γℒ over the hidden beliefs, step size η.

    dθ = ∇_θF(v^(n))/γ at the final beliefs; it approaches backprop only for small output precision γ. ``n``
    defaults to the longest chain of PC layers (L for a Sequential).

    ``grad_at="vhat"`` is a compatibility option, to reproduce the paper's 2021 figure notebooks only: the update
    takes the final errors at the feedforward values, dθ_l = (∂f_l(v̂)/∂θ_l)ᵀ ε_l / γ.
    """

    eta: float
    n: int | None = None
    output_precision: float = 1.0
    grad_at: GradAt = "beliefs"
    name: ClassVar[str] = "strict"
    relaxes_beliefs: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_eta_and_n(self.eta, self.n)
        if not self.output_precision > 0:
            raise ValueError(f"output_precision must be > 0, got {self.output_precision}")
        if self.grad_at not in GRAD_AT:
            raise ValueError(f"grad_at must be one of {GRAD_AT}, got {self.grad_at!r}")

    @property
    def records_graph(self) -> bool:
        """Whether the feedforward pass must keep its graph (for the update at v̂)."""
        return self.grad_at == "vhat"

    def infer(self, batch: Batch, optimizer: torch.optim.Optimizer | None = None) -> Inference:
        """Relax the beliefs; with ``optimizer`` (incremental PC) step the weights at every inference step too."""
        if optimizer is not None and self.grad_at != "beliefs":
            raise ValueError("grad_at='vhat' cannot be combined with incremental PC (updates at every step)")
        steps = _steps(self.n, batch.layers)
        state = strict_inference(
            batch.layers,
            batch.loss_fn,
            batch.x,
            batch.y,
            batch.ff,
            batch.initial,
            batch.params,
            eta=self.eta,
            n=steps,
            gamma=self.output_precision,
            grad_at=self.grad_at,
            optimizer=optimizer,
        )
        _check_energy(state.energy, self.eta, optimizer is not None)
        return Inference(state.v, state.eps, state.update, steps, state.energy)


@dataclass(frozen=True)
class FixedPred:
    """The fixed-prediction assumption: predictions and Jacobians frozen at v̂, ε_L = ∂ℒ/∂ŷ held fixed.

    The errors follow ε_l ← (1 − η)ε_l + η Σ_c [J_c(v̂)ᵀ ε_c]_l for n steps; η = 1 and n = the longest chain of
    PC layers (the defaults) give backprop's gradients exactly, 0 < η < 1 scales layer l's update by
    P[Binomial(n−1, η) ≥ L−l]. The recursion diverges for η ≥ 2.

    ``storage="absolute"`` is a compatibility option, to reproduce Torch2PC's float32 artefacts only: beliefs held
    as absolute values and errors as their differences v̂ − v, which cancel in float32 once the errors are small.
    """

    eta: float = 1.0
    n: int | None = None
    storage: Storage = "offsets"
    name: ClassVar[str] = "fixed_pred"
    relaxes_beliefs: ClassVar[bool] = True
    records_graph: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_eta_and_n(self.eta, self.n)
        if self.storage not in STORAGES:
            raise ValueError(f"storage must be one of {STORAGES}, got {self.storage!r}")
        if self.eta >= 2:
            warnings.warn(
                f"fixed_pred with eta={self.eta} >= 2: the error recursion ε ← (1−η)ε + ηJᵀε diverges; use 0 < eta < 2",
                RuntimeWarning,
                stacklevel=3,
            )

    def infer(self, batch: Batch) -> Inference:
        """Iterate the error recursion; the beliefs returned are v^(n) = v̂ − ε^(n+1)."""
        steps = _steps(self.n, batch.layers)
        start = [None if offset is None else -offset for offset in batch.initial]
        eps, belief_eps = fixed_pred_errors(batch.ff, eta=self.eta, n=steps, initial=start, storage=self.storage)
        update = grads_from_errors(batch.ff, batch.params, eps)
        diverged = f"the fixed_pred error recursion diverged (eta={self.eta}; it is stable for 0 < eta < 2)"
        _check_update(update, self.name, diverged)
        return Inference(_beliefs(batch.ff, belief_eps), _zero_filled(batch.ff, eps), update, steps)


@dataclass(frozen=True)
class Exact:
    """Exact mode: ε_l = ∂ℒ/∂v̂_l by the backprop recursion, so the update equals ``loss.backward()``."""

    name: ClassVar[str] = "exact"
    relaxes_beliefs: ClassVar[bool] = False
    records_graph: ClassVar[bool] = True

    def infer(self, batch: Batch) -> Inference:
        """No inference: the beliefs are v_l = v̂_l − ∂ℒ/∂v̂_l."""
        eps = exact_errors(batch.ff, batch.layers.depth)
        update = grads_from_errors(batch.ff, batch.params, eps)
        _check_update(update, self.name, "a gradient overflowed")
        return Inference(_beliefs(batch.ff, eps), _zero_filled(batch.ff, eps), update, 0)


PCMode = Strict | FixedPred | Exact
MODES: dict[str, type[PCMode]] = {mode.name: mode for mode in (Strict, FixedPred, Exact)}
ModeName = Literal[tuple(MODES)]  # type: ignore[valid-type]


def _check_eta_and_n(eta: float, n: int | None) -> None:
    if not eta > 0:
        raise ValueError(f"eta must be > 0, got {eta}")
    if n is not None and (not isinstance(n, int) or n < 1):
        raise ValueError(f"n (inference steps) must be an integer >= 1, got {n!r}")


def _steps(n: int | None, layers: PCLayers) -> int:
    return layers.longest_chain if n is None else n


def _beliefs(ff: Feedforward, belief_eps: list[torch.Tensor | None]) -> list[torch.Tensor]:
    """v_l = v̂_l − ε_l (v_0 = x; ``None`` = v̂_l)."""
    vhat = ff.vhat()
    return [vhat[0]] + [vhat[l] - e if e is not None else vhat[l] for l, e in enumerate(belief_eps) if l > 0]


def _zero_filled(ff: Feedforward, eps: list[torch.Tensor | None]) -> list[torch.Tensor | None]:
    vhat = ff.vhat()
    return [None] + [e if e is not None else torch.zeros_like(vhat[l]) for l, e in enumerate(eps) if l > 0]


def _check_energy(energy: torch.Tensor, eta: float, incremental: bool) -> None:
    """Strict inference from a finite feedforward pass and finite beliefs: a non-finite F is inference diverging."""
    finite = torch.isfinite(energy)
    if not bool(finite.all()):
        step = int((~finite).nonzero()[0])
        if step == 0:
            raise DivergenceError(
                f"strict PC energy F is {energy[0].item()} at the initial beliefs, before any inference step; the "
                "feedforward pass and v_init are finite, so a prediction error overflowed (eta is not the cause)"
            )
        cause = f"eta={eta} is too large" + (" or the incremental optimiser's learning rate is" if incremental else "")
        raise DivergenceError(
            f"strict PC energy became {energy[step].item()} at inference step {step} from a finite feedforward "
            f"pass; {cause}"
        )
    rise = first_energy_rise(energy)
    if rise is not None:
        warnings.warn(
            f"strict PC energy increased at inference step {rise} (eta={eta}); inference is not "
            "descending F — use a smaller eta",
            RuntimeWarning,
            stacklevel=4,
        )


def _check_update(update: list[list[torch.Tensor | None]], mode: str, cause: str) -> None:
    """A non-finite update from a finite feedforward pass: the error recursion diverged (or overflowed)."""
    if all_finite([g for group in update for g in group if g is not None]):
        return
    for l, group in enumerate(update, start=1):
        if any(g is not None and not bool(torch.isfinite(g).all()) for g in group):
            raise DivergenceError(
                f"{mode} PC update of layer {l} is non-finite although the parameters and the feedforward pass "
                f"are finite: {cause}"
            )
