"""Batched linear solves A_i x_i = b_i that avoid torch 2.13's broken batched LU on the CPU."""

from __future__ import annotations

import torch


def solve_batched(matrices: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor:
    """x_i = A_i⁻¹ b_i for A (m×N×N) and b (m×N); returns m×N.

    On the CPU each system is solved on its own: torch 2.13's batched CPU LU (MKL, 2+ threads) returns zero or
    out-of-range pivots for batches of large matrices, so ``torch.linalg.solve`` on the batch fails ("DLASWP",
    "Pivots given to lu_solve must be ..."), hangs, or returns a wrong solution without an error.
    """
    if (
        matrices.dim() != 3
        or rhs.dim() != 2
        or matrices.shape[:2] != rhs.shape
        or matrices.shape[1] != matrices.shape[2]
    ):
        raise ValueError(f"need A of shape m×N×N and b of shape m×N, got {tuple(matrices.shape)}, {tuple(rhs.shape)}")
    if matrices.device.type == "cpu" and len(matrices):
        return torch.stack([torch.linalg.solve(a, b) for a, b in zip(matrices, rhs, strict=True)])
    return torch.linalg.solve(matrices, rhs.unsqueeze(-1)).squeeze(-1)
