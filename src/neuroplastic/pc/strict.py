"""Strict predictive coding: gradient descent on the energy F over the hidden beliefs, predictions recomputed.

F(v; θ) = ½ Σ_{l=1}^{L−1} ‖ε_l‖² + γ ℒ(f_L(v), y),  ε_l = f_l(v) − v_l (f_l reads the beliefs of its inputs),
v_0 = x clamped.

One inference step updates every hidden belief at once (Jacobi): v_l ← v_l − η ∂F/∂v_l
= v_l + η(ε_l − Σ_c [J_c(v)ᵀ ε_c]_l), with one autograd call for all layers. Beliefs are held as offsets
Δ_l = v_l − v̂_l. After n steps the update is dθ = ∇_θ F(v^(n)) / γ, i.e. dθ_l = (∂f_l/∂θ_l)ᵀ ε_l at the final
beliefs, with ε_L = γ ∂ℒ/∂ṽ_L. With ``optimizer`` given (incremental PC), the weights also take one optimiser
step from ∇_θ F at every inference step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from neuroplastic.pc.feedforward import LossFn
from neuroplastic.pc.grads import regroup, write_grads
from neuroplastic.pc.layers import PCLayers


@dataclass
class StrictState:
    """Outcome of strict inference: beliefs, errors at the final beliefs, energy trace, and parameter grads."""

    v: list[torch.Tensor]
    eps: list[torch.Tensor | None]
    energy: torch.Tensor
    grads: list[list[torch.Tensor | None]] | None


def _energy(layers: PCLayers, loss_fn: LossFn, x, y, vhat, offsets, gamma: float, fixed: list[bool]):
    """F at beliefs v̂ + Δ, with the errors ε_1..ε_{L−1} and the output prediction f_L(v).

    A layer marked ``fixed`` reads only x, so its prediction is v̂_l and ε_l = −Δ_l without calling it.
    """
    depth = layers.depth
    eps: list[torch.Tensor | None] = [None] * (depth + 1)
    beliefs: list[torch.Tensor] = [x]
    energy = 0.0
    for l in range(1, depth):
        if fixed[l]:
            prediction_gap = -offsets[l]
        else:
            prediction_gap = (layers(l, *(beliefs[j] for j in layers.inputs[l])) - vhat[l]) - offsets[l]
        eps[l] = prediction_gap
        energy = energy + 0.5 * prediction_gap.pow(2).sum()
        beliefs.append(vhat[l] + offsets[l])
    output = layers(depth, *(beliefs[j] for j in layers.inputs[depth]))
    energy = energy + gamma * loss_fn(output, y)
    return energy, eps, output


def strict_inference(
    layers: PCLayers,
    loss_fn: LossFn,
    x: torch.Tensor,
    y: torch.Tensor,
    vhat: list[torch.Tensor],
    initial_offsets: list[torch.Tensor | None],
    params: list[list[torch.nn.Parameter]],
    *,
    eta: float,
    n: int,
    gamma: float,
    optimizer: torch.optim.Optimizer | None,
    grads_at_beliefs: bool = True,
) -> StrictState:
    """Run n strict inference steps from beliefs v̂ + Δ (Δ from ``initial_offsets``, ``None`` = 0).

    ``grads_at_beliefs=False`` skips ∇_θF(v^(n)) (the caller takes the update elsewhere); ``grads`` is then ``None``.
    """
    depth = layers.depth
    flat = [p for group in params for p in group]
    offsets: list[torch.Tensor | None] = [None] * depth
    for l in range(1, depth):
        start = initial_offsets[l] if initial_offsets[l] is not None else torch.zeros_like(vhat[l])
        offsets[l] = start.detach().clone().requires_grad_(True)
    hidden = offsets[1:]
    fixed = layers.reads_only_input if optimizer is None else [False] * (depth + 1)
    energies = []
    with torch.enable_grad():
        for _ in range(n):
            energy, _, _ = _energy(layers, loss_fn, x, y, vhat, offsets, gamma, fixed)
            wanted = hidden + (flat if optimizer is not None else [])
            if not wanted:
                energies.append(energy.detach())
                continue
            grads = torch.autograd.grad(energy, wanted, allow_unused=True)
            energies.append(energy.detach())
            with torch.no_grad():
                for offset, g in zip(hidden, grads[: len(hidden)], strict=True):
                    if g is not None:
                        offset.sub_(eta * g)
            if optimizer is not None:
                write_grads(params, regroup(grads[len(hidden) :], params), accumulate=False, scale=1 / gamma)
                optimizer.step()
        learn = optimizer is None and grads_at_beliefs
        energy, eps, output = _energy(layers, loss_fn, x, y, vhat, offsets, gamma, [False] * (depth + 1))
        final = torch.autograd.grad(energy, [output, *(flat if learn else [])], allow_unused=True)
    energies.append(energy.detach())
    eps = [None if e is None else e.detach() for e in eps]
    eps[depth] = final[0]
    v = [x] + [vhat[l] + offsets[l].detach() for l in range(1, depth)] + [output.detach()]
    grads = regroup(final[1:], params) if learn else None
    return StrictState(v=v, eps=eps, energy=torch.stack(energies), grads=grads)
