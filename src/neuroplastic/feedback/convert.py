"""Convert a model's Linear and Conv2d layers to a feedback pathway, reporting every layer with parameters."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from neuroplastic.feedback.conv import FeedbackConv2d
from neuroplastic.feedback.dfa import DirectFeedbackLinear, OutputErrorHub
from neuroplastic.feedback.init import FeedbackMode, check_independent, check_mode
from neuroplastic.feedback.linear import FeedbackLinear

# layers whose backward carries no weight matrix's transpose (elementwise affine maps, or no input gradient)
_NO_WEIGHT_TRANSPORT = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.SyncBatchNorm,
    nn.InstanceNorm1d,
    nn.InstanceNorm2d,
    nn.InstanceNorm3d,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.RMSNorm,
    nn.PReLU,
    nn.Embedding,
    nn.EmbeddingBag,
)
_FEEDBACK_LAYERS = (FeedbackLinear, FeedbackConv2d, DirectFeedbackLinear)
_SUPPORTED = (
    "exact nn.Linear and nn.Conv2d (zero padding given as numbers) with parameters weight and bias and no forward "
    "hooks (DFA: nn.Linear only)"
)


@dataclass(frozen=True)
class ConvertedLayer:
    """One layer with parameters: its qualified name, original and new class names, and feedback mode.

    ``replaced`` is False for a layer left as it was: an earlier conversion's feedback layer (its own mode), or,
    with ``leave_unsupported=True``, a layer kept on backprop (mode ``"bp"``, ``converted == original``).
    """

    name: str
    original: str
    converted: str
    mode: str
    replaced: bool = True


def convert(
    model: nn.Module,
    mode: FeedbackMode = "fa",
    *,
    generator: torch.Generator | None = None,
    gain: float = 1.0,
    copy_weights: bool = True,
    inplace: bool = False,
    leave_unsupported: bool = False,
) -> tuple[nn.Module, list[ConvertedLayer]]:
    """Replace every nn.Linear / nn.Conv2d (recursively) by its feedback version; return (model, report).

    ``mode``: bp, fa (fixed random B, Xavier × ``gain``), sign (B = sign(W)ᵀ ⊙ |B|) or dfa (Linear only; the
    last Linear in registration order is the output layer). Weights and biases are copied unless ``copy_weights``
    is False (then freshly initialised); ``requires_grad`` and train/eval mode are kept. The input model is
    untouched unless ``inplace``.

    Any other layer with parameters whose backward would still use its weights' transpose (Conv1d, Bilinear, a
    subclass of nn.Linear, a custom module, ...) is refused with a ValueError naming it, unless
    ``leave_unsupported`` keeps it on backprop (mode bp keeps every layer on backprop anyway). The report lists
    every module that owns parameters, in registration order; normalisation layers, PReLU and embeddings (no
    weight transport) and layers kept on backprop appear with ``replaced=False``.
    """
    check_mode(mode)
    if not isinstance(model, nn.Module):
        raise TypeError(f"convert expects an nn.Module, got {type(model).__name__}")
    layers = [(n, m) for n, m in model.named_modules() if next(m.parameters(recurse=False), None) is not None]
    reasons = {n: _unsupported_reason(m) for n, m in layers}
    targets = [n for n, _ in layers if reasons[n] is None]
    if mode == "dfa" and any(isinstance(model.get_submodule(n), nn.Conv2d) for n in targets):
        raise ValueError("DFA conversion supports Linear layers only; use fa or sign for convolutions")
    refused = [
        f"{n or '<root>'!r} ({type(m).__name__}: {reasons[n]})"
        for n, m in layers
        if reasons[n] is not None and type(m) not in _NO_WEIGHT_TRANSPORT and not isinstance(m, _FEEDBACK_LAYERS)
    ]
    if refused and not leave_unsupported and mode != "bp":
        raise ValueError(
            f"convert cannot give {len(refused)} layer(s) a feedback pathway: {'; '.join(refused)}. Their backward "
            f"would still use their own weights (backprop). Supported: {_SUPPORTED}; normalisation layers, PReLU "
            "and embeddings are kept as they are. Pass leave_unsupported=True to keep these layers on backprop "
            "(the report then lists them with replaced=False)."
        )
    if not targets:
        raise ValueError(f"the model has no nn.Linear or nn.Conv2d layer to convert (supported: {_SUPPORTED})")
    model = model if inplace else copy.deepcopy(model)
    aliases: dict[int, list[str]] = {}
    for n, m in model.named_modules(remove_duplicate=False):
        aliases.setdefault(id(m), []).append(n)
    hub = OutputErrorHub()
    n_outputs = model.get_submodule(targets[-1]).out_features if mode == "dfa" else 0
    report = []
    for name, _ in layers:
        old = model.get_submodule(name)
        if reasons[name] is not None:
            kept = old.mode if isinstance(old, _FEEDBACK_LAYERS) else "bp"
            report.append(ConvertedLayer(name, type(old).__name__, type(old).__name__, kept, replaced=False))
            continue
        new = _replacement(old, mode, generator, gain, hub, n_outputs, name == targets[-1])
        new.train(old.training)
        with torch.no_grad():
            for key, p in old.named_parameters(recurse=False):
                if copy_weights:
                    getattr(new, key).copy_(p)
                getattr(new, key).requires_grad_(p.requires_grad)
        if mode != "bp" and isinstance(getattr(new, "feedback", None), torch.Tensor):
            check_independent(new.weight, new.feedback, f"convert, layer {name!r}")
        for alias in aliases[id(old)]:
            if alias:
                _set_submodule(model, alias, new)
            else:
                model = new
        report.append(ConvertedLayer(name, type(old).__name__, type(new).__name__, mode))
    return model, report


def _unsupported_reason(module: nn.Module) -> str | None:
    """Why ``module`` cannot be converted (``None``: it can)."""
    if type(module) not in (nn.Linear, nn.Conv2d):
        for base in (nn.Linear, nn.Conv2d):
            if isinstance(module, base):
                return f"a subclass of nn.{base.__name__}, whose forward may differ from it"
        return "no feedback version of this type"
    names = sorted(n for n, _ in module.named_parameters(recurse=False))
    if "weight" not in names or set(names) - {"weight", "bias"}:
        return f"reparameterised, with parameters {', '.join(names)}"
    if module._forward_hooks or module._forward_pre_hooks:
        return "forward hooks, which the replacement would drop"
    if isinstance(module, nn.Conv2d) and (module.padding_mode != "zeros" or isinstance(module.padding, str)):
        return f"padding={module.padding!r}, padding_mode={module.padding_mode!r}; only numeric zero padding"
    return None


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
