"""Initial feedback matrices B_ℓ, one per weight layer, in the paper's shape n_{ℓ−1} × n_ℓ."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch

from neuroplastic.core.init import xavier_uniform

FeedbackMode = Literal["bp", "fa", "dfa", "sign"]
FEEDBACK_MODES: tuple[str, ...] = ("bp", "fa", "dfa", "sign")


def check_mode(mode: str) -> None:
    """Raise a clear error for an unknown feedback mode."""
    if mode not in FEEDBACK_MODES:
        raise ValueError(f"unknown feedback mode {mode!r}; choose one of {', '.join(FEEDBACK_MODES)}")


def check_independent(weight: torch.Tensor, feedback: torch.Tensor, where: str) -> None:
    """Refuse a feedback B drawn parallel to W (cos ∠(W, B) > 0.99 over ≥ 8 entries, in W's layout).

    That happens when B's generator is in the same state as the global RNG that drew W (e.g. both seeded 0): the
    same uniform draws, rescaled, make "feedback alignment" backprop in disguise.
    """
    b = feedback if feedback.shape == weight.shape else feedback.transpose(-2, -1)
    if b.shape != weight.shape or weight.numel() < 8:
        return
    w, b = weight.detach().flatten().double(), b.detach().flatten().double()
    cosine = (w @ b / (w.norm() * b.norm()).clamp_min(1e-300)).item()
    if cosine > 0.99:
        raise ValueError(
            f"{where}: the feedback B came out parallel to W (cosine {cosine:.4f}), so feedback alignment would be "
            "backprop; B's generator is in the same state as the RNG that drew W (seeded alike?). Seed it "
            "differently, e.g. neuroplastic.core.seeding.make_generator(seed, 1)"
        )


def init_feedback(
    weights: Sequence[torch.Tensor],
    mode: FeedbackMode,
    *,
    generator: torch.Generator | None = None,
    gain: float = 1.0,
) -> tuple[torch.Tensor, ...]:
    """Fixed feedback matrices for ``weights`` W_ℓ (n_ℓ × n_{ℓ−1}).

    - ``bp``: B_ℓ = W_ℓᵀ (a copy; :func:`neuroplastic.feedback.errors` recomputes it from W at every step).
    - ``fa`` and ``sign``: Xavier-uniform B_ℓ of shape n_{ℓ−1} × n_ℓ (``sign`` uses only |B_ℓ| as magnitudes).
    - ``dfa``: B_ℓ of shape n_{ℓ−1} × n_L, broadcasting the output error straight to layer ℓ−1.
    """
    check_mode(mode)
    if mode == "bp":
        return tuple(w.detach().T.clone() for w in weights)
    n_out = weights[-1].shape[0]
    dtype = weights[0].dtype
    feedbacks = []
    for w in weights:
        cols = n_out if mode == "dfa" else w.shape[0]
        feedbacks.append(xavier_uniform(w.shape[1], cols, gain=gain, generator=generator, dtype=dtype, device=w.device))
    return tuple(feedbacks)
