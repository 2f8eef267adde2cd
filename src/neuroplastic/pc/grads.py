"""Parameter updates from prediction errors, writing ``.grad``, and the per-layer comparison with backprop."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from neuroplastic.core.metrics import angle_degrees
from neuroplastic.pc.feedforward import Feedforward, LossFn
from neuroplastic.pc.layers import PCLayers
from neuroplastic.pc.result import LayerComparison


def all_parameters(layers: PCLayers) -> list[list[torch.nn.Parameter]]:
    """θ_l for every layer, index 0 = layer 1; a parameter shared by several layers is listed under the first."""
    seen: set[int] = set()
    groups = []
    for l in range(1, layers.depth + 1):
        group = [p for p in layers.parameters(l) if id(p) not in seen]
        seen.update(id(p) for p in group)
        groups.append(group)
    return groups


def grads_from_errors(ff: Feedforward, params: list[list[torch.nn.Parameter]], eps: Sequence[torch.Tensor | None]):
    """dθ = Σ_l (∂f_l(v̂)/∂θ)ᵀ ε_l for every parameter, in one backward through the per-layer graphs.

    ``eps`` is indexed 0..L (entry 0 unused; ``None`` = an exactly zero error). Returns one list of gradients per
    layer of ``params``: zero for the parameters of a layer whose error is zero, ``None`` for a parameter that no
    output with an error depends on.
    """
    live = [l for l in range(1, len(eps)) if eps[l] is not None and ff.outputs[l - 1].requires_grad]
    flat = [p for group in params for p in group]
    found = (
        torch.autograd.grad([ff.outputs[l - 1] for l in live], flat, [eps[l] for l in live], allow_unused=True)
        if flat and live
        else [None] * len(flat)
    )
    return [
        [g if g is not None or eps[l] is not None else torch.zeros_like(p) for p, g in zip(group, got, strict=True)]
        for l, (group, got) in enumerate(zip(params, regroup(found, params), strict=True), start=1)
    ]


def regroup(flat: Sequence[torch.Tensor | None], params: list[list[torch.nn.Parameter]]):
    """Split a flat list of per-parameter tensors back into one list per layer."""
    grouped, start = [], 0
    for group in params:
        grouped.append(list(flat[start : start + len(group)]))
        start += len(group)
    return grouped


def write_grads(params: list[list[torch.nn.Parameter]], grads, *, accumulate: bool, scale: float = 1.0) -> None:
    """Set ``p.grad = scale · g`` (or add it when ``accumulate``); parameters without an update are left alone."""
    for group, group_grads in zip(params, grads, strict=True):
        for p, g in zip(group, group_grads, strict=True):
            if g is None:
                continue
            g = g.detach() if scale == 1.0 else g.detach() * scale
            if accumulate and p.grad is not None:
                p.grad.add_(g)
            else:
                p.grad = g


def backprop_grads(layers: PCLayers, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor, params):
    """The true gradient ∇_θℒ, from an ordinary forward and backward pass of the same layers."""
    flat = [p for group in params for p in group]
    with torch.enable_grad():
        grads = torch.autograd.grad(loss_fn(layers.values(x)[-1], y), flat, allow_unused=True)
    return regroup(grads, params)


def compare(pc_grads, bp_grads) -> list[LayerComparison | None]:
    """Per-layer cosine, norm ratio ‖dθ‖/‖∇‖, relative error ‖dθ − ∇‖/‖∇‖ and angle (index 0 unused)."""
    rows: list[LayerComparison | None] = [None]
    for ours, true in zip(pc_grads, bp_grads, strict=True):
        pairs = [(a, b) for a, b in zip(ours, true, strict=True) if b is not None]
        if not pairs:
            rows.append(None)
            continue
        b = torch.cat([t.reshape(-1) for _, t in pairs])
        a = torch.cat([(o if o is not None else torch.zeros_like(t)).reshape(-1) for o, t in pairs])
        norm_a, norm_b = a.norm().item(), b.norm().item()
        cosine = (a @ b).item() / (norm_a * norm_b) if norm_a > 0 and norm_b > 0 else 0.0
        rows.append(
            LayerComparison(
                cosine=cosine,
                norm_ratio=norm_a / norm_b if norm_b > 0 else math.inf,
                relative_error=(a - b).norm().item() / norm_b if norm_b > 0 else math.inf,
                angle_degrees=angle_degrees(a, b),
            )
        )
    return rows
