"""Oracle: autograd of a plain forward pass (the exact mode and fixed prediction with η = 1, n = L reproduce it),
and for η < 1 the closed form P[Binomial(n−1, η) ≥ L−l] of the fixed-prediction update."""

import math

import pytest
import torch

from neuroplastic import pc


def test_exact_mode_equals_autograd(case, backprop, relative_error):
    model, loss_fn, x, y = case
    expected = backprop(model, loss_fn, x, y)
    result = pc.pc_backward(model, loss_fn, x, y, mode=pc.Exact())
    for p, g in zip(model.parameters(), expected):
        assert relative_error(p.grad, g) <= 1e-12
    activations, h = [], x  # ∂ℒ/∂v̂_l from autograd of a plain forward pass, the oracle for ε_l and v_l = v̂_l − ε_l
    for child in model:
        h = child(h)
        h.retain_grad()
        activations.append(h)
    loss_fn(h, y).backward()
    for l, activation in enumerate(activations[:-1], start=1):
        assert torch.allclose(result.eps[l], activation.grad, rtol=1e-12, atol=1e-15)
        assert torch.allclose(result.v[l], activation.detach() - activation.grad, rtol=1e-12, atol=1e-15)


def test_fixed_prediction_eta_one_n_depth_equals_autograd(case, backprop, relative_error):
    model, loss_fn, x, y = case
    expected = backprop(model, loss_fn, x, y)
    pc.pc_backward(model, loss_fn, x, y, mode=pc.FixedPred(eta=1.0, n=len(model)))
    for p, g in zip(model.parameters(), expected):
        assert relative_error(p.grad, g) <= 1e-10


def test_identical_updates_have_an_angle_of_exactly_zero(case):
    model, loss_fn, x, y = case
    result = pc.pc_backward(model, loss_fn, x, y, mode=pc.Exact(), compare_with_backprop=True)
    assert all(row.angle_degrees == 0.0 for row in result.comparison[1:])


def test_fixed_prediction_one_step_short_gives_the_first_layer_no_update(case, backprop, relative_error):
    model, loss_fn, x, y = case
    expected = backprop(model, loss_fn, x, y)
    pc.pc_backward(model, loss_fn, x, y, mode=pc.FixedPred(eta=1.0, n=len(model) - 1))
    first = list(model[0].parameters())
    assert all(p.grad is not None and torch.count_nonzero(p.grad) == 0 for p in first)
    for p, g in list(zip(model.parameters(), expected))[len(first) :]:
        assert relative_error(p.grad, g) <= 1e-10


@pytest.mark.parametrize(("eta", "n"), [(0.1, 3), (0.1, 20), (0.5, 3), (0.5, 20)])
def test_fixed_prediction_closed_form(case, eta, n):
    model, loss_fn, x, y = case
    result = pc.pc_backward(model, loss_fn, x, y, mode=pc.FixedPred(eta=eta, n=n), compare_with_backprop=True)
    depth = len(model)
    for l in range(1, depth + 1):
        row = result.comparison[l]
        expected = pc.fixed_pred_ratio(eta, n, depth, l)
        assert row.norm_ratio == pytest.approx(expected, abs=1e-8)
        if expected > 0:
            assert row.cosine == pytest.approx(1.0, abs=1e-10)


def test_comparison_uses_backprop_of_each_layer(case, backprop, layer_grads, relative_error):
    model, loss_fn, x, y = case
    expected = backprop(model, loss_fn, x, y)
    result = pc.pc_backward(model, loss_fn, x, y, mode=pc.Strict(eta=0.1, n=5), compare_with_backprop=True)
    ours = layer_grads(model)
    start = 0
    true = []
    for child in model:
        count = len(list(child.parameters()))
        true.append(torch.cat([g.reshape(-1) for g in expected[start : start + count]]))
        start += count
    for l, (a, b) in enumerate(zip(ours, true), start=1):
        assert result.comparison[l].relative_error == pytest.approx(relative_error(a, b), rel=1e-9)
        cosine = (a @ b / (a.norm() * b.norm())).item()
        assert result.comparison[l].cosine == pytest.approx(cosine, rel=1e-9)
        assert result.comparison[l].angle_degrees == pytest.approx(math.degrees(math.acos(cosine)), abs=1e-6)


def test_float32_small_errors_do_not_cancel_but_absolute_storage_does(tanh_mlp):
    """Offsets, not differences of O(1) beliefs: tiny ∂ℒ/∂ŷ keeps the closed-form ratio in float32. Torch2PC's
    arithmetic (``storage="absolute"``: beliefs absolute, errors v̂ − v) loses those errors: Fig. 4's plateaus."""
    torch.set_default_dtype(torch.float32)
    model = tanh_mlp()
    x, y = torch.randn(16, 8), torch.randint(0, 3, (16,))

    def tiny_loss(output, target):
        return 1e-6 * torch.nn.functional.cross_entropy(output, target)

    result = pc.pc_backward(model, tiny_loss, x, y, mode=pc.FixedPred(eta=0.1, n=200), compare_with_backprop=True)
    assert result.dloss_dyhat.abs().max() < 1e-6
    for l in range(1, len(model) + 1):
        assert result.comparison[l].norm_ratio == pytest.approx(pc.fixed_pred_ratio(0.1, 200, len(model), l), abs=1e-3)
        assert result.comparison[l].relative_error < 1e-3
    absolute = pc.pc_backward(
        model, tiny_loss, x, y, mode=pc.FixedPred(eta=0.1, n=200, storage="absolute"), compare_with_backprop=True
    )
    assert absolute.comparison[1].relative_error > 0.05


def test_absolute_storage_is_the_same_recursion_in_float64(case):
    model, loss_fn, x, y = case
    pc.pc_backward(model, loss_fn, x, y, mode=pc.FixedPred(eta=0.3, n=6))
    offsets = [p.grad.clone() for p in model.parameters()]
    pc.pc_backward(model, loss_fn, x, y, mode=pc.FixedPred(eta=0.3, n=6, storage="absolute"))
    for a, p in zip(offsets, model.parameters(), strict=True):
        assert torch.allclose(p.grad, a, rtol=1e-9, atol=1e-14)
