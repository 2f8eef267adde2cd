"""Local plasticity rules ΔW_ℓ = Σ_r θ_r F^r_ℓ(pre y, post y, pre e, post e, W, B), online or in mini-batches.

Sign convention: W ← W + ΔW; F⁰ = −e yᵀ (θ₀ is the learning rate), eHebb = −e_ℓ e_{ℓ−1}ᵀ, Oja with +.
Functional core: ``Learner(rule, feedback, activation).update(state, x, t)`` gives ΔW on plain tensors (vmap-able,
or with a leading dimension of networks) and ``apply_update(state, update)`` adds it; the caller holds the state.
Module API: ``rule_backward(model, x, t, rule)`` writes −ΔW into ``.grad`` for any torch optimiser.
Meta-learning θ through the unrolled inner loop (reverse, checkpointed or forward mode): ``MetaLearner`` with any
torch optimiser, θ laid out by ``ThetaLayout``, diverged episodes handled by a ``DivergencePolicy``, scored by
``evaluate``.
"""

from neuroplastic.plasticity.diagnostics import (
    activation_norm,
    effective_rank,
    layer_diagnostics,
    norm_ratio,
    orthonormality_error,
    query_diagnostics,
    row_norms,
    update_gradient_angle,
    weight_feedback_angle,
)
from neuroplastic.plasticity.divergence import DivergencePolicy
from neuroplastic.plasticity.learner import (
    Learner,
    PlasticState,
    PlasticUpdate,
    apply_update,
    apply_update_,
    init_state,
    map_state,
    stack_states,
    unstack_state,
    vmap_dims,
)
from neuroplastic.plasticity.meta import InnerLoop, MetaLearner
from neuroplastic.plasticity.meta_episodes import EpisodeBatch, episode_batch, episode_stream
from neuroplastic.plasticity.meta_evaluation import evaluate
from neuroplastic.plasticity.metagrad import META_GRADIENT_MODES, forward_gradient, reverse_gradient, unroll
from neuroplastic.plasticity.module import learner_for, rule_backward
from neuroplastic.plasticity.oja import gha, hebb, oja_single_neuron, oja_subspace, subspace_decay
from neuroplastic.plasticity.rule import LayerUpdate, Rule, factored_updates, layer_updates
from neuroplastic.plasticity.terms import TERMS, Term
from neuroplastic.plasticity.theta import ThetaLayout

__all__ = [
    "META_GRADIENT_MODES",
    "TERMS",
    "DivergencePolicy",
    "EpisodeBatch",
    "InnerLoop",
    "LayerUpdate",
    "Learner",
    "MetaLearner",
    "PlasticState",
    "PlasticUpdate",
    "Rule",
    "Term",
    "ThetaLayout",
    "activation_norm",
    "apply_update",
    "apply_update_",
    "effective_rank",
    "episode_batch",
    "episode_stream",
    "evaluate",
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
    "query_diagnostics",
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
