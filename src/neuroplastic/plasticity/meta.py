"""Meta-learning a plasticity rule: θ (one scalar per term, shared by all layers and synapses) learned by Adam.

Each episode starts from fresh W and B, learns online from its support set with ΔW_ℓ = Σ_r θ_r F^r_ℓ and is
scored on its query set; the meta-loss is the query cross-entropy (mean over query samples and episodes) plus
λ‖θ̃‖₁, differentiated through the whole unrolled inner loop (Shervani-Tabar & Rosenbaum 2023, Eq. 6). The L1 part
enters the gradient as λ·sign(θ̃). ``replicas`` independent meta-learners (e.g. seeds) train in lockstep as one
batched computation: θ is replicas × R, and Adam, being elementwise, treats each row as its own optimiser.

Scale-free coefficients: with term scales s_r (e.g. `term_scales`, the size of F^r relative to F⁰), Adam and the L1
penalty act on θ̃_r = s_r θ_r, so a step of θ̃_r changes ΔW as much as the same step of θ̃₀ = θ₀ would, whatever
the size of the term; the rule itself, and everything reported, uses θ_r = θ̃_r / s_r (the paper's units).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import torch
from torch.nn import functional as F

from neuroplastic.core.activations import SOFTPLUS_BETA, ActivationName, resolve_activation
from neuroplastic.core.divergence import check_finite
from neuroplastic.core.metrics import angle_degrees
from neuroplastic.feedback.errors import errors, forward
from neuroplastic.feedback.init import FeedbackMode, check_mode
from neuroplastic.plasticity.diagnostics import orthonormality_error
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
from neuroplastic.plasticity.terms import TERMS


class MetaLearner:
    """θ for the plasticity terms ``terms``, the feedback pathway, and Adam on θ.

    ``meta_gradient``: ``reverse``, ``checkpoint`` (reverse mode recomputing every ``checkpoint_every`` steps) or
    ``forward`` (jvp, one tangent per term). θ starts at ``theta_init`` (default θ_pseudo_grad = 1e-3, the
    released code's ``--a``, every other term 0). ``nonnegative`` names terms whose θ_r is projected onto θ_r ≥ 0
    after every Adam step (e.g. ``("oja",)``: a negative θ_Oja is anti-Oja, which silences softplus units, and
    the meta-gradient vanishes there). ``clip_value`` = c clips each entry of θ's meta-gradient to [−c, c] before
    Adam (as ``torch.nn.utils.clip_grad_value_``): through a long unroll the per-episode meta-gradient is heavy-
    tailed (rare episodes near the inner loop's stability edge give 10⁴–10⁸ where most give 10–10³), and one such
    outlier would steer Adam for the next ~10 steps. Hidden σ must be smooth (softplus or tanh): the meta-gradient
    differentiates σ′, and ReLU has σ″ = 0. ``scales``: s_r by term name (1 for terms not named) for scale-free
    coefficients (see the module docstring); ``theta_init`` is in the paper's units all the same.
    ``l1`` = λ adds λ Σ_r |θ̃_r| to the meta-loss over every term except those in ``unpenalised`` (default the
    pseudo-gradient: θ₀ is the rule's learning rate, the reference the other terms are measured against, not a
    candidate to prune). ``on_divergence``, ``max_query_loss`` and ``backoff``: see `step`.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        *,
        feedback: FeedbackMode = "fa",
        terms: Sequence[str] = ("pseudo_grad",),
        l1: float = 0.0,
        unpenalised: Sequence[str] = ("pseudo_grad",),
        lr: float = 1e-3,
        theta_init: Mapping[str, float] | None = None,
        nonnegative: Sequence[str] = (),
        clip_value: float | None = None,
        replicas: int = 1,
        meta_gradient: MetaGradientMode = "reverse",
        checkpoint_every: int = 25,
        activation: ActivationName = "softplus",
        beta: float = SOFTPLUS_BETA,
        reduce: str = "sum",
        output_post: OutputPost = "softmax",
        scales: Mapping[str, float] | None = None,
        on_divergence: Literal["raise", "drop", "shrink"] = "raise",
        patience: int = 20,
        max_query_loss: float = math.inf,
        backoff: float = 0.1,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> None:
        check_mode(feedback)
        resolve_activation(activation, beta=beta)
        if activation == "relu":
            raise ValueError("meta-gradients differentiate σ′, and ReLU has σ″ = 0: use softplus or tanh")
        terms = list(terms)
        unknown = sorted(set(terms) - set(TERMS))
        if not terms or unknown or len(set(terms)) != len(terms):
            raise ValueError(f"terms must name distinct plasticity terms from {sorted(TERMS)}, got {terms}")
        init = {"pseudo_grad": 1e-3, **(theta_init or {})}
        if set(init) - set(terms) - {"pseudo_grad"}:
            raise ValueError(f"theta_init names terms not in {terms}: {sorted(set(init) - set(terms))}")
        scales = dict(scales or {})
        if set(scales) - set(terms) or not all(math.isfinite(v) and v > 0 for v in scales.values()):
            raise ValueError(f"scales must give finite positive sizes for terms of {terms}, got {scales}")
        if set(nonnegative) - set(terms) or any(init.get(name, 0.0) < 0 for name in nonnegative):
            raise ValueError(f"nonnegative must name terms of {terms} whose θ starts >= 0, got {list(nonnegative)}")
        if clip_value is not None and not clip_value > 0:
            raise ValueError(f"clip_value must be > 0 or None, got {clip_value}")
        if meta_gradient not in META_GRADIENT_MODES:
            raise ValueError(f"meta_gradient must be one of {', '.join(META_GRADIENT_MODES)}, got {meta_gradient!r}")
        if replicas < 1 or checkpoint_every < 1 or patience < 1 or not lr > 0 or l1 < 0:
            raise ValueError("need replicas >= 1, checkpoint_every >= 1, patience >= 1, lr > 0 and l1 >= 0")
        if not 0 < backoff < 1:
            raise ValueError(
                f"backoff is the share by which θ shrinks after a lost step: need 0 < backoff < 1, got {backoff}"
            )
        if not max_query_loss > 0:
            raise ValueError(f"max_query_loss must be > 0 (math.inf: only NaN/inf diverge), got {max_query_loss}")
        if on_divergence not in ("raise", "drop", "shrink"):
            raise ValueError(f"on_divergence must be 'raise', 'drop' or 'shrink', got {on_divergence!r}")
        if on_divergence == "shrink" and clip_value is None:
            raise ValueError("on_divergence='shrink' steps with the clipped gradient ±clip_value: set clip_value")
        if len(sizes) < 2:
            raise ValueError(f"sizes must list at least two widths, got {list(sizes)}")
        self.sizes, self.terms, self.feedback = list(sizes), terms, feedback
        self.l1, self.replicas, self.mode, self.checkpoint_every = l1, replicas, meta_gradient, checkpoint_every
        self.penalised = torch.tensor([name not in unpenalised for name in terms], dtype=dtype, device=device)
        self.activation, self.beta, self.reduce, self.output_post = activation, beta, reduce, output_post
        self.scales = torch.tensor([float(scales.get(name, 1.0)) for name in terms], dtype=dtype, device=device)
        row = [float(init.get(name, 0.0)) * float(scales.get(name, 1.0)) for name in terms]
        self.theta = torch.tensor([row] * replicas, dtype=dtype, device=device, requires_grad=True)
        self.optimizer = torch.optim.Adam([self.theta], lr=lr)
        self.nonnegative = [terms.index(name) for name in nonnegative]
        self.clip_value = clip_value
        self.on_divergence, self.patience, self.max_query_loss = on_divergence, patience, max_query_loss
        self.backoff = backoff
        self.skips = torch.zeros(replicas, dtype=torch.int64, device=device)
        self.dropped = torch.zeros(replicas, dtype=torch.int64, device=device)
        self.steps = 0
        self.history: list[dict[str, Any]] = []

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
        rule = Rule(
            {name: theta[:, r].view(-1, 1, 1) for r, name in enumerate(self.terms)},
            reduce=self.reduce,
            output_post=self.output_post,
        )
        return Learner(rule, self.feedback, self.activation, self.beta)

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
        logits = forward(final.weights, batch.query_x, activation=self.activation, beta=self.beta)[-1]
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

    def step(self, batch: EpisodeBatch) -> dict[str, Any]:
        """One Adam step on θ̃ from a batch of episodes; writes the meta-gradient into ``theta.grad``.

        An episode whose query loss or meta-gradient is NaN/inf, or whose query loss exceeds ``max_query_loss``
        (its inner loop diverged, or ran past the stability edge into confident error, where the unrolled
        meta-gradient is chaotic and points further out), stops the run with
        ``on_divergence="raise"``. With ``"drop"`` it is left out of its replica's mean meta-gradient (and counted);
        a replica left with no episode backs off instead of stepping: θ̃ ← (1 − backoff) θ̃, which keeps the rule's
        direction (the ratios θ_r/θ₀) and shrinks its step below the inner loop's stability edge, and its Adam
        momentum is reset, so the push that led past the edge is forgotten (its second moment decays as for a zero
        gradient). With ``"shrink"`` a replica with a diverged episode steps with clip_value·sign(θ̃), the clipped
        gradient of a loss that is infinite beyond the edge (an outsized gradient: it fills Adam's second moment for
        many steps). Only ``patience`` consecutive steps with a divergence in one replica stop the run. ``skipped``
        in the record marks the replicas with a diverged episode, ``dropped`` counts their diverged episodes.
        """
        grad, ce, final = self.meta_gradient(batch)
        healthy = torch.isfinite(ce) & (ce <= self.max_query_loss) & torch.isfinite(grad).all(-1)
        healthy = healthy.view(self.replicas, -1)
        kept = healthy.sum(-1)
        dropped = healthy.shape[-1] - kept
        diverged = dropped > 0
        self.skips = torch.where(diverged, self.skips + 1, 0)
        self.dropped += dropped
        if diverged.any() and (self.on_divergence == "raise" or int(self.skips.max()) >= self.patience):
            hint = f"the inner loop diverged with θ = {self.paper_theta().tolist()} (terms {self.terms})"
            check_finite(
                torch.where(diverged, torch.inf, 0.0), step=self.steps, what="meta-training query loss", hint=hint
            )
        ce = ce.view(self.replicas, -1)
        mean_ce = torch.where(healthy, ce, 0.0).sum(-1) / kept.clamp(min=1)
        mean_ce = torch.where(kept > 0, mean_ce, torch.nan)
        grad = torch.where(healthy.unsqueeze(-1), grad.view(*healthy.shape, -1), 0.0).sum(1)
        grad = grad / kept.clamp(min=1).unsqueeze(-1)
        theta = self.theta.detach().clone()
        grad = grad + self.l1 * self.penalised * torch.sign(theta)
        if self.clip_value is not None:
            grad = grad.clamp(-self.clip_value, self.clip_value)
        if self.on_divergence == "shrink":
            grad = torch.where(diverged.unsqueeze(-1), self.clip_value * torch.sign(theta), grad)
        lost = (kept == 0) if self.on_divergence == "drop" else torch.zeros_like(diverged)
        self.theta.grad = torch.where(lost.unsqueeze(-1), 0.0, grad)
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
            self.theta[lost] = (1.0 - self.backoff) * theta[lost]
            self.optimizer.state[self.theta]["exp_avg"][lost] = 0.0
            self.theta[:, self.nonnegative] = self.theta[:, self.nonnegative].clamp(min=0.0)
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

    @torch.no_grad()
    def evaluate(self, batches: Iterable[EpisodeBatch]) -> dict[str, Any]:
        """Query accuracy, loss, α_ℓ and orthonormality error with the current θ, per replica, over ``batches``."""
        records = []
        for batch in batches:
            ce, final = self.loss(self.theta.detach(), batch)
            records.append({"query_loss": ce, **self.diagnostics(batch, final)})
        if not records:
            raise ValueError("evaluate needs at least one batch of episodes")
        episodes = [sum((r["episode_accuracy"][s] for r in records), []) for s in range(self.replicas)]
        return {
            "accuracy": [sum(a) / len(a) for a in episodes],
            "query_loss": (sum(r["query_loss"] for r in records) / len(records)).tolist(),
            "episode_accuracy": episodes,
            "diverged": [sum(r["diverged"][s] for r in records) for s in range(self.replicas)],
            **{
                key: [
                    [sum(r[key][s][l] for r in records) / len(records) for l in range(len(records[0][key][0]))]
                    for s in range(self.replicas)
                ]
                for key in ("alignment", "orthonormality")
            },
        }

    @torch.no_grad()
    def diagnostics(self, batch: EpisodeBatch, weights: Sequence[torch.Tensor]) -> dict[str, Any]:
        """Per replica: query accuracy, α_ℓ, ‖W_ℓW_ℓᵀ − I‖ (means over episodes), per-episode accuracy, divergences.

        ``diverged`` counts episodes that ended with non-finite logits (scored by argmax all the same).

        α_ℓ (ℓ = 1..L−1) is the angle between the query-mean error e_ℓ carried by this feedback pathway and the
        backprop error at the same weights (0 for backprop; 90° is chance).
        """
        weights = tuple(w.detach() for w in weights)
        ys = forward(weights, batch.query_x, activation=self.activation, beta=self.beta)
        correct = (ys[-1].argmax(-1) == batch.query_y).to(weights[0].dtype).mean(-1)
        diverged = ~torch.isfinite(ys[-1]).flatten(1).all(-1)
        options = {"activation": self.activation, "beta": self.beta}
        es = errors(weights, batch.state.feedbacks, ys, batch.query_y, mode=self.feedback, **options)
        bp = errors(weights, None, ys, batch.query_y, mode="bp", **options)
        n = len(batch)
        alignment = [
            [angle_degrees(es[l][i].mean(0), bp[l][i].mean(0)) for l in range(1, len(weights))] for i in range(n)
        ]
        ortho = [[orthonormality_error(w[i]) for w in weights] for i in range(n)]
        per = n // self.replicas
        return {
            "accuracy": correct.view(self.replicas, per).mean(-1).tolist(),
            "episode_accuracy": correct.view(self.replicas, per).tolist(),
            "diverged": diverged.view(self.replicas, per).sum(-1).tolist(),
            "alignment": [_mean_rows(alignment[s * per : (s + 1) * per]) for s in range(self.replicas)],
            "orthonormality": [_mean_rows(ortho[s * per : (s + 1) * per]) for s in range(self.replicas)],
        }

    def state_dict(self) -> dict[str, Any]:
        """θ̃, the scales, Adam's state, the step count and the per-step history (for a checkpoint)."""
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
        if list(state["terms"]) != self.terms or tuple(state["theta"].shape) != tuple(self.theta.shape):
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


def _mean_rows(rows: list[list[float]]) -> list[float]:
    return [sum(col) / len(col) for col in zip(*rows, strict=True)] if rows and rows[0] else []
