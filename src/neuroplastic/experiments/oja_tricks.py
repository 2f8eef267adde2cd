"""The "engineering tricks" Oja's rule is said to stand in for: mini-batches, Adam, LayerNorm and BatchNorm.

S networks (seeds) of the same MLP are trained as one stacked computation: weights S × n_ℓ × n_{ℓ−1}, a loss that
is the sum over networks of each network's mean cross-entropy, autograd for the gradients and a torch optimiser
(SGD or Adam, both elementwise, so every network is updated exactly as if trained alone). Hidden layers are
z = W y (no biases, as in the plasticity networks), then optionally LayerNorm over units or BatchNorm over the
mini-batch (affine γ, β per unit; BatchNorm evaluates with running statistics, momentum 0.1), then the activation.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch.nn import functional as F

from neuroplastic.core.activations import ActivationName, resolve_activation

Norm = Literal["none", "layer", "batch"]
EPS = 1e-5


@dataclass(frozen=True)
class Trick:
    """An optimiser at a batch size, with or without a normalisation layer after each hidden layer."""

    optimiser: Literal["sgd", "adam"]
    batch: Literal["one", "mini"]
    norm: Norm = "none"


TRICKS: dict[str, Trick] = {
    "sgd_batch": Trick("sgd", "mini"),
    "adam_b1": Trick("adam", "one"),
    "adam": Trick("adam", "mini"),
    "layernorm_b1": Trick("sgd", "one", "layer"),
    "batchnorm": Trick("sgd", "mini", "batch"),
}


class StackedNet:
    """S MLPs as stacked tensors: weights, per-unit γ, β and BatchNorm running statistics.

    The weights are held transposed (S × n_{ℓ−1} × n_ℓ, leaves with grad) so that y Wᵀ is a plain batched product
    and its gradient arrives contiguous; `weights` gives them in the usual S × n_ℓ × n_{ℓ−1} layout.
    """

    def __init__(self, weights: Sequence[torch.Tensor], norm: Norm, activation: ActivationName, beta: float):
        self.transposed = [w.detach().mT.contiguous().requires_grad_() for w in weights]
        self.norm, self.sigma = norm, resolve_activation(activation, beta=beta).function
        hidden = [w.shape[:-1] for w in weights[:-1]]  # S × n_ℓ
        like = weights[0]
        self.gains = [torch.ones(s, dtype=like.dtype, device=like.device).requires_grad_() for s in hidden]
        self.shifts = [torch.zeros(s, dtype=like.dtype, device=like.device).requires_grad_() for s in hidden]
        self.running = [
            (torch.zeros(s, dtype=like.dtype, device=like.device), torch.ones_like(g))
            for s, g in zip(hidden, self.gains, strict=True)
        ]

    @property
    def weights(self) -> list[torch.Tensor]:
        """W_ℓ, S × n_ℓ × n_{ℓ−1} (views of the trained tensors)."""
        return [w.mT for w in self.transposed]

    def parameters(self) -> list[torch.Tensor]:
        """What the optimiser updates (γ and β only with a normalisation layer)."""
        return self.transposed + (self.gains + self.shifts if self.norm != "none" else [])

    def __call__(self, x: torch.Tensor, *, training: bool) -> torch.Tensor:
        """Logits S × batch × n_L for inputs S × batch × n₀."""
        y = x
        for l, w in enumerate(self.transposed[:-1]):
            y = self.sigma(self._normalise(y @ w, l, training))
        return y @ self.transposed[-1]

    def _normalise(self, z: torch.Tensor, l: int, training: bool) -> torch.Tensor:
        if self.norm == "none":
            return z
        if self.norm == "layer":
            mean, var = z.mean(-1, keepdim=True), z.var(-1, unbiased=False, keepdim=True)
        elif training:
            mean, var = z.mean(-2, keepdim=True), z.var(-2, unbiased=False, keepdim=True)
            n = z.shape[-2]
            with torch.no_grad():
                running_mean, running_var = self.running[l]
                running_mean.lerp_(mean.squeeze(-2), 0.1)
                running_var.lerp_(var.squeeze(-2) * n / (n - 1), 0.1)
        else:
            mean, var = (r.unsqueeze(-2) for r in self.running[l])
        return (z - mean) / torch.sqrt(var + EPS) * self.gains[l].unsqueeze(-2) + self.shifts[l].unsqueeze(-2)


def train_trick(
    trick: Trick,
    weights: Sequence[torch.Tensor],
    *,
    lr: float,
    batch: int,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    orders: torch.Tensor,
    activation: ActivationName,
    beta: float,
    checks: Collection[int] = (),
    on_check: Callable[[int, StackedNet], None] | None = None,
) -> tuple[StackedNet, list[int | None]]:
    """One pass of S stacked networks over ``orders`` (S × steps sample indices), ``batch`` samples per step.

    After the step that reaches or passes each count of samples in ``checks`` (and after the last step),
    divergence is checked and ``on_check(samples_seen, net)`` runs (learning curves). Returns the trained net and,
    per network, the samples seen at the first check where its loss was non-finite (None if never). The optimisers
    are torch's fused CPU/GPU kernels (one pass over the parameters per step).
    """
    if trick.norm == "batch" and batch < 2:
        raise ValueError("BatchNorm needs a mini-batch of at least 2 samples")
    net = StackedNet(weights, trick.norm, activation, beta)
    params = net.parameters()
    optimiser_class = torch.optim.SGD if trick.optimiser == "sgd" else torch.optim.Adam
    optimiser = optimiser_class(params, lr=lr, fused=True)
    networks, steps = orders.shape
    diverged: list[int | None] = [None] * networks
    finite = torch.ones(networks, dtype=torch.bool, device=inputs.device)
    for start in range(0, steps, batch):
        idx = orders[:, start : start + batch]
        logits = net(inputs[idx], training=True)
        losses = F.cross_entropy(logits.flatten(0, 1), labels[idx].flatten(), reduction="none")
        losses = losses.view(networks, -1).mean(1)
        optimiser.zero_grad(set_to_none=True)
        losses.sum().backward()
        optimiser.step()
        finite &= torch.isfinite(losses.detach())
        seen = min(start + batch, steps)
        if seen == steps or any(start < c <= seen for c in checks):
            for i in (~finite).nonzero().flatten().tolist():
                diverged[i] = diverged[i] or seen
            if on_check is not None:
                on_check(seen, net)
    return net, diverged
