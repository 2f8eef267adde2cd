"""``FeedbackLinear``: a Linear layer whose backward pass sends errors through B instead of Wᵀ.

Forward z = x Wᵀ + b as usual. Backward (rows are samples): ∂/∂x = δ Bᵀ with B of shape in × out (the paper's
B_ℓ, n_{ℓ−1} × n_ℓ; backprop is B = Wᵀ), while ∂/∂W = δᵀ x and ∂/∂b = Σ δ keep their usual form.
B is a buffer: no optimiser sees it and it never changes unless a rule writes to it.
"""

from __future__ import annotations

import torch
from torch import nn

from neuroplastic.core.init import xavier_uniform
from neuroplastic.feedback.errors import effective_feedback
from neuroplastic.feedback.init import FeedbackMode


class FeedbackLinearFunction(torch.autograd.Function):
    """z = x Wᵀ + b with ∂/∂x = δ Bᵀ (B: in × out) in place of δ W."""

    @staticmethod
    def forward(x, weight, bias, feedback):
        """Ordinary affine map."""
        return nn.functional.linear(x, weight, bias)

    @staticmethod
    def setup_context(ctx, inputs, output):
        """Keep x and B for the backward pass."""
        x, _, bias, feedback = inputs
        ctx.save_for_backward(x, feedback)
        ctx.has_bias = bias is not None

    @staticmethod
    def backward(ctx, delta):
        """Input error through B; weight and bias gradients as in backprop."""
        x, feedback = ctx.saved_tensors
        grad_x = delta @ feedback.T
        flat_delta = delta.reshape(-1, delta.shape[-1])
        grad_w = flat_delta.T @ x.reshape(-1, x.shape[-1])
        grad_b = flat_delta.sum(0) if ctx.has_bias else None
        return grad_x, grad_w, grad_b, None


class FeedbackLinear(nn.Linear):
    """nn.Linear with a feedback pathway: ``mode`` ∈ {bp, fa, sign}; ``feedback`` holds B (fa) or |B| (sign)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        mode: FeedbackMode = "fa",
        generator: torch.Generator | None = None,
        gain: float = 1.0,
        device=None,
        dtype=None,
    ) -> None:
        if mode not in ("bp", "fa", "sign"):
            raise ValueError(f"FeedbackLinear supports modes bp, fa and sign, got {mode!r} (DFA: DirectFeedbackLinear)")
        super().__init__(in_features, out_features, bias, device=device, dtype=dtype)
        self.mode = mode
        weight = self.weight
        b = xavier_uniform(
            in_features, out_features, gain=gain, generator=generator, dtype=weight.dtype, device=weight.device
        )
        self.register_buffer("feedback", b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """z = x Wᵀ + b; its backward uses B (see the module docstring)."""
        if self.mode == "bp":
            return nn.functional.linear(x, self.weight, self.bias)
        fb = effective_feedback(self.weight.detach(), self.feedback, self.mode)
        return FeedbackLinearFunction.apply(x, self.weight, self.bias, fb)

    def extra_repr(self) -> str:
        """Layer sizes plus the feedback mode."""
        return f"{super().extra_repr()}, mode={self.mode}"
