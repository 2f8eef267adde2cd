"""Direct feedback alignment (Nøkland 2016) for stacks of Linear layers, without coupling model and loss.

All DFA layers of a model share one :class:`OutputErrorHub`. The output layer's backward receives
δ_L = ∂loss/∂z_L and records it; every layer then returns ∂/∂x = δ_L B_ℓᵀ with B_ℓ of shape in × n_L,
so the hidden error arriving below is (B_ℓ δ_L) ⊙ σ′. Weight gradients keep the form δ_ℓᵀ x. The output
layer's backward always runs first (every hidden error depends on it), so the recorded δ_L is current.
"""

from __future__ import annotations

import torch
from torch import nn

from neuroplastic.core.init import xavier_uniform


class OutputErrorHub:
    """Mutable holder of the latest output error δ_L, shared by the DFA layers of one model."""

    def __init__(self) -> None:
        self.error: torch.Tensor | None = None


class DirectFeedbackFunction(torch.autograd.Function):
    """z = x Wᵀ + b with ∂/∂x = δ_L Bᵀ; the output layer records δ_L first."""

    @staticmethod
    def forward(x, weight, bias, feedback, hub, is_output):
        """Ordinary affine map."""
        return nn.functional.linear(x, weight, bias)

    @staticmethod
    def setup_context(ctx, inputs, output):
        """Keep x, B and the hub."""
        x, _, bias, feedback, hub, is_output = inputs
        ctx.save_for_backward(x, feedback)
        ctx.hub, ctx.is_output, ctx.has_bias = hub, is_output, bias is not None

    @staticmethod
    def backward(ctx, delta):
        """Input error from the recorded output error; weight and bias gradients as in backprop."""
        x, feedback = ctx.saved_tensors
        if ctx.is_output:
            ctx.hub.error = delta
        if ctx.hub.error is None:
            raise RuntimeError("DFA: no output error recorded; the model's last Linear must be a DFA output layer")
        grad_x = ctx.hub.error @ feedback.T
        flat_delta = delta.reshape(-1, delta.shape[-1])
        grad_w = flat_delta.T @ x.reshape(-1, x.shape[-1])
        grad_b = flat_delta.sum(0) if ctx.has_bias else None
        return grad_x, grad_w, grad_b, None, None, None


class DirectFeedbackLinear(nn.Linear):
    """nn.Linear trained by DFA; ``feedback`` is B_ℓ of shape in_features × n_outputs (the network's)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        n_outputs: int,
        hub: OutputErrorHub,
        is_output: bool = False,
        generator: torch.Generator | None = None,
        gain: float = 1.0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(in_features, out_features, bias, device=device, dtype=dtype)
        if is_output and n_outputs != out_features:
            raise ValueError(f"the DFA output layer must have n_outputs = {out_features} outputs, got {n_outputs}")
        self.mode = "dfa"
        self.hub, self.is_output = hub, is_output
        weight = self.weight
        b = xavier_uniform(
            in_features, n_outputs, gain=gain, generator=generator, dtype=weight.dtype, device=weight.device
        )
        self.register_buffer("feedback", b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """z = x Wᵀ + b; the backward pass broadcasts the output error through B."""
        return DirectFeedbackFunction.apply(x, self.weight, self.bias, self.feedback, self.hub, self.is_output)

    def extra_repr(self) -> str:
        """Layer sizes plus the DFA role."""
        return f"{super().extra_repr()}, mode=dfa, output={self.is_output}"
