"""Fully connected networks as plain ``nn.Sequential`` (Linear, activation, ..., Linear), Xavier-initialised."""

from __future__ import annotations

import torch
from torch import nn

from neuroplastic.core.activations import SOFTPLUS_BETA, ActivationName, resolve_activation
from neuroplastic.core.init import xavier_uniform


def mlp(
    sizes: list[int] | tuple[int, ...],
    *,
    activation: ActivationName = "softplus",
    beta: float = SOFTPLUS_BETA,
    bias: bool = False,
    init_gain: float = 1.0,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> nn.Sequential:
    """MLP with layer sizes ``sizes = [n_0, ..., n_L]``; weights Xavier-uniform × ``init_gain``, biases zero.

    The hidden nonlinearity σ is ``activation`` (softplus with sharpness ``beta``); the output layer is linear
    (logits) and the loss supplies softmax.
    """
    if len(sizes) < 2 or any(s < 1 for s in sizes):
        raise ValueError(f"sizes must list at least two positive layer widths, got {list(sizes)}")
    sigma = resolve_activation(activation, beta=beta)
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        linear = nn.Linear(fan_in, fan_out, bias=bias, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(xavier_uniform(fan_out, fan_in, gain=init_gain, generator=generator, dtype=dtype))
        if bias:
            nn.init.zeros_(linear.bias)
        layers.append(linear)
        if i < len(sizes) - 2:
            layers.append(sigma.module())
    return nn.Sequential(*layers)
