"""RLS (FORCE) and its deferred inverse.

Oracle: ridge regression solved directly (``torch.linalg.solve`` on the weighted Gram matrix), the inverse of that
Gram matrix, and for the gated and deferred steps the Sherman–Morrison step re-derived in the test.
"""

import pytest
import torch

from neuroplastic.reservoir import RLS, NotApplicable, Reservoir, ReservoirConfig, RLSConfig, Simulation, arm_task
from neuroplastic.reservoir.deferred import DeferredInverse


def _data(seed, batch=3, steps=40, n=7, d=2):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, steps, n, generator=g), torch.randn(batch, steps, d, generator=g)


def _fit(X, Y, alpha, forgetting=1.0):
    """``partial_fit`` at every step of the series (X, Y), from the readout's initial state."""
    batch, steps, n = X.shape
    rls = RLS(RLSConfig(alpha=alpha, learn_every=1, forgetting=forgetting))
    state = rls.init(n, Y.shape[2], range(batch))
    for t in range(steps):
        r = X[:, t]
        rls.partial_fit(state, r, rls.output(state, r, explore=True), Y[:, t], torch.zeros(batch))
    return state


@pytest.mark.parametrize("forgetting", [1.0, 0.97])
def test_rls_equals_weighted_ridge_regression(forgetting):
    X, Y = _data(0)
    alpha = 0.5
    state = _fit(X, Y, alpha, forgetting)
    steps, n = X.shape[1], X.shape[2]
    weights = forgetting ** torch.arange(steps - 1, -1, -1.0)
    for b in range(X.shape[0]):
        gram = X[b].T @ (weights[:, None] * X[b]) + forgetting**steps * alpha * torch.eye(n)
        ridge = torch.linalg.solve(gram, X[b].T @ (weights[:, None] * Y[b]))
        torch.testing.assert_close(state.W[b], ridge.T, atol=1e-8, rtol=0)
        torch.testing.assert_close(state.P[b], torch.linalg.inv(gram), atol=1e-8, rtol=1e-8)


def test_P_stays_symmetric_positive_definite_and_is_the_inverse_gram():
    X, Y = _data(1, batch=2, steps=200, n=6)
    P = _fit(X, Y, alpha=10.0).P
    for b in range(2):
        torch.testing.assert_close(P[b], P[b].T, atol=1e-12, rtol=0)
        assert torch.linalg.eigvalsh(P[b]).min() > 0
        torch.testing.assert_close(torch.linalg.inv(P[b]), 10.0 * torch.eye(6) + X[b].T @ X[b], rtol=1e-8, atol=1e-8)


def test_gate_scales_the_update_and_zero_gate_changes_nothing():
    X, Y = _data(2, batch=2, steps=1, n=5)
    inverse, W = DeferredInverse(torch.eye(5).repeat(2, 1, 1)), torch.randn(2, 2, 5)
    W0 = W.clone()
    inverse.update_(W, X[:, 0], Y[:, 0], gate=torch.tensor([0.0, 0.5]))
    P = inverse.matrix
    assert torch.equal(P[0], torch.eye(5)) and torch.equal(W[0], W0[0])
    r, e = X[1, 0], Y[1, 0]
    c = 1 / (1 + r @ r)
    torch.testing.assert_close(W[1], W0[1] - 0.5 * c * torch.outer(e, r))
    torch.testing.assert_close(P[1], torch.eye(5) - 0.5 * c * torch.outer(r, r))


def test_force_readout_learns_every_k_steps():
    rls = RLS(RLSConfig(alpha=1.0, learn_every=3))
    state = rls.init(4, 1, [0])
    r = torch.ones(1, 4) / 2
    for _ in range(2):
        rls.partial_fit(state, r, rls.output(state, r, explore=True), torch.ones(1), torch.zeros(1))
    assert not state.W.any()
    rls.partial_fit(state, r, rls.output(state, r, explore=True), torch.ones(1), torch.zeros(1))
    torch.testing.assert_close(state.W, torch.full((1, 1, 4), 0.25))  # w = −c e k, k = r/1, c = 1/2, e = −1


def test_force_is_refused_on_a_task_with_a_plant():
    net = Reservoir(ReservoirConfig(n=4), 2, [0])
    with pytest.raises(NotApplicable, match="inverse kinematics"):
        Simulation(net, RLS(RLSConfig()), arm_task())


@pytest.mark.parametrize("bad", [{"alpha": 0.0}, {"learn_every": 0}, {"forgetting": 1.5}])
def test_bad_rls_constants_are_refused(bad):
    with pytest.raises(ValueError):
        RLSConfig(**bad)


@pytest.mark.parametrize("rows", [None, [0, 2]])
def test_deferred_updates_equal_plain_sherman_morrison_steps(rows):
    """P₀ − K diag(d) Kᵀ with periodic flushes gives the same W and P as one Sherman–Morrison step at a time."""
    X, Y = _data(3, batch=3, steps=37, n=6)
    gate = torch.tensor([1.0, 0.0, 0.3]) if rows else torch.tensor([1.0, 0.5, 0.3])
    P, W = torch.eye(6).repeat(3, 1, 1) / 2, torch.zeros(3, 2, 6)
    deferred, W2 = DeferredInverse(P.clone(), pending=5), W.clone()
    for t in range(37):
        r = X[:, t]
        deferred.update_(W2, r, torch.bmm(W2, r.unsqueeze(2)).squeeze(2) - Y[:, t], gate, rows=rows)
        for b in range(3):  # the plain step: k = P r, c = 1/(1 + rᵀk), W ← W − s c e kᵀ, P ← P − s c k kᵀ
            k = P[b] @ r[b]
            sc = gate[b] / (1 + r[b] @ k)
            W[b] -= sc * torch.outer(W[b] @ r[b] - Y[b, t], k)
            P[b] -= sc * torch.outer(k, k)
        torch.testing.assert_close(W2, W, atol=1e-12, rtol=0)
    assert deferred.count == 37 % 5
    torch.testing.assert_close(deferred.matrix, P, atol=1e-12, rtol=0)
    assert deferred.count == 0
