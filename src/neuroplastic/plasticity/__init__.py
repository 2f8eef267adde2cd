"""Local plasticity rules ΔW_ℓ = Σ_r θ_r F^r_ℓ(pre y, post y, pre e, post e, W, B), online or in mini-batches.

Sign convention: W ← W + ΔW; F⁰ = −e yᵀ (θ₀ is the learning rate), eHebb = −e_ℓ e_{ℓ−1}ᵀ, Oja with +.
Functional core: ``Learner(rule, feedback, activation).step(state, x, t)`` on plain tensors (vmap-able, or with a
leading dimension of networks). Module API: ``rule_backward(model, x, t, rule)`` writes −ΔW into ``.grad``.
Meta-learning θ through the unrolled inner loop (reverse, checkpointed or forward mode): ``MetaLearner``.
"""

from neuroplastic.plasticity.diagnostics import (
    activation_norm,
    effective_rank,
    layer_diagnostics,
    norm_ratio,
    orthonormality_error,
    row_norms,
    update_gradient_angle,
    weight_feedback_angle,
)
from neuroplastic.plasticity.learner import (
    Learner,
    PlasticState,
    StepResult,
    init_state,
    map_state,
    stack_states,
    unstack_state,
    vmap_dims,
)
from neuroplastic.plasticity.meta import MetaLearner
from neuroplastic.plasticity.meta_episodes import EpisodeBatch, episode_batch, episode_stream
from neuroplastic.plasticity.metagrad import META_GRADIENT_MODES, forward_gradient, reverse_gradient, unroll
from neuroplastic.plasticity.module import learner_for, rule_backward
from neuroplastic.plasticity.oja import gha, hebb, oja_single_neuron, oja_subspace, subspace_decay
from neuroplastic.plasticity.rule import LayerUpdate, Rule, factored_updates, layer_updates
from neuroplastic.plasticity.terms import TERMS, Term

__all__ = [
    "META_GRADIENT_MODES",
    "TERMS",
    "EpisodeBatch",
    "LayerUpdate",
    "Learner",
    "MetaLearner",
    "PlasticState",
    "Rule",
    "StepResult",
    "Term",
    "activation_norm",
    "effective_rank",
    "episode_batch",
    "episode_stream",
    "factored_updates",
    "forward_gradient",
    "gha",
    "hebb",
    "init_state",
    "layer_diagnostics",
    "layer_updates",
    "learner_for",
    "map_state",
    "norm_ratio",
    "oja_single_neuron",
    "oja_subspace",
    "orthonormality_error",
    "reverse_gradient",
    "row_norms",
    "rule_backward",
    "stack_states",
    "subspace_decay",
    "unroll",
    "unstack_state",
    "update_gradient_angle",
    "vmap_dims",
    "weight_feedback_angle",
]
