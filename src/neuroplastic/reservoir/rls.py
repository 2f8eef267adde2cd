"""Recursive least squares (FORCE, Sussillo & Abbott 2009) on a linear readout z = W r, batched over seeds."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from neuroplastic.reservoir.deferred import DeferredInverse
from neuroplastic.reservoir.lesions import NO_SWITCHES, Switches
from neuroplastic.reservoir.state import BatchedState


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


@dataclass(eq=False)
class RLSState(BatchedState):
    """W (B, d, N), P (B, N, N, with its pending terms) and ``steps``, the number of learning steps so far."""

    W: torch.Tensor
    inverse: DeferredInverse
    steps: int = 0

    @property
    def P(self) -> torch.Tensor:
        """The inverse correlation matrix P (B, N, N)."""
        return self.inverse.matrix

    def output(self, r: torch.Tensor) -> torch.Tensor:
        """z = W r (B, d)."""
        return torch.bmm(self.W, r.unsqueeze(2)).squeeze(2)

    def weight_norms(self) -> dict[str, torch.Tensor]:
        """‖W‖_F per batch element."""
        return {"W": torch.linalg.vector_norm(self.W, dim=(1, 2))}


@dataclass(frozen=True)
class RLS:
    """FORCE readout z = W r trained online by RLS on e₋ = z − f (needs the target f in output space).

    The readout holds only its constants; the caller holds its :class:`RLSState` (from :meth:`init`).
    """

    config: RLSConfig
    needs_output_target = True  # learns from e₋ = z − f: the target must be in output space (no plant h)

    def init(
        self,
        n: int,
        n_out: int,
        seeds: Sequence[int],
        *,
        dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
    ) -> RLSState:
        """W = 0, P = I/α for each seed."""
        like = {"dtype": dtype, "device": torch.device(device)}
        eye = torch.eye(n, **like).repeat(len(seeds), 1, 1)
        return RLSState(torch.zeros(len(seeds), n_out, n, **like), DeferredInverse(eye / self.config.alpha))

    def output(
        self, state: RLSState, r: torch.Tensor, *, explore: bool, switches: Switches = NO_SWITCHES
    ) -> torch.Tensor:
        """z = W r (no exploration, no interventions)."""
        return state.output(r)

    def partial_fit(
        self,
        state: RLSState,
        r: torch.Tensor,
        z: torch.Tensor,
        target: torch.Tensor,
        distance2: torch.Tensor,
        *,
        cost: Callable[[torch.Tensor], torch.Tensor] | None = None,
        switches: Switches = NO_SWITCHES,
    ) -> RLSState:
        """One step of learning, in place on ``state``: every ``learn_every``-th step, RLS with e₋ = z − f."""
        state.steps += 1
        if state.steps % self.config.learn_every == 0:
            self.update(state, r, z - target)
        return state

    def update(
        self,
        state: RLSState,
        r: torch.Tensor,
        error: torch.Tensor,
        *,
        gate: torch.Tensor | float = 1.0,
        rows: Sequence[int] | None = None,
    ) -> None:
        """One RLS step in place on ``state`` with a-priori error e₋ (B, d), gate s per seed (``rows``: only these).

        The step is :meth:`DeferredInverse.update_`, with this readout's forgetting factor.
        """
        state.inverse.update_(state.W, r, error, gate, rows=rows, forgetting=self.config.forgetting)
