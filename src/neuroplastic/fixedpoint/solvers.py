"""Batched fixed-point solvers for x = F(x): relaxed Picard (forward Euler), Anderson acceleration, Newton.

Every solver returns the state with its per-sample residual ‖x − F(x)‖₂ and a convergence flag; a solve that
misses its tolerance warns or raises (``on_fail``), so a non-fixed point is never returned silently.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

from neuroplastic.fixedpoint.linalg import solve_batched

Method = Literal["euler", "paper", "anderson", "newton"]
OnFail = Literal["warn", "raise", "report"]
Map = Callable[[torch.Tensor], torch.Tensor]

PAPER_RELAX = 0.01
PAPER_STEPS = 500


class FixedPointNotConverged(RuntimeError):
    """A solve ended with some samples above the tolerance (raised when ``on_fail="raise"``)."""


class FixedPointWarning(RuntimeWarning):
    """A solve ended with some samples above the tolerance (issued when ``on_fail="warn"``)."""


@dataclass(frozen=True)
class FixedPointSolution:
    """A batch of solutions ``state`` (m×N) with its per-sample residual ‖x − F(x)‖₂.

    Also the relative residual ‖x − F(x)‖/‖x‖, the per-sample flag ``residual ≤ tol`` and the iteration count.
    """

    state: torch.Tensor
    residual: torch.Tensor
    relative_residual: torch.Tensor
    converged: torch.Tensor
    iterations: int
    method: str

    @property
    def all_converged(self) -> bool:
        """Whether every sample met the tolerance."""
        return bool(self.converged.all())


def solve_fixed_point(
    fn: Map,
    x0: torch.Tensor,
    *,
    method: Method = "anderson",
    tol: float | torch.Tensor = 1e-6,
    max_iter: int = 1000,
    relax: float = 1.0,
    memory: int = 6,
    regularization: float = 1e-10,
    jacobian: Callable[[torch.Tensor], torch.Tensor] | None = None,
    on_fail: OnFail = "warn",
) -> FixedPointSolution:
    """Solve x = F(x) for a batch of rows ``x0`` (m×N), F acting row-wise.

    - ``euler``: x ← x + α(F(x) − x), α = ``relax`` = dt/τ (α = 1 is Picard iteration); stops when every
      residual ≤ ``tol``.
    - ``paper``: the prior code's solve, exactly ``PAPER_STEPS`` = 500 Euler steps with α = 0.01 and no early
      stop (start it from x0 = 0 to match); the residual is still measured and reported.
    - ``anderson``: type-II Anderson acceleration, x ← Σ_j α_j (x_j + β g_j) with g_j = F(x_j) − x_j, Σ α_j = 1
      minimising ‖Σ α_j g_j‖ over the last ``memory`` iterates (Tikhonov ``regularization`` relative to the largest
      Gram entry), mixing β = ``relax``; returns each sample's best iterate.
    - ``newton``: x ← x − (I − J_F(x))⁻¹(x − F(x)) with ``jacobian(x)`` = J_F (m×N×N); for small N.

    ``tol`` is absolute (a number or one value per sample).
    """
    if x0.dim() != 2:
        raise ValueError(f"x0 must be a batch of rows (m×N), got shape {tuple(x0.shape)}")
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}")
    if method == "paper":
        state, iterations = _euler(fn, x0, tol, PAPER_STEPS, PAPER_RELAX, fixed_steps=True)
    elif method == "euler":
        if not 0 < relax <= 1:
            raise ValueError(f"relax (dt/τ) must be in (0, 1], got {relax}")
        state, iterations = _euler(fn, x0, tol, max_iter, relax, fixed_steps=False)
    elif method == "anderson":
        if memory < 1:
            raise ValueError(f"memory must be >= 1, got {memory}")
        state, iterations = _anderson(fn, x0, tol, max_iter, memory, regularization, relax)
    elif method == "newton":
        if jacobian is None:
            raise ValueError("method='newton' needs jacobian(x) -> J_F(x) of shape m×N×N")
        state, iterations = _newton(fn, jacobian, x0, tol, max_iter)
    else:
        raise ValueError(f"unknown method {method!r}; choose euler, paper, anderson or newton")
    return _finish(fn, state, tol, iterations, method, on_fail)


def residual(fn: Map, x: torch.Tensor) -> torch.Tensor:
    """Per-sample residual ‖x − F(x)‖₂ (NaN/inf states give inf)."""
    res = torch.linalg.vector_norm(x - fn(x), dim=1)
    return torch.nan_to_num(res, nan=torch.inf)


def _euler(fn: Map, x: torch.Tensor, tol, max_iter: int, relax: float, *, fixed_steps: bool):
    for k in range(max_iter):
        step = fn(x) - x
        if not fixed_steps and bool((_norm(step) <= tol).all()):
            return x, k
        x = x + relax * step
    return x, max_iter


def _anderson(fn: Map, x0: torch.Tensor, tol, max_iter: int, memory: int, regularization: float, beta: float):
    m, n = x0.shape
    xs = x0.new_zeros(m, memory, n)
    gs = x0.new_zeros(m, memory, n)  # residuals g_j = F(x_j) − x_j
    gram = x0.new_zeros(m, memory, memory)  # ⟨g_i, g_j⟩, one row and column refreshed per iteration
    ones = x0.new_ones(m, memory, 1)
    x, g = x0, fn(x0) - x0
    best, best_res = x0.clone(), _norm(g)
    for k in range(max_iter):
        slot, used = k % memory, min(k + 1, memory)
        xs[:, slot], gs[:, slot] = x, g
        row = (gs[:, :used] * g[:, None, :]).sum(-1)
        gram[:, slot, :used], gram[:, :used, slot] = row, row
        h = gram[:, :used, :used]
        scale = h.diagonal(dim1=1, dim2=2).amax(1).clamp_min(torch.finfo(x0.dtype).tiny)
        h = h + (regularization * scale)[:, None, None] * torch.eye(used, dtype=x0.dtype, device=x0.device)
        alpha, info = torch.linalg.solve_ex(h, ones[:, :used])
        alpha = alpha / alpha.sum(1, keepdim=True)
        # a singular Gram matrix (e.g. a sample already exactly at its fixed point) falls back to a Picard step
        singular = (info != 0) | ~torch.isfinite(alpha).all(1).squeeze(-1)
        if bool(singular.any()):
            picard = torch.zeros_like(alpha[0])
            picard[slot] = 1
            alpha = torch.where(singular[:, None, None], picard, alpha)
        alpha = alpha.transpose(1, 2)
        x = ((alpha @ xs[:, :used]) + beta * (alpha @ gs[:, :used])).squeeze(1)
        g = fn(x) - x
        res = _norm(g)
        better = res < best_res
        best = torch.where(better[:, None], x, best)
        best_res = torch.where(better, res, best_res)
        if bool((best_res <= tol).all()):
            return best, k + 1
    return best, max_iter


def _newton(fn: Map, jacobian: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, tol, max_iter: int):
    eye = torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
    for k in range(max_iter):
        g = x - fn(x)
        if bool((_norm(g) <= tol).all()):
            return x, k
        x = x - solve_batched(eye - jacobian(x), g)
    return x, max_iter


def _norm(v: torch.Tensor) -> torch.Tensor:
    return torch.nan_to_num(torch.linalg.vector_norm(v, dim=1), nan=torch.inf)


def _finish(fn: Map, state: torch.Tensor, tol, iterations: int, method: str, on_fail: OnFail) -> FixedPointSolution:
    res = residual(fn, state)
    size = torch.linalg.vector_norm(state, dim=1).clamp_min(torch.finfo(state.dtype).tiny)
    converged = res <= tol
    solution = FixedPointSolution(state, res, res / size, converged, iterations, method)
    if not solution.all_converged and on_fail != "report":
        bad = int((~converged).sum())
        message = (
            f"{method} solve: {bad} of {len(converged)} samples did not reach residual ≤ {_show(tol)} after "
            f"{iterations} iterations (largest residual {res.max().item():.3g}); the state is not a fixed point"
        )
        if not bool(torch.isfinite(state).all()):
            message += " (the state is non-finite: the iteration diverged)"
        if on_fail == "raise":
            raise FixedPointNotConverged(f"{message}; pass on_fail='warn' or 'report' to accept it")
        warnings.warn(message, FixedPointWarning, stacklevel=3)
    return solution


def _show(tol: float | torch.Tensor) -> str:
    return f"{tol:.3g}" if isinstance(tol, float | int) else f"{tol.max().item():.3g} (per sample)"
