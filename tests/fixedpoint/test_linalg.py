"""Oracle: NumPy's solve per system and the closed forms; batched solves on the CPU with 2 threads, where torch
2.13's batched LU breaks (Newton and the adjoint)."""

import numpy as np
import torch

from neuroplastic.core.threads import torch_threads
from neuroplastic.fixedpoint import FixedPointRNN, adjoint
from neuroplastic.fixedpoint.linalg import solve_batched

N, M = 300, 4  # 4 systems of size 300: torch.linalg.solve on this batch fails, hangs or is wrong at 2 threads


def _systems(seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.eye(N, dtype=torch.float64) - 0.5 * torch.randn(M, N, N, generator=g, dtype=torch.float64) / N**0.5
    return a, torch.randn(M, N, generator=g, dtype=torch.float64)


def test_solve_batched_matches_numpy_per_system():
    a, b = _systems()
    with torch_threads(2):
        x = solve_batched(a, b)
    expected = np.stack([np.linalg.solve(ai, bi) for ai, bi in zip(a.numpy(), b.numpy(), strict=True)])
    np.testing.assert_allclose(x.numpy(), expected, rtol=0, atol=1e-11)


def test_newton_on_a_large_batch_with_two_threads_is_the_closed_form():
    """Linear model: r = (G⁻¹ − W)⁻¹ u, which Newton reaches in one step."""
    gain = torch.linspace(0.5, 1.0, N, dtype=torch.float64)
    model = FixedPointRNN(
        N, dynamics="linear", gain=gain, generator=torch.Generator().manual_seed(1), dtype=torch.float64
    )
    x = torch.randn(M, N, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    with torch_threads(2):
        solution = model.solve(x, method="newton", tol=1e-10, on_fail="raise")
    a = np.diag(1 / gain.numpy()) - model.W.detach().numpy()
    expected = np.linalg.solve(a, x.numpy().T).T
    np.testing.assert_allclose(solution.state.numpy(), expected, rtol=0, atol=1e-10)
    assert solution.iterations <= 2


def test_per_sample_adjoint_with_two_threads_is_the_implicit_gradient():
    """λ_i = G_i (I − Wᵀ G_i)⁻¹ δ_i with a different gain per sample (the batched-solve path)."""
    g = torch.Generator().manual_seed(3)
    W = 0.5 * torch.randn(N, N, generator=g, dtype=torch.float64) / N**0.5
    gains = torch.rand(M, N, generator=g, dtype=torch.float64)
    delta = torch.randn(M, N, generator=g, dtype=torch.float64)
    with torch_threads(2):
        lam = adjoint(W, gains, delta, method="solve")
    eye = np.eye(N)
    expected = np.stack(
        [gi * np.linalg.solve(eye - W.numpy().T * gi, di) for gi, di in zip(gains.numpy(), delta.numpy(), strict=True)]
    )
    np.testing.assert_allclose(lam.numpy(), expected, rtol=0, atol=1e-11)
