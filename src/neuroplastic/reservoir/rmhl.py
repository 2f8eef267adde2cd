"""Reward-modulated Hebbian learning (node perturbation) on a noisy linear readout z = W r + ξ.

Two forms share one update ΔW = η(t) Φ (z − z̄) rᵀ:
Hoerzer, Legenstein & Maass (2014): Φ = H(ē − e) (binary), fixed ξ ~ U[−0.5, 0.5], η(t) = η₀/(1 + t/T_η);
Pyle & Rosenbaum (2019): Φ = a_φ sign(ē − e)|ē − e|^{b_φ} (optionally only when e < ē), ξ ~ U[−β, β] with
β = Ψ(ē) = a_ψ (10 ē)^{b_ψ}, constant η.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch

from neuroplastic.core.streams import ReservoirStream
from neuroplastic.reservoir.lesions import NO_SWITCHES, Switches
from neuroplastic.reservoir.noise import NoiseStream
from neuroplastic.reservoir.tasks import Task


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


class RMHL:
    """Exploratory readout z = W r + ξ learned from a scalar error only (the rule of the module docstring).

    The state is explicit: W (B, d, N), z̄ (B, d), ē (B,), β (B,). Per step: z̄ ← z̄ + a_z(z − z̄);
    e = error(h(z), f) (+ cost); ē ← ē + a_e(e − ē); β ← Ψ(ē); W ← W + η(t) Φ(ē − e) (z − z̄) rᵀ.
    """

    def __init__(
        self,
        config: RMHLConfig,
        n: int,
        n_out: int,
        seeds: Sequence[int],
        *,
        dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
        switches: Switches = NO_SWITCHES,
    ):
        self.config, self.switches = config, switches
        batch, device = len(seeds), torch.device(device)
        self.W = torch.zeros(batch, n_out, n, dtype=dtype, device=device)
        self.zbar = torch.zeros(batch, n_out, dtype=dtype, device=device)
        self.zbar_total = torch.zeros(batch, n_out, dtype=dtype, device=device)
        self.ebar = torch.zeros(batch, dtype=dtype, device=device)
        self.beta = torch.full((batch,), config.beta0, dtype=dtype, device=device)
        self.last_error = torch.zeros(batch, dtype=dtype, device=device)
        self.z = torch.zeros(batch, n_out, dtype=dtype, device=device)
        self.exploration = NoiseStream(seeds, ReservoirStream.EXPLORATION, (n_out,), dtype=dtype, device=device)
        self.corruption = NoiseStream(seeds, ReservoirStream.CORRUPTION, (n_out,), dtype=dtype, device=device)

    def check_task(self, task: Task) -> None:
        """Any task with a scalar error works."""

    def exploratory_output(self, r: torch.Tensor, step: int, *, explore: bool) -> torch.Tensor:
        """z₂ = W r + ξ while exploring (plus any corruption); W r at test; 0 once lesioned."""
        if self.switches.lesioned(step):
            self.W.zero_()
            self.z = torch.zeros_like(self.z)
            return self.z
        z = torch.bmm(self.W, r.unsqueeze(2)).squeeze(2)
        if explore:
            z.addcmul_(self.beta.unsqueeze(1), self.exploration.next())
        if self.switches.corrupted(step):
            z.add_(self.corruption.next(), alpha=self.switches.corrupt_noise).add_(self.switches.corrupt_offset)
        self.z = z
        return z

    def output(self, r: torch.Tensor, step: int, *, explore: bool) -> torch.Tensor:
        """The output: the exploratory pathway alone."""
        return self.exploratory_output(r, step, explore=explore)

    def learn(
        self, r: torch.Tensor, z: torch.Tensor, target: torch.Tensor, distance2: torch.Tensor, task: Task, step: int
    ) -> None:
        """One update from the error e = ``distance2`` + cost of the total output ``z`` (may include other pathways)."""
        c = self.config
        self.zbar.lerp_(self.z, c.a_z)
        zhat = self.z - self.zbar
        e = distance2
        if task.costs:
            if c.cost_highpass == "total":
                self.zbar_total.lerp_(z, c.a_z)
                e = e + task.cost(z - self.zbar_total)
            else:
                e = e + task.cost(z - self.zbar if c.cost_highpass == "scripts" else zhat)
        self.last_error = e
        self.ebar.lerp_(e, c.a_e)
        self.beta = psi(self.ebar, c.psi_a, c.psi_b)
        if self.switches.lesioned(step):
            return
        mod = phi(self.ebar - e, a=c.phi_a, b=c.phi_b, one_sided=c.one_sided, binary=c.modulation == "binary")
        mod = self.switches.modulation(mod, step)
        eta = c.eta / (1 + step / c.eta_decay_steps)
        self.W.add_(rmhl_delta(mod, zhat, r, eta))

    _STATE = ("W", "zbar", "zbar_total", "ebar", "beta", "last_error", "z")

    def state_dict(self) -> dict[str, Any]:
        """W, z̄, ē, β, the last error and output, and the exploration and corruption streams."""
        state: dict[str, Any] = {name: getattr(self, name).clone() for name in self._STATE}
        return state | {"exploration": self.exploration.state_dict(), "corruption": self.corruption.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a :meth:`state_dict` of the same shape and seeds."""
        for name in self._STATE:
            setattr(self, name, state[name].to(self.W.device).clone())
        self.exploration.load_state_dict(state["exploration"])
        self.corruption.load_state_dict(state["corruption"])

    def keep_rows_(self, rows: torch.Tensor) -> None:
        """Keep only the readouts at batch positions ``rows`` (a seed that diverged is dropped)."""
        for name in self._STATE:
            setattr(self, name, getattr(self, name)[rows])
        self.exploration.keep_rows_(rows)
        self.corruption.keep_rows_(rows)

    def weight_norms(self) -> dict[str, torch.Tensor]:
        """‖W‖_F per batch element."""
        return {"W": torch.linalg.vector_norm(self.W, dim=(1, 2))}
