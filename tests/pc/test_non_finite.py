"""Non-finite inputs, parameters, targets and diverging inference are refused, each blamed on its actual cause."""

import warnings

import pytest
import torch
from torch import nn

from neuroplastic import pc
from neuroplastic.core.divergence import DivergenceError

CE = nn.functional.cross_entropy


def _batch():
    return torch.randn(6, 8), torch.randint(0, 3, (6,))


def _no_grads(model):
    return all(p.grad is None for p in model.parameters())


EVERY_MODE = [pc.Strict(eta=0.1), pc.FixedPred(eta=0.1), pc.Exact()]


@pytest.mark.parametrize("mode", EVERY_MODE)
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_input_is_refused_in_every_mode_and_eta_is_not_blamed(tanh_mlp, mode, bad):
    model = tanh_mlp()
    x, y = _batch()
    x[2, 3] = bad
    with pytest.raises(DivergenceError, match=r"the input x holds 1 non-finite \(NaN or inf\) entries") as err:
        pc.pc_backward(model, CE, x, y, mode=mode)
    assert "eta" not in str(err.value)
    assert _no_grads(model)


@pytest.mark.parametrize("mode", EVERY_MODE)
def test_non_finite_parameter_is_named_even_when_the_forward_pass_hides_it(tanh_mlp, mode):
    """tanh(+inf) = 1 keeps v̂ finite, but the Jacobian (and so every update) is NaN."""
    model = tanh_mlp()
    with torch.no_grad():
        model[1][0].weight[0, 0] = float("inf")
    x, y = _batch()
    assert bool(torch.isfinite(model(x)).all())
    with pytest.raises(DivergenceError, match=r"parameter '0.weight' of layer 2 holds 1 NaN or inf entries"):
        pc.pc_backward(model, CE, x, y, mode=mode)
    assert _no_grads(model)


@pytest.mark.parametrize("mode", EVERY_MODE)
def test_non_finite_target_is_blamed_on_the_loss(tanh_mlp, mode):
    model = tanh_mlp()
    x = torch.randn(6, 8)
    y = torch.zeros(6, 3)
    y[0, 1] = float("nan")
    with pytest.raises(DivergenceError, match=r"the loss ℒ\(ŷ, y\) is nan .* check the target y"):
        pc.pc_backward(model, nn.functional.mse_loss, x, y, mode=mode)


def test_overflowing_layer_is_named():
    model = nn.Sequential(nn.Sequential(nn.Linear(2, 2), nn.ReLU()), nn.Linear(2, 2))
    with torch.no_grad():
        model[0][0].weight.fill_(1e308)
        model[0][0].bias.zero_()
    x, y = torch.ones(3, 2), torch.tensor([0, 1, 0])
    with pytest.raises(DivergenceError, match="non-finite at layer 1: v̂_1 holds 6 NaN or inf entries"):
        pc.pc_backward(model, CE, x, y, mode=pc.FixedPred())


def test_diverging_fixed_pred_recursion_raises_instead_of_writing_inf(tanh_mlp):
    """η = 3: the recursion ε ← (1 − η)ε + ηJᵀε multiplies ε by at least |1 − η| = 2 per step (2^3000 overflows)."""
    model = tanh_mlp()
    x, y = _batch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(DivergenceError, match=r"fixed_pred error recursion diverged \(eta=3.0"):
            pc.pc_backward(model, CE, x, y, mode=pc.FixedPred(eta=3.0, n=3000))
    assert _no_grads(model)


def test_non_finite_v_init_is_refused(tanh_mlp):
    model = tanh_mlp()
    x, y = _batch()
    v_init = [None, None, torch.full((6, 6), float("nan")), None, None, None]
    with pytest.raises(ValueError, match=r"v_init\[2\] holds NaN or inf entries"):
        pc.pc_backward(model, CE, x, y, mode=pc.Strict(eta=0.1), v_init=v_init)


def test_strict_divergence_from_a_finite_pass_still_blames_eta(tanh_mlp):
    model = tanh_mlp()
    x, y = _batch()
    with pytest.raises(DivergenceError, match=r"inference step \d+ from a finite feedforward pass; eta=50.0"):
        pc.pc_backward(model, CE, x, y, mode=pc.Strict(eta=50.0, n=400))
