"""Oracle: strict PC is gradient descent on F = ½Σ‖ε_l‖² + γℒ, and approaches backprop as γ → 0."""

import pytest
import torch

from neuroplastic import pc


def energy(model, loss_fn, x, y, beliefs, gamma=1.0):
    """F at absolute beliefs [x, v_1, ..., v_{L-1}], written independently of the library."""
    total = 0.0
    for l in range(1, len(model)):
        total = total + 0.5 * (model[l - 1](beliefs[l - 1]) - beliefs[l]).pow(2).sum()
    return total + gamma * loss_fn(model[-1](beliefs[-1]), y)


def test_each_inference_step_is_a_gradient_step_on_the_energy(case):
    model, loss_fn, x, y = case
    eta = 0.05
    start = pc.pc_backward(model, loss_fn, x, y, mode=pc.Strict(eta=eta, n=1))
    beliefs = [x] + [v.clone().requires_grad_(True) for v in start.vhat[1:-1]]
    for steps in (1, 2, 3):
        grads = torch.autograd.grad(energy(model, loss_fn, x, y, beliefs), beliefs[1:])
        beliefs = [x] + [(v - eta * g).detach().requires_grad_(True) for v, g in zip(beliefs[1:], grads)]
        result = pc.pc_backward(model, loss_fn, x, y, mode=pc.Strict(eta=eta, n=steps))
        for l in range(1, len(model)):
            assert torch.allclose(result.v[l], beliefs[l], rtol=1e-12, atol=1e-13)


def test_update_is_the_energy_gradient_at_the_final_beliefs(case):
    model, loss_fn, x, y = case
    result = pc.pc_backward(model, loss_fn, x, y, mode=pc.Strict(eta=0.1, n=7))
    expected = torch.autograd.grad(energy(model, loss_fn, x, y, result.v[:-1]), list(model.parameters()))
    for p, g in zip(model.parameters(), expected):
        assert torch.allclose(p.grad, g, rtol=1e-11, atol=1e-14)
    assert result.energy[-1].item() == pytest.approx(energy(model, loss_fn, x, y, result.v[:-1]).item(), rel=1e-12)


def test_energy_does_not_increase_for_small_eta(case):
    model, loss_fn, x, y = case
    result = pc.pc_backward(model, loss_fn, x, y, mode=pc.Strict(eta=0.05, n=50))
    assert len(result.energy) == 51
    assert torch.all(result.energy[1:] <= result.energy[:-1] + 1e-14)
    assert result.energy[-1] < result.energy[0]


def test_v_init_is_honoured(case):
    model, loss_fn, x, y = case
    two_steps = pc.pc_backward(model, loss_fn, x, y, mode=pc.Strict(eta=0.1, n=2))
    one_step = pc.pc_backward(model, loss_fn, x, y, mode=pc.Strict(eta=0.1, n=1))
    resumed = pc.pc_backward(model, loss_fn, x, y, mode=pc.Strict(eta=0.1, n=1), v_init=one_step.v)
    for l in range(1, len(model)):
        assert torch.allclose(resumed.v[l], two_steps.v[l], rtol=1e-13, atol=1e-14)
    assert any(not torch.allclose(one_step.v[l], two_steps.v[l]) for l in range(1, len(model)))  # not ignored


def test_fixed_prediction_honours_v_init(case, backprop, relative_error):
    model, loss_fn, x, y = case
    depth = len(model)
    exact = pc.pc_backward(model, loss_fn, x, y, mode=pc.Exact())
    # Starting from the exact beliefs, every error is already δ_l: one step of η = 1 keeps them.
    result = pc.pc_backward(model, loss_fn, x, y, mode=pc.FixedPred(eta=1.0, n=1), v_init=exact.v)
    for l in range(1, depth):
        assert torch.allclose(result.eps[l], exact.eps[l], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("gamma", "bound"), [(0.1, 0.03), (0.01, 0.005)])
def test_strict_approaches_backprop_as_output_precision_vanishes(gamma, bound, tanh_mlp):
    model = tanh_mlp((10, 9, 8, 7, 6, 4))
    x, y = torch.randn(20, 10), torch.randint(0, 4, (20,))
    result = pc.pc_backward(
        model,
        torch.nn.functional.cross_entropy,
        x,
        y,
        mode=pc.Strict(eta=0.1, n=1000, output_precision=gamma),
        compare_with_backprop=True,
    )
    errors = [row.relative_error for row in result.comparison[1:]]
    assert max(errors) <= bound, errors


def test_large_eta_warns_that_energy_rises(tanh_mlp):
    model = tanh_mlp()
    x, y = torch.randn(6, 8), torch.randint(0, 3, (6,))
    with pytest.warns(RuntimeWarning, match="energy increased"):
        pc.pc_backward(model, torch.nn.functional.cross_entropy, x, y, mode=pc.Strict(eta=3.0, n=20))
