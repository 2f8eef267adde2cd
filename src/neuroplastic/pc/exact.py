"""Exact mode: ε_l = δ_l = ∂ℒ/∂v̂_l by the backprop recursion δ_l = J_{l+1}(v̂_l)ᵀ δ_{l+1}; beliefs v_l = v̂_l − ε_l."""

from __future__ import annotations

import torch

from neuroplastic.pc.feedforward import Feedforward


def exact_errors(ff: Feedforward, depth: int) -> list[torch.Tensor | None]:
    """[None, δ_1, ..., δ_L] with δ_L = ∂ℒ/∂ŷ."""
    eps: list[torch.Tensor | None] = [None] * (depth + 1)
    eps[depth] = ff.dloss_dyhat
    for l in range(depth - 1, 0, -1):
        eps[l] = ff.pullback(l + 1, eps[l + 1])
    return eps
