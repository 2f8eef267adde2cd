"""Oracle: autograd, through a converged unrolled solve (ΔW1) or through the map A ↦ W(A) = G⁻¹ − A⁻¹ of the
linear model (ΔW2 and ΔW3, with ∇_A L from autograd of the loss of r_i = A u_i)."""

import pytest
import torch

from neuroplastic import fixedpoint


@pytest.mark.parametrize("dynamics", ["rate1", "rate2"])
def test_euclidean_rule_equals_autograd_through_a_converged_unrolled_solve(
    model_factory, inputs, cross_entropy, dynamics
):
    implicit, unrolled = model_factory(dynamics, rho=0.7), model_factory(dynamics, rho=0.7)
    unrolled.load_state_dict(implicit.state_dict())
    unrolled.R.requires_grad_(True)
    implicit.R.requires_grad_(True)
    step = fixedpoint.apply_rule(implicit, inputs, cross_entropy, fixedpoint.Euclidean(), solve_options={"tol": 1e-14})
    through = fixedpoint.bptt_backward(unrolled, inputs, cross_entropy, steps=300, relax=1.0)
    assert torch.allclose(step.loss, through.loss, rtol=1e-12)
    for a, b in ((implicit.W.grad, unrolled.W.grad), (implicit.R.grad, unrolled.R.grad)):
        assert (a - b).norm() / b.norm() < 1e-10


def linear_problem(model_factory, gain):
    """W, drive x, rates r = A x, δ = ∂L/∂r and ∇_A L for L = (1/9)‖A X − R̂‖², both by autograd."""
    W = model_factory("linear", n_in=None, n_out=None, gain=gain, rho=0.5).W.detach()
    x = torch.randn(9, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    target = torch.randn(9, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    a = torch.linalg.inv(torch.diag(1 / gain) - W).requires_grad_(True)
    rates = x @ a.T
    delta, grad_a = torch.autograd.grad(((rates - target) ** 2).sum() / 9, [rates, a])
    return W, x, target, rates.detach(), delta, a.detach(), grad_a


def w_after_a_step_in_a(gain, a, grad_a):
    """η ↦ W(A − η ∇_A L) = G⁻¹ − (A − η ∇_A L)⁻¹."""
    return lambda eta: torch.diag(1 / gain) - torch.linalg.inv(a - eta * grad_a)


def test_reparam_is_the_first_order_change_of_w_under_a_gradient_step_in_a(model_factory):
    """With unit gain (the paper's linear model) ΔW3 = −dW(A − η∇_A L)/dη at η = 0, the jvp of the map A ↦ W."""
    gain = torch.ones(12, dtype=torch.float64)
    W, x, _, rates, delta, a, grad_a = linear_problem(model_factory, gain)
    zero, one = torch.zeros((), dtype=torch.float64), torch.ones((), dtype=torch.float64)
    _, derivative = torch.autograd.functional.jvp(w_after_a_step_in_a(gain, a, grad_a), zero, one)
    dw3 = fixedpoint.Reparam().delta_w(fixedpoint.AtFixedPoint(W, rates, gain.expand(9, 12), gain, x, delta))
    assert (dw3 + derivative).norm() / derivative.norm() < 1e-12


@pytest.mark.parametrize("gain", [torch.ones(12), torch.linspace(0.6, 1.2, 12)])
def test_exact_reparam_through_apply_rule_moves_a_by_one_gradient_step(model_factory, gain):
    gain = gain.to(torch.float64)
    model = model_factory("linear", n_in=None, n_out=None, gain=gain, rho=0.5)
    _, x, target, _, _, a, grad_a = linear_problem(model_factory, gain)
    optimizer = torch.optim.SGD([model.W], lr=0.05)
    rule = fixedpoint.ReparamExact(lr=0.05)
    fixedpoint.apply_rule(model, x, lambda out: ((out - target) ** 2).sum() / 9, rule, solve_options={"tol": 1e-13})
    optimizer.step()
    assert torch.allclose(model.W.detach(), w_after_a_step_in_a(gain, a, grad_a)(0.05), atol=1e-10, rtol=0)


def test_exact_reparam_approaches_reparam_at_first_order_in_the_step(model_factory):
    """‖ΔW2 − ΔW3‖/‖ΔW2‖ = O(η): a tenfold smaller step, a tenfold smaller gap."""
    gain = torch.ones(12, dtype=torch.float64)
    W, x, _, rates, delta, _, _ = linear_problem(model_factory, gain)
    at = fixedpoint.AtFixedPoint(W, rates, gain.expand(9, 12), gain, x, delta)
    dw3 = fixedpoint.Reparam().delta_w(at)
    gaps = []
    for lr in (1e-2, 1e-3, 1e-4):
        dw2 = fixedpoint.ReparamExact(lr=lr).delta_w(at)
        gaps.append(((dw2 - dw3).norm() / dw2.norm()).item())
    assert 8 < gaps[0] / gaps[1] < 12 and 8 < gaps[1] / gaps[2] < 12
