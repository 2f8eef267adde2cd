"""The registry of weight rules for W at a fixed point: each rule a frozen record owning its name, symbol and options.

``RULES`` maps a rule's name to its class; ``apply_rule`` takes an instance (``RULES["reparam"]()``,
``ReparamExact(lr=0.05)``) and each rule returns its update ΔW as a tensor from :class:`AtFixedPoint`, through the
pure functions of :mod:`neuroplastic.fixedpoint.rules`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import torch

from neuroplastic.fixedpoint import rules


@dataclass(frozen=True)
class AtFixedPoint:
    """What a rule reads at the fixed point of one batch (rows are samples).

    ``gains`` are g_i = diag(G_i) per sample; ``shared_gain`` is the gain the adjoint uses, the linear model's one
    vector G (else ``gains``); ``drive`` is u_i; ``delta`` is δ_i = ∂L/∂r_i; ``adjoint_options`` go to
    :func:`~neuroplastic.fixedpoint.rules.adjoint`.
    """

    W: torch.Tensor
    rates: torch.Tensor
    gains: torch.Tensor
    shared_gain: torch.Tensor
    drive: torch.Tensor
    delta: torch.Tensor
    adjoint_options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Euclidean:
    """ΔW1 = ∇_W L = Σ_i λ_i r_iᵀ, λ_i = G_i (I − Wᵀ G_i)⁻¹ δ_i (implicit function theorem)."""

    name: ClassVar[str] = "euclidean"
    symbol: ClassVar[str] = "ΔW1"
    linear_only: ClassVar[bool] = False

    def delta_w(self, at: AtFixedPoint) -> torch.Tensor:
        """ΔW1 from an adjoint solve per sample."""
        return rules.euclidean(at.W, at.rates, at.shared_gain, at.delta, **at.adjoint_options)


@dataclass(frozen=True)
class ReparamExact:
    """ΔW2 (linear model): (W − W′)/η with W′ = G⁻¹ − (A − η ∇_A L)⁻¹, A = (G⁻¹ − W)⁻¹; η is the step size."""

    lr: float
    name: ClassVar[str] = "reparam_exact"
    symbol: ClassVar[str] = "ΔW2"
    linear_only: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if not self.lr > 0:
            raise ValueError(f"reparam_exact needs the learning rate η > 0, got {self.lr}")

    def delta_w(self, at: AtFixedPoint) -> torch.Tensor:
        """ΔW2 from two inverses."""
        return rules.reparam_exact(at.W, at.shared_gain, at.drive, at.delta, self.lr)


@dataclass(frozen=True)
class Reparam:
    """ΔW3 = Σ_i P_i ∇_W L_i Q_i, P_i = (I − W G_i)(I − W G_i)ᵀ, Q_i = (I − G_i W)ᵀ(I − G_i W): inverse-free."""

    name: ClassVar[str] = "reparam"
    symbol: ClassVar[str] = "ΔW3"
    linear_only: ClassVar[bool] = False

    def delta_w(self, at: AtFixedPoint) -> torch.Tensor:
        """ΔW3 from four matrix products."""
        return rules.reparam(at.W, at.rates, at.gains, at.delta)


@dataclass(frozen=True)
class ReparamV4:
    """ΔW4 = ``Σ_i [(I − W G_i) δ_i][(I − W G_i)ᵀ(I − W G_i) r_i]ᵀ``: inverse-free."""

    name: ClassVar[str] = "reparam_v4"
    symbol: ClassVar[str] = "ΔW4"
    linear_only: ClassVar[bool] = False

    def delta_w(self, at: AtFixedPoint) -> torch.Tensor:
        """ΔW4 from four matrix products."""
        return rules.reparam_v4(at.W, at.rates, at.gains, at.delta)


FixedPointRule = Euclidean | ReparamExact | Reparam | ReparamV4
RULES: dict[str, type[FixedPointRule]] = {rule.name: rule for rule in (Euclidean, ReparamExact, Reparam, ReparamV4)}
RuleName = Literal[tuple(RULES)]  # type: ignore[valid-type]
