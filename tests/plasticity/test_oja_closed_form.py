"""Oracle: the eigendecomposition of C (closed form): Oja's rules find its top eigenvector, principal subspace or
ordered eigenvectors, and single-neuron Oja along an eigenvector follows its scalar cubic map."""

import math

import pytest
import torch

from neuroplastic.plasticity import TERMS
from neuroplastic.plasticity.oja import gha, oja_single_neuron, oja_subspace


def mean_field(rule, W, root, eta, steps):
    """Iterate W ← W + η F(X, X Wᵀ, W) with XᵀX = C: the term's batch sum is the expected update."""
    for _ in range(steps):
        W = W + eta * rule(root, root @ W.T, W)
    return W


def test_single_neuron_oja_finds_the_unit_top_eigenvector(covariance):
    C, Q, root = covariance
    w = torch.randn(1, 6, generator=torch.Generator().manual_seed(3))
    w = mean_field(oja_single_neuron, w, root, 0.05, 5000)[0]
    torch.testing.assert_close(w.norm(), torch.tensor(1.0), atol=1e-12, rtol=0)
    torch.testing.assert_close((w @ Q[:, 0]).abs(), torch.tensor(1.0), atol=1e-12, rtol=0)


def test_one_output_subspace_rule_is_classic_oja(covariance):
    _, _, root = covariance
    w = torch.randn(1, 6, generator=torch.Generator().manual_seed(4))
    x = torch.randn(5, 6)
    torch.testing.assert_close(oja_subspace(x, x @ w.T, w), oja_single_neuron(x, x @ w.T, w), atol=1e-13, rtol=0)


def test_subspace_oja_reaches_orthonormal_top_subspace(covariance):
    C, Q, root = covariance
    k = 3
    W = 0.3 * torch.randn(k, 6, generator=torch.Generator().manual_seed(5))
    W = mean_field(oja_subspace, W, root, 0.05, 5000)
    torch.testing.assert_close(W @ W.T, torch.eye(k), atol=1e-10, rtol=0)
    P = Q[:, :k] @ Q[:, :k].T
    torch.testing.assert_close(W.T @ W, P, atol=1e-8, rtol=0)
    # the rows are not the eigenvectors themselves (rotation freedom) unless by chance
    assert (W @ Q[:, :k]).abs().max() < 1 - 1e-3


def test_gha_gives_the_ordered_eigenvectors(covariance):
    C, Q, root = covariance
    W = 0.3 * torch.randn(3, 6, generator=torch.Generator().manual_seed(6))
    W = mean_field(gha, W, root, 0.05, 3000)
    torch.testing.assert_close((W @ Q[:, :3]).abs(), torch.eye(3), atol=1e-8, rtol=0)


def test_oja_restores_scale_from_tiny_and_huge_init(covariance):
    C, Q, root = covariance
    base = torch.linalg.qr(torch.randn(6, 3, generator=torch.Generator().manual_seed(7)))[0].T
    for scale, eta, steps in ((0.01, 0.05, 6000), (10.0, 0.002, 15000)):
        W = mean_field(oja_subspace, scale * base, root, eta, steps)
        torch.testing.assert_close(W @ W.T, torch.eye(3), atol=1e-6, rtol=0)


def escape_radius(c):
    """|a| beyond which the cubic map a ← a + c a (1 − a²) grows without bound: where it maps a to −a."""
    return math.sqrt((2 + c) / c)


@pytest.mark.parametrize(
    ("c", "a0", "steps"),
    [(0.9, 0.3, 200), (1.2, 1.0 + 1e-6, 40), (0.5, 1.01 * escape_radius(0.5), 6)],
    ids=["stable", "unstable-fixed-point", "beyond-escape-radius"],
)
def test_single_neuron_oja_along_an_eigenvector_follows_its_scalar_map(covariance, c, a0, steps):
    """For w = a q with C q = λ q the mean-field step is a ← a + ηλ a (1 − a²) (c = ηλ): its fixed point |a| = 1 is
    stable iff c < 1 (slope 1 − 2c), and beyond the escape radius √((2 + c)/c) |a| grows without bound."""
    C, Q, root = covariance
    q, lam = Q[:, 0], 5.0
    w, a = a0 * q.unsqueeze(0), a0
    for _ in range(steps):
        w = w + (c / lam) * oja_single_neuron(root, root @ w.T, w)
        a = a + c * a * (1 - a * a)
        torch.testing.assert_close(w[0], a * q, atol=1e-12, rtol=1e-8)
    if abs(a0) > escape_radius(c):
        assert abs(a) > 1e6
    elif c < 1:
        assert abs(abs(a) - 1) < 1e-12
    else:
        assert abs(abs(a) - 1) > 0.1  # left the unstable fixed point (to a 2-cycle)


def test_stochastic_oja_with_decaying_rate(covariance):
    C, Q, root = covariance
    g = torch.Generator().manual_seed(9)
    w = torch.randn(1, 6, generator=g) * 0.5
    W = torch.randn(2, 6, generator=g) * 0.5
    samples = torch.randn(4000, 16, 6, generator=g) @ root
    for step, x in enumerate(samples):
        eta = 2.0 / (200 + step) / x.shape[0]
        w = w + eta * TERMS["oja_single"](x, x @ w.T, None, None, w, None)
        W = W + eta * TERMS["gha"](x, x @ W.T, None, None, W, None)
    assert abs(float(w.norm()) - 1) < 0.02
    assert float((w[0] @ Q[:, 0]).abs()) > 0.999
    assert ((W @ Q[:, :2]).abs() - torch.eye(2)).abs().max() < 0.05
