"""Contracts: .grad handling, optimiser steps, stateful layers, incremental PC and clear errors."""

import copy
import typing

import pytest
import torch
from torch import nn

from neuroplastic import pc
from neuroplastic.core.divergence import DivergenceError

CE = nn.functional.cross_entropy


@pytest.mark.parametrize("optimizer", [torch.optim.SGD, torch.optim.Adam])
@pytest.mark.parametrize("mode", [pc.Exact(), pc.FixedPred(eta=1.0)])
def test_one_optimizer_step_equals_the_backprop_step(case, optimizer, mode):
    model, loss_fn, x, y = case
    twin = copy.deepcopy(model)
    opt_pc, opt_bp = optimizer(model.parameters(), lr=0.01), optimizer(twin.parameters(), lr=0.01)
    pc.pc_backward(model, loss_fn, x, y, mode=mode)
    opt_pc.step()
    loss_fn(twin(x), y).backward()
    opt_bp.step()
    for a, b in zip(model.parameters(), twin.parameters()):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-14)


def test_grad_is_overwritten_or_accumulated_and_frozen_parameters_stay_none(tanh_mlp, backprop):
    model = tanh_mlp()
    model[0][0].bias.requires_grad_(False)
    x, y = torch.randn(6, 8), torch.randint(0, 3, (6,))
    for p in model.parameters():
        p.grad = torch.full_like(p, 7.0) if p.requires_grad else None
    pc.pc_backward(model, CE, x, y, mode=pc.Exact())
    once = {name: p.grad.clone() for name, p in model.named_parameters() if p.requires_grad}
    assert model[0][0].bias.grad is None
    assert all(not torch.any(g == 7.0) for g in once.values())
    pc.pc_backward(model, CE, x, y, mode=pc.Exact(), accumulate=True)
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert torch.allclose(p.grad, 2 * once[name])


def test_batchnorm_statistics_move_once_as_in_one_forward_pass():
    model = nn.Sequential(
        nn.Sequential(nn.Linear(5, 6), nn.BatchNorm1d(6), nn.Tanh()),
        nn.Sequential(nn.Linear(6, 6), nn.BatchNorm1d(6), nn.Tanh()),
        nn.Linear(6, 3),
    )
    twin = copy.deepcopy(model)
    x, y = torch.randn(8, 5), torch.randint(0, 3, (8,))
    twin(x)
    for mode in [pc.Strict(eta=0.1, n=20), pc.FixedPred(eta=0.5, n=10)]:
        trial = copy.deepcopy(model)
        pc.pc_backward(trial, CE, x, y, mode=mode, compare_with_backprop=True)
        for a, b in zip(trial.buffers(), twin.buffers()):
            assert torch.equal(a, b)


def test_dropout_mask_is_fixed_for_one_inference(backprop, relative_error):
    model = nn.Sequential(
        nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Dropout(0.5)),
        nn.Sequential(nn.Linear(16, 16), nn.Tanh(), nn.Dropout(0.5)),
        nn.Linear(16, 3),
    )
    x, y = torch.randn(8, 5), torch.randint(0, 3, (8,))
    torch.manual_seed(123)
    expected = backprop(model, CE, x, y)  # draws the masks in the same order as the feedforward pass
    after_bp = torch.rand(1)
    torch.manual_seed(123)
    pc.pc_backward(model, CE, x, y, mode=pc.FixedPred(eta=1.0, n=3))
    assert torch.equal(torch.rand(1), after_bp)  # inference consumed no extra random numbers
    for p, g in zip(model.parameters(), expected):
        assert relative_error(p.grad, g) <= 1e-12


def test_incremental_pc_steps_the_weights_at_every_inference_step(tanh_mlp, backprop):
    model = tanh_mlp()
    twin = copy.deepcopy(model)
    x, y = torch.randn(6, 8), torch.randint(0, 3, (6,))
    expected = backprop(model, CE, x, y)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    pc.pc_incremental(model, CE, x, y, optimizer, mode=pc.Strict(eta=0.1, n=1))
    # At the feedforward beliefs every hidden error is 0, so only the output layer moves, by backprop's step.
    last = len(list(model.parameters())) - 2
    for i, (a, b, g) in enumerate(zip(model.parameters(), twin.parameters(), expected)):
        assert torch.allclose(a, b - 0.1 * g if i >= last else b, rtol=1e-12, atol=1e-14)
    before = CE(model(x), y).item()
    pc.pc_incremental(model, CE, x, y, optimizer, mode=pc.Strict(eta=0.1, n=30))
    assert CE(model(x), y).item() < before


def test_result_holds_the_feedforward_pass(case):
    model, loss_fn, x, y = case
    result = pc.pc_backward(model, loss_fn, x, y, mode=pc.FixedPred(eta=0.5, n=4))
    out = x
    for l, child in enumerate(model, start=1):
        out = child(out)
        assert torch.equal(result.vhat[l], out)
    assert result.loss.item() == pytest.approx(loss_fn(out, y).item(), rel=1e-15)
    yhat = out.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(loss_fn(yhat, y), yhat)
    assert torch.allclose(result.dloss_dyhat, g, rtol=1e-14, atol=0)
    assert result.steps == 4 and result.energy is None


def test_clear_errors(tanh_mlp):
    model = tanh_mlp()
    x, y = torch.randn(6, 8), torch.randint(0, 3, (6,))
    with pytest.raises(ValueError, match="could not trace ModuleList.forward"):
        pc.pc_backward(nn.ModuleList(list(model)), CE, x, y)
    with pytest.raises(ValueError, match="scalar tensor"):
        pc.pc_backward(model, lambda out, t: nn.functional.cross_entropy(out, t, reduction="none"), x, y)
    with pytest.raises(TypeError, match="mode must be one of pc.Strict, pc.FixedPred, pc.Exact"):
        pc.pc_backward(model, CE, x, y, mode="fixed_pred")
    with pytest.raises(ValueError, match="v_init\\[2\\] has shape"):
        wrong_shape = [None, None, torch.zeros(6, 1), None, None, None]
        pc.pc_backward(model, CE, x, y, mode=pc.Strict(eta=0.1), v_init=wrong_shape)
    with pytest.raises(ValueError, match="in-place"):
        pc.pc_backward(nn.Sequential(nn.Linear(8, 3), nn.ReLU(inplace=True)), CE, x, y)
    with pytest.raises(ValueError, match="v_init has no effect in exact mode"):
        pc.pc_backward(model, CE, x, y, mode=pc.Exact(), v_init=[None] * 6)
    with pytest.raises(ValueError, match="grad_at='vhat' cannot be combined with incremental PC"):
        pc.pc_incremental(model, CE, x, y, torch.optim.SGD(model.parameters()), mode=pc.Strict(0.1, grad_at="vhat"))
    with pytest.raises(TypeError, match="incremental PC is defined for strict PC"):
        pc.pc_incremental(model, CE, x, y, torch.optim.SGD(model.parameters()), mode=pc.FixedPred())
    with pytest.warns(RuntimeWarning, match="diverges"):
        pc.pc_backward(model, CE, x, y, mode=pc.FixedPred(eta=2.5, n=3))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: pc.Strict(eta=0.0), "eta must be > 0"),
        (lambda: pc.FixedPred(eta=-1.0), "eta must be > 0"),
        (lambda: pc.FixedPred(n=0), "n \\(inference steps\\) must be an integer >= 1"),
        (lambda: pc.Strict(eta=0.1, n=2.5), "n \\(inference steps\\) must be an integer >= 1"),
        (lambda: pc.Strict(eta=0.1, output_precision=0.0), "output_precision must be > 0"),
        (lambda: pc.Strict(eta=0.1, grad_at="v"), "grad_at must be one of"),
        (lambda: pc.FixedPred(storage="relative"), "storage must be one of"),
    ],
)
def test_each_mode_refuses_its_own_bad_options(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_the_mode_registry_names_every_mode_class():
    assert pc.MODES == {"strict": pc.Strict, "fixed_pred": pc.FixedPred, "exact": pc.Exact}
    assert typing.get_args(pc.ModeName) == ("strict", "fixed_pred", "exact")


def test_diverging_strict_inference_says_at_which_step(tanh_mlp):
    model = tanh_mlp()
    x, y = torch.randn(6, 8), torch.randint(0, 3, (6,))
    with pytest.raises(DivergenceError, match="at inference step"):
        pc.pc_backward(model, CE, x, y, mode=pc.Strict(eta=50.0, n=400))
