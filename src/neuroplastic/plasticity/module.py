"""Module adapter: run a rule on an ``nn.Sequential`` MLP and write −ΔW into ``.grad`` (torch.optim contract).

The model alternates Linear-like layers (nn.Linear: backprop; ``FeedbackLinear``: bp/fa/sign;
``DirectFeedbackLinear``: dfa) and one kind of activation (Softplus, ReLU or Tanh), as ``core.mlp`` builds it.
After ``rule_backward``, ``torch.optim.SGD(lr=1)`` applies exactly W ← W + ΔW; with lr = η any optimiser applies
η·ΔW, so θ = {pseudo_grad: 1, oja: c} under SGD(lr=η) is backprop (or FA) plus η·c·Oja, and Adam gives the
"engineering tricks" ablation of the same rule.
"""

from __future__ import annotations

import torch
from torch import nn

from neuroplastic.core.activations import SOFTPLUS_BETA
from neuroplastic.plasticity.learner import Learner, PlasticState, PlasticUpdate
from neuroplastic.plasticity.rule import Rule


def learner_for(model: nn.Sequential, rule: Rule) -> tuple[Learner, PlasticState, list[nn.Linear]]:
    """The functional learner and state (sharing the model's tensors, detached) for ``model``."""
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"rule_backward expects an nn.Sequential MLP, got {type(model).__name__}")
    layers = [m for m in model if isinstance(m, nn.Linear)]
    acts = [m for m in model if not isinstance(m, nn.Linear)]
    if not layers or len(acts) != len(layers) - 1 or list(model) != _interleave(layers, acts):
        raise ValueError("the model must alternate Linear layers and activations, ending with a Linear layer")
    kinds = {_activation(a) for a in acts} or {("softplus", SOFTPLUS_BETA)}
    if len(kinds) > 1:
        raise ValueError(f"all hidden activations must be the same, got {sorted(kinds)}")
    ((activation, beta),) = kinds
    modes = {getattr(m, "mode", "bp") for m in layers}
    if len(modes) > 1:
        raise ValueError(f"all layers must share one feedback mode, got {sorted(modes)}")
    (mode,) = modes
    has_bias = {m.bias is not None for m in layers}
    if len(has_bias) > 1:
        raise ValueError("either every layer has a bias or none has")
    weights = tuple(m.weight.detach() for m in layers)
    feedbacks = None if mode == "bp" else tuple(m.feedback for m in layers)
    biases = tuple(m.bias.detach() for m in layers) if has_bias == {True} else None
    return Learner(rule, mode, activation, beta), PlasticState(weights, feedbacks, biases), layers


def rule_backward(model: nn.Sequential, x: torch.Tensor, target: torch.Tensor, rule: Rule) -> PlasticUpdate:
    """Write ``.grad = −ΔW_ℓ`` (and −Δb_ℓ) for every layer, the weights untouched; return the update (ΔW, signals)."""
    learner, state, layers = learner_for(model, rule)
    update = learner.update(state, x, target)
    for m, delta, bias_delta in zip(layers, update.deltas, update.bias_deltas, strict=True):
        m.weight.grad = -delta
        if m.bias is not None:
            m.bias.grad = -bias_delta
    return update


def _interleave(layers, acts):
    out = []
    for i, layer in enumerate(layers):
        out.append(layer)
        if i < len(acts):
            out.append(acts[i])
    return out


def _activation(module: nn.Module) -> tuple[str, float]:
    if isinstance(module, nn.Softplus):
        return "softplus", float(module.beta)
    if isinstance(module, nn.ReLU):
        return "relu", SOFTPLUS_BETA
    if isinstance(module, nn.Tanh):
        return "tanh", SOFTPLUS_BETA
    raise ValueError(f"unsupported activation {type(module).__name__}; use Softplus, ReLU or Tanh")
