"""Device selection with clear errors."""

from __future__ import annotations

import torch

DEVICE_TYPES = ("cpu", "cuda", "mps")


def parse_device(name: str) -> torch.device:
    """``torch.device(name)`` for a supported device type (cpu, cuda, cuda:N, mps), else a `ValueError`."""
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError, TypeError):
        device = None
    if device is None or device.type not in DEVICE_TYPES:
        raise ValueError(f"device {name!r} is not one of cpu, cuda, cuda:N, mps")
    return device


def resolve_device(name: str) -> torch.device:
    """Return `parse_device` ``(name)`` after checking that the device exists on this machine."""
    device = parse_device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available here; use --device cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {name!r} requested but MPS is not available here; use --device cpu")
    return device
