"""Meta-gradients through an unrolled online inner loop: reverse mode (optionally checkpointed) and forward mode.

The inner loop W ← W + ΔW(θ) runs one support sample per step; the meta-loss L(θ) is scored on the query set
after the last step. Reverse mode keeps every step's graph (memory linear in the unroll length); checkpointing
every k steps runs each segment without a graph, keeps only the segment boundaries and recomputes the segment in
the backward pass (same numbers, about one extra forward); forward mode (torch.func.jvp, one tangent per
coefficient θ_r, all tangents batched by vmap) carries ∂W/∂θ_r alongside W, so its memory does not grow with the
unroll length.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch.utils.checkpoint import checkpoint

from neuroplastic.plasticity.learner import Learner, PlasticState, apply_update

MetaGradientMode = Literal["reverse", "checkpoint", "forward"]
META_GRADIENT_MODES: tuple[str, ...] = ("reverse", "checkpoint", "forward")
Aux = tuple[torch.Tensor, ...]
LossFn = Callable[[torch.Tensor], tuple[torch.Tensor, Aux]]


def unroll(
    make_learner: Callable[[torch.Tensor], Learner],
    theta: torch.Tensor,
    state: PlasticState,
    xs: torch.Tensor,
    ts: torch.Tensor,
    *,
    checkpoint_every: int = 0,
) -> PlasticState:
    """One online pass: step t learns from sample t of xs (… × T × n₀) and ts (… × T) with the rule of θ.

    ``checkpoint_every`` = k > 0 wraps every k steps in torch.utils.checkpoint (reverse mode only). Reentrant
    checkpointing runs a segment's forward under no_grad, so the unroll keeps only the boundary states: the non-
    reentrant variant builds every step's graph all the same (≈ 0.19 MiB a step for the paper's network) and would
    keep it until the backward pass. The price: gradients must come from ``backward()``, not ``autograd.grad``.
    """
    steps = xs.shape[-2]
    if ts.shape[-1] != steps:
        raise ValueError(f"{steps} support inputs but {ts.shape[-1]} targets")
    if checkpoint_every <= 0:
        return _steps(make_learner(theta), state, xs, ts, 0, steps)
    for start in range(0, steps, checkpoint_every):
        stop = min(start + checkpoint_every, steps)

        def segment(theta, *tensors, start=start, stop=stop, template=state):
            inner = _steps(make_learner(theta), _unflatten(template, tensors), xs, ts, start, stop)
            return _flatten(inner)

        state = _unflatten(state, checkpoint(segment, theta, *_flatten(state), use_reentrant=True))
    return state


def _steps(learner: Learner, state: PlasticState, xs, ts, start: int, stop: int) -> PlasticState:
    for t in range(start, stop):
        state = apply_update(state, learner.update(state, xs[..., t : t + 1, :], ts[..., t : t + 1]))
    return state


def _flatten(state: PlasticState) -> tuple[torch.Tensor, ...]:
    return state.weights + (state.biases or ())


def _unflatten(template: PlasticState, tensors) -> PlasticState:
    n = len(template.weights)
    return PlasticState(tuple(tensors[:n]), template.feedbacks, tuple(tensors[n:]) or None)


def reverse_gradient(loss_fn: LossFn, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, Aux]:
    """(∂ Σ L / ∂θ, L, aux) by backpropagation; ``loss_fn(θ)`` returns (losses L, aux: a tuple of tensors).

    Uses ``backward()`` into a fresh leaf θ (reentrant checkpointing, see `unroll`, refuses ``autograd.grad``), so
    other tensors that ``loss_fn`` reads with ``requires_grad`` also get ``.grad``.
    """
    theta = theta.detach().requires_grad_()
    with torch.enable_grad():
        loss, aux = loss_fn(theta)
        loss.sum().backward()
    return theta.grad, loss.detach(), aux


def forward_gradient(loss_fn: LossFn, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, Aux]:
    """(∂L_s/∂θ_{s,r}, L, aux) by forward mode: one jvp tangent per coefficient r (θ: replicas × R).

    Tangent r is 1 at θ_{s,r} for every replica s at once, so this equals the gradient of Σ_s L_s only when
    replica s's loss L_s depends on θ_s alone (independent replicas, as in `MetaLearner`).
    """
    theta = theta.detach()
    n_coefficients = theta.shape[-1]
    tangents = torch.eye(n_coefficients, dtype=theta.dtype, device=theta.device)
    tangents = tangents.view(n_coefficients, *([1] * (theta.dim() - 1)), n_coefficients).expand(-1, *theta.shape)

    def directional(tangent):
        return torch.func.jvp(loss_fn, (theta,), (tangent,), has_aux=True)

    with torch.no_grad():
        loss, derivative, aux = torch.func.vmap(directional)(tangents)
    return derivative.movedim(0, -1), loss[0], tuple(t[0] for t in aux)
