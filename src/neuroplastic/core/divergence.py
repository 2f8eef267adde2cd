"""Stop a diverging run loudly: NaN or inf never passes silently."""

from __future__ import annotations

import math

import torch


class DivergenceError(RuntimeError):
    """A quantity became NaN or infinite; the message says which, at which step, and likely why."""


def check_finite(value: float | torch.Tensor, *, step: int, what: str, hint: str = "") -> None:
    """Raise :class:`DivergenceError` if ``value`` (a number or any tensor) holds NaN or inf."""
    if isinstance(value, torch.Tensor):
        finite = bool(torch.isfinite(value).all())
        shown = value.item() if value.numel() == 1 else "non-finite entries"
    else:
        finite = math.isfinite(value)
        shown = value
    if not finite:
        advice = hint or "the learning rate is probably too large for this model and initialisation"
        raise DivergenceError(f"{what} became {shown} at step {step}; stopping the run ({advice})")
