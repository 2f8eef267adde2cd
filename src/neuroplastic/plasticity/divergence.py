"""What a meta-learner does when an episode's inner loop diverges: which episodes count, and the replica's answer.

An episode diverged when its query loss or meta-gradient is NaN/inf, or its query loss exceeds a bound (its
inner loop ran past the stability edge into confident error, where the unrolled meta-gradient is chaotic and points
further out). Its replica then raises, drops it from the mean meta-gradient (a replica left with no episode backs
off instead of stepping: θ̃ ← (1 − backoff) θ̃, its momentum forgotten), or shrinks θ̃ towards 0 with the clipped
gradient c·sign(θ̃). The functions here are pure functions of tensors, apart from `forget_momentum`, which edits an
optimiser through its ``state_dict`` / ``load_state_dict``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

FIRST_MOMENTS: tuple[str, ...] = ("exp_avg", "momentum_buffer")  # Adam-family and SGD / RMSprop momentum


@dataclass(frozen=True, kw_only=True)
class DivergencePolicy:
    """``action`` on a diverged episode, the ``patience`` steps in a row that stop the run, the loss bound, the backoff.

    ``raise`` stops at the first divergence; ``drop`` leaves the episode out of its replica's mean meta-gradient
    (θ̃ ← (1 − ``backoff``) θ̃ for a replica with no episode left, which keeps the rule's direction, the ratios
    θ_r/θ₀, and shrinks its step below the inner loop's stability edge); ``shrink`` steps the replica with c·sign(θ̃),
    c the meta-learner's clip value: the clipped gradient of a loss that is infinite beyond the edge (an outsized
    gradient, which fills Adam's second moment for many steps). ``max_query_loss``: a query loss above it counts as
    diverged (``math.inf``: only NaN/inf).
    """

    action: Literal["raise", "drop", "shrink"] = "raise"
    patience: int = 20
    max_query_loss: float = math.inf
    backoff: float = 0.1

    def __post_init__(self) -> None:
        if self.action not in ("raise", "drop", "shrink"):
            raise ValueError(f"action must be 'raise', 'drop' or 'shrink', got {self.action!r}")
        if self.patience < 1:
            raise ValueError(f"patience must be >= 1, got {self.patience}")
        if not self.max_query_loss > 0:
            raise ValueError(f"max_query_loss must be > 0 (math.inf: only NaN/inf diverge), got {self.max_query_loss}")
        if not 0 < self.backoff < 1:
            raise ValueError(
                f"backoff is the share by which θ shrinks after a lost step: need 0 < backoff < 1, got {self.backoff}"
            )


def healthy_episodes(
    losses: torch.Tensor, gradients: torch.Tensor, *, replicas: int, max_query_loss: float
) -> torch.Tensor:
    """Replicas × episodes mask of the episodes with a finite query loss ≤ ``max_query_loss`` and a finite gradient.

    ``losses`` (E) and ``gradients`` (E × R) list the episodes replica-major.
    """
    healthy = torch.isfinite(losses) & (losses <= max_query_loss) & torch.isfinite(gradients).all(-1)
    return healthy.view(replicas, -1)


def healthy_mean(values: torch.Tensor, healthy: torch.Tensor) -> torch.Tensor:
    """Mean over each replica's healthy episodes of ``values`` (replica-major E × …); 0 for a replica with none."""
    per_replica = values.view(*healthy.shape, *values.shape[1:])
    mask = healthy.view(*healthy.shape, *([1] * (values.dim() - 1)))
    kept = healthy.sum(-1).clamp(min=1).view(-1, *([1] * (values.dim() - 1)))
    return torch.where(mask, per_replica, 0.0).sum(1) / kept


def divergence_response(
    policy: DivergencePolicy,
    gradient: torch.Tensor,
    theta: torch.Tensor,
    healthy: torch.Tensor,
    *,
    clip_value: float | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(the gradient each replica steps with, the replicas whose step is lost and who back off instead).

    ``shrink``: a replica with a diverged episode steps with clip_value·sign(θ̃). ``drop``: a replica with no
    healthy episode gets a zero gradient and is lost (see `backed_off`). Otherwise the gradient is unchanged.
    """
    diverged = ~healthy.all(-1)
    if policy.action == "shrink":
        gradient = torch.where(diverged.unsqueeze(-1), clip_value * torch.sign(theta), gradient)
    lost = ~healthy.any(-1) if policy.action == "drop" else torch.zeros_like(diverged)
    return torch.where(lost.unsqueeze(-1), 0.0, gradient), lost


def backed_off(policy: DivergencePolicy, before: torch.Tensor, after: torch.Tensor, lost: torch.Tensor) -> torch.Tensor:
    """θ̃ after a step: (1 − backoff) θ̃_before for the lost replicas, the optimiser's θ̃ for the others."""
    return torch.where(lost.unsqueeze(-1), (1.0 - policy.backoff) * before, after)


def forget_momentum(optimizer: torch.optim.Optimizer, param: torch.Tensor, rows: torch.Tensor) -> None:
    """Zero the first-moment buffers (``FIRST_MOMENTS``) of ``param``'s ``rows``, through the optimiser's state dict.

    Every other part of the state (Adam's second moment, the step count) is kept. An optimiser without a first
    moment (e.g. Adagrad, or SGD without momentum) has nothing to forget.
    """
    if not rows.any():
        return
    params = [p for group in optimizer.param_groups for p in group["params"]]
    index = next(i for i, p in enumerate(params) if p is param)
    state = optimizer.state_dict()
    entry = state["state"].get(index)
    if entry is None:
        return
    mask = rows.view(-1, *([1] * (param.dim() - 1)))
    state["state"][index] = {
        key: torch.where(mask, 0.0, value) if key in FIRST_MOMENTS and value is not None else value
        for key, value in entry.items()
    }
    optimizer.load_state_dict(state)
