"""Activations σ, σ′(z) and σ′ from y = σ(z).

Oracle: autograd of σ in float64 for both derivative forms; the softplus closed form log1p(e^{βz})/β evaluated
without a threshold; ``nn.Module`` forms against torch's own modules.
"""

import math
from typing import get_args

import pytest
import torch
from torch import nn

from neuroplastic.core.activations import (
    ACTIVATIONS,
    SOFTPLUS_BETA,
    Activation,
    ActivationName,
    resolve_activation,
    softplus,
)

F64 = torch.float64
# away from ReLU's kink at 0, where σ′ is not defined
Z = torch.cat([torch.linspace(-6, -0.01, 400, dtype=F64), torch.linspace(0.01, 6, 400, dtype=F64)])


def test_the_registry_holds_every_name_of_the_literal():
    assert tuple(ACTIVATIONS) == get_args(ActivationName)
    assert all(ACTIVATIONS[name].name == name for name in ACTIVATIONS)


@pytest.mark.parametrize("sigma", [*ACTIVATIONS.values(), softplus(1.0), softplus(2.5)], ids=lambda a: a.name)
def test_both_derivative_forms_equal_autograd(sigma: Activation):
    z = Z.clone().requires_grad_()
    (expected,) = torch.autograd.grad(sigma.function(z).sum(), z)
    y = sigma.function(Z)
    torch.testing.assert_close(sigma.derivative(Z), expected, atol=1e-12, rtol=0)
    torch.testing.assert_close(sigma.derivative_from_output(y), expected, atol=1e-12, rtol=0)


@pytest.mark.parametrize("beta", [1.0, SOFTPLUS_BETA])
def test_softplus_is_the_closed_form_without_a_threshold(beta):
    z = torch.linspace(-8, 8, 2001, dtype=F64)
    expected = torch.log1p(torch.exp(beta * z)) / beta
    torch.testing.assert_close(softplus(beta).function(z), expected, atol=1e-15, rtol=1e-15)


def test_softplus_is_exact_beyond_nn_softplus_threshold_in_float64():
    """For βz between 20 and 37, log(1 + e^{βz})/β is not z in float64: nn.Softplus's threshold 20 drops it."""
    z = torch.tensor([2.5, 3.0], dtype=F64)
    expected = z + torch.tensor([math.log1p(math.exp(-25.0)), math.log1p(math.exp(-30.0))], dtype=F64) / 10
    assert torch.equal(softplus(10.0).function(z), expected)


@pytest.mark.parametrize("name", get_args(ActivationName))
def test_the_module_computes_the_function(name):
    """nn.Softplus returns z once βz > 20, which leaves out up to log1p(e^{−20})/β."""
    sigma = resolve_activation(name)
    z = torch.linspace(-3, 3, 101, dtype=F64)
    atol = math.log1p(math.exp(-20)) / SOFTPLUS_BETA if name == "softplus" else 0.0
    torch.testing.assert_close(sigma.module()(z), sigma.function(z), atol=atol, rtol=0)


def test_the_softplus_module_carries_beta():
    assert resolve_activation("softplus").module().beta == SOFTPLUS_BETA
    assert resolve_activation("softplus", beta=3.0).module().beta == 3.0
    assert isinstance(resolve_activation("tanh").module(), nn.Tanh)


def test_resolve_passes_an_activation_through_and_refuses_unknown_names():
    custom = Activation("cube", lambda z: z**3, lambda z: 3 * z**2)
    assert resolve_activation(custom) is custom
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        resolve_activation("gelu")
    with pytest.raises(ValueError, match="beta > 0"):
        softplus(0.0)
