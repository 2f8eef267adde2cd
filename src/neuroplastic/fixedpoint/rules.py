"""Weight updates for fixed points r = f(W r + u), as pure functions of tensors (rows are samples).

Inputs: W (N×N), rates r_i (m×N), gains g_i = diag(G_i) (m×N, or N for a gain shared by all samples), and
δ_i = ∂L/∂r_i (m×N) of the batch loss L. Each function returns the N×N pseudo-gradient that SGD subtracts.

- ΔW1 (``euclidean``): ∇_W L = Σ_i G_i (I − Wᵀ G_i)⁻¹ δ_i r_iᵀ = Σ_i λ_i r_iᵀ (implicit function theorem).
- ΔW3 (``reparam``): Σ_i P_i ∇_W L_i Q_i = ``Σ_i [(I − W G_i) G_i δ_i][(I − G_i W)ᵀ(I − G_i W) r_i]ᵀ`` with
  P_i = (I − W G_i)(I − W G_i)ᵀ, Q_i = (I − G_i W)ᵀ(I − G_i W): inverse-free, O(mN²).
- ΔW4 (``reparam_v4``): ``Σ_i [(I − W G_i) δ_i][(I − W G_i)ᵀ(I − W G_i) r_i]ᵀ``.
- ΔW2 (``reparam_exact``, linear model r = A u with A = (G⁻¹ − W)⁻¹): the W that a gradient step in A reaches,
  A′ = A − η ∇_A L, W′ = G⁻¹ − A′⁻¹, returned as (W − W′)/η.
"""

from __future__ import annotations

from typing import Literal

import torch

from neuroplastic.fixedpoint.linalg import solve_batched
from neuroplastic.fixedpoint.solvers import solve_fixed_point

AdjointMethod = Literal["auto", "iteration", "anderson", "solve"]


def adjoint(
    W: torch.Tensor,
    gains: torch.Tensor,
    delta: torch.Tensor,
    *,
    method: AdjointMethod = "auto",
    rtol: float | None = None,
    max_iter: int = 500,
) -> torch.Tensor:
    """λ_i = G_i (I − Wᵀ G_i)⁻¹ δ_i = ∂L/∂u_i (m×N), with μ = (I − Wᵀ G)⁻¹ δ and λ = G μ.

    ``iteration`` is recurrent backprop, μ ← δ + Wᵀ G μ (converges when the fixed point is Picard-stable);
    ``anderson`` accelerates it; ``solve`` uses LU (one factorisation when the gain is shared); ``auto`` runs
    Anderson and solves directly for any sample it leaves above ``rtol``·‖δ_i‖ (default 100 machine epsilons).
    """
    _check(W, gains, delta)
    if method == "solve" or gains.dim() == 1:
        return gains * _solve_adjoint(W, gains, delta)
    if method not in ("auto", "iteration", "anderson"):
        raise ValueError(f"unknown adjoint method {method!r}; choose auto, iteration, anderson or solve")
    rtol = 100 * torch.finfo(delta.dtype).eps if rtol is None else rtol
    tol = rtol * torch.linalg.vector_norm(delta, dim=1)
    solution = solve_fixed_point(
        lambda mu: delta + (gains * mu) @ W,
        delta,
        method="euler" if method == "iteration" else "anderson",
        tol=tol,
        max_iter=max_iter,
        on_fail="warn" if method != "auto" else "report",
    )
    mu = solution.state
    if method == "auto" and not solution.all_converged:
        missed = ~solution.converged
        mu = mu.clone()
        mu[missed] = _solve_adjoint(W, gains[missed], delta[missed])
    return gains * mu


def euclidean(
    W: torch.Tensor, rates: torch.Tensor, gains: torch.Tensor, delta: torch.Tensor, **adjoint_options
) -> torch.Tensor:
    """ΔW1 = ∇_W L = Σ_i λ_i r_iᵀ with λ from :func:`adjoint`."""
    return adjoint(W, gains, delta, **adjoint_options).T @ rates


def reparam(W: torch.Tensor, rates: torch.Tensor, gains: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """ΔW3 = ``Σ_i [(I − W G_i) G_i δ_i][(I − G_i W)ᵀ(I − G_i W) r_i]ᵀ`` in row form, four products and no inverse."""
    _check(W, gains, delta, rates)
    gd = gains * delta
    left = gd - (gains * gd) @ W.T
    q = rates - gains * (rates @ W.T)
    right = q - (gains * q) @ W
    return left.T @ right


def reparam_v4(W: torch.Tensor, rates: torch.Tensor, gains: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """ΔW4 = ``Σ_i [(I − W G_i) δ_i][(I − W G_i)ᵀ(I − W G_i) r_i]ᵀ`` in row form."""
    _check(W, gains, delta, rates)
    left = delta - (gains * delta) @ W.T
    q = rates - (gains * rates) @ W.T
    right = q - gains * (q @ W)
    return left.T @ right


def reparam_exact(
    W: torch.Tensor, gain: torch.Tensor, drive: torch.Tensor, delta: torch.Tensor, lr: float
) -> torch.Tensor:
    """ΔW2 for the linear model: (W − W′)/η with W′ = G⁻¹ − (A − η ∇_A L)⁻¹, A = (G⁻¹ − W)⁻¹, ∇_A L = Σ_i δ_i u_iᵀ."""
    if gain.dim() != 1:
        raise ValueError("reparam_exact is for the linear model, whose gain is one vector shared by all samples")
    _check(W, gain, delta, drive)
    if not lr > 0:
        raise ValueError(f"reparam_exact needs the learning rate η > 0, got {lr}")
    a_inv = torch.diag(1 / gain) - W
    a_new = torch.linalg.inv(a_inv) - lr * (delta.T @ drive)
    return (torch.linalg.inv(a_new) - a_inv) / lr


def _solve_adjoint(W: torch.Tensor, gains: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    eye = torch.eye(W.shape[0], dtype=W.dtype, device=W.device)
    if gains.dim() == 1:
        return torch.linalg.solve(eye - W.T * gains, delta.T).T
    return solve_batched(eye - W.T * gains[:, None, :], delta)


def _check(W: torch.Tensor, gains: torch.Tensor, delta: torch.Tensor, other: torch.Tensor | None = None) -> None:
    n = W.shape[0]
    if W.dim() != 2 or W.shape[1] != n:
        raise ValueError(f"W must be square, got shape {tuple(W.shape)}")
    rows = [("delta", delta), *([("rates/drive", other)] if other is not None else [])]
    for name, t in rows:
        if t.dim() != 2 or t.shape[1] != n:
            raise ValueError(f"{name} must have shape (batch, {n}), got {tuple(t.shape)}")
    if gains.shape not in ((n,), delta.shape):
        raise ValueError(f"gains must have shape ({n},) or {tuple(delta.shape)}, got {tuple(gains.shape)}")
