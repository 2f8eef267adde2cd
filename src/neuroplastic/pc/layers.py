"""An ``nn.Sequential`` seen as predictive-coding layers f_1..f_L, with state hygiene for repeated calls.

Each child of the Sequential is one PC layer (a nested Sequential groups several ops into one layer).
Inference calls every layer many times; these calls must behave like the single feedforward call:
BatchNorm running statistics must not move (`frozen_buffers`) and dropout must reuse the feedforward pass's
mask (`PCLayers.__call__` replays each stochastic layer's random state).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

_STOCHASTIC = (nn.modules.dropout._DropoutNd, nn.AlphaDropout, nn.FeatureAlphaDropout)


def _first_leaf(module: nn.Module) -> nn.Module:
    children = list(module.children())
    return _first_leaf(children[0]) if children else module


class PCLayers:
    """The PC layers of ``model``: ``layers(l, u)`` computes f_l(u) for l = 1..L."""

    def __init__(self, model: nn.Module):
        if not isinstance(model, nn.Sequential):
            raise TypeError(
                f"predictive coding needs an nn.Sequential whose children are the PC layers; got "
                f"{type(model).__name__}. Wrap the layers in nn.Sequential (group several ops into one PC layer "
                "with a nested nn.Sequential)."
            )
        if len(model) == 0:
            raise ValueError("the model has no layers")
        self.model = model
        self.children: list[nn.Module] = list(model.children())
        for index, child in enumerate(self.children, start=1):
            if getattr(_first_leaf(child), "inplace", False):
                raise ValueError(
                    f"PC layer {index} ({type(child).__name__}) starts with an in-place operation, which would "
                    "overwrite the previous layer's activations; use inplace=False for it"
                )
        self.stochastic = [any(isinstance(m, _STOCHASTIC) for m in c.modules()) for c in self.children]
        self._rng_states: dict[int, tuple[torch.Tensor, list[torch.Tensor]]] = {}

    @property
    def depth(self) -> int:
        """L, the number of PC layers."""
        return len(self.children)

    def parameters(self, l: int) -> list[nn.Parameter]:
        """The trainable parameters θ_l of layer ``l`` (1-based)."""
        return [p for p in self.children[l - 1].parameters() if p.requires_grad]

    def __call__(self, l: int, u: torch.Tensor) -> torch.Tensor:
        """f_l(u); a stochastic layer draws the same random numbers as in its first (feedforward) call."""
        layer = self.children[l - 1]
        if not self.stochastic[l - 1]:
            return layer(u)
        devices = [u.device] if u.device.type == "cuda" else []
        if l not in self._rng_states:
            cuda_states = [torch.cuda.get_rng_state(d) for d in devices]
            self._rng_states[l] = (torch.get_rng_state(), cuda_states)
            return layer(u)
        cpu_state, cuda_states = self._rng_states[l]
        with torch.random.fork_rng(devices=devices):
            torch.set_rng_state(cpu_state)
            for device, state in zip(devices, cuda_states, strict=True):
                torch.cuda.set_rng_state(state, device)
            return layer(u)


@contextmanager
def frozen_buffers(model: nn.Module) -> Iterator[None]:
    """Restore every buffer (BatchNorm running statistics and counters) to its value on entry when leaving."""
    saved = [(buffer, buffer.detach().clone()) for buffer in model.buffers()]
    try:
        yield
    finally:
        with torch.no_grad():
            for buffer, value in saved:
                buffer.copy_(value)
