"""Contracts of ``apply_rule`` and the rule registry: ``.grad`` written and accumulated as ``backward()`` does, frozen
parts left alone, batch order irrelevant, and bad input refused. Oracle: the pure rule functions, called directly."""

import typing

import pytest
import torch

from neuroplastic import fixedpoint
from neuroplastic.fixedpoint import adjoint, euclidean, reparam, reparam_v4


def test_apply_rule_writes_grad_for_any_optimiser_and_accumulates(
    model_factory, inputs, cross_entropy, fixed_point_pieces
):
    model = model_factory("rate1")
    rates, gains, delta = fixed_point_pieces(model, inputs)
    expected = reparam(model.W.detach(), rates, gains, delta)
    before = model.W.detach().clone()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    rule = fixedpoint.RULES["reparam"]()
    step = fixedpoint.apply_rule(model, inputs, cross_entropy, rule, solve_options={"tol": 1e-13})
    assert torch.allclose(model.W.grad, expected, atol=1e-12, rtol=0)
    assert step.loss.item() == pytest.approx(cross_entropy(step.output).item())
    optimizer.step()
    assert torch.allclose(model.W.detach(), before - 0.1 * expected, atol=1e-13, rtol=0)
    assert model.U.grad is None and model.R.grad is None  # frozen parts stay frozen
    fixedpoint.apply_rule(model, inputs, cross_entropy, rule, solve_options={"tol": 1e-13})
    new = reparam(model.W.detach(), *fixed_point_pieces(model, inputs))
    assert torch.allclose(model.W.grad, expected + new, atol=1e-12, rtol=0)


def test_rules_do_not_depend_on_the_order_of_the_batch(model_factory, inputs, fixed_point_pieces):
    model = model_factory("rate1")
    rates, gains, delta = fixed_point_pieces(model, inputs)
    perm = torch.randperm(7, generator=torch.Generator().manual_seed(0))
    for rule in (reparam, reparam_v4, euclidean):
        a = rule(model.W.detach(), rates, gains, delta)
        b = rule(model.W.detach(), rates[perm], gains[perm], delta[perm])
        assert torch.allclose(a, b, atol=1e-14, rtol=0)


def test_the_registry_names_every_rule_class():
    assert {name: rule.symbol for name, rule in fixedpoint.RULES.items()} == {
        "euclidean": "ΔW1",
        "reparam_exact": "ΔW2",
        "reparam": "ΔW3",
        "reparam_v4": "ΔW4",
    }
    assert all(rule.name == name for name, rule in fixedpoint.RULES.items())
    assert typing.get_args(fixedpoint.RuleName) == tuple(fixedpoint.RULES)


def test_rules_refuse_bad_input(model_factory, inputs, cross_entropy):
    model = model_factory("rate1")
    with pytest.raises(ValueError, match="linear model"):
        fixedpoint.apply_rule(model, inputs, cross_entropy, fixedpoint.ReparamExact(lr=0.1))
    with pytest.raises(ValueError, match="learning rate η > 0"):
        fixedpoint.ReparamExact(lr=0.0)
    with pytest.raises(TypeError, match="rule must be an instance of one of Euclidean"):
        fixedpoint.apply_rule(model, inputs, cross_entropy, "reparam")
    W = model.W.detach()
    with pytest.raises(ValueError, match="gains"):
        reparam(W, torch.zeros(3, 12), torch.zeros(3, 11), torch.zeros(3, 12))
    with pytest.raises(ValueError, match="delta"):
        euclidean(W, torch.zeros(3, 12), torch.zeros(3, 12), torch.zeros(3, 10))
    with pytest.raises(ValueError, match="square"):
        reparam(W[:5], torch.zeros(3, 12), torch.zeros(3, 12), torch.zeros(3, 12))
    with pytest.raises(ValueError, match="adjoint method"):
        adjoint(W, torch.ones(3, 12), torch.ones(3, 12), method="cg")
