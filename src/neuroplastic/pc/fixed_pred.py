"""Fixed-prediction assumption (FPA): predictions frozen at v̂, Jacobians at v̂, ε_L = δ_L held fixed.

Starting from beliefs v^(0) (the feedforward values unless given), step i computes
ε_l^(i) = v̂_l − v_l^(i−1) and v_l^(i) = v_l^(i−1) + η(ε_l^(i) − J_{l+1}(v̂_l)ᵀ ε_{l+1}^(i)) for all layers at
once (Jacobi order). In error form this is the linear recursion

    ε_l^(i+1) = (1 − η) ε_l^(i) + η J_{l+1}(v̂_l)ᵀ ε_{l+1}^(i),

which is iterated directly (never as differences of O(1) beliefs, so float32 does not cancel). From
v^(0) = v̂, ε_l^(n) = P[Binomial(n−1, η) ≥ L−l] δ_l; η = 1, n = L gives backprop exactly. Learning uses ε^(n);
the returned beliefs are v^(n) = v̂ − ε^(n+1).
"""

from __future__ import annotations

import torch

from neuroplastic.pc.feedforward import Feedforward

_NOT_YET = object()


def fixed_pred_errors(
    ff: Feedforward, depth: int, *, eta: float, n: int, initial: list[torch.Tensor | None]
) -> tuple[list[torch.Tensor | None], list[torch.Tensor | None]]:
    """Return (ε^(n), ε^(n+1)), each indexed 0..L; ``initial`` holds ε^(1) for the hidden layers (``None`` = 0).

    ``None`` stands for an exact zero and skips its Jacobian product; with η = 1 a layer whose input error did
    not change keeps its error without recomputing it, so η = 1, n = L costs one pullback per layer.
    """
    eps: list[torch.Tensor | None] = [None, *initial[1:depth], ff.dloss_dyhat]
    used_input: list[object] = [_NOT_YET] * (depth + 1)
    previous = eps
    for _ in range(n):
        new = list(eps)
        for l in range(1, depth):
            upper = eps[l + 1]
            if eta == 1.0 and upper is used_input[l]:
                continue  # ε_l = J_{l+1}ᵀ ε_{l+1} with the same ε_{l+1}: unchanged
            pulled = ff.pullback(l + 1, upper) if upper is not None else None
            new[l] = _combine(eps[l], pulled, eta)
            used_input[l] = upper
        previous, eps = eps, new
    return previous, eps


def _combine(old: torch.Tensor | None, pulled: torch.Tensor | None, eta: float) -> torch.Tensor | None:
    """(1 − η)·old + η·pulled, where ``None`` is zero."""
    if pulled is None:
        return None if old is None or eta == 1.0 else (1 - eta) * old
    if old is None or eta == 1.0:
        return eta * pulled if eta != 1.0 else pulled
    return (1 - eta) * old + eta * pulled
