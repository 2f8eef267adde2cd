"""Device selection with clear errors."""

from __future__ import annotations

import torch


def resolve_device(name: str) -> torch.device:
    """Return ``torch.device(name)`` after checking that the device exists on this machine."""
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available here; use --device cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {name!r} requested but MPS is not available here; use --device cpu")
    return device
