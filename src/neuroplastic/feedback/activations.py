"""Hidden nonlinearities σ and their derivative σ′ written as a function of the output y = σ(z)."""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch.nn import functional as F

Activation = Literal["softplus", "relu", "tanh"]
ACTIVATIONS: tuple[str, ...] = ("softplus", "relu", "tanh")


def check_activation(name: str) -> None:
    """Raise a clear error for an unknown activation name."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")


def activate(z: torch.Tensor, name: Activation = "softplus", beta: float = 10.0) -> torch.Tensor:
    """σ(z): softplus log(1 + e^{βz})/β, ReLU or tanh.

    Softplus is exact to rounding at any βz: above the threshold t, σ(z) = z + log1p(e^{−βz})/β differs from z
    by less than e^{−t}/β, which is below half an ulp of z when t = −log(ε/2) for the dtype's ε (``nn.Softplus``'s
    fixed t = 20 is not, in float64).
    """
    if name == "softplus":
        return F.softplus(z, beta=beta, threshold=_softplus_threshold(z.dtype))
    if name == "relu":
        return z.clamp(min=0)
    if name == "tanh":
        return torch.tanh(z)
    check_activation(name)
    raise AssertionError  # unreachable


def _softplus_threshold(dtype: torch.dtype) -> float:
    return -math.log(torch.finfo(dtype).eps / 2) if dtype.is_floating_point else 20.0


def derivative_from_output(y: torch.Tensor, name: Activation = "softplus", beta: float = 10.0) -> torch.Tensor:
    """σ′(z) from y = σ(z): softplus 1 − e^{−βy} (= sigmoid(βz)), ReLU 1[y > 0], tanh 1 − y².

    Applied to the input pixels y₀ it gives the synthetic factor of the input error e₀ (pixels read as σ outputs).
    """
    if name == "softplus":
        return -torch.expm1(-beta * y)
    if name == "relu":
        return (y > 0).to(y.dtype)
    if name == "tanh":
        return 1 - y * y
    check_activation(name)
    raise AssertionError  # unreachable
