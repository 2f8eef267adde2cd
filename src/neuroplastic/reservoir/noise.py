"""Per-seed uniform noise streams, drawn a chunk at a time so batched runs equal a loop over seeds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from neuroplastic.core.seeding import make_generator

CHUNK = 250


class NoiseStream:
    """U[−1, 1] samples of shape ``(B, *shape)`` per call to :meth:`next`; element ``b`` uses only ``seeds[b]``.

    Each seed has its own generator ``make_generator(seed, stream)``; samples are drawn ``CHUNK`` steps at a time,
    so the values seen at step t never depend on the batch they were computed in.
    """

    def __init__(
        self, seeds: Sequence[int], stream: int, shape: tuple[int, ...], *, dtype: torch.dtype, device: torch.device
    ):
        self.generators = [make_generator(seed, stream) for seed in seeds]
        self.shape, self.dtype, self.device = shape, dtype, device
        self.buffer = torch.empty(0)
        self.position = CHUNK

    def next(self) -> torch.Tensor:
        """The next step's samples, shape ``(B, *shape)`` (a view into the current chunk)."""
        if self.position == CHUNK:
            draws = [torch.rand((CHUNK, *self.shape), generator=g, dtype=torch.float64) for g in self.generators]
            self.buffer = (2 * torch.stack(draws, 1) - 1).to(self.device, self.dtype)
            self.position = 0
        self.position += 1
        return self.buffer[self.position - 1]

    def keep_rows_(self, rows: torch.Tensor) -> None:
        """Keep only the streams at batch positions ``rows``; each goes on where it was."""
        self.generators = [self.generators[i] for i in rows.tolist()]
        if self.buffer.dim() > 1:
            self.buffer = self.buffer[:, rows.to(self.buffer.device)]

    def state_dict(self) -> dict[str, Any]:
        """Where the streams are: each generator's state, the current chunk and the position in it."""
        return {
            "generators": [g.get_state() for g in self.generators],
            "buffer": self.buffer.clone(),
            "position": self.position,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a :meth:`state_dict` of streams with the same seeds."""
        if len(state["generators"]) != len(self.generators):
            raise ValueError(f"the state holds {len(state['generators'])} streams, this one {len(self.generators)}")
        for generator, saved in zip(self.generators, state["generators"], strict=True):
            generator.set_state(saved)
        self.buffer = state["buffer"].to(self.device)
        self.position = int(state["position"])
