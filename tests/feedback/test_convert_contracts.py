"""Contracts: ``convert`` never leaves a layer on backprop silently: it refuses what it cannot convert, or lists it."""

import pytest
import torch
from torch import nn

from neuroplastic import feedback


class ScaledLinear(nn.Linear):
    """A Linear subclass whose forward differs from nn.Linear's (z = 2(x Wᵀ + b))."""

    def forward(self, x):
        return 2 * super().forward(x)


class PlainSubclass(nn.Linear):
    """A subclass that inherits nn.Linear's forward."""


class OwnWeight(nn.Module):
    """A custom module holding a weight matrix of its own."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(4, 4))

    def forward(self, x):
        return x @ self.w


@pytest.mark.parametrize(
    ("layer", "reason"),
    [
        (nn.Conv1d(4, 4, 1), "Conv1d: no feedback version of this type"),
        (nn.Conv3d(4, 4, 1), "Conv3d: no feedback version of this type"),
        (nn.ConvTranspose2d(4, 4, 1), "ConvTranspose2d: no feedback version of this type"),
        (ScaledLinear(4, 4), "ScaledLinear: a subclass of nn.Linear, whose forward may differ"),
        (PlainSubclass(4, 4), "PlainSubclass: a subclass of nn.Linear"),
        (OwnWeight(), "OwnWeight: no feedback version of this type"),
    ],
)
def test_unsupported_layers_are_refused_by_name(layer, reason):
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), layer)
    with pytest.raises(ValueError, match=r"cannot give 1 layer\(s\) a feedback pathway: '2' \(") as err:
        feedback.convert(model, "fa")
    message = str(err.value)
    assert reason in message
    assert "Supported: exact nn.Linear and nn.Conv2d" in message and "leave_unsupported=True" in message
    assert type(model[0]) is nn.Linear  # the input model is untouched
    _, report = feedback.convert(model, "bp")  # backprop everywhere is what bp asks for: listed, not refused
    assert [(r.name, r.mode, r.replaced) for r in report] == [("0", "bp", True), ("2", "bp", False)]


def test_bilinear_is_refused():
    model = nn.ModuleDict({"pair": nn.Bilinear(3, 3, 2), "head": nn.Linear(2, 2)})
    with pytest.raises(ValueError, match=r"'pair' \(Bilinear: no feedback version"):
        feedback.convert(model, "fa")


def test_reparameterised_hooked_and_reflect_padded_layers_are_refused():
    hooked = nn.Linear(3, 3)
    hooked.register_forward_hook(lambda module, inputs, output: output * 0)
    with pytest.warns(FutureWarning):
        normed = nn.utils.weight_norm(nn.Linear(3, 3))
    cases = [
        (normed, r"reparameterised, with parameters bias, weight_g, weight_v"),
        (hooked, r"forward hooks, which the replacement would drop"),
        (nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect"), r"padding_mode='reflect'; only numeric zero padding"),
        (nn.Conv2d(1, 1, 3, padding="same"), r"padding='same'"),
    ]
    for layer, reason in cases:
        with pytest.raises(ValueError, match=reason):
            feedback.convert(nn.Sequential(nn.Linear(3, 3), layer), "fa")


def test_leave_unsupported_keeps_them_on_backprop_and_reports_every_layer():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(4, 4),
        nn.Tanh(),
        nn.Linear(4, 4),
        nn.BatchNorm1d(1),
        nn.Tanh(),
        ScaledLinear(4, 4),
        nn.Conv1d(1, 1, 1),
    )
    x = torch.randn(5, 1, 4)
    converted, report = feedback.convert(model, "fa", leave_unsupported=True)
    assert [(r.name, r.original, r.converted, r.mode, r.replaced) for r in report] == [
        ("0", "Linear", "FeedbackLinear", "fa", True),
        ("2", "Linear", "FeedbackLinear", "fa", True),
        ("3", "BatchNorm1d", "BatchNorm1d", "bp", False),
        ("5", "ScaledLinear", "ScaledLinear", "bp", False),
        ("6", "Conv1d", "Conv1d", "bp", False),
    ]
    assert type(converted[5]) is ScaledLinear and type(converted[6]) is nn.Conv1d
    # the kept layers compute what they computed before, and down to layer 2 the errors are backprop's: those
    # weight gradients equal the original model's, while layer 0's, reached through layer 2's B ≠ Wᵀ, do not
    model.eval(), converted.eval()
    torch.testing.assert_close(converted(x), model(x), rtol=0, atol=0)
    grads = []
    for net in (model, converted):
        net.zero_grad()
        net(x).square().sum().backward()
        grads.append([p.grad.clone() for p in net.parameters()])
    for ours, reference in zip(grads[1][2:], grads[0][2:], strict=True):
        torch.testing.assert_close(ours, reference, rtol=0, atol=1e-14)
    assert not torch.allclose(grads[1][0], grads[0][0])


def test_normalisation_layers_need_no_opt_in_and_are_listed():
    model = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 2))
    _, report = feedback.convert(model, "fa")
    assert [(r.name, r.replaced, r.mode) for r in report] == [("0", True, "fa"), ("1", False, "bp"), ("2", True, "fa")]


def test_a_shared_linear_is_replaced_under_every_name():
    shared = nn.Linear(3, 3)
    model = nn.Sequential(shared, nn.Tanh(), shared)
    converted, report = feedback.convert(model, "fa")
    assert [r.name for r in report] == ["0"]
    assert converted[0] is converted[2] and isinstance(converted[2], feedback.FeedbackLinear)
    assert not any(type(m) is nn.Linear for m in converted.modules())


def test_frozen_parameters_and_eval_mode_are_kept():
    model = nn.Sequential(nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 2))
    model[0].weight.requires_grad_(False)
    model.eval()
    converted, _ = feedback.convert(model, "fa")
    assert [p.requires_grad for p in converted.parameters()] == [False, True, True, True]
    assert not any(m.training for m in converted.modules())


def test_converting_again_keeps_the_feedback_layers_and_says_so():
    once, _ = feedback.convert(nn.Sequential(nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 2)), "sign")
    twice, report = feedback.convert(nn.Sequential(*once, nn.Tanh(), nn.Linear(2, 2)), "fa")
    assert [(r.name, r.converted, r.mode, r.replaced) for r in report] == [
        ("0", "FeedbackLinear", "sign", False),
        ("2", "FeedbackLinear", "sign", False),
        ("4", "FeedbackLinear", "fa", True),
    ]
    assert twice[0].mode == "sign" and twice[4].mode == "fa"


def test_a_feedback_kernel_drawn_like_its_weights_is_refused_not_silently_backprop():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    with pytest.raises(ValueError, match=r"layer '0': the feedback B came out parallel to W \(cosine 1.0000\)"):
        feedback.convert(model, "fa", generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="FeedbackConv2d: the feedback B came out parallel"):
        torch.manual_seed(5)
        feedback.FeedbackConv2d(3, 4, 3, generator=torch.Generator().manual_seed(5))
    converted, _ = feedback.convert(model, "fa", generator=torch.Generator().manual_seed(1))
    w, b = converted[0].weight.detach().flatten().double(), converted[0].feedback.flatten().double()
    assert abs(float(w @ b / (w.norm() * b.norm()))) < 0.5  # independent draws: nearly orthogonal
