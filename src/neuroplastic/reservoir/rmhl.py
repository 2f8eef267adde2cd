"""Reward-modulated Hebbian learning (node perturbation) on a noisy linear readout z = W r + ξ.

Two forms share one update ΔW = η(t) Φ (z − z̄) rᵀ:
Hoerzer, Legenstein & Maass (2014): Φ = H(ē − e) (binary), fixed ξ ~ U[−0.5, 0.5], η(t) = η₀/(1 + t/T_η);
Pyle & Rosenbaum (2019): Φ = a_φ sign(ē − e)|ē − e|^{b_φ} (optionally only when e < ē), ξ ~ U[−β, β] with
β = Ψ(ē) = a_ψ (10 ē)^{b_ψ}, constant η.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import torch

from neuroplastic.core.streams import ReservoirStream
from neuroplastic.reservoir.lesions import NO_SWITCHES, Switches
from neuroplastic.reservoir.noise import NoiseStream
from neuroplastic.reservoir.state import BatchedState


@dataclass(frozen=True, kw_only=True)
class RMHLConfig:
    """Constants of the exploratory rule (defaults: Pyle & Rosenbaum Task 1).

    ``a_z``/``a_e``: per-step low-pass factors of z̄ and ē. ``cost_highpass`` is what the movement cost Σ c_k |·|
    applies to: z − z̄ of the total output ("total", the default and ReScience's modification); z − z̄₂, the total
    output minus the low-pass of the exploratory one ("scripts", the authors' Task3_ST.m: inside SUPERTREX it charges
    the mastery output z₁ itself); or z₂ − z̄₂ ("exploratory"). For RMHL alone z = z₂ and all three agree.
    """

    eta: float = 5e-4
    eta_decay_steps: float = math.inf
    psi_a: float = 0.025
    psi_b: float = 0.25
    beta0: float = 0.01
    modulation: Literal["power", "binary"] = "power"
    phi_a: float = 5.0
    phi_b: float = 0.25
    one_sided: bool = True
    a_z: float = 0.2
    a_e: float = 0.2
    cost_highpass: Literal["scripts", "exploratory", "total"] = "total"

    def __post_init__(self) -> None:
        for name in ("a_z", "a_e"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name} must lie in (0, 1], got {getattr(self, name)}")
        for name in ("eta", "psi_a", "psi_b", "beta0", "phi_a", "phi_b"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be finite, got {getattr(self, name)}")
        if self.eta < 0 or not self.eta_decay_steps > 0 or self.psi_a < 0 or self.beta0 < 0:
            raise ValueError(f"eta, psi_a, beta0 must be >= 0 and eta_decay_steps > 0, got {self}")
        if self.cost_highpass not in ("scripts", "exploratory", "total"):
            raise ValueError(f"cost_highpass must be 'scripts', 'exploratory' or 'total', got {self.cost_highpass!r}")


HOERZER2014 = RMHLConfig(
    eta=5e-4, eta_decay_steps=20_000, psi_a=0.5, psi_b=0.0, beta0=0.5, modulation="binary", a_z=0.2, a_e=0.2
)


def psi(ebar: torch.Tensor, a: float, b: float) -> torch.Tensor:
    """Exploration amplitude Ψ(ē) = a (10 ē)^b."""
    return ebar.pow(b).mul_(a * 10**b)


def phi(
    delta: torch.Tensor,
    *,
    a: float = 5.0,
    b: float = 0.25,
    one_sided: bool = False,
    binary: bool = False,
) -> torch.Tensor:
    """Modulation from the reward-prediction error δ = ē − e (positive when better than recent average).

    Power form Φ = a sign(δ)|δ|^b (one-sided: 0 where δ < 0); binary form Φ = H(δ) (1 if δ > 0 else 0).
    """
    if binary:
        return (delta > 0).to(delta.dtype)
    out = torch.copysign(delta.abs().pow_(b), delta).mul_(a)
    return out.clamp_(min=0) if one_sided else out


def rmhl_delta(modulation: torch.Tensor, zhat: torch.Tensor, r: torch.Tensor, eta: float) -> torch.Tensor:
    """ΔW = η Φ ẑ rᵀ for Φ (B,), high-passed output ẑ = z − z̄ (B, d), rates r (B, N); shape (B, d, N)."""
    return (modulation.unsqueeze(1) * zhat).mul_(eta).unsqueeze(2) * r.unsqueeze(1)


@dataclass(eq=False)
class RMHLState(BatchedState):
    """What RMHL learns and tracks, per seed.

    W (B, d, N); the low-passes z̄ of the exploratory output and z̄_total of the total output (B, d); ē (B,); the
    exploration amplitude β (B,); the last exploratory output z (B, d); the exploration and corruption noise streams;
    ``steps``, the number of learning steps so far (the t of η(t)).
    """

    W: torch.Tensor
    zbar: torch.Tensor
    zbar_total: torch.Tensor
    ebar: torch.Tensor
    beta: torch.Tensor
    z: torch.Tensor
    exploration: NoiseStream
    corruption: NoiseStream
    steps: int = 0

    def weight_norms(self) -> dict[str, torch.Tensor]:
        """‖W‖_F per batch element."""
        return {"W": torch.linalg.vector_norm(self.W, dim=(1, 2))}


@dataclass(frozen=True)
class RMHL:
    """Exploratory readout z = W r + ξ learned from a scalar error only (the rule of the module docstring).

    The readout holds only its constants; the caller holds its :class:`RMHLState` (from :meth:`init`). Per step:
    z̄ ← z̄ + a_z(z − z̄); e = ‖h(z) − f‖² (+ cost); ē ← ē + a_e(e − ē); β ← Ψ(ē); W ← W + η(t) Φ(ē − e) (z − z̄) rᵀ.
    """

    config: RMHLConfig
    needs_output_target = False  # learns from a scalar error: any task

    def init(
        self,
        n: int,
        n_out: int,
        seeds: Sequence[int],
        *,
        dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
    ) -> RMHLState:
        """W = 0, z̄ = 0, ē = 0, β = β₀, and each seed's own exploration and corruption noise streams."""
        batch, device = len(seeds), torch.device(device)
        like = {"dtype": dtype, "device": device}
        return RMHLState(
            W=torch.zeros(batch, n_out, n, **like),
            zbar=torch.zeros(batch, n_out, **like),
            zbar_total=torch.zeros(batch, n_out, **like),
            ebar=torch.zeros(batch, **like),
            beta=torch.full((batch,), self.config.beta0, **like),
            z=torch.zeros(batch, n_out, **like),
            exploration=NoiseStream(seeds, ReservoirStream.EXPLORATION, (n_out,), **like),
            corruption=NoiseStream(seeds, ReservoirStream.CORRUPTION, (n_out,), **like),
        )

    def output(
        self, state: RMHLState, r: torch.Tensor, *, explore: bool, switches: Switches = NO_SWITCHES
    ) -> torch.Tensor:
        """z = W r + β ξ while exploring (plus any corruption), W r at test; 0 once lesioned (W := 0).

        Draws the noise it uses from ``state``'s streams and keeps z in ``state`` for :meth:`partial_fit`.
        """
        if switches.lesioned:
            state.W.zero_()
            state.z = torch.zeros_like(state.z)
            return state.z
        z = torch.bmm(state.W, r.unsqueeze(2)).squeeze(2)
        if explore:
            z.addcmul_(state.beta.unsqueeze(1), state.exploration.next())
        if switches.corrupted:
            z.add_(state.corruption.next(), alpha=switches.corrupt_noise).add_(switches.corrupt_offset)
        state.z = z
        return z

    def partial_fit(
        self,
        state: RMHLState,
        r: torch.Tensor,
        z: torch.Tensor,
        target: torch.Tensor,
        distance2: torch.Tensor,
        *,
        cost: Callable[[torch.Tensor], torch.Tensor] | None = None,
        switches: Switches = NO_SWITCHES,
    ) -> RMHLState:
        """One update, in place on ``state``, from e = ``distance2`` + ``cost`` of a high-passed output.

        ``z`` is the total output (it may include other pathways; the exploratory one is ``state.z``); ``cost``
        maps a high-passed output ż (B, d) to the movement cost Σ c_k |ż_k| (B,).
        """
        c = self.config
        state.zbar.lerp_(state.z, c.a_z)
        zhat = state.z - state.zbar
        e = distance2
        if cost is not None:
            if c.cost_highpass == "total":
                state.zbar_total.lerp_(z, c.a_z)
                e = e + cost(z - state.zbar_total)
            else:
                e = e + cost(z - state.zbar if c.cost_highpass == "scripts" else zhat)
        state.ebar.lerp_(e, c.a_e)
        state.beta = psi(state.ebar, c.psi_a, c.psi_b)
        t, state.steps = state.steps, state.steps + 1
        if switches.lesioned:
            return state
        mod = phi(state.ebar - e, a=c.phi_a, b=c.phi_b, one_sided=c.one_sided, binary=c.modulation == "binary")
        eta = c.eta / (1 + t / c.eta_decay_steps)
        state.W.add_(rmhl_delta(switches.modulation(mod), zhat, r, eta))
        return state
