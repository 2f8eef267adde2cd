"""Strict predictive coding: gradient descent on the energy F over the hidden beliefs, predictions recomputed.

F(v; θ) = ½ Σ_{l=1}^{L−1} ‖ε_l‖² + γ ℒ(f_L(v), y),  ε_l = f_l(v) − v_l (f_l reads the beliefs of its inputs),
v_0 = x clamped.

One inference step updates every hidden belief at once (Jacobi): v_l ← v_l − η ∂F/∂v_l
= v_l + η(ε_l − Σ_c [J_c(v)ᵀ ε_c]_l), with one autograd call for all layers. Beliefs are held as offsets
Δ_l = v_l − v̂_l. After n steps the update is dθ = ∇_θ F(v^(n)) / γ, i.e. dθ_l = (∂f_l/∂θ_l)ᵀ ε_l at the final
beliefs, with ε_L = γ ∂ℒ/∂ṽ_L. With ``optimizer`` given (incremental PC), the weights also take one optimiser
step from ∇_θF/γ at every inference step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from neuroplastic.pc.feedforward import Feedforward, LossFn
from neuroplastic.pc.grads import grads_from_errors, regroup, write_grads
from neuroplastic.pc.layers import PCLayers

GradAt = Literal["beliefs", "vhat"]
GRAD_AT: tuple[GradAt, ...] = ("beliefs", "vhat")


@dataclass
class StrictState:
    """Outcome of strict inference: beliefs, errors at the final beliefs, energy trace and the update dθ."""

    v: list[torch.Tensor]
    eps: list[torch.Tensor | None]
    energy: torch.Tensor
    update: list[list[torch.Tensor | None]] | None


@dataclass
class _Step:
    """F, the errors and ∂F/∂v at one set of beliefs, with ∇_θF for the parameters asked for."""

    energy: torch.Tensor
    eps: list[torch.Tensor | None]
    belief_grads: list[torch.Tensor | None]
    output: torch.Tensor
    dF_doutput: torch.Tensor | None
    param_grads: list[torch.Tensor | None]


def _gradients(
    layers: PCLayers,
    loss_fn: LossFn,
    x,
    y,
    vhat,
    offsets,
    gamma: float,
    fixed: list[bool],
    params,
    *,
    output_grad=False,
) -> _Step:
    """F at beliefs v = v̂ + Δ and its gradients, from one backward pass.

    ∂F/∂v_l = Σ_c [J_c(v)ᵀ ε_c]_l + γ ∂ℒ/∂v_l − ε_l and ∇_θF = Σ_l (∂f_l/∂θ)ᵀ ε_l + γ ∂ℒ/∂θ: one vector–Jacobian
    product of the predictions with the errors (and of ℒ with γ), without differentiating ½‖ε‖² itself. A layer
    marked ``fixed`` reads only x, so its prediction is v̂_l and ε_l = −Δ_l without calling it.
    """
    depth = layers.depth
    eps: list[torch.Tensor | None] = [None] * (depth + 1)
    beliefs: list[torch.Tensor] = [x]
    predictions, errors = [], []
    energy = 0.0
    for l in range(1, depth):
        if fixed[l]:
            prediction_gap = -offsets[l]
        else:
            prediction = layers(l, *(beliefs[j] for j in layers.inputs[l]))
            prediction_gap = (prediction.detach() - vhat[l]) - offsets[l]
            predictions.append(prediction)
            errors.append(prediction_gap)
        eps[l] = prediction_gap
        energy = energy + 0.5 * prediction_gap.pow(2).sum()
        beliefs.append((vhat[l] + offsets[l]).requires_grad_(True))
    output = layers(depth, *(beliefs[j] for j in layers.inputs[depth]))
    loss = loss_fn(output, y)
    energy = energy + gamma * loss.detach()
    inputs = [*beliefs[1:], *([output] if output_grad else []), *params]
    gamma_tensor = torch.tensor(gamma, dtype=loss.dtype, device=loss.device)
    found = (
        torch.autograd.grad([loss, *predictions], inputs, [gamma_tensor, *errors], allow_unused=True) if inputs else ()
    )
    hidden = depth - 1
    belief_grads = [None] + [-eps[l] if g is None else g - eps[l] for l, g in enumerate(found[:hidden], start=1)]
    return _Step(
        energy=energy,
        eps=eps,
        belief_grads=belief_grads,
        output=output.detach(),
        dF_doutput=found[hidden] if output_grad else None,
        param_grads=list(found[hidden + int(output_grad) :]),
    )


def strict_inference(
    layers: PCLayers,
    loss_fn: LossFn,
    x: torch.Tensor,
    y: torch.Tensor,
    ff: Feedforward,
    initial_offsets: list[torch.Tensor | None],
    params: list[list[torch.nn.Parameter]],
    *,
    eta: float,
    n: int,
    gamma: float,
    grad_at: GradAt = "beliefs",
    optimizer: torch.optim.Optimizer | None = None,
) -> StrictState:
    """Run n strict inference steps from beliefs v̂ + Δ (Δ from ``initial_offsets``, ``None`` = 0).

    The update is dθ = ∇_θF/γ, at the final beliefs (``grad_at="beliefs"``) or with the final errors at the
    feedforward values (``"vhat"``, which needs ``ff`` to have recorded its graph). With ``optimizer`` the update is
    written into ``.grad`` and applied at every step instead, and ``update`` is ``None``.
    """
    depth = layers.depth
    vhat = ff.vhat()
    flat = [p for group in params for p in group]
    offsets: list[torch.Tensor | None] = [None] * depth
    for l in range(1, depth):
        start = initial_offsets[l] if initial_offsets[l] is not None else torch.zeros_like(vhat[l])
        offsets[l] = start.detach().clone()
    fixed = layers.reads_only_input if optimizer is None else [False] * (depth + 1)
    stepped = flat if optimizer is not None else []
    energies = []
    with torch.enable_grad():
        for _ in range(n):
            step = _gradients(layers, loss_fn, x, y, vhat, offsets, gamma, fixed, stepped)
            energies.append(step.energy)
            for l in range(1, depth):
                offsets[l].sub_(eta * step.belief_grads[l])
            if optimizer is not None:
                write_grads(params, _per_unit_precision(regroup(step.param_grads, params), gamma), accumulate=False)
                optimizer.step()
        learn = optimizer is None and grad_at == "beliefs"
        last = [False] * (depth + 1)
        final = _gradients(layers, loss_fn, x, y, vhat, offsets, gamma, last, flat if learn else [], output_grad=True)
    energies.append(final.energy)
    eps = final.eps
    eps[depth] = final.dF_doutput
    v = [x] + [vhat[l] + offsets[l] for l in range(1, depth)] + [final.output]
    if optimizer is not None:
        update = None
    else:
        energy_grads = regroup(final.param_grads, params) if learn else grads_from_errors(ff, params, eps)
        update = _per_unit_precision(energy_grads, gamma)
    return StrictState(v=v, eps=eps, energy=torch.stack(energies), update=update)


def _per_unit_precision(energy_grads: list[list[torch.Tensor | None]], gamma: float):
    """dθ = ∇_θF / γ, so that γ → 0 approaches ∇_θℒ."""
    return [[None if g is None else g.detach() / gamma for g in group] for group in energy_grads]


def first_energy_rise(energy: torch.Tensor, rtol: float = 1e-6) -> int | None:
    """The first inference step after which F rose by more than ``rtol``·|F^(0)| (or rounding), or ``None``.

    Gradient descent on F with a small η does not raise F where F is smooth; at the kinks of ReLU or max-pooling
    a converged inference can rise by rounding-sized amounts (≈ 1e-9 of F^(0)), which are not a divergence.
    """
    rounding = 64 * torch.finfo(energy.dtype).eps * energy[:-1].abs().clamp(min=1)
    tolerance = torch.maximum(rtol * energy[0].abs(), rounding)
    rises = (energy[1:] > energy[:-1] + tolerance).nonzero()
    return int(rises[0]) + 1 if len(rises) else None
