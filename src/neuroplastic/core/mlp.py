"""Fully connected networks as plain ``nn.Sequential`` (Linear, activation, ..., Linear), Xavier-initialised."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

Activation = Literal["softplus", "relu", "tanh"]


def activation_module(name: Activation, *, beta: float = 10.0) -> nn.Module:
    """The hidden nonlinearity σ: softplus σ(z) = log(1 + e^{βz})/β, ReLU or tanh."""
    if name == "softplus":
        return nn.Softplus(beta=beta)
    if name == "relu":
        return nn.ReLU()
    if name == "tanh":
        return nn.Tanh()
    raise ValueError(f"unknown activation {name!r}; choose softplus, relu or tanh")


def mlp(
    sizes: list[int] | tuple[int, ...],
    *,
    activation: Activation = "softplus",
    beta: float = 10.0,
    bias: bool = False,
    init_gain: float = 1.0,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> nn.Sequential:
    """MLP with layer sizes ``sizes = [n_0, ..., n_L]``; weights Xavier-uniform × ``init_gain``, biases zero.

    The output layer is linear (logits); the loss supplies softmax.
    """
    if len(sizes) < 2 or any(s < 1 for s in sizes):
        raise ValueError(f"sizes must list at least two positive layer widths, got {list(sizes)}")
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        linear = nn.Linear(fan_in, fan_out, bias=bias, dtype=dtype)
        nn.init.xavier_uniform_(linear.weight, gain=init_gain, generator=generator)
        if bias:
            nn.init.zeros_(linear.bias)
        layers.append(linear)
        if i < len(sizes) - 2:
            layers.append(activation_module(activation, beta=beta))
    return nn.Sequential(*layers)
