"""SUPERTREX (Pyle & Rosenbaum 2019): an exploratory RMHL pathway plus a mastery RLS pathway, z = z₁ + z₂.

z₂ = W₂ r + ξ learns by RMHL from the scalar error of the *total* output; z₁ = W₁ r learns by RLS to reproduce the
total output (error e₁ = z₁ − z = −z₂), gated on the filtered error: every k steps, with k = P r, c = 1/(1 + rᵀk)
and s = ½[1 − tanh(σ(|ē| − θ))], P ← P − s c k kᵀ and W₁ ← W₁ + κ s c y kᵀ, y = z₂ or z̄₂.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch

from neuroplastic.reservoir.lesions import NO_SWITCHES, Switches
from neuroplastic.reservoir.rls import RLS, RLSConfig, RLSState
from neuroplastic.reservoir.rmhl import RMHL, RMHLConfig, RMHLState
from neuroplastic.reservoir.state import BatchedState


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


@dataclass(eq=False)
class SupertrexState(BatchedState):
    """The mastery pathway's RLS state (W₁, P) and the exploratory pathway's RMHL state (W₂, z̄₂, ē, β, …)."""

    mastery: RLSState
    explorer: RMHLState

    def weight_norms(self) -> dict[str, torch.Tensor]:
        """‖W₁‖_F (mastery) and ‖W₂‖_F (exploratory) per batch element."""
        return {"W1": self.mastery.weight_norms()["W"], "W2": self.explorer.weight_norms()["W"]}


@dataclass(frozen=True)
class Supertrex:
    """The two-pathway readout; it holds only its constants, the caller holds its :class:`SupertrexState`.

    At test (``explore=False``) the exploratory pathway is removed (W₂ r is dropped, as in the authors' scripts)
    unless the switches keep it (``keep_exploratory``), in which case z₂ = W₂ r without noise.
    """

    config: SupertrexConfig
    mastery: RLS = field(init=False, repr=False)  # the mastery pathway's rule, RLS(config.rls)
    explorer: RMHL = field(init=False, repr=False)  # the exploratory pathway's rule, RMHL(config.rmhl)
    needs_output_target = False  # learns from a scalar error: any task

    def __post_init__(self) -> None:
        object.__setattr__(self, "mastery", RLS(self.config.rls))
        object.__setattr__(self, "explorer", RMHL(self.config.rmhl))

    def init(
        self,
        n: int,
        n_out: int,
        seeds: Sequence[int],
        *,
        dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
    ) -> SupertrexState:
        """W₁ = 0, P = I/α, and the exploratory pathway's initial state."""
        like = {"dtype": dtype, "device": device}
        return SupertrexState(self.mastery.init(n, n_out, seeds, **like), self.explorer.init(n, n_out, seeds, **like))

    def output(
        self, state: SupertrexState, r: torch.Tensor, *, explore: bool, switches: Switches = NO_SWITCHES
    ) -> torch.Tensor:
        """z = z₁ + z₂ while training; z₁ (+ noise-free z₂ if ``switches.keep_exploratory``) at test."""
        z1 = state.mastery.output(r)
        if explore or switches.keep_exploratory:
            return z1 + self.explorer.output(state.explorer, r, explore=explore, switches=switches)
        return z1

    def partial_fit(
        self,
        state: SupertrexState,
        r: torch.Tensor,
        z: torch.Tensor,
        target: torch.Tensor,
        distance2: torch.Tensor,
        *,
        cost: Callable[[torch.Tensor], torch.Tensor] | None = None,
        switches: Switches = NO_SWITCHES,
    ) -> SupertrexState:
        """Exploratory update every step; gated mastery RLS every ``learn_every`` steps (skipped where s = 0)."""
        explorer, mastery, c = state.explorer, state.mastery, self.config
        self.explorer.partial_fit(explorer, r, z, target, distance2, cost=cost, switches=switches)
        mastery.steps += 1
        if mastery.steps % c.rls.learn_every:
            return state
        theta = c.theta if switches.gate_theta is None else switches.gate_theta
        s = gate(explorer.ebar, theta, c.gate_slope)
        opened = s.nonzero().view(-1).tolist()
        if not opened:
            return state
        error = (explorer.z if c.mastery_target == "z2" else explorer.zbar) * -c.kappa
        self.mastery.update(mastery, r, error, gate=s, rows=None if len(opened) == len(s) else opened)
        return state
