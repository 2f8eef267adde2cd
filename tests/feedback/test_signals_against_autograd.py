"""Oracle: torch.autograd of the summed cross-entropy and torch's softplus and sigmoid for the functional signals;
the feedback initialisations' shapes and Xavier bound."""

import pytest
import torch
from torch import nn

from neuroplastic import feedback
from neuroplastic.core.activations import ACTIVATIONS
from neuroplastic.core.init import xavier_uniform


@pytest.mark.parametrize("activation", ["softplus", "relu", "tanh"])
def test_bp_errors_are_loss_derivatives(activation):
    g = torch.Generator().manual_seed(2)
    sizes = [6, 5, 4, 3]
    ws = [xavier_uniform(b, a, generator=g, gain=2.0).requires_grad_() for a, b in zip(sizes, sizes[1:])]
    x = torch.rand(4, 6, generator=g).requires_grad_()
    t = torch.tensor([0, 2, 1, 2])
    s = feedback.signals([w.detach() for w in ws], None, x.detach(), t, mode="bp", activation=activation)
    ys = feedback.forward(ws, x, activation=activation)
    loss = nn.functional.cross_entropy(ys[-1], t, reduction="sum")
    *gw, gx = torch.autograd.grad(loss, [*ws, x])
    for l, w_grad in enumerate(gw):
        torch.testing.assert_close(s.es[l + 1].T @ s.ys[l], w_grad, atol=1e-12, rtol=0)
    # e₀ = ∂L/∂y₀ ⊙ σ′ with the pixels read as σ outputs
    torch.testing.assert_close(
        s.es[0], gx * ACTIVATIONS[activation].derivative_from_output(x.detach()), atol=1e-12, rtol=0
    )


def test_init_feedback_shapes_and_modes():
    ws = [torch.randn(5, 7), torch.randn(3, 5)]
    g = torch.Generator().manual_seed(0)
    assert [b.shape for b in feedback.init_feedback(ws, "fa", generator=g)] == [(7, 5), (5, 3)]
    assert [b.shape for b in feedback.init_feedback(ws, "dfa", generator=g)] == [(7, 3), (5, 3)]
    assert all(torch.equal(b, w.T) for b, w in zip(feedback.init_feedback(ws, "bp"), ws))
    a = feedback.init_feedback(ws, "fa", generator=torch.Generator().manual_seed(9))
    b = feedback.init_feedback(ws, "fa", generator=torch.Generator().manual_seed(9))
    assert all(torch.equal(p, q) for p, q in zip(a, b))
    bound = (6 / 12) ** 0.5
    assert a[0].abs().max() <= bound and a[0].abs().max() > 0.8 * bound
