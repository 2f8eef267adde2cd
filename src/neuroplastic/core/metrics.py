"""Geometry of updates and gradients: the angle between two tensors."""

from __future__ import annotations

import math

import torch


def angle_degrees(a: torch.Tensor, b: torch.Tensor) -> float:
    """∠(a, b) in degrees between the flattened tensors, as 2·atan2(‖â − b̂‖, ‖â + b̂‖) with â = a/‖a‖, b̂ = b/‖b‖.

    Accurate to the inputs' precision at every angle, 0° and 180° included, where acos of a rounded cosine loses
    half the digits. 90° when either tensor is zero.
    """
    a, b = a.detach().reshape(-1), b.detach().reshape(-1)
    norm_a, norm_b = torch.linalg.vector_norm(a), torch.linalg.vector_norm(b)
    if norm_a == 0 or norm_b == 0:
        return 90.0
    a_hat, b_hat = a / norm_a, b / norm_b
    difference, total = torch.linalg.vector_norm(a_hat - b_hat), torch.linalg.vector_norm(a_hat + b_hat)
    return math.degrees(2 * math.atan2(difference.item(), total.item()))
