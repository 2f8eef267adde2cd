"""A plasticity rule ΔW_ℓ = Σ_r θ_r F^r_ℓ(pre y, post y, pre e, post e, W, B), applied to every layer at once.

θ_r is a scalar shared by all layers (the paper) or a sequence / 1-D tensor with one value per layer; a tensor
of shape S × 1 × 1 gives each of S stacked networks its own θ (a grid). Tensors keep their autograd graph, so θ
can be meta-learned. Products are summed over the batch (``reduce="sum"``, the
released code) or averaged (``"mean"``); at batch 1 both agree. Every layer uses the pre-step weights.
Biases, when present, learn by the pseudo-gradient only: Δb_ℓ = −θ₀ Σ_b e_ℓ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import torch

from neuroplastic.feedback.errors import Signals
from neuroplastic.plasticity.terms import TERMS

Coefficient = float | torch.Tensor | Sequence[float]
OutputPost = Literal["softmax", "logits", "excluded"]


@dataclass(frozen=True)
class Rule:
    """Coefficients θ by term name (see ``TERMS``), batch reduction and the output layer's post activity.

    ``output_post``: what terms reading y_ℓ see at the output layer: softmax(z_L) (released code), the logits,
    or ``excluded`` (such terms contribute nothing there).
    """

    coefficients: Mapping[str, Coefficient] = field(default_factory=lambda: {"pseudo_grad": 1.0})
    reduce: Literal["sum", "mean"] = "sum"
    output_post: OutputPost = "softmax"

    def __post_init__(self) -> None:
        unknown = sorted(set(self.coefficients) - set(TERMS))
        if unknown:
            raise ValueError(f"unknown plasticity terms {unknown}; the pool is {sorted(TERMS)}")
        if self.reduce not in ("sum", "mean"):
            raise ValueError(f"reduce must be 'sum' or 'mean', got {self.reduce!r}")
        if self.output_post not in ("softmax", "logits", "excluded"):
            raise ValueError(f"output_post must be softmax, logits or excluded, got {self.output_post!r}")

    @property
    def needs_pre_error(self) -> bool:
        """Whether any term reads e_{ℓ−1}."""
        return any(TERMS[name].needs_pre_error for name in self.coefficients)

    def theta(self, name: str, layer: int, n_layers: int) -> Coefficient:
        """θ_r for layer ``layer`` (0-based) of ``n_layers``."""
        value = self.coefficients[name]
        if isinstance(value, (int, float)) or (isinstance(value, torch.Tensor) and value.dim() != 1):
            return value
        if len(value) != n_layers:
            raise ValueError(f"θ[{name!r}] has {len(value)} per-layer values for {n_layers} layers")
        return value[layer]


class LayerUpdate(NamedTuple):
    """ΔW_ℓ = D + Lᵀ R in factored form, and Δb_ℓ (None when the network has no biases).

    D holds the dense terms, L and R the stacked thin factors (each may be None), so that W_ℓ + ΔW_ℓ costs one
    fused pass over W_ℓ (addmm / baddbmm) and no W-sized temporary.
    """

    dense: torch.Tensor | None
    left: torch.Tensor | None
    right: torch.Tensor | None
    bias: torch.Tensor | None

    def delta(self, weight: torch.Tensor) -> torch.Tensor:
        """ΔW_ℓ as one tensor shaped like ``weight``."""
        if self.left is None:
            return torch.zeros_like(weight) if self.dense is None else self.dense
        product = self.left.mT @ self.right
        return product if self.dense is None else self.dense + product

    def added_to(self, weight: torch.Tensor, *, inplace: bool = False) -> torch.Tensor:
        """W_ℓ + ΔW_ℓ, out of place (autograd, vmap and jvp compose) or written into ``weight``."""
        out = weight
        if self.dense is not None:
            out = out.add_(self.dense) if inplace else out + self.dense
        if self.left is not None:
            out = _add_product(out, self.left.mT, self.right, inplace=inplace)
        return out


def _add_product(base: torch.Tensor, a: torch.Tensor, b: torch.Tensor, *, inplace: bool) -> torch.Tensor:
    """base + a b in one kernel where the shapes allow (no W-sized temporary)."""
    if base.dim() == a.dim() == b.dim() == 2:
        return base.addmm_(a, b) if inplace else torch.addmm(base, a, b)
    if base.dim() == a.dim() == b.dim() == 3 and base.shape[0] == a.shape[0] == b.shape[0]:
        return base.baddbmm_(a, b) if inplace else torch.baddbmm(base, a, b)
    return base.add_(a @ b) if inplace else base + a @ b


def factored_updates(
    rule: Rule,
    weights: Sequence[torch.Tensor],
    feedbacks: Sequence[torch.Tensor],
    signals: Signals,
    *,
    biases: bool = True,
) -> tuple[LayerUpdate, ...]:
    """The update of every layer from one forward and one feedback pass, in factored form.

    ``feedbacks`` are the effective B_ℓ used for the errors (terms may read them); ``biases=False`` skips Δb_ℓ.
    """
    ys, es = signals
    n_layers = len(weights)
    scale = 1.0 / ys[0].shape[-2] if rule.reduce == "mean" else 1.0
    thetas = {name: _thetas(rule, name, n_layers, scale, weights[0].dtype) for name in rule.coefficients}
    reads_post = any(TERMS[name].uses_post_activity for name in thetas)
    updates = []
    for l, (w, b) in enumerate(zip(weights, feedbacks, strict=True)):
        post_y = ys[l + 1]
        is_output = l == n_layers - 1
        if is_output and rule.output_post == "softmax" and reads_post:
            post_y = torch.softmax(post_y, dim=-1)
        inputs = (ys[l], post_y, es[l], es[l + 1], w)
        pairs: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}  # id(R_k) → (Σ θ L_k, R_k)
        dense = None
        for name, layer_thetas in thetas.items():
            term = TERMS[name]
            if is_output and rule.output_post == "excluded" and term.uses_post_activity:
                continue
            theta = layer_thetas[l]
            if term.factors is None:
                value = theta * term(*inputs, b)
                dense = value if dense is None else dense + value
                continue
            for left, right in term.factors(*inputs):
                previous = pairs.get(id(right))
                left = theta * left if previous is None else previous[0] + theta * left
                pairs[id(right)] = (left, right)
        left, right = _stacked(list(pairs.values()))
        bias = None
        if biases:
            theta0 = thetas["pseudo_grad"][l] if "pseudo_grad" in thetas else 0.0
            bias = -(theta0 * es[l + 1]).sum(-2)  # θ₀ may be S × 1 × 1 (a grid of stacked networks)
        updates.append(LayerUpdate(dense, left, right, bias))
    return tuple(updates)


def _scaled(t: Coefficient, scale: float) -> Coefficient:
    return t if scale == 1.0 else t * scale


def _thetas(rule: Rule, name: str, n_layers: int, scale: float, dtype: torch.dtype) -> list[Coefficient]:
    """θ_r × scale for every layer.

    A number shared by all layers becomes one 0-dim CPU tensor of the weights' dtype, a scalar on any device: on the
    CPU a product with a Python number converts it on every use. Float32 and float64 round both alike (half
    precision would not).
    """
    value = rule.coefficients[name]
    if isinstance(value, (int, float)) and dtype in (torch.float32, torch.float64):
        return [torch.full((), value * scale, dtype=dtype)] * n_layers
    return [_scaled(rule.theta(name, l, n_layers), scale) for l in range(n_layers)]


def _stacked(pairs: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """(L, R) with the factor pairs stacked along the rank dimension (no copy for a single pair)."""
    if len(pairs) < 2:
        return pairs[0] if pairs else (None, None)
    lefts, rights = zip(*pairs, strict=True)
    return torch.cat(lefts, dim=-2), torch.cat(rights, dim=-2)


def layer_updates(
    rule: Rule,
    weights: Sequence[torch.Tensor],
    feedbacks: Sequence[torch.Tensor],
    signals: Signals,
) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    """(ΔW_ℓ for every layer, Δb_ℓ for every layer) from one forward and one feedback pass."""
    updates = factored_updates(rule, weights, feedbacks, signals)
    return tuple(u.delta(w) for u, w in zip(updates, weights, strict=True)), tuple(u.bias for u in updates)
