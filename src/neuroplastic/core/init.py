"""Xavier (Glorot) initialisation, the one draw behind every W and fixed feedback B."""

from __future__ import annotations

import math

import torch


def xavier_uniform(
    rows: int,
    cols: int,
    *,
    gain: float = 1.0,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """A rows × cols matrix with entries U(−a, a), a = gain·√(6/(rows + cols)).

    The draw is ``uniform_`` on the CPU (then moved to ``device``), so a seeded ``generator`` gives the same
    matrix on every device.
    """
    bound = gain * math.sqrt(6.0 / (rows + cols))
    return torch.empty(rows, cols, dtype=dtype).uniform_(-bound, bound, generator=generator).to(device)
