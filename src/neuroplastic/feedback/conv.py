"""``FeedbackConv2d``: a convolution whose backward pass uses a feedback kernel B in place of W.

For a convolution the transpose of W is the transposed convolution with the same kernel, so B is stored in
W's shape (out × in/groups × kh × kw) and backprop is B = W: ∂/∂x = conv_transpose(δ, B), ∂/∂W as usual.
"""

from __future__ import annotations

import torch
from torch import nn

from neuroplastic.feedback.init import FeedbackMode, check_independent


class FeedbackConv2dFunction(torch.autograd.Function):
    """conv2d(x, W, b) with ∂/∂x computed from the kernel B."""

    @staticmethod
    def forward(x, weight, bias, feedback, stride, padding, dilation, groups):
        """Ordinary convolution."""
        return nn.functional.conv2d(x, weight, bias, stride, padding, dilation, groups)

    @staticmethod
    def setup_context(ctx, inputs, output):
        """Keep x, W's shape, B and the convolution geometry."""
        x, weight, bias, feedback, *geometry = inputs
        ctx.save_for_backward(x, feedback)
        ctx.weight_shape = weight.shape
        ctx.has_bias = bias is not None
        ctx.geometry = geometry

    @staticmethod
    def backward(ctx, delta):
        """Input error with B; weight and bias gradients as in backprop."""
        x, feedback = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.geometry
        grad_x = nn.grad.conv2d_input(x.shape, feedback, delta, stride, padding, dilation, groups)
        grad_w = nn.grad.conv2d_weight(x, ctx.weight_shape, delta, stride, padding, dilation, groups)
        grad_b = delta.sum((0, 2, 3)) if ctx.has_bias else None
        return grad_x, grad_w, grad_b, None, None, None, None, None


class FeedbackConv2d(nn.Conv2d):
    """nn.Conv2d with a feedback kernel: ``mode`` ∈ {bp, fa, sign}; zero padding only."""

    def __init__(
        self, *args, mode: FeedbackMode = "fa", generator: torch.Generator | None = None, gain: float = 1.0, **kwargs
    ) -> None:
        if mode not in ("bp", "fa", "sign"):
            raise ValueError(f"FeedbackConv2d supports modes bp, fa and sign, got {mode!r}")
        super().__init__(*args, **kwargs)
        if self.padding_mode != "zeros" or isinstance(self.padding, str):
            raise ValueError("FeedbackConv2d supports zero padding given as numbers only")
        self.mode = mode
        fan_in = self.weight[0].numel()
        fan_out = self.weight.shape[0] * self.weight[0, 0].numel()
        bound = gain * (6.0 / (fan_in + fan_out)) ** 0.5
        b = (torch.rand(self.weight.shape, generator=generator, dtype=self.weight.dtype) * 2 - 1) * bound
        self.register_buffer("feedback", b.to(self.weight.device))
        if mode != "bp":
            check_independent(self.weight, self.feedback, "FeedbackConv2d")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Convolution whose backward uses B (bp: W; fa: B; sign: sign(W) ⊙ |B|)."""
        if self.mode == "bp":
            return super().forward(x)
        fb = self.feedback if self.mode == "fa" else torch.sign(self.weight.detach()) * self.feedback.abs()
        return FeedbackConv2dFunction.apply(
            x, self.weight, self.bias, fb, self.stride, self.padding, self.dilation, self.groups
        )

    def extra_repr(self) -> str:
        """Layer geometry plus the feedback mode."""
        return f"{super().extra_repr()}, mode={self.mode}"
