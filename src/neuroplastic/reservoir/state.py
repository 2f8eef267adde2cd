"""Readout state as data: a dataclass of per-seed tensors (seeds first), counters and nested states."""

from __future__ import annotations

import copy
from dataclasses import fields
from typing import Any, Self

import torch


class BatchedState:
    """Mixin for a readout's state dataclass, which the caller holds and the readout's functions update.

    Each field is a tensor whose first dimension is the seed, an ``int`` counter, or a nested state (anything with
    ``state_dict``, ``load_state_dict`` and ``keep_rows_``, e.g. a noise stream).
    """

    def state_dict(self) -> dict[str, Any]:
        """Every field as tensors and plain data (copies), for a checkpoint."""
        return {f.name: _saved(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a :meth:`state_dict` of a state of the same seeds."""
        for f in fields(self):  # type: ignore[arg-type]
            current, saved = getattr(self, f.name), state[f.name]
            if isinstance(current, torch.Tensor):
                setattr(self, f.name, saved.to(device=current.device, dtype=current.dtype).clone())
            elif isinstance(current, int):
                setattr(self, f.name, int(saved))
            else:
                current.load_state_dict(saved)

    def keep_rows_(self, rows: torch.Tensor) -> None:
        """Keep only the seeds at batch positions ``rows`` (increasing), e.g. to drop a seed that diverged."""
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, torch.Tensor):
                setattr(self, f.name, value[rows.to(value.device)])
            elif not isinstance(value, int):
                value.keep_rows_(rows)

    def clone(self) -> Self:
        """An independent copy (tensors, counters and noise generators alike)."""
        return copy.deepcopy(self)


def _saved(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.clone()
    return value if isinstance(value, int) else value.state_dict()
