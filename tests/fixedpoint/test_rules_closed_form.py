"""Oracle: the rules written with explicit per-sample matrices and inverses (λ_i = (G_i⁻¹ − W)⁻ᵀ δ_i,
P_i ∇_W L_i Q_i), against the batched, inverse-free row forms of ``fixedpoint.rules``."""

import pytest
import torch

from neuroplastic.fixedpoint import adjoint, reparam, reparam_v4


def per_sample_gradients(W, rates, gains, delta):
    """∇_W L_i = G_i (I − Wᵀ G_i)⁻¹ δ_i r_iᵀ with explicit inverses."""
    eye = torch.eye(W.shape[0], dtype=W.dtype)
    return [
        torch.outer(torch.diag(g) @ torch.linalg.inv(eye - W.T @ torch.diag(g)) @ d, r)
        for r, g, d in zip(rates, gains, delta, strict=True)
    ]


def test_all_adjoint_methods_agree_with_the_closed_form(model_factory, inputs, fixed_point_pieces):
    model = model_factory("rate1", rho=0.8)
    rates, gains, delta = fixed_point_pieces(model, inputs)
    W = model.W.detach()
    eye = torch.eye(12, dtype=torch.float64)
    closed = torch.stack(
        [torch.linalg.inv(torch.diag(1 / g) - W).T @ d for g, d in zip(gains, delta, strict=True)]
    )  # (G⁻¹ − W)⁻ᵀ δ = G (I − Wᵀ G)⁻¹ δ
    for method in ("auto", "iteration", "anderson", "solve"):
        assert torch.allclose(adjoint(W, gains, delta, method=method), closed, atol=1e-12, rtol=0), method
    shared = gains[0]
    expected = (torch.diag(shared) @ torch.linalg.inv(eye - W.T @ torch.diag(shared)) @ delta.T).T
    assert torch.allclose(adjoint(W, shared, delta), expected, atol=1e-13, rtol=0)


def test_auto_adjoint_falls_back_to_a_solve_when_the_iteration_cannot_converge(
    model_factory, inputs, fixed_point_pieces
):
    model = model_factory("rate1", rho=0.8)
    _, gains, delta = fixed_point_pieces(model, inputs)
    W = 3.0 * model.W.detach()  # ρ(G W) > 1: recurrent backprop diverges, the implicit gradient still exists
    closed = torch.stack([torch.linalg.inv(torch.diag(1 / g) - W).T @ d for g, d in zip(gains, delta, strict=True)])
    assert torch.allclose(adjoint(W, gains, delta, method="auto", max_iter=20), closed, atol=1e-10, rtol=0)


@pytest.mark.parametrize("dynamics", ["rate1", "rate2"])
def test_batched_reparam_equals_per_sample_preconditioned_gradients_and_descends(
    model_factory, inputs, fixed_point_pieces, dynamics
):
    model = model_factory(dynamics, rho=0.9, activation_fn="softplus")
    rates, gains, delta = fixed_point_pieces(model, inputs)
    W = model.W.detach()
    eye = torch.eye(12, dtype=torch.float64)
    per_sample = per_sample_gradients(W, rates, gains, delta)
    dw3, dw4 = torch.zeros_like(W), torch.zeros_like(W)
    for grad, g in zip(per_sample, gains, strict=True):
        wg, gw = eye - W @ torch.diag(g), eye - torch.diag(g) @ W
        term = (wg @ wg.T) @ grad @ (gw.T @ gw)
        assert (grad * term).sum() > 0  # ⟨∇L_i, P_i ∇L_i Q_i⟩ > 0: each sample's update is a descent direction
        dw3 += term
        dw4 += (wg @ torch.diag(1 / g) @ wg.T) @ grad @ (wg.T @ wg)
    assert (reparam(W, rates, gains, delta) - dw3).norm() / dw3.norm() < 1e-12
    assert (reparam_v4(W, rates, gains, delta) - dw4).norm() / dw4.norm() < 1e-12


def test_direct_adjoint_solve_at_paper_size_with_two_threads_equals_a_loop():
    """Regression: torch 2.13's batched CPU LU fails on batches of 300×300 matrices with 2 threads."""
    torch.set_num_threads(2)
    generator = torch.Generator().manual_seed(0)
    n, m = 300, 8
    W = torch.randn(n, n, generator=generator, dtype=torch.float64) * 0.5 / n**0.5
    gains = torch.rand(m, n, generator=generator, dtype=torch.float64)
    delta = torch.randn(m, n, generator=generator, dtype=torch.float64)
    expected = torch.stack(
        [g * torch.linalg.solve(torch.eye(n, dtype=W.dtype) - W.T * g, d) for g, d in zip(gains, delta)]
    )
    assert torch.allclose(adjoint(W, gains, delta, method="solve"), expected, rtol=1e-12, atol=1e-14)
