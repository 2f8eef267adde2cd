"""A model seen as predictive-coding layers f_1..f_L on a graph, with state hygiene for repeated calls.

Layer l computes its prediction f_l from the beliefs of its inputs (index 0 is the input x); layer L is the
output ŷ. In an ``nn.Sequential`` every child is one PC layer reading the one before it (a nested Sequential
groups several ops into one layer); any other model is traced (:func:`neuroplastic.pc.graph.trace_layers`).
Inference calls every layer many times; these calls must behave like the single feedforward call: BatchNorm
running statistics must not move (`frozen_buffers`) and dropout must reuse the feedforward pass's mask
(`PCLayers.__call__` replays each stochastic layer's random state).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

STOCHASTIC_MODULES = (nn.modules.dropout._DropoutNd, nn.AlphaDropout, nn.FeatureAlphaDropout)


def _first_leaf(module: nn.Module) -> nn.Module:
    children = list(module.children())
    return _first_leaf(children[0]) if children else module


class PCLayers:
    """The PC layers of ``model``: ``layers(l, *u)`` computes f_l from the beliefs u of ``layers.inputs[l]``.

    ``functions[l-1]`` is layer l's module, ``inputs[l]`` the indices of the beliefs it reads (0 = x, in
    increasing order), ``names[l]`` its name (``names[0]`` is ``"input"``). Every layer reads only layers
    below it, so 1..L is a topological order.
    """

    def __init__(
        self,
        model: nn.Module,
        functions: Sequence[nn.Module],
        inputs: Sequence[tuple[int, ...]],
        names: Sequence[str],
        *,
        stochastic: Sequence[bool] | None = None,
    ):
        if not functions:
            raise ValueError("the model has no layers")
        self.model = model
        self.functions = list(functions)
        self.inputs: list[tuple[int, ...]] = [(), *inputs]
        self.names = ["input", *names]
        self.stochastic = (
            list(stochastic)
            if stochastic is not None
            else [any(isinstance(m, STOCHASTIC_MODULES) for m in f.modules()) for f in self.functions]
        )
        self.consumers: list[tuple[int, ...]] = [
            tuple(c for c in range(1, self.depth + 1) if l in self.inputs[c]) for l in range(self.depth + 1)
        ]
        self._rng_states: dict[int, tuple[torch.Tensor, list[torch.Tensor]]] = {}

    @classmethod
    def sequential(cls, model: nn.Sequential) -> PCLayers:
        """Every child of ``model`` is one PC layer reading the previous one."""
        if len(model) == 0:
            raise ValueError("the model has no layers")
        children = list(model.children())
        for index, child in enumerate(children, start=1):
            if getattr(_first_leaf(child), "inplace", False):
                raise ValueError(
                    f"PC layer {index} ({type(child).__name__}) starts with an in-place operation, which would "
                    "overwrite the previous layer's activations; use inplace=False for it"
                )
        names = [name for name, _ in model.named_children()]
        return cls(model, children, [(l - 1,) for l in range(1, len(children) + 1)], names)

    @property
    def depth(self) -> int:
        """L, the number of PC layers (the last one is the output)."""
        return len(self.functions)

    @property
    def longest_chain(self) -> int:
        """The most PC layers on one path from the input to the output (L for a Sequential)."""
        chain = [0] * (self.depth + 1)
        for l in range(1, self.depth + 1):
            chain[l] = 1 + max(chain[j] for j in self.inputs[l])
        return chain[self.depth]

    @property
    def reads_only_input(self) -> list[bool]:
        """Per index 0..L: whether the layer reads nothing but x (its prediction is fixed during inference)."""
        return [False] + [all(j == 0 for j in self.inputs[l]) for l in range(1, self.depth + 1)]

    def parameters(self, l: int) -> list[nn.Parameter]:
        """The trainable parameters θ_l of layer ``l`` (1-based)."""
        return [p for p in self.functions[l - 1].parameters() if p.requires_grad]

    def values(self, x: torch.Tensor) -> list[torch.Tensor]:
        """[x, f_1, ..., f_L] of one ordinary forward pass (one connected graph when grad is enabled)."""
        values = [x]
        for l in range(1, self.depth + 1):
            values.append(self(l, *(values[j] for j in self.inputs[l])))
        return values

    def __call__(self, l: int, *u: torch.Tensor) -> torch.Tensor:
        """f_l(u); a stochastic layer draws the same random numbers as in its first (feedforward) call."""
        layer = self.functions[l - 1]
        if not self.stochastic[l - 1]:
            return layer(*u)
        devices = [u[0].device] if u[0].device.type == "cuda" else []
        if l not in self._rng_states:
            cuda_states = [torch.cuda.get_rng_state(d) for d in devices]
            self._rng_states[l] = (torch.get_rng_state(), cuda_states)
            return layer(*u)
        cpu_state, cuda_states = self._rng_states[l]
        with torch.random.fork_rng(devices=devices):
            torch.set_rng_state(cpu_state)
            for device, state in zip(devices, cuda_states, strict=True):
                torch.cuda.set_rng_state(state, device)
            return layer(*u)


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
