"""Oracle: closed forms (arccos of the normalised inner product, norms, eigen-structure) on tensors built with known
angles, norms and ranks, in each layer's feedback layout."""

import numpy as np
import pytest
import torch

from neuroplastic import feedback
from neuroplastic.plasticity import layer_diagnostics, norm_ratio, weight_feedback_angle


def _oracle_angle(w: np.ndarray, b: np.ndarray) -> float:
    """arccos(⟨W, B⟩ / (‖W‖‖B‖)) in degrees, on flattened float64 arrays of the same layout."""
    w, b = w.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(np.degrees(np.arccos(w @ b / (np.linalg.norm(w) * np.linalg.norm(b)))))


@pytest.mark.parametrize("kernel", [(3, 3), (3, 5)])
def test_conv_angle_and_norm_ratio_compare_w_and_b_as_stored(kernel):
    """FeedbackConv2d stores B in W's shape (backprop is B = W), so no axis may be swapped."""
    layer = feedback.FeedbackConv2d(3, 4, kernel, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    with torch.no_grad():
        layer.weight.normal_(generator=torch.Generator().manual_seed(6))  # W independent of B
    W, B = layer.weight.detach(), layer.feedback
    assert weight_feedback_angle(W, B) == pytest.approx(_oracle_angle(W.numpy(), B.numpy()), abs=1e-10)
    assert norm_ratio(W, B) == pytest.approx(np.linalg.norm(B.numpy()) / np.linalg.norm(W.numpy()), rel=1e-14)
    assert weight_feedback_angle(W, W.clone()) == pytest.approx(0.0, abs=1e-5)
    assert weight_feedback_angle(W, -3 * W) == pytest.approx(180.0, abs=1e-5)
    assert norm_ratio(W, -3 * W) == pytest.approx(3.0, rel=1e-14)


@pytest.mark.parametrize("shape", [(4, 6), (5, 5), (3, 4, 6)])
def test_linear_angle_uses_b_transposed(shape):
    """Linear B has the paper's shape n_{ℓ−1} × n_ℓ (per network when there is a leading dimension)."""
    g = torch.Generator().manual_seed(1)
    W = torch.randn(*shape, generator=g, dtype=torch.float64)
    B = torch.randn(*shape[:-2], shape[-1], shape[-2], generator=g, dtype=torch.float64)
    expected = _oracle_angle(W.numpy(), np.swapaxes(B.numpy(), -1, -2))
    assert weight_feedback_angle(W, B) == pytest.approx(expected, abs=1e-10)
    assert norm_ratio(W, B) == pytest.approx(np.linalg.norm(B.numpy()) / np.linalg.norm(W.numpy()), rel=1e-14)


def test_shapes_that_do_not_fit_the_layout_are_refused():
    W = torch.randn(4, 3, 3, 5, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"convolution kernel: B has W's shape, \(4, 3, 3, 5\); got B of shape"):
        weight_feedback_angle(W, W.transpose(-1, -2))
    with pytest.raises(
        ValueError, match=r"Linear weight: B has W's shape transposed, \(6, 4\); got B of shape \(6, 10\)"
    ):
        norm_ratio(torch.randn(4, 6, dtype=torch.float64), torch.randn(6, 10, dtype=torch.float64))
    with pytest.raises(ValueError, match="W must be a Linear weight"):
        weight_feedback_angle(torch.randn(4, dtype=torch.float64), torch.randn(4, dtype=torch.float64))


def test_diagnostics_truths():
    g = torch.Generator().manual_seed(0)
    q = torch.linalg.qr(torch.randn(6, 6, generator=g))[0]
    W = q[:3]
    rows = layer_diagnostics(
        [W],
        [torch.randn(200, 6, generator=g), torch.randn(400, 3, generator=g)],
        feedbacks=[W.T.clone()],
        deltas=[-W],
        gradients=[W],
    )
    (row,) = rows
    assert row["orthonormality_error"] < 1e-12 and abs(row["row_norm_mean"] - 1) < 1e-12
    assert row["weight_feedback_angle"] < 1e-5 and abs(row["feedback_norm_ratio"] - 1) < 1e-12
    assert row["update_gradient_angle"] < 1e-5
    assert 2.7 < row["effective_rank"] <= 3.0
    rank_one = torch.randn(50, 1, generator=g) * torch.randn(1, 3, generator=g)
    assert abs(layer_diagnostics([W], [None, rank_one])[0]["effective_rank"] - 1) < 1e-10
    opposite = layer_diagnostics([W], [None, rank_one], feedbacks=[-2 * W.T], deltas=[W], gradients=[W])[0]
    assert abs(opposite["weight_feedback_angle"] - 180) < 1e-5 and abs(opposite["feedback_norm_ratio"] - 2) < 1e-12
    assert abs(opposite["update_gradient_angle"] - 180) < 1e-5
    orth = torch.zeros(3, 6)
    orth[0, 0] = 1
    assert (
        abs(
            layer_diagnostics([W], [None, rank_one], deltas=[orth], gradients=[torch.roll(orth, 1, 1)])[0][
                "update_gradient_angle"
            ]
            - 90
        )
        < 1e-12
    )
