"""Pointwise nonlinearities σ with their derivative σ′, at the pre-activation z or from the output y = σ(z).

The registry :data:`ACTIVATIONS` holds softplus σ(z) = log(1 + e^{βz})/β with β = :data:`SOFTPLUS_BETA`, ReLU, tanh
and the identity; :func:`softplus` makes one with another β.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

TensorFn = Callable[[torch.Tensor], torch.Tensor]
ActivationName = Literal["softplus", "relu", "tanh", "linear"]

SOFTPLUS_BETA = 10.0
"""The softplus sharpness β of Shervani-Tabar & Rosenbaum (2023), the default wherever softplus is used."""


@dataclass(frozen=True)
class Activation:
    """σ and σ′ at the pre-activation z; ``derivative_from_output`` is σ′(z) written as a function of y = σ(z).

    Error propagation e_{ℓ−1} = (B_ℓ e_ℓ) ⊙ σ′(z_{ℓ−1}) only keeps y, hence the second form; ``module`` builds
    σ as an ``nn.Module`` for ``nn.Sequential`` networks (softplus: ``nn.Softplus``, which returns z once βz > 20).
    """

    name: str
    function: TensorFn
    derivative: TensorFn
    derivative_from_output: TensorFn | None = None
    module: Callable[[], nn.Module] | None = None


@functools.cache
def softplus(beta: float = SOFTPLUS_BETA) -> Activation:
    """σ(z) = log(1 + e^{βz})/β, σ′(z) = sigmoid(βz) = 1 − e^{−βy}.

    σ is exact to rounding at any βz: above the threshold t, σ(z) = z + log1p(e^{−βz})/β differs from z by less
    than e^{−t}/β, which is below half an ulp of z when t = −log(ε/2) for the dtype's ε (``nn.Softplus``'s fixed
    t = 20 is not, in float64).
    """
    if not beta > 0:
        raise ValueError(f"softplus needs beta > 0, got {beta}")
    return Activation(
        "softplus",
        lambda z: F.softplus(z, beta=beta, threshold=_softplus_threshold(z.dtype)),
        lambda z: torch.sigmoid(beta * z),
        lambda y: -torch.expm1(-beta * y),
        lambda: nn.Softplus(beta=beta),
    )


def _softplus_threshold(dtype: torch.dtype) -> float:
    return -math.log(torch.finfo(dtype).eps / 2) if dtype.is_floating_point else 20.0


def _relu_derivative(t: torch.Tensor) -> torch.Tensor:
    return (t > 0).to(t.dtype)


ACTIVATIONS: dict[str, Activation] = {
    "softplus": softplus(),
    "relu": Activation("relu", lambda z: z.clamp(min=0), _relu_derivative, _relu_derivative, nn.ReLU),
    "tanh": Activation("tanh", torch.tanh, lambda z: 1 - torch.tanh(z) ** 2, lambda y: 1 - y * y, nn.Tanh),
    "linear": Activation("linear", lambda z: z, torch.ones_like, torch.ones_like, nn.Identity),
}
"""The named activations, keyed by :data:`ActivationName`."""


def resolve_activation(spec: ActivationName | Activation, *, beta: float = SOFTPLUS_BETA) -> Activation:
    """The activation named ``spec`` (softplus with sharpness ``beta``), or ``spec`` itself if it is one."""
    if isinstance(spec, Activation):
        return spec
    if spec == "softplus":
        return softplus(beta)
    if spec in ACTIVATIONS:
        return ACTIVATIONS[spec]
    raise ValueError(f"unknown activation {spec!r}; choose one of {', '.join(ACTIVATIONS)} or pass an Activation")
