"""The functional core: the update of a plasticity rule for one online or mini-batch step, on plain tensors.

State = (weights W_ℓ: n_ℓ × n_{ℓ−1}, feedbacks B_ℓ: n_{ℓ−1} × n_ℓ (n_{ℓ−1} × n_L for DFA; None for backprop),
biases b_ℓ or None), held by the caller. ``Learner.update`` returns ΔW_ℓ without applying it; ``apply_update``
forms W_ℓ + ΔW_ℓ. Both are pure functions of tensors, so torch.func.vmap, grad and jvp compose with them; every
tensor may also carry a leading dimension of S independent networks (seeds or grid points), which runs them as one
batched computation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import torch

from neuroplastic.core.activations import SOFTPLUS_BETA, ActivationName, resolve_activation
from neuroplastic.core.init import xavier_uniform
from neuroplastic.feedback.errors import Signals, effective_feedback, forward, signals
from neuroplastic.feedback.init import FeedbackMode, check_mode, init_feedback
from neuroplastic.plasticity.rule import LayerUpdate, Rule, factored_updates


class PlasticState(NamedTuple):
    """Weights, feedback matrices (None for backprop) and biases (None without biases)."""

    weights: tuple[torch.Tensor, ...]
    feedbacks: tuple[torch.Tensor, ...] | None
    biases: tuple[torch.Tensor, ...] | None = None


@dataclass(frozen=True)
class PlasticUpdate:
    """ΔW_ℓ (and Δb_ℓ) of one step in factored form, the signals they came from and the weights they were taken at.

    Nothing is applied: `apply_update` (or `apply_update_`, in place) adds the update to the state, and
    `rule_backward` hands it to a torch optimiser as ``.grad = −ΔW``. ``deltas`` forms ΔW_ℓ from the factors only
    when read, so a plain step never pays for a W-sized temporary.
    """

    layers: tuple[LayerUpdate, ...]
    signals: Signals
    weights: tuple[torch.Tensor, ...]

    @property
    def deltas(self) -> tuple[torch.Tensor, ...]:
        """ΔW_ℓ for every layer."""
        return tuple(u.delta(w) for u, w in zip(self.layers, self.weights, strict=True))

    @property
    def bias_deltas(self) -> tuple[torch.Tensor | None, ...]:
        """Δb_ℓ for every layer (−θ₀ Σ_b e_ℓ); None entries for a network without biases."""
        return tuple(u.bias for u in self.layers)


@dataclass(frozen=True)
class Learner:
    """A rule, a feedback pathway and the hidden nonlinearity (softplus, β = ``SOFTPLUS_BETA``, by default)."""

    rule: Rule = field(default_factory=Rule)
    feedback: FeedbackMode = "fa"
    activation: ActivationName = "softplus"
    beta: float = SOFTPLUS_BETA

    def __post_init__(self) -> None:
        check_mode(self.feedback)
        resolve_activation(self.activation, beta=self.beta)
        if not isinstance(self.rule, Rule):
            raise TypeError(f"rule must be a plasticity.Rule, got {type(self.rule).__name__}")

    def signals(
        self, state: PlasticState, x: torch.Tensor, target: torch.Tensor, *, input_error: bool = True
    ) -> Signals:
        """Activities y₀..y_L and errors e₀..e_L (e₀ None when ``input_error`` is False)."""
        return signals(
            state.weights,
            state.feedbacks,
            x,
            target,
            biases=state.biases,
            mode=self.feedback,
            activation=self.activation,
            beta=self.beta,
            input_error=input_error,
        )

    def update(self, state: PlasticState, x: torch.Tensor, target: torch.Tensor) -> PlasticUpdate:
        """ΔW_ℓ for all layers from one forward and one feedback pass at the state's weights; the state is untouched.

        A pure function of tensors: autograd, vmap and jvp see every operation.
        """
        s = self.signals(state, x, target, input_error=self.rule.needs_pre_error)
        fbs = self.effective_feedbacks(state)
        layers = factored_updates(self.rule, state.weights, fbs, s, biases=state.biases is not None)
        return PlasticUpdate(layers, s, state.weights)

    def effective_feedbacks(self, state: PlasticState) -> tuple[torch.Tensor, ...]:
        """The B_ℓ that carry errors at this step (W_ℓᵀ for backprop)."""
        fbs = state.feedbacks if state.feedbacks is not None else (None,) * len(state.weights)
        return tuple(effective_feedback(w, b, self.feedback) for w, b in zip(state.weights, fbs, strict=True))

    def predict(self, state: PlasticState, x: torch.Tensor) -> torch.Tensor:
        """Predicted class labels."""
        logits = forward(state.weights, x, biases=state.biases, activation=self.activation, beta=self.beta)[-1]
        return logits.argmax(-1)


def apply_update(state: PlasticState, update: PlasticUpdate) -> PlasticState:
    """W_ℓ ← W_ℓ + ΔW_ℓ and b_ℓ ← b_ℓ + Δb_ℓ out of place (B unchanged: no rule here writes to it).

    Each W_ℓ + Lᵀ R is one fused kernel (addmm / baddbmm), with no W-sized temporary.
    """
    return _applied(state, update, inplace=False)


@torch.no_grad()
def apply_update_(state: PlasticState, update: PlasticUpdate) -> PlasticState:
    """The same sum written into the state's own tensors, without autograd (plain online training).

    Saves a fresh W-sized allocation and a pass over it per layer, which dominate at batch 1.
    """
    return _applied(state, update, inplace=True)


def _applied(state: PlasticState, update: PlasticUpdate, *, inplace: bool) -> PlasticState:
    layers = update.layers
    weights = tuple(u.added_to(w, inplace=inplace) for u, w in zip(layers, state.weights, strict=True))
    biases = None
    if state.biases is not None:
        pairs = zip(state.biases, layers, strict=True)
        biases = tuple(b.add_(u.bias) if inplace else b + u.bias for b, u in pairs)
    return PlasticState(weights, state.feedbacks, biases)


def init_state(
    sizes: Sequence[int],
    *,
    feedback: FeedbackMode = "fa",
    generator: torch.Generator | None = None,
    gain: float = 1.0,
    feedback_gain: float = 1.0,
    bias: bool = False,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> PlasticState:
    """Xavier-uniform W_ℓ × ``gain`` (then B_ℓ) for layer sizes [n₀, …, n_L], zero biases."""
    if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
        raise ValueError(f"sizes must list at least two positive widths, got {list(sizes)}")
    pairs = zip(sizes[:-1], sizes[1:], strict=True)
    weights = tuple(xavier_uniform(b, a, generator=generator, gain=gain, dtype=dtype) for a, b in pairs)
    feedbacks = None if feedback == "bp" else init_feedback(weights, feedback, generator=generator, gain=feedback_gain)
    biases = tuple(torch.zeros(n, dtype=dtype) for n in sizes[1:]) if bias else None
    state = PlasticState(weights, feedbacks, biases)
    return map_state(state, lambda t: t.to(device))


def map_state(state: PlasticState, fn) -> PlasticState:
    """Apply ``fn`` to every tensor of the state."""

    def each(ts):
        return None if ts is None else tuple(fn(t) for t in ts)

    return PlasticState(each(state.weights), each(state.feedbacks), each(state.biases))


def vmap_dims(state: PlasticState, dim: int = 0) -> PlasticState:
    """``in_dims`` for torch.func.vmap over a stacked state (absent parts get None)."""
    return PlasticState(*(None if part is None else dim for part in state))


def stack_states(states: Sequence[PlasticState]) -> PlasticState:
    """Stack S states along a new leading dimension (all must share shapes and optional parts)."""

    def stack(parts):
        if parts[0] is None:
            return None
        return tuple(torch.stack(ts) for ts in zip(*parts, strict=True))

    return PlasticState(*(stack([getattr(s, f) for s in states]) for f in PlasticState._fields))


def unstack_state(state: PlasticState, index: int) -> PlasticState:
    """The ``index``-th network of a stacked state."""
    return map_state(state, lambda t: t[index])
