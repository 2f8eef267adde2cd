"""Activations f with their derivatives f′, both taken at the pre-activation z (not recovered from r = f(z))."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.nn import functional as F

TensorFn = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Activation:
    """A pointwise nonlinearity ``f`` and its derivative ``df``; the gain matrix is G = diag(f′(z))."""

    name: str
    f: TensorFn
    df: TensorFn


def _linear(gain: float) -> Activation:
    return Activation(f"linear({gain:g})", lambda z: gain * z, lambda z: torch.full_like(z, gain))


_BUILTIN = {
    "tanh": Activation("tanh", torch.tanh, lambda z: 1 - torch.tanh(z) ** 2),
    "relu": Activation("relu", torch.relu, lambda z: (z > 0).to(z.dtype)),
    "softplus": Activation("softplus", F.softplus, torch.sigmoid),
    "linear": _linear(1.0),
}


def activation(spec: str | Activation | tuple[TensorFn, TensorFn]) -> Activation:
    """Resolve ``"tanh" | "relu" | "softplus" | "linear"``, an :class:`Activation`, or a pair ``(f, df)``."""
    if isinstance(spec, Activation):
        return spec
    if isinstance(spec, tuple) and len(spec) == 2 and all(callable(g) for g in spec):
        return Activation("custom", spec[0], spec[1])
    if isinstance(spec, str) and spec in _BUILTIN:
        return _BUILTIN[spec]
    raise ValueError(f"unknown activation {spec!r}; choose one of {sorted(_BUILTIN)} or pass (f, df)")
