"""How large each plasticity term is, relative to the pseudo-gradient: the scales of scale-free coefficients.

Terms differ in size by orders of magnitude (at Xavier init in the paper's network, Oja's ‖F‖ is ≈ 24 × F⁰'s in
layer 1), while Adam moves every coefficient by about its learning rate per step. Measuring s_r = ‖F^r‖ / ‖F⁰‖ and
optimising θ̃_r = s_r θ_r (`ThetaLayout`'s ``scales``) makes a step of any θ̃_r change ΔW by as much as the same
step of θ₀.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from neuroplastic.core.activations import SOFTPLUS_BETA, ActivationName
from neuroplastic.feedback.init import FeedbackMode
from neuroplastic.plasticity.learner import Learner
from neuroplastic.plasticity.meta_episodes import EpisodeBatch
from neuroplastic.plasticity.rule import OutputPost, Rule


@torch.no_grad()
def term_scales(
    terms: Sequence[str],
    batch: EpisodeBatch,
    *,
    feedback: FeedbackMode,
    activation: ActivationName = "softplus",
    beta: float = SOFTPLUS_BETA,
    reduce: str = "sum",
    output_post: OutputPost = "softmax",
    reference: str = "pseudo_grad",
) -> dict[str, float]:
    """s_r = RMS ‖F^r‖ / RMS ‖F^ref‖ over every support sample of every episode of ``batch``, at its initial weights.

    ‖F‖ is the Frobenius norm of the term over all layers together (ΔW_ℓ for θ_r = 1, one sample); the weights
    are not updated between samples, so the scales describe the terms at the start of an episode.
    """
    names = list(dict.fromkeys([reference, *terms]))
    squares = dict.fromkeys(names, 0.0)
    for name in names:
        learner = Learner(Rule({name: 1.0}, reduce=reduce, output_post=output_post), feedback, activation, beta)
        for t in range(batch.support_x.shape[-2]):
            update = learner.update(batch.state, batch.support_x[..., t : t + 1, :], batch.support_y[..., t : t + 1])
            squares[name] += float(sum(d.square().sum() for d in update.deltas))
    silent = [name for name in names if not squares[name] > 0]
    if silent:
        raise ValueError(f"terms {silent} are 0 (or not finite) on every sample of this batch: no scale to measure")
    return {name: (squares[name] / squares[reference]) ** 0.5 for name in terms}
