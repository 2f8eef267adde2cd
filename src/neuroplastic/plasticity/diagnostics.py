"""Per-layer diagnostics: update–gradient and W–B angles, orthonormality, row norms, activity norms and rank.

`query_diagnostics` gathers them for the query sets of a batch of meta-learning episodes, per replica.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from neuroplastic.core.activations import SOFTPLUS_BETA, ActivationName
from neuroplastic.core.metrics import angle_degrees
from neuroplastic.feedback.errors import errors, forward
from neuroplastic.feedback.init import FeedbackMode


def update_gradient_angle(delta: torch.Tensor, gradient: torch.Tensor) -> float:
    """∠(ΔW, −∇_W L): 0° for a gradient-descent step, 90° for an orthogonal one."""
    return angle_degrees(delta, -gradient)


def feedback_in_weight_layout(weight: torch.Tensor, feedback: torch.Tensor) -> torch.Tensor:
    """B_ℓ laid out like W_ℓ, so that B = W is backprop's feedback.

    Linear layers (W: n_ℓ × n_{ℓ−1}, or S × n_ℓ × n_{ℓ−1} for S networks) store B in the paper's shape
    n_{ℓ−1} × n_ℓ, returned as Bᵀ; convolution kernels (4-D, out × in/groups × kh × kw) store B in W's own
    shape, returned as is. Any other shape (e.g. a DFA feedback n_{ℓ−1} × n_L) has no W-shaped counterpart.
    """
    if weight.dim() in (2, 3):
        expected, aligned, kind = weight.mT.shape, feedback.mT, "a Linear weight: B has W's shape transposed"
    elif weight.dim() == 4:
        expected, aligned, kind = weight.shape, feedback, "a convolution kernel: B has W's shape"
    else:
        raise ValueError(
            f"W must be a Linear weight (2-D, or 3-D with a leading network dimension) or a 4-D convolution kernel, "
            f"got shape {tuple(weight.shape)}"
        )
    if feedback.shape != expected:
        raise ValueError(
            f"W of shape {tuple(weight.shape)} is {kind}, {tuple(expected)}; got B of shape {tuple(feedback.shape)}"
        )
    return aligned


def weight_feedback_angle(weight: torch.Tensor, feedback: torch.Tensor) -> float:
    """∠(W_ℓ, B_ℓ in W's layout) between the flattened tensors: 0° when the feedback is backprop's.

    Linear: ∠(W, Bᵀ); convolution: ∠(W, B) (see :func:`feedback_in_weight_layout`).
    """
    return angle_degrees(weight, feedback_in_weight_layout(weight, feedback))


def norm_ratio(weight: torch.Tensor, feedback: torch.Tensor) -> float:
    """‖B_ℓ‖_F / ‖W_ℓ‖_F over all entries, for any of the layouts of :func:`feedback_in_weight_layout`."""
    feedback = feedback_in_weight_layout(weight, feedback)
    return float(torch.linalg.vector_norm(feedback) / torch.linalg.vector_norm(weight))


def orthonormality_error(weight: torch.Tensor) -> float:
    """‖W Wᵀ − I‖_F, zero when the rows are orthonormal."""
    eye = torch.eye(weight.shape[0], dtype=weight.dtype, device=weight.device)
    return float(torch.linalg.matrix_norm(weight @ weight.mT - eye))


def row_norms(weight: torch.Tensor) -> torch.Tensor:
    """‖W_i‖ for every row (neuron)."""
    return torch.linalg.vector_norm(weight, dim=-1)


def activation_norm(y: torch.Tensor) -> float:
    """Mean over samples of ‖y_b‖."""
    return float(torch.linalg.vector_norm(y, dim=-1).mean())


def effective_rank(y: torch.Tensor) -> float:
    """Participation ratio (Σλ)² / Σλ² of the activity covariance (rows are samples): 1 to n."""
    centred = y - y.mean(0)
    cov = centred.mT @ centred
    denominator = torch.linalg.matrix_norm(cov) ** 2
    if denominator == 0:
        return 0.0
    return float(torch.trace(cov) ** 2 / denominator)


def layer_diagnostics(
    weights: Sequence[torch.Tensor],
    ys: Sequence[torch.Tensor],
    *,
    feedbacks: Sequence[torch.Tensor] | None = None,
    deltas: Sequence[torch.Tensor] | None = None,
    gradients: Sequence[torch.Tensor] | None = None,
) -> list[dict[str, float]]:
    """One dict per weight layer ℓ = 1..L (activity statistics of its output y_ℓ; y_L are the logits)."""
    rows = []
    for l, w in enumerate(weights):
        norms = row_norms(w)
        row = {
            "layer": l + 1,
            "orthonormality_error": orthonormality_error(w),
            "row_norm_mean": float(norms.mean()),
            "row_norm_min": float(norms.min()),
            "row_norm_max": float(norms.max()),
            "activation_norm": activation_norm(ys[l + 1]),
            "effective_rank": effective_rank(ys[l + 1]),
        }
        if feedbacks is not None and feedbacks[l].shape == w.mT.shape:
            row["weight_feedback_angle"] = weight_feedback_angle(w, feedbacks[l])
            row["feedback_norm_ratio"] = norm_ratio(w, feedbacks[l])
        if deltas is not None and gradients is not None:
            row["update_gradient_angle"] = update_gradient_angle(deltas[l], gradients[l])
        rows.append(row)
    return rows


@torch.no_grad()
def query_diagnostics(
    weights: Sequence[torch.Tensor],
    feedbacks: Sequence[torch.Tensor] | None,
    query_x: torch.Tensor,
    query_y: torch.Tensor,
    *,
    replicas: int,
    feedback: FeedbackMode,
    activation: ActivationName = "softplus",
    beta: float = SOFTPLUS_BETA,
) -> dict[str, list]:
    """Per replica: query accuracy, α_ℓ, ‖W_ℓW_ℓᵀ − I‖ (means over its episodes), per-episode accuracy, divergences.

    Every tensor has a leading dimension of E episodes, replica-major (E/replicas each). ``diverged`` counts
    episodes that ended with non-finite logits (scored by argmax all the same). α_ℓ (ℓ = 1..L−1) is the angle
    between the query-mean error e_ℓ carried by the ``feedback`` pathway and the backprop error at the same weights
    (0 for backprop; 90° is chance).
    """
    weights = tuple(w.detach() for w in weights)
    ys = forward(weights, query_x, activation=activation, beta=beta)
    correct = (ys[-1].argmax(-1) == query_y).to(weights[0].dtype).mean(-1)
    diverged = ~torch.isfinite(ys[-1]).flatten(1).all(-1)
    options = {"activation": activation, "beta": beta}
    es = errors(weights, feedbacks, ys, query_y, mode=feedback, **options)
    bp = errors(weights, None, ys, query_y, mode="bp", **options)
    n = len(query_x)
    alignment = [[angle_degrees(es[l][i].mean(0), bp[l][i].mean(0)) for l in range(1, len(weights))] for i in range(n)]
    ortho = [[orthonormality_error(w[i]) for w in weights] for i in range(n)]
    per = n // replicas
    return {
        "accuracy": correct.view(replicas, per).mean(-1).tolist(),
        "episode_accuracy": correct.view(replicas, per).tolist(),
        "diverged": diverged.view(replicas, per).sum(-1).tolist(),
        "alignment": [_mean_rows(alignment[s * per : (s + 1) * per]) for s in range(replicas)],
        "orthonormality": [_mean_rows(ortho[s * per : (s + 1) * per]) for s in range(replicas)],
    }


def _mean_rows(rows: list[list[float]]) -> list[float]:
    return [sum(col) / len(col) for col in zip(*rows, strict=True)] if rows and rows[0] else []
