"""The feedforward pass v̂_l = f_l(v̂ of its inputs) with one autograd graph per layer (inputs detached)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from neuroplastic.core.divergence import DivergenceError
from neuroplastic.pc.layers import PCLayers

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class Feedforward:
    """Detached feedforward values and each layer's output with its own graph.

    ``beliefs[j]`` is v̂_j as a detached leaf (``beliefs[0]`` = x; requiring grad when graphs are recorded),
    ``outputs[l-1]`` is f_l applied to the leaves of its inputs. ``pullback(l, e)`` is the vector–Jacobian
    product J_l(v̂)ᵀ e through layer l's recorded graph, one term per belief it reads, so the Jacobians at v̂ are
    reused by every inference step without recomputing the forward pass.
    """

    layers: PCLayers
    beliefs: list[torch.Tensor]
    outputs: list[torch.Tensor]
    loss: torch.Tensor
    dloss_dyhat: torch.Tensor

    def pullback(self, l: int, e: torch.Tensor) -> dict[int, torch.Tensor]:
        """{j: [J_l(v̂)ᵀ e]_j} for every belief j ≥ 1 that layer l reads."""
        read = [j for j in self.layers.inputs[l] if j > 0]
        if not read:
            return {}
        grads = torch.autograd.grad(self.outputs[l - 1], [self.beliefs[j] for j in read], e, retain_graph=True)
        return dict(zip(read, grads, strict=True))

    def vhat(self) -> list[torch.Tensor]:
        """[x, v̂_1, ..., v̂_L], detached."""
        return [self.beliefs[0].detach(), *(out.detach() for out in self.outputs)]


def feedforward(layers: PCLayers, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor, *, graph: bool) -> Feedforward:
    """Run the network once; record per-layer graphs if ``graph``; return ℒ(ŷ, y) and ∂ℒ/∂ŷ."""
    beliefs, outputs = [x.detach()], []
    for l in range(1, layers.depth + 1):
        with torch.set_grad_enabled(graph):
            out = layers(l, *(beliefs[j] for j in layers.inputs[l]))
        outputs.append(out)
        if l < layers.depth:
            beliefs.append(out.detach().requires_grad_(graph and bool(layers.consumers[l])))
    yhat = outputs[-1].detach().requires_grad_(True)
    with torch.enable_grad():
        loss = loss_fn(yhat, y)
        check_scalar_loss(loss)
        (dloss_dyhat,) = torch.autograd.grad(loss, yhat)
    return Feedforward(layers, beliefs, outputs, loss.detach(), dloss_dyhat)


def check_scalar_loss(loss: object) -> None:
    """The loss function must return a scalar tensor."""
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(
            f"loss_fn(output, target) must return a scalar tensor, got {shape}; use a mean or sum reduction"
        )


def check_finite_pass(layers: PCLayers, ff: Feedforward) -> None:
    """Raise :class:`DivergenceError` naming the first non-finite quantity of x, θ, v̂_1..v̂_L, ℒ, ∂ℒ/∂ŷ.

    A non-finite input, parameter or feedforward pass makes the PC update NaN whatever the mode, η or n, so it is
    refused before inference and blamed on what is actually non-finite. A finite pass costs one host sync.
    """
    x = ff.beliefs[0]
    params = [p for f in layers.functions for p in f.parameters()]
    if all_finite([x, *params, *ff.outputs, ff.loss, ff.dloss_dyhat]):
        return
    if not bool(torch.isfinite(x).all()):
        raise DivergenceError(
            f"the input x holds {_count(x)} non-finite (NaN or inf) entries; predictive coding needs a finite "
            "input batch"
        )
    for l, function in enumerate(layers.functions, start=1):
        for name, p in function.named_parameters():
            if not bool(torch.isfinite(p).all()):
                raise DivergenceError(
                    f"parameter {name!r} of layer {l} holds {_count(p)} NaN or inf entries; the model's "
                    "parameters must be finite"
                )
    for l, out in enumerate(ff.outputs, start=1):
        if not bool(torch.isfinite(out).all()):
            raise DivergenceError(
                f"the feedforward pass is non-finite at layer {l}: v̂_{l} holds {_count(out)} NaN or inf entries "
                f"although x and the parameters are finite (an overflow in layer {l}; the PC "
                "settings are not the cause)"
            )
    if not bool(torch.isfinite(ff.loss)):
        raise DivergenceError(
            f"the loss ℒ(ŷ, y) is {ff.loss.item()} at the feedforward pass although the output ŷ is finite; "
            "check the target y and loss_fn"
        )
    if not bool(torch.isfinite(ff.dloss_dyhat).all()):
        raise DivergenceError(
            f"∂ℒ/∂ŷ holds {_count(ff.dloss_dyhat)} non-finite entries although ℒ and ŷ are finite; check loss_fn"
        )


def all_finite(tensors: list[torch.Tensor]) -> bool:
    """Whether every entry of every tensor is finite, decided with one host sync when they share a device."""
    if len({t.device for t in tensors}) > 1:
        return all(bool(torch.isfinite(t).all()) for t in tensors)
    return bool(torch.stack([torch.isfinite(t).all() for t in tensors]).all()) if tensors else True


def _count(t: torch.Tensor) -> int:
    return int((~torch.isfinite(t)).sum())
