"""Tasks: a target f(t), a plant h(z) to the space where the error is measured, and optional movement costs.

The error of step t is e = ‖h(z) − f(t)‖² + Σ_k c_k |ż_k| where ż is a high-passed motor output (movement cost).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache

import torch

BUTTERFLY_DIVISOR = 14.4734  # the authors' "max r" (true max 14.517); kept exactly as in their scripts


def butterfly(steps: torch.Tensor, period: int) -> torch.Tensor:
    """Butterfly curve (C, 2) at integer ``steps``, φ = linspace(0, 2π, period)[t mod period].

    ρ(φ) = 9 − sin φ + 2 sin 3φ + 2 sin 5φ − sin 7φ + 3 cos 2φ − 2 cos 4φ, f = (ρ cos φ, ρ sin φ)/14.4734.
    """
    phi = (steps % period).to(torch.float64) * (2 * math.pi / (period - 1))
    rho = (
        9
        - torch.sin(phi)
        + 2 * torch.sin(3 * phi)
        + 2 * torch.sin(5 * phi)
        - torch.sin(7 * phi)
        + 3 * torch.cos(2 * phi)
        - 2 * torch.cos(4 * phi)
    )
    return torch.stack([rho * torch.cos(phi), rho * torch.sin(phi)], 1) / BUTTERFLY_DIVISOR


def sum_of_sines(steps: torch.Tensor, step_time: float, nu: float = 1 / 60) -> torch.Tensor:
    """Sussillo & Abbott's target (C, 1), t = step·dt.

    f(t) = (1.3/1.5)[sin πνt + ½ sin 2πνt + ⅙ sin 3πνt + ⅓ sin 4πνt].
    """
    t = steps.to(torch.float64) * step_time
    w = math.pi * nu * t
    f = torch.sin(w) + torch.sin(2 * w) / 2 + torch.sin(3 * w) / 6 + torch.sin(4 * w) / 3
    return (1.3 / 1.5 * f).unsqueeze(1)


@dataclass(frozen=True)
class PlanarArm:
    """N-segment planar arm; z_k are joint angles in units of π.

    Absolute angle φ_k = π Σ_{j≤k} z_j, hand h(z) = base + (Σ L_k sin φ_k, Σ L_k cos φ_k).
    """

    lengths: tuple[float, ...] = (1.8, 1.8)
    base: tuple[float, float] = (0.0, -2.0)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        """Hand position (..., 2) for joint angles z (..., n_segments)."""
        d = len(self.lengths)
        if z.shape[-1] != d:
            raise ValueError(f"arm has {d} segments but z has {z.shape[-1]} joint angles")
        cumulative, quarter, lengths, base = _arm_constants(self.lengths, self.base, z.dtype, z.device)
        # rows φ and φ + π/2: one sine gives (Σ L sin φ, Σ L cos φ)
        angles = (z @ cumulative).unsqueeze(-2) + quarter
        return torch.sin(angles) @ lengths + base


@dataclass(frozen=True)
class Task:
    """A motor task: a target, an optional plant and optional movement costs.

    ``target_fn(steps) -> (C, m)``; ``plant`` h maps outputs (B, d) to (B, m) (None: identity);
    ``costs`` c_k (length d or empty) weight the movement cost Σ c_k |ż_k|; ``period`` is the trial length in steps.
    """

    name: str
    n_out: int
    period: int
    target_fn: Callable[[torch.Tensor], torch.Tensor]
    plant: Callable[[torch.Tensor], torch.Tensor] | None = None
    costs: tuple[float, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.costs and len(self.costs) != self.n_out:
            raise ValueError(f"need one cost per output ({self.n_out}), got {len(self.costs)}")
        if self.period < 2:
            raise ValueError(f"period must be >= 2 steps, got {self.period}")

    def target(self, start: int, count: int, *, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """f(t) for t = start, …, start + count − 1, shape (count, m)."""
        return self.target_fn(torch.arange(start, start + count)).to(device, dtype)

    def clock(self, start: int, count: int, *, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """The phase cue u(t) = (cos 2πt/T, sin 2πt/T), shape (count, 2)."""
        angle = torch.arange(start, start + count, dtype=torch.float64) * (2 * math.pi / self.period)
        return torch.stack([torch.cos(angle), torch.sin(angle)], 1).to(device, dtype)

    def hand(self, z: torch.Tensor) -> torch.Tensor:
        """h(z)."""
        return z if self.plant is None else self.plant(z)

    def distance2(self, z: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """‖h(z) − f‖² per batch element (B,)."""
        return (self.hand(z) - target).square().sum(-1)

    def cost(self, motion: torch.Tensor) -> torch.Tensor:
        """Movement cost Σ_k c_k |ż_k| (B,) of the high-passed output ``motion`` ż (B, d); 0 without costs."""
        if not self.costs:
            return torch.zeros(motion.shape[0], dtype=motion.dtype, device=motion.device)
        return (motion.abs() * _constant(self.costs, motion.dtype, motion.device)).sum(-1)

    def error(self, z: torch.Tensor, target: torch.Tensor, motion: torch.Tensor | None = None) -> torch.Tensor:
        """e = ‖h(z) − f‖² + Σ_k c_k |ż_k| (B,); ``motion`` ż is the high-passed output the cost applies to."""
        e = self.distance2(z, target)
        return e if motion is None or not self.costs else e + self.cost(motion)


@cache
def _constant(values: tuple[float, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return torch.tensor(values, dtype=dtype, device=device)


@cache
def _arm_constants(
    lengths: tuple[float, ...], base: tuple[float, float], dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """π·(upper-triangular ones) so z @ it = φ, the offsets (0, π/2), the lengths L and the base."""
    d = len(lengths)
    cumulative = math.pi * torch.ones(d, d, dtype=torch.float64).triu()
    quarter = torch.tensor([[0.0], [math.pi / 2]], dtype=torch.float64)
    to = {"dtype": dtype, "device": device}
    return cumulative.to(**to), quarter.to(**to), _constant(lengths, dtype, device), _constant(base, dtype, device)


def butterfly_task(period: int = 50_000) -> Task:
    """Pyle & Rosenbaum Task 1: draw the butterfly directly (d = 2, h = identity), one loop per ``period`` steps."""
    return Task("butterfly", 2, period, lambda steps: butterfly(steps, period))


def arm_task(
    lengths: Sequence[float] = (1.8, 1.8),
    costs: Sequence[float] = (),
    *,
    period: int = 50_000,
    base: tuple[float, float] = (0.0, -2.0),
) -> Task:
    """Pyle & Rosenbaum Tasks 2–3: joint angles of a planar arm whose hand must draw the butterfly."""
    name = f"{len(lengths)}-joint arm" + (" with movement costs" if any(costs) else "")
    arm = PlanarArm(tuple(lengths), base)
    return Task(name, len(lengths), period, lambda steps: butterfly(steps, period), arm, tuple(costs))


def sum_of_sines_task(step_time: float = 0.1) -> Task:
    """Sussillo & Abbott (2009) sum of four sines (d = 1); ``step_time`` = dt/τ; base period 120 τ."""
    return Task("sum of sines", 1, round(120 / step_time), lambda steps: sum_of_sines(steps, step_time))
