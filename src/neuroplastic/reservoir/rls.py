"""Recursive least squares (FORCE, Sussillo & Abbott 2009) on a linear readout z = W r, batched over seeds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from neuroplastic.reservoir.deferred import DeferredInverse
from neuroplastic.reservoir.tasks import Task


class NotApplicable(ValueError):
    """The learner cannot be used on this task (e.g. FORCE needs the target in output space)."""


@dataclass(frozen=True, kw_only=True)
class RLSConfig:
    """P(0) = I/α; update every ``learn_every`` steps; forgetting factor λ_f ∈ (0, 1] (1 = none)."""

    alpha: float = 10.0
    learn_every: int = 10
    forgetting: float = 1.0

    def __post_init__(self) -> None:
        if not self.alpha > 0 or self.learn_every < 1 or not 0 < self.forgetting <= 1:
            raise ValueError(f"need alpha > 0, learn_every >= 1 and 0 < forgetting <= 1, got {self}")


def rls_update_(
    P: torch.Tensor,
    W: torch.Tensor,
    r: torch.Tensor,
    error: torch.Tensor,
    *,
    gate: torch.Tensor | float = 1.0,
    forgetting: float = 1.0,
) -> None:
    """One RLS step in place with a-priori ``error`` e₋ = W r − y (B, d), rates r (B, N), P (B, N, N), W (B, d, N).

    k = P r, c = 1/(λ_f + rᵀk), W ← W − s c e₋ kᵀ, P ← (P − s c k kᵀ)/λ_f, with gate s ∈ [0, 1] per batch element.
    """
    k = torch.bmm(P, r.unsqueeze(2))
    c = 1.0 / (forgetting + torch.bmm(r.unsqueeze(1), k).view(-1))
    sc = (c * gate).view(-1, 1, 1)
    W.baddbmm_(error.unsqueeze(2), k.transpose(1, 2) * sc, alpha=-1.0)
    P.baddbmm_(k * sc, k.transpose(1, 2), alpha=-1.0)
    if forgetting != 1.0:
        P.div_(forgetting)


class RLS:
    """FORCE readout z = W r trained online by RLS on e₋ = z − f (needs the target in output space).

    ``gate`` (optional) maps the step index to a scale s ∈ [0, 1] (float or (B,) tensor) applied to each update.
    """

    def __init__(
        self,
        config: RLSConfig,
        n: int,
        n_out: int,
        batch: int,
        *,
        dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
        gate: Callable[[int], torch.Tensor | float] | None = None,
    ):
        self.config, self.gate = config, gate
        self.W = torch.zeros(batch, n_out, n, dtype=dtype, device=device)
        self.inverse = DeferredInverse(torch.eye(n, dtype=dtype, device=device).repeat(batch, 1, 1) / config.alpha)

    @property
    def P(self) -> torch.Tensor:
        """The inverse correlation matrix P (B, N, N)."""
        return self.inverse.matrix

    def check_task(self, task: Task) -> None:
        """Raise :class:`NotApplicable` unless the error is measured in output space (h = identity)."""
        if task.plant is not None:
            raise NotApplicable(
                f"FORCE/RLS needs the target in output space, but task {task.name!r} measures the error through a "
                "plant h(z) (it would need the inverse kinematics); use RMHL or SUPERTREX"
            )

    def output(self, r: torch.Tensor, step: int, *, explore: bool) -> torch.Tensor:
        """z = W r (no exploration)."""
        return torch.bmm(self.W, r.unsqueeze(2)).squeeze(2)

    def learn(
        self, r: torch.Tensor, z: torch.Tensor, target: torch.Tensor, distance2: torch.Tensor, task: Task, step: int
    ) -> None:
        """Every ``learn_every`` steps (at steps k−1, 2k−1, …): RLS with e₋ = z − f."""
        if (step + 1) % self.config.learn_every:
            return
        gate = 1.0 if self.gate is None else self.gate(step)
        if self.config.forgetting == 1.0:
            self.inverse.update_(self.W, r, z - target, gate)
        else:
            rls_update_(self.P, self.W, r, z - target, gate=gate, forgetting=self.config.forgetting)

    def state_dict(self) -> dict[str, Any]:
        """W and P (with its pending terms)."""
        return {"W": self.W.clone(), "inverse": self.inverse.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a :meth:`state_dict` of the same shape."""
        self.W.copy_(state["W"])
        self.inverse.load_state_dict(state["inverse"])

    def keep_rows_(self, rows: torch.Tensor) -> None:
        """Keep only the readouts at batch positions ``rows`` (a seed that diverged is dropped)."""
        self.W = self.W[rows]
        self.inverse.keep_rows_(rows)

    def weight_norms(self) -> dict[str, torch.Tensor]:
        """‖W‖_F per batch element."""
        return {"W": torch.linalg.vector_norm(self.W, dim=(1, 2))}
