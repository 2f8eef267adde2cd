"""Meta-learning a plasticity rule: θ (one scalar per term, shared by all layers and synapses) learned by an optimiser.

Each episode starts from fresh W and B, learns online from its support set with ΔW_ℓ = Σ_r θ_r F^r_ℓ and is
scored on its query set; the meta-loss is the query cross-entropy (mean over query samples and episodes) plus
λ‖θ̃‖₁, differentiated through the whole unrolled inner loop (Shervani-Tabar & Rosenbaum 2023, Eq. 6). The L1 part
enters the gradient as λ·sign(θ̃). ``replicas`` independent meta-learners (e.g. seeds) train in lockstep as one
batched computation: θ̃ is replicas × R, and an elementwise optimiser (Adam, SGD) treats each row as its own.
θ's terms, units (θ̃ = s θ) and constraints: `plasticity.theta.ThetaLayout`; what a diverged episode does:
`plasticity.divergence`; scoring a θ on held-out episodes: `plasticity.meta_evaluation.evaluate`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import torch
from torch.nn import functional as F

from neuroplastic.core.activations import SOFTPLUS_BETA, ActivationName, resolve_activation
from neuroplastic.core.divergence import check_finite
from neuroplastic.feedback.errors import forward
from neuroplastic.feedback.init import FeedbackMode, check_mode
from neuroplastic.plasticity.diagnostics import query_diagnostics
from neuroplastic.plasticity.divergence import (
    DivergencePolicy,
    backed_off,
    divergence_response,
    forget_momentum,
    healthy_episodes,
    healthy_mean,
)
from neuroplastic.plasticity.learner import Learner
from neuroplastic.plasticity.meta_episodes import EpisodeBatch
from neuroplastic.plasticity.metagrad import (
    META_GRADIENT_MODES,
    MetaGradientMode,
    forward_gradient,
    reverse_gradient,
    unroll,
)
from neuroplastic.plasticity.rule import OutputPost, Rule
from neuroplastic.plasticity.theta import ThetaLayout

OptimizerFactory = Callable[[list[torch.Tensor]], torch.optim.Optimizer]
DEFAULT_OPTIMIZER: OptimizerFactory = partial(torch.optim.Adam, lr=1e-3)


@dataclass(frozen=True, kw_only=True)
class InnerLoop:
    """How each episode's network learns: feedback pathway, hidden σ (β), batch reduction, output post (`Rule`).

    ``output_post``: what terms reading y_ℓ see at the output layer. σ must be smooth (softplus or tanh): the
    meta-gradient differentiates σ′, and ReLU has σ″ = 0.
    """

    feedback: FeedbackMode = "fa"
    activation: ActivationName = "softplus"
    beta: float = SOFTPLUS_BETA
    reduce: Literal["sum", "mean"] = "sum"
    output_post: OutputPost = "softmax"

    def __post_init__(self) -> None:
        check_mode(self.feedback)
        resolve_activation(self.activation, beta=self.beta)
        if self.activation == "relu":
            raise ValueError("meta-gradients differentiate σ′, and ReLU has σ″ = 0: use softplus or tanh")
        Rule({}, reduce=self.reduce, output_post=self.output_post)  # validates both

    def learner(self, coefficients: Mapping[str, torch.Tensor]) -> Learner:
        """The inner-loop learner of the rule with ``coefficients`` θ_r by term name."""
        rule = Rule(coefficients, reduce=self.reduce, output_post=self.output_post)
        return Learner(rule, self.feedback, self.activation, self.beta)


class MetaLearner:
    """θ̃ laid out by ``layout``, meta-trained through the inner loop ``inner`` by the optimiser ``optimizer`` builds.

    ``optimizer``: a factory called once with ``[theta]`` (e.g. ``functools.partial(torch.optim.Adam, lr=3e-3)``;
    default Adam, lr 1e-3); `step` writes the meta-gradient into ``theta.grad`` and calls its ``step()``.
    ``meta_gradient``: ``reverse``, ``checkpoint`` (reverse mode recomputing every ``checkpoint_every`` steps) or
    ``forward`` (jvp, one tangent per term). ``clip_value`` = c clips each entry of θ̃'s meta-gradient to [−c, c]
    before the optimiser (as ``torch.nn.utils.clip_grad_value_``): through a long unroll the per-episode
    meta-gradient is heavy-tailed (rare episodes near the inner loop's stability edge give 10⁴–10⁸ where most give
    10–10³), and one such outlier would steer Adam for the next ~10 steps. ``l1`` = λ adds λ Σ_r |θ̃_r| to the
    meta-loss over the layout's penalised terms. ``divergence``: see `step`.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        layout: ThetaLayout | None = None,
        *,
        inner: InnerLoop | None = None,
        optimizer: OptimizerFactory = DEFAULT_OPTIMIZER,
        l1: float = 0.0,
        clip_value: float | None = None,
        divergence: DivergencePolicy | None = None,
        meta_gradient: MetaGradientMode = "reverse",
        checkpoint_every: int = 25,
        replicas: int = 1,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> None:
        layout, inner, divergence = layout or ThetaLayout(), inner or InnerLoop(), divergence or DivergencePolicy()
        if len(sizes) < 2:
            raise ValueError(f"sizes must list at least two widths, got {list(sizes)}")
        if clip_value is not None and not clip_value > 0:
            raise ValueError(f"clip_value must be > 0 (None: no clipping), got {clip_value}")
        if meta_gradient not in META_GRADIENT_MODES:
            raise ValueError(f"meta_gradient must be one of {', '.join(META_GRADIENT_MODES)}, got {meta_gradient!r}")
        if replicas < 1 or checkpoint_every < 1 or l1 < 0:
            raise ValueError("need replicas >= 1, checkpoint_every >= 1 and l1 >= 0")
        if divergence.action == "shrink" and clip_value is None:
            raise ValueError("the shrink policy steps with the clipped gradient ±clip_value: set clip_value")
        self.sizes, self.layout, self.inner, self.divergence = list(sizes), layout, inner, divergence
        self.l1, self.clip_value, self.replicas = l1, clip_value, replicas
        self.mode, self.checkpoint_every = meta_gradient, checkpoint_every
        self.penalised = layout.penalised(dtype=dtype, device=device)
        self.scales = layout.scale_vector(dtype=dtype, device=device)
        self.theta = layout.initial(replicas, dtype=dtype, device=device).requires_grad_()
        self.optimizer = optimizer([self.theta])
        if [p for group in self.optimizer.param_groups for p in group["params"]] != [self.theta]:
            raise ValueError("the optimizer factory must build an optimiser over exactly the parameters it is given")
        self.skips = torch.zeros(replicas, dtype=torch.int64, device=device)
        self.dropped = torch.zeros(replicas, dtype=torch.int64, device=device)
        self.steps = 0
        self.history: list[dict[str, Any]] = []

    @property
    def terms(self) -> tuple[str, ...]:
        """The layout's terms, in θ's column order."""
        return self.layout.terms

    def coefficients(self, replica: int = 0) -> dict[str, float]:
        """θ_r by term name for one replica, in the paper's units."""
        return dict(zip(self.terms, self.paper_theta()[replica].tolist(), strict=True))

    def paper_theta(self) -> torch.Tensor:
        """θ = θ̃ / s, replicas × R: the coefficients the rule uses."""
        return self.theta.detach() / self.scales

    @torch.no_grad()
    def set_paper_theta(self, theta: torch.Tensor) -> None:
        """Set θ (replicas × R, the paper's units); the optimised θ̃ becomes θ·s."""
        self.theta.copy_(theta.to(self.theta) * self.scales)

    def learner(self, theta: torch.Tensor) -> Learner:
        """The inner-loop learner for per-network optimised coefficients ``theta`` θ̃ (networks × R)."""
        theta = theta / self.scales
        return self.inner.learner({name: theta[:, r].view(-1, 1, 1) for r, name in enumerate(self.terms)})

    def loss(
        self, theta: torch.Tensor, batch: EpisodeBatch, *, checkpoint_every: int = 0
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Query cross-entropy per replica (mean over its episodes) for θ̃ (replicas × R); aux = (final W_ℓ…)."""
        ce, final = self.episode_loss(self._per_episode(theta, batch), batch, checkpoint_every=checkpoint_every)
        return ce.view(self.replicas, -1).mean(-1), final

    def episode_loss(
        self, theta: torch.Tensor, batch: EpisodeBatch, *, checkpoint_every: int = 0
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Query cross-entropy per episode after the inner loop, for θ̃ per episode (E × R); aux = (final W_ℓ…)."""
        final = unroll(
            self.learner,
            theta,
            batch.state,
            batch.support_x,
            batch.support_y,
            checkpoint_every=checkpoint_every,
        )
        logits = forward(final.weights, batch.query_x, activation=self.inner.activation, beta=self.inner.beta)[-1]
        ce = F.cross_entropy(logits.flatten(0, -2), batch.query_y.flatten(), reduction="none")
        return ce.view(len(batch), -1).mean(-1), final.weights

    def meta_gradient(self, batch: EpisodeBatch) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, ...]]:
        """(∂ query CE / ∂θ̃ per episode (E × R), query CE per episode, final weights) in this learner's mode.

        Each episode gets its own copy of its replica's θ̃, so one episode's gradient never mixes with another's
        (a diverged episode can be dropped from the average).
        """
        theta = self._per_episode(self.theta.detach(), batch)
        if self.mode == "forward":
            return forward_gradient(lambda th: self.episode_loss(th, batch), theta)
        every = self.checkpoint_every if self.mode == "checkpoint" else 0
        return reverse_gradient(lambda th: self.episode_loss(th, batch, checkpoint_every=every), theta)

    def diagnostics(self, batch: EpisodeBatch, weights: Sequence[torch.Tensor]) -> dict[str, list]:
        """`plasticity.diagnostics.query_diagnostics` of the episodes' final ``weights`` on their query sets."""
        inner = self.inner
        options = {"feedback": inner.feedback, "activation": inner.activation, "beta": inner.beta}
        feedbacks = batch.state.feedbacks
        return query_diagnostics(weights, feedbacks, batch.query_x, batch.query_y, replicas=self.replicas, **options)

    def step(self, batch: EpisodeBatch) -> dict[str, Any]:
        """One optimiser step on θ̃ from a batch of episodes; writes the meta-gradient into ``theta.grad``.

        An episode whose query loss or meta-gradient is NaN/inf, or whose query loss exceeds the policy's
        ``max_query_loss``, diverged (`plasticity.divergence`): the policy ``raise`` stops the run; ``drop`` leaves it
        out of its replica's mean meta-gradient (and counts it), and a replica with no episode left backs off
        instead of stepping, θ̃ ← (1 − backoff) θ̃, its momentum forgotten (its second moment decays as for a zero
        gradient); ``shrink`` steps its replica with clip_value·sign(θ̃). Only ``patience`` consecutive steps with
        a divergence in one replica stop the run. ``skipped`` in the record marks the replicas with a diverged
        episode, ``dropped`` counts their diverged episodes.
        """
        grad, ce, final = self.meta_gradient(batch)
        policy = self.divergence
        healthy = healthy_episodes(ce, grad, replicas=self.replicas, max_query_loss=policy.max_query_loss)
        kept = healthy.sum(-1)
        dropped = healthy.shape[-1] - kept
        diverged = dropped > 0
        self.skips = torch.where(diverged, self.skips + 1, 0)
        self.dropped += dropped
        if diverged.any() and (policy.action == "raise" or int(self.skips.max()) >= policy.patience):
            hint = f"the inner loop diverged with θ = {self.paper_theta().tolist()} (terms {list(self.terms)})"
            check_finite(
                torch.where(diverged, torch.inf, 0.0), step=self.steps, what="meta-training query loss", hint=hint
            )
        mean_ce = torch.where(kept > 0, healthy_mean(ce, healthy), torch.nan)
        theta = self.theta.detach().clone()
        grad = healthy_mean(grad, healthy) + self.l1 * self.penalised * torch.sign(theta)
        if self.clip_value is not None:
            grad = grad.clamp(-self.clip_value, self.clip_value)
        self.theta.grad, lost = divergence_response(policy, grad, theta, healthy, clip_value=self.clip_value)
        record = {
            "step": self.steps,
            "query_loss": mean_ce.tolist(),
            "meta_loss": (mean_ce + self.l1 * (self.penalised * theta.abs()).sum(-1)).tolist(),
            "skipped": diverged.tolist(),
            "dropped": dropped.tolist(),
            **self.diagnostics(batch, final),
        }
        self.optimizer.step()
        with torch.no_grad():
            self.theta.copy_(backed_off(policy, theta, self.theta, lost))
            forget_momentum(self.optimizer, self.theta, lost)
            nonnegative = self.layout.nonnegative_index
            self.theta[:, nonnegative] = self.theta[:, nonnegative].clamp(min=0.0)
        self.steps += 1
        record["theta"] = self.paper_theta().tolist()
        self.history.append(record)
        return record

    def fit(self, batches: Iterable[EpisodeBatch], steps: int | None = None, *, callback=None) -> list[dict]:
        """Meta-train on ``batches`` (at most ``steps`` of them); ``callback(self, record)`` after each step."""
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            record = self.step(batch)
            if callback is not None:
                callback(self, record)
        return self.history

    def state_dict(self) -> dict[str, Any]:
        """θ̃, the scales, the optimiser's state, the step count and the per-step history (for a checkpoint)."""
        return {
            "theta": self.theta.detach().clone(),
            "scales": self.scales.clone(),
            "optimizer": self.optimizer.state_dict(),
            "steps": self.steps,
            "skips": self.skips.clone(),
            "dropped": self.dropped.clone(),
            "history": list(self.history),
            "terms": list(self.terms),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Resume from `state_dict` output (the terms, replicas and scales must match)."""
        if list(state["terms"]) != list(self.terms) or tuple(state["theta"].shape) != tuple(self.theta.shape):
            raise ValueError(f"checkpoint is for terms {state['terms']} θ {tuple(state['theta'].shape)}")
        if not torch.equal(state["scales"].to(self.scales), self.scales):
            raise ValueError(f"checkpoint has term scales {state['scales'].tolist()}, not {self.scales.tolist()}")
        with torch.no_grad():
            self.theta.copy_(state["theta"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.steps, self.history = int(state["steps"]), list(state["history"])
        self.skips = state["skips"].to(self.skips.device)
        self.dropped = state["dropped"].to(self.dropped.device)

    def _per_episode(self, theta: torch.Tensor, batch: EpisodeBatch) -> torch.Tensor:
        n = len(batch)
        if n % self.replicas:
            raise ValueError(f"a batch of {n} episodes does not split into {self.replicas} replicas")
        widths = [w.shape[-2:] for w in batch.state.weights]
        expected = [torch.Size((b, a)) for a, b in zip(self.sizes[:-1], self.sizes[1:], strict=True)]
        if widths != expected:
            raise ValueError(f"episode networks have weight shapes {widths}, this learner expects {expected}")
        return theta.repeat_interleave(n // self.replicas, dim=0)
