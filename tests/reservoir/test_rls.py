import pytest
import torch

from neuroplastic.reservoir import RLS, NotApplicable, RLSConfig, arm_task, butterfly_task, rls_update_
from neuroplastic.reservoir.deferred import DeferredInverse


def _data(seed, batch=3, steps=40, n=7, d=2):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, steps, n, generator=g), torch.randn(batch, steps, d, generator=g)


def _run_rls(X, Y, alpha, forgetting=1.0):
    batch, steps, n = X.shape
    P = torch.eye(n).repeat(batch, 1, 1) / alpha
    W = torch.zeros(batch, Y.shape[2], n)
    for t in range(steps):
        r = X[:, t]
        rls_update_(P, W, r, torch.bmm(W, r.unsqueeze(2)).squeeze(2) - Y[:, t], forgetting=forgetting)
    return P, W


@pytest.mark.parametrize("forgetting", [1.0, 0.97])
def test_rls_equals_weighted_ridge_regression(forgetting):
    X, Y = _data(0)
    alpha = 0.5
    P, W = _run_rls(X, Y, alpha, forgetting)
    steps, n = X.shape[1], X.shape[2]
    weights = forgetting ** torch.arange(steps - 1, -1, -1.0)
    for b in range(X.shape[0]):
        gram = X[b].T @ (weights[:, None] * X[b]) + forgetting**steps * alpha * torch.eye(n)
        ridge = torch.linalg.solve(gram, X[b].T @ (weights[:, None] * Y[b]))
        torch.testing.assert_close(W[b], ridge.T, atol=1e-8, rtol=0)
        torch.testing.assert_close(P[b], torch.linalg.inv(gram), atol=1e-8, rtol=1e-8)


def test_P_stays_symmetric_positive_definite_and_is_the_inverse_gram():
    X, Y = _data(1, batch=2, steps=200, n=6)
    P, _ = _run_rls(X, Y, alpha=10.0)
    for b in range(2):
        torch.testing.assert_close(P[b], P[b].T, atol=1e-12, rtol=0)
        assert torch.linalg.eigvalsh(P[b]).min() > 0
        torch.testing.assert_close(torch.linalg.inv(P[b]), 10.0 * torch.eye(6) + X[b].T @ X[b], rtol=1e-8, atol=1e-8)


def test_gate_scales_the_update_and_zero_gate_changes_nothing():
    X, Y = _data(2, batch=2, steps=1, n=5)
    P, W = torch.eye(5).repeat(2, 1, 1), torch.randn(2, 2, 5)
    P0, W0 = P.clone(), W.clone()
    rls_update_(P, W, X[:, 0], Y[:, 0], gate=torch.tensor([0.0, 0.5]))
    assert torch.equal(P[0], P0[0]) and torch.equal(W[0], W0[0])
    r, e = X[1, 0], Y[1, 0]
    c = 1 / (1 + r @ r)
    torch.testing.assert_close(W[1], W0[1] - 0.5 * c * torch.outer(e, r))
    torch.testing.assert_close(P[1], torch.eye(5) - 0.5 * c * torch.outer(r, r))


def test_force_readout_learns_every_k_steps_and_refuses_a_plant():
    rls = RLS(RLSConfig(alpha=1.0, learn_every=3), 4, 1, 1)
    r = torch.ones(1, 4) / 2
    task = butterfly_task(100)
    for step in range(2):
        rls.learn(r, rls.output(r, step, explore=True), torch.ones(1), torch.zeros(1), task, step)
    assert not rls.W.any()
    rls.learn(r, rls.output(r, 2, explore=True), torch.ones(1), torch.zeros(1), task, 2)
    torch.testing.assert_close(rls.W, torch.full((1, 1, 4), 0.25))  # w = −c e k, k = r/1, c = 1/2, e = −1
    with pytest.raises(NotApplicable, match="inverse kinematics"):
        rls.check_task(arm_task())


@pytest.mark.parametrize("bad", [{"alpha": 0.0}, {"learn_every": 0}, {"forgetting": 1.5}])
def test_bad_rls_constants_are_refused(bad):
    with pytest.raises(ValueError):
        RLSConfig(**bad)


@pytest.mark.parametrize("rows", [None, [0, 2]])
def test_deferred_updates_equal_plain_rls_steps(rows):
    """P₀ − K diag(d) Kᵀ with periodic flushes gives the same k, W and P as one Sherman–Morrison step at a time."""
    X, Y = _data(3, batch=3, steps=37, n=6)
    gate = torch.tensor([1.0, 0.0, 0.3]) if rows else torch.tensor([1.0, 0.5, 0.3])
    P, W = torch.eye(6).repeat(3, 1, 1) / 2, torch.zeros(3, 2, 6)
    deferred, W2 = DeferredInverse(P.clone(), pending=5), W.clone()
    for t in range(37):
        r = X[:, t]
        rls_update_(P, W, r, torch.bmm(W, r.unsqueeze(2)).squeeze(2) - Y[:, t], gate=gate)
        deferred.update_(W2, r, torch.bmm(W2, r.unsqueeze(2)).squeeze(2) - Y[:, t], gate, rows=rows)
        torch.testing.assert_close(W2, W, atol=1e-12, rtol=0)
    assert deferred.count == 37 % 5
    torch.testing.assert_close(deferred.matrix, P, atol=1e-12, rtol=0)
    assert deferred.count == 0
