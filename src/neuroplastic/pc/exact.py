"""Exact mode: ε_l = δ_l = ∂ℒ/∂v̂_l by the backprop recursion δ_j = Σ_c [J_c(v̂)ᵀ δ_c]_j over j's consumers c."""

from __future__ import annotations

import torch

from neuroplastic.pc.feedforward import Feedforward


def exact_errors(ff: Feedforward, depth: int) -> list[torch.Tensor | None]:
    """[None, δ_1, ..., δ_L] with δ_L = ∂ℒ/∂ŷ (``None`` for a layer the output does not depend on)."""
    eps: list[torch.Tensor | None] = [None] * (depth + 1)
    eps[depth] = ff.dloss_dyhat
    for c in range(depth, 1, -1):
        if eps[c] is not None:
            for j, term in ff.pullback(c, eps[c]).items():
                eps[j] = term if eps[j] is None else eps[j] + term
    return eps
