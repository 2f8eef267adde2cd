"""Convert a model's Linear and Conv2d layers to a feedback pathway, reporting each replacement."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from neuroplastic.feedback.conv import FeedbackConv2d
from neuroplastic.feedback.dfa import DirectFeedbackLinear, OutputErrorHub
from neuroplastic.feedback.init import FeedbackMode, check_mode
from neuroplastic.feedback.linear import FeedbackLinear


@dataclass(frozen=True)
class ConvertedLayer:
    """One replaced layer: its qualified name, original and new class names, and feedback mode."""

    name: str
    original: str
    converted: str
    mode: str


def convert(
    model: nn.Module,
    mode: FeedbackMode = "fa",
    *,
    generator: torch.Generator | None = None,
    gain: float = 1.0,
    copy_weights: bool = True,
    inplace: bool = False,
) -> tuple[nn.Module, list[ConvertedLayer]]:
    """Replace every nn.Linear / nn.Conv2d (recursively) by its feedback version; return (model, report).

    ``mode``: bp, fa (fixed random B, Xavier × ``gain``), sign (B = sign(W)ᵀ ⊙ |B|) or dfa (Linear only; the
    last Linear in registration order is the output layer). Weights and biases are copied unless
    ``copy_weights`` is False (then freshly initialised). The input model is untouched unless ``inplace``.
    """
    check_mode(mode)
    if not isinstance(model, nn.Module):
        raise TypeError(f"convert expects an nn.Module, got {type(model).__name__}")
    model = model if inplace else copy.deepcopy(model)
    targets = [(n, m) for n, m in model.named_modules() if type(m) in (nn.Linear, nn.Conv2d)]
    if not targets:
        raise ValueError("the model has no nn.Linear or nn.Conv2d layer to convert")
    if mode == "dfa" and any(isinstance(m, nn.Conv2d) for _, m in targets):
        raise ValueError("DFA conversion supports Linear layers only; use fa or sign for convolutions")
    hub = OutputErrorHub()
    n_outputs = targets[-1][1].out_features if mode == "dfa" else 0
    report = []
    for i, (name, old) in enumerate(targets):
        new = _replacement(old, mode, generator, gain, hub, n_outputs, i == len(targets) - 1)
        if copy_weights:
            with torch.no_grad():
                new.weight.copy_(old.weight)
                if old.bias is not None:
                    new.bias.copy_(old.bias)
        if name:
            _set_submodule(model, name, new)
        else:
            model = new
        report.append(ConvertedLayer(name, type(old).__name__, type(new).__name__, mode))
    return model, report


def _replacement(old, mode, generator, gain, hub, n_outputs, is_last) -> nn.Module:
    kw = {"device": old.weight.device, "dtype": old.weight.dtype, "generator": generator, "gain": gain}
    bias = old.bias is not None
    if isinstance(old, nn.Conv2d):
        return FeedbackConv2d(
            old.in_channels,
            old.out_channels,
            old.kernel_size,
            stride=old.stride,
            padding=old.padding,
            dilation=old.dilation,
            groups=old.groups,
            bias=bias,
            padding_mode=old.padding_mode,
            mode=mode,
            **kw,
        )
    if mode == "dfa":
        return DirectFeedbackLinear(
            old.in_features, old.out_features, bias, n_outputs=n_outputs, hub=hub, is_output=is_last, **kw
        )
    return FeedbackLinear(old.in_features, old.out_features, bias, mode=mode, **kw)


def _set_submodule(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new)
