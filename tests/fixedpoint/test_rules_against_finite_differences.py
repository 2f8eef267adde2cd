"""Oracle: central finite differences of the loss at the exact (Newton) fixed point, for ΔW1 and the U, b gradients."""

import pytest
import torch

from neuroplastic import fixedpoint


@pytest.mark.parametrize(("dynamics", "activation_fn"), [("rate1", "tanh"), ("rate1", "softplus"), ("rate2", "tanh")])
def test_euclidean_rule_equals_central_finite_differences(
    model_factory, inputs, cross_entropy, loss_at_exact_fixed_point, dynamics, activation_fn
):
    model = model_factory(dynamics, activation_fn=activation_fn, rho=0.8, bias=True, train_input=True, train_bias=True)
    euclidean = fixedpoint.Euclidean()
    fixedpoint.apply_rule(model, inputs, cross_entropy, euclidean, solve_options={"method": "newton", "tol": 1e-14})
    h, pick = 1e-5, torch.Generator().manual_seed(7)
    for param in (model.W, model.U, model.b):
        flat, grad = param.data.view(-1), param.grad.view(-1)
        entries = torch.randperm(flat.numel(), generator=pick)[:25]
        numeric = torch.zeros(len(entries), dtype=torch.float64)
        for k, i in enumerate(entries):
            flat[i] += h
            up = loss_at_exact_fixed_point(model, inputs)
            flat[i] -= 2 * h
            down = loss_at_exact_fixed_point(model, inputs)
            flat[i] += h
            numeric[k] = (up - down) / (2 * h)
        assert (grad[entries] - numeric).norm() / numeric.norm() < 1e-6
