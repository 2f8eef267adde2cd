"""Scoring a meta-learned θ: the query accuracy, loss, α_ℓ and orthonormality it gives on held-out episodes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from neuroplastic.plasticity.meta import MetaLearner
from neuroplastic.plasticity.meta_episodes import EpisodeBatch


@torch.no_grad()
def evaluate(meta: MetaLearner, batches: Iterable[EpisodeBatch]) -> dict[str, Any]:
    """Query accuracy, loss, α_ℓ and orthonormality error with ``meta``'s current θ, per replica, over ``batches``.

    ``accuracy`` and ``query_loss`` are means over every episode of a replica; ``episode_accuracy`` lists them;
    ``alignment`` and ``orthonormality`` are per-layer means over the batches (`MetaLearner.diagnostics`).
    """
    records = []
    for batch in batches:
        ce, final = meta.loss(meta.theta.detach(), batch)
        records.append({"query_loss": ce, **meta.diagnostics(batch, final)})
    if not records:
        raise ValueError("evaluate needs at least one batch of episodes")
    replicas = range(meta.replicas)
    episodes = [sum((r["episode_accuracy"][s] for r in records), []) for s in replicas]
    return {
        "accuracy": [sum(a) / len(a) for a in episodes],
        "query_loss": (sum(r["query_loss"] for r in records) / len(records)).tolist(),
        "episode_accuracy": episodes,
        "diverged": [sum(r["diverged"][s] for r in records) for s in replicas],
        **{
            key: [
                [sum(r[key][s][l] for r in records) / len(records) for l in range(len(records[0][key][0]))]
                for s in replicas
            ]
            for key in ("alignment", "orthonormality")
        },
    }
