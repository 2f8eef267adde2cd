"""SUPERTREX (Pyle & Rosenbaum 2019): an exploratory RMHL pathway plus a mastery RLS pathway, z = z₁ + z₂.

z₂ = W₂ r + ξ learns by RMHL from the scalar error of the *total* output; z₁ = W₁ r learns by RLS to reproduce the
total output (error e₁ = z₁ − z = −z₂), gated on the filtered error: every k steps, with k = P r, c = 1/(1 + rᵀk)
and s = ½[1 − tanh(σ(|ē| − θ))], P ← P − s c k kᵀ and W₁ ← W₁ + κ s c y kᵀ, y = z₂ or z̄₂.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from neuroplastic.reservoir.deferred import DeferredInverse
from neuroplastic.reservoir.lesions import NO_SWITCHES, Switches
from neuroplastic.reservoir.rls import RLSConfig
from neuroplastic.reservoir.rmhl import RMHL, RMHLConfig
from neuroplastic.reservoir.tasks import Task


@dataclass(frozen=True, kw_only=True)
class SupertrexConfig:
    """Constants (defaults: Task 1). ``gate_slope`` σ = inf gives a hard step; ``mastery_target`` is y."""

    rmhl: RMHLConfig = field(default_factory=RMHLConfig)
    rls: RLSConfig = field(default_factory=RLSConfig)
    kappa: float = 0.5
    theta: float = 1.5e-3
    gate_slope: float = 5e5
    mastery_target: Literal["z2", "zbar2"] = "z2"

    def __post_init__(self) -> None:
        if self.rls.forgetting != 1.0:
            raise ValueError("SUPERTREX's mastery pathway uses RLS without forgetting (forgetting = 1)")
        if not self.kappa > 0 or not self.theta > 0 or not self.gate_slope > 0:
            raise ValueError(f"kappa, theta and gate_slope must be > 0, got {self}")


def gate(ebar: torch.Tensor, theta: float, slope: float = 5e5) -> torch.Tensor:
    """s = ½[1 − tanh(σ(|ē| − θ))]: ≈ 1 when ē < θ, ≈ 0 above; σ = inf gives the hard step 1[|ē| < θ]."""
    if math.isinf(slope):
        return (ebar.abs() < theta).to(ebar.dtype)
    return 0.5 * (1 - torch.tanh(slope * (ebar.abs() - theta)))


class Supertrex:
    """The two-pathway readout. State: W₁, P (mastery) and the exploratory :class:`RMHL`'s W₂, z̄₂, ē, β.

    At test (``explore=False``) the exploratory pathway is removed (W₂ r is dropped, as in the authors' scripts)
    unless ``keep_exploratory`` is set, in which case z₂ = W₂ r without noise.
    """

    def __init__(
        self,
        config: SupertrexConfig,
        n: int,
        n_out: int,
        seeds: Sequence[int],
        *,
        dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
        switches: Switches = NO_SWITCHES,
        keep_exploratory: bool = False,
    ):
        self.config, self.keep_exploratory = config, keep_exploratory
        self.explorer = RMHL(config.rmhl, n, n_out, seeds, dtype=dtype, device=device, switches=switches)
        self.W = torch.zeros(len(seeds), n_out, n, dtype=dtype, device=device)
        self.inverse = DeferredInverse(
            torch.eye(n, dtype=dtype, device=device).repeat(len(seeds), 1, 1) / config.rls.alpha
        )

    @property
    def P(self) -> torch.Tensor:
        """The mastery pathway's inverse correlation matrix P (B, N, N)."""
        return self.inverse.matrix

    def check_task(self, task: Task) -> None:
        """Any task with a scalar error works."""

    def output(self, r: torch.Tensor, step: int, *, explore: bool) -> torch.Tensor:
        """z = z₁ + z₂ while training; z₁ (+ noise-free z₂ if ``keep_exploratory``) at test."""
        z1 = torch.bmm(self.W, r.unsqueeze(2)).squeeze(2)
        if explore or self.keep_exploratory:
            return z1 + self.explorer.exploratory_output(r, step, explore=explore)
        return z1

    def learn(
        self, r: torch.Tensor, z: torch.Tensor, target: torch.Tensor, distance2: torch.Tensor, task: Task, step: int
    ) -> None:
        """Exploratory update every step; gated mastery RLS every ``learn_every`` steps (skipped where s = 0)."""
        self.explorer.learn(r, z, target, distance2, task, step)
        c = self.config
        if (step + 1) % c.rls.learn_every:
            return
        s = gate(self.explorer.ebar, c.theta, c.gate_slope)
        opened = s.nonzero().view(-1).tolist()
        if not opened:
            return
        error = (self.explorer.z if c.mastery_target == "z2" else self.explorer.zbar) * -c.kappa
        self.inverse.update_(self.W, r, error, s, rows=None if len(opened) == len(s) else opened)

    def state_dict(self) -> dict[str, Any]:
        """W₁, P (with its pending terms) and the exploratory pathway's state."""
        return {"W": self.W.clone(), "inverse": self.inverse.state_dict(), "explorer": self.explorer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a :meth:`state_dict` of the same shape and seeds."""
        self.W.copy_(state["W"])
        self.inverse.load_state_dict(state["inverse"])
        self.explorer.load_state_dict(state["explorer"])

    def keep_rows_(self, rows: torch.Tensor) -> None:
        """Keep only the readouts at batch positions ``rows`` (a seed that diverged is dropped)."""
        self.W = self.W[rows]
        self.inverse.keep_rows_(rows)
        self.explorer.keep_rows_(rows)

    def weight_norms(self) -> dict[str, torch.Tensor]:
        """‖W₁‖_F (mastery) and ‖W₂‖_F (exploratory) per batch element."""
        return {"W1": torch.linalg.vector_norm(self.W, dim=(1, 2)), "W2": self.explorer.weight_norms()["W"]}
