"""Oracle: torch.autograd of the nn.Linear / nn.Conv2d model (FA with B = Wᵀ is backprop), and the functional
signals e_ℓ y_{ℓ−1}ᵀ re-derived from B for fixed, sign-symmetric and direct feedback."""

import pytest
import torch
from torch import nn

from neuroplastic import feedback
from neuroplastic.core.mlp import mlp


def grads(model, x, t):
    model.zero_grad()
    nn.functional.cross_entropy(model(x), t, reduction="sum").backward()
    return [p.grad.clone() for p in model.parameters()]


def weights(model):
    return [m.weight.detach() for m in model.modules() if isinstance(m, nn.Linear)]


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("activation", ["tanh", "softplus", "relu"])
def test_fa_with_transposed_weights_is_backprop(make_mlp, batch, bias, activation):
    model = make_mlp(activation=activation, bias=bias)
    fa, report = feedback.convert(model, "fa")
    for layer in fa.modules():
        if isinstance(layer, feedback.FeedbackLinear):
            layer.feedback.copy_(layer.weight.detach().T)
    for ours, reference in zip(grads(fa, *batch), grads(model, *batch), strict=True):
        torch.testing.assert_close(ours, reference, atol=1e-12, rtol=0)


def test_fa_hidden_errors_use_b_and_b_never_changes(make_mlp, batch):
    x, t = batch
    model, _ = feedback.convert(make_mlp(activation="tanh"), "fa", generator=torch.Generator().manual_seed(3))
    layers = [m for m in model.modules() if isinstance(m, feedback.FeedbackLinear)]
    bs = [m.feedback for m in layers]
    before = [b.clone() for b in bs]
    ours = grads(model, x, t)
    s = feedback.signals(weights(model), bs, x, t, mode="fa", activation="tanh")
    for l, g in enumerate(ours):
        torch.testing.assert_close(g, s.es[l + 1].T @ s.ys[l], atol=1e-12, rtol=0)
    # and the FA update is not the gradient
    assert not torch.allclose(ours[0], grads(make_mlp(activation="tanh"), x, t)[0], atol=1e-3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(3):
        grads(model, x, t)
        optimizer.step()
    assert all(torch.equal(b, b0) for b, b0 in zip(bs, before))
    assert all(b.requires_grad is False for b in bs)
    assert len(list(model.parameters())) == len(layers)


def test_sign_symmetry_uses_sign_of_w(make_mlp, batch):
    x, t = batch
    model, _ = feedback.convert(make_mlp(), "sign", generator=torch.Generator().manual_seed(4))
    layers = [m for m in model.modules() if isinstance(m, feedback.FeedbackLinear)]
    ours = grads(model, x, t)
    fbs = [torch.sign(m.weight.detach().T) * m.feedback.abs() for m in layers]
    s = feedback.signals(weights(model), fbs, x, t, mode="fa", activation="tanh")
    for l, g in enumerate(ours):
        torch.testing.assert_close(g, s.es[l + 1].T @ s.ys[l], atol=1e-12, rtol=0)
    # |B| = |W|ᵀ makes sign symmetry exact backprop
    for m in layers:
        m.feedback.copy_(m.weight.detach().T.abs())
    for a, b in zip(grads(model, x, t), grads(make_mlp(), x, t)):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


@pytest.mark.parametrize("bias", [False, True])
def test_dfa_broadcasts_the_output_error(make_mlp, batch, bias):
    x, t = batch
    model, report = feedback.convert(make_mlp(bias=bias), "dfa", generator=torch.Generator().manual_seed(5))
    layers = [m for m in model.modules() if isinstance(m, feedback.DirectFeedbackLinear)]
    assert [m.is_output for m in layers] == [False, False, False, True]
    assert all(m.feedback.shape == (m.in_features, 4) for m in layers)
    ours = grads(model, x, t)
    ys = feedback.forward(weights(model), x, biases=[m.bias for m in layers] if bias else None, activation="tanh")
    e_out = torch.softmax(ys[-1], 1) - nn.functional.one_hot(t, 4)
    weight_grads = ours[0::2] if bias else ours
    for l, g in enumerate(weight_grads):
        e = e_out if l == 3 else (e_out @ layers[l + 1].feedback.T) * (1 - ys[l + 1] ** 2)
        torch.testing.assert_close(g, e.T @ ys[l], atol=1e-12, rtol=0)
        if bias:
            torch.testing.assert_close(ours[2 * l + 1], e.sum(0), atol=1e-12, rtol=0)
    es = feedback.errors(weights(model), [m.feedback for m in layers], ys, t, mode="dfa", activation="tanh")
    for l in range(1, 4):
        torch.testing.assert_close(es[l], (e_out @ layers[l].feedback.T) * (1 - ys[l] ** 2), atol=1e-14, rtol=0)


def small_cnn(bias=True):
    return nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1, bias=bias),
        nn.Tanh(),
        nn.Conv2d(3, 4, 3, stride=2, bias=bias),
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(4 * 3 * 3, 5, bias=bias),
    )


@pytest.mark.parametrize("bias", [False, True])
def test_conv_fa(bias):
    x, t = torch.rand(3, 2, 8, 8), torch.tensor([0, 4, 2])
    model = small_cnn(bias)
    fa, report = feedback.convert(model, "fa")
    assert [r.name for r in report] == ["0", "2", "5"]
    assert [r.converted for r in report] == ["FeedbackConv2d", "FeedbackConv2d", "FeedbackLinear"]
    convs = [fa[0], fa[2]]
    # with B = W (conv) and B = Wᵀ (linear) FA is backprop
    for c in convs:
        c.feedback.copy_(c.weight.detach())
    fa[5].feedback.copy_(fa[5].weight.detach().T)
    for a, b in zip(grads(fa, x, t), grads(model, x, t), strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
    # a random kernel: the input error is the backprop input error of a convolution whose weight is B
    layer, _ = feedback.convert(nn.Conv2d(2, 3, 3, stride=2, padding=1, bias=bias), "fa")
    xi = torch.rand(2, 2, 7, 7, requires_grad=True)
    delta = torch.randn(2, 3, 4, 4)
    (gx,) = torch.autograd.grad(layer(xi), xi, delta)
    (ref,) = torch.autograd.grad(nn.functional.conv2d(xi, layer.feedback, None, 2, 1), xi, delta)
    torch.testing.assert_close(gx, ref, atol=1e-12, rtol=0)
    assert not torch.allclose(gx, torch.autograd.grad(nn.functional.conv2d(xi, layer.weight, None, 2, 1), xi, delta)[0])


def test_convert_reports_and_leaves_the_input_alone(make_mlp):
    model = make_mlp(bias=True)
    original = [p.clone() for p in model.parameters()]
    fa, report = feedback.convert(model, "fa")
    assert [(r.name, r.original, r.converted, r.mode) for r in report] == [
        (str(i), "Linear", "FeedbackLinear", "fa") for i in (0, 2, 4, 6)
    ]
    assert all(type(m) is nn.Linear for m in model if not isinstance(m, nn.Tanh))
    for a, b in zip(fa.parameters(), original):
        assert torch.equal(a, b)
    fresh, _ = feedback.convert(model, "fa", copy_weights=False)
    assert not torch.equal(fresh[0].weight, model[0].weight)
    same, _ = feedback.convert(model, "bp", inplace=True)
    assert same is model and isinstance(model[0], feedback.FeedbackLinear)


def test_nested_model_and_float32_default():
    torch.set_default_dtype(torch.float32)
    model = nn.Sequential(nn.Sequential(nn.Linear(4, 3), nn.ReLU()), nn.Linear(3, 2, bias=False))
    fa, report = feedback.convert(model, "fa")
    assert [r.name for r in report] == ["0.0", "1"]
    assert fa[0][0].feedback.dtype == torch.float32
    fa(torch.rand(5, 4)).sum().backward()
    assert fa[1].weight.grad is not None


def test_bad_input():
    with pytest.raises(ValueError, match="unknown feedback mode"):
        feedback.convert(nn.Linear(3, 2), "xfa")
    with pytest.raises(ValueError, match="no nn.Linear"):
        feedback.convert(nn.Tanh(), "fa")
    with pytest.raises(ValueError, match="Linear layers only"):
        feedback.convert(nn.Sequential(nn.Conv2d(1, 1, 3), nn.Flatten(), nn.Linear(4, 2)), "dfa")
    with pytest.raises(TypeError):
        feedback.convert("model", "fa")
    model = mlp([4, 3, 2], dtype=torch.float64)
    ws = [model[0].weight, model[2].weight]
    with pytest.raises(ValueError, match="shape"):
        feedback.signals(ws, [torch.zeros(4, 3), torch.zeros(2, 3)], torch.rand(2, 4), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="integer class labels"):
        feedback.signals(ws, None, torch.rand(2, 4), torch.tensor([0.0, 1.0]), mode="bp")
    with pytest.raises(ValueError, match="x must be"):
        feedback.signals(ws, None, torch.rand(2, 5), torch.tensor([0, 1]), mode="bp")
