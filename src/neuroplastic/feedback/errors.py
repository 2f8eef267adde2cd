"""Functional forward pass and error propagation through a feedback pathway (rows are samples).

Every function also accepts a leading dimension of independent networks (seeds, grid points) on all
tensors: weights S × n_ℓ × n_{ℓ−1}, inputs S × batch × n₀, targets S × batch.

Column notation of the papers: z_ℓ = W_ℓ y_{ℓ−1} (+ b_ℓ), y_ℓ = σ(z_ℓ) for hidden layers, z_L are the logits;
e_L = softmax(z_L) − onehot(t) = ∂CE/∂z_L and e_{ℓ−1} = (B_ℓ e_ℓ) ⊙ σ′(z_{ℓ−1}) down to the synthetic input
error e₀ (pixels read as σ outputs). B_ℓ has shape n_{ℓ−1} × n_ℓ; backprop is B_ℓ = W_ℓᵀ. Direct feedback
alignment uses e_{ℓ−1} = (B_ℓ e_L) ⊙ σ′ with B_ℓ of shape n_{ℓ−1} × n_L; sign symmetry uses
B_ℓ = sign(W_ℓ)ᵀ ⊙ |B_ℓ| (|B_ℓ| constant: uSF; random fixed: frSF).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch

from neuroplastic.core.activations import SOFTPLUS_BETA, ActivationName, resolve_activation
from neuroplastic.feedback.init import FeedbackMode, check_mode


class Signals(NamedTuple):
    """Activities y₀..y_L (y_L: the logits z_L) and errors e₀..e_L of one forward and one feedback pass."""

    ys: tuple[torch.Tensor, ...]
    es: tuple[torch.Tensor, ...]


def forward(
    weights: Sequence[torch.Tensor],
    x: torch.Tensor,
    *,
    biases: Sequence[torch.Tensor] | None = None,
    activation: ActivationName = "softplus",
    beta: float = SOFTPLUS_BETA,
) -> tuple[torch.Tensor, ...]:
    """(y₀, …, y_{L−1}, z_L) for inputs x (batch × n₀); the output layer is linear."""
    sigma = resolve_activation(activation, beta=beta).function
    if x.dim() < 2 or x.shape[-1] != weights[0].shape[-1]:
        raise ValueError(f"x must be batch × {weights[0].shape[-1]}, got shape {tuple(x.shape)}")
    ys = [x]
    for l, w in enumerate(weights):
        z = ys[-1] @ w.mT
        if biases is not None:
            z = z + biases[l].unsqueeze(-2)
        ys.append(z if l == len(weights) - 1 else sigma(z))
    return tuple(ys)


def effective_feedback(weight: torch.Tensor, feedback: torch.Tensor | None, mode: FeedbackMode) -> torch.Tensor:
    """The B_ℓ that carries errors this step: W_ℓᵀ (bp), B_ℓ (fa, dfa) or sign(W_ℓ)ᵀ ⊙ |B_ℓ| (sign)."""
    if mode == "bp":
        return weight.mT
    if feedback is None:
        raise ValueError(f"feedback mode {mode!r} needs a feedback matrix for every layer")
    if mode == "sign":
        return torch.sign(weight.mT) * feedback.abs()
    return feedback


def output_error(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """e_L = softmax(z_L) − onehot(t), the gradient of the summed cross-entropy with respect to the logits."""
    if target.shape != logits.shape[:-1] or target.dtype not in (torch.int64, torch.int32):
        got = f"{tuple(target.shape)} {target.dtype}"
        raise ValueError(f"target must hold integer class labels of shape {tuple(logits.shape[:-1])}, got {got}")
    classes = torch.arange(logits.shape[-1], device=logits.device)
    onehot = (target.unsqueeze(-1) == classes).to(logits.dtype)
    return torch.softmax(logits, dim=-1) - onehot


def errors(
    weights: Sequence[torch.Tensor],
    feedbacks: Sequence[torch.Tensor] | None,
    ys: Sequence[torch.Tensor],
    target: torch.Tensor,
    *,
    mode: FeedbackMode = "fa",
    activation: ActivationName = "softplus",
    beta: float = SOFTPLUS_BETA,
    input_error: bool = True,
) -> tuple[torch.Tensor | None, ...]:
    """(e₀, …, e_L) propagated from e_L through the feedback pathway ``mode``.

    ``input_error=False`` skips e₀ (returned as None): a pass over B₁, the largest feedback matrix, that only
    rules reading the pre-synaptic error of the first layer need.
    """
    check_mode(mode)
    sigma_prime = resolve_activation(activation, beta=beta).derivative_from_output
    if feedbacks is not None and len(feedbacks) != len(weights):
        raise ValueError(f"need one feedback matrix per layer: {len(weights)} weights, {len(feedbacks)} feedbacks")
    e_out = output_error(ys[-1], target)
    es = [e_out]
    for l in range(len(weights) - 1, -1, -1):
        fb = effective_feedback(weights[l], None if feedbacks is None else feedbacks[l], mode)
        source = e_out if mode == "dfa" else es[0]
        expected = (weights[l].shape[-1], source.shape[-1])
        if tuple(fb.shape[-2:]) != expected:
            got = tuple(fb.shape)
            raise ValueError(f"feedback of layer {l + 1} must have shape {expected} in mode {mode!r}, got {got}")
        skip = l == 0 and not input_error
        es.insert(0, None if skip else (source @ fb.mT) * sigma_prime(ys[l]))
    return tuple(es)


def signals(
    weights: Sequence[torch.Tensor],
    feedbacks: Sequence[torch.Tensor] | None,
    x: torch.Tensor,
    target: torch.Tensor,
    *,
    biases: Sequence[torch.Tensor] | None = None,
    mode: FeedbackMode = "fa",
    activation: ActivationName = "softplus",
    beta: float = SOFTPLUS_BETA,
    input_error: bool = True,
) -> Signals:
    """Forward pass and error propagation in one call (e₀ is None when ``input_error`` is False)."""
    ys = forward(weights, x, biases=biases, activation=activation, beta=beta)
    es = errors(weights, feedbacks, ys, target, mode=mode, activation=activation, beta=beta, input_error=input_error)
    return Signals(ys, es)
