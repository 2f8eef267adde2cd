"""Closed forms that the PC modes must satisfy."""

from __future__ import annotations

import math


def fixed_pred_ratio(eta: float, n: int, depth: int, layer: int) -> float:
    """‖dθ_l‖/‖∇_l ℒ‖ under the fixed-prediction assumption from v = v̂: a_k = P[Binomial(n−1, η) ≥ k], k = L − l.

    (For 0 < η ≤ 1 the update is exactly parallel to the gradient and shrunk by this factor.)
    """
    k = depth - layer
    trials = n - 1
    if k <= 0:
        return 1.0
    if k > trials:
        return 0.0
    return sum(math.comb(trials, j) * eta**j * (1 - eta) ** (trials - j) for j in range(k, trials + 1))
