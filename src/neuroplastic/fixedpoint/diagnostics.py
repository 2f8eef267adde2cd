"""Stability diagnostics of a fixed point: eigenvalues of W and of the per-sample Jacobians −I + G_i W."""

from __future__ import annotations

import torch


def max_real_eig(W: torch.Tensor) -> float:
    """Largest real part of the eigenvalues of W; for G = I the fixed point is stable iff this is < 1."""
    return torch.linalg.eigvals(W).real.max().item()


def spectral_abscissa(W: torch.Tensor, gains: torch.Tensor) -> torch.Tensor:
    """Per sample max Re λ(−I + G_i W) (m values); ≥ 0 means the fixed point has lost stability.

    −I + W G_i (the ``rate2`` Jacobian) has the same eigenvalues.
    """
    return torch.linalg.eigvals(gains[:, :, None] * W).real.amax(-1) - 1


def condition(W: torch.Tensor, gains: torch.Tensor) -> torch.Tensor:
    """Per sample 2-norm condition number of I − G_i W (∞ at a singularity of the implicit gradient)."""
    eye = torch.eye(W.shape[0], dtype=W.dtype, device=W.device)
    return torch.linalg.cond(eye - gains[:, :, None] * W)
