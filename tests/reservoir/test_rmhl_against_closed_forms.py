"""RMHL's pieces and one Hoerzer step.

Oracle: the closed forms Ψ(ē) = a (10 ē)^b, Φ = a sign(δ)|δ|^b, the gate ½[1 − tanh(σ(|ē| − θ))]; for the expected
update, the analytic gradient −∂‖W r − f‖²/∂W (Monte Carlo); for the Hoerzer step, the update re-derived by hand.
"""

import math

import pytest
import torch

from neuroplastic.reservoir import HOERZER2014, RMHL, RMHLConfig, butterfly_task, gate, phi, psi, rmhl_delta


def test_psi_matches_its_formula():
    ebar = torch.tensor([0.0, 0.01, 0.3, 2.0])
    torch.testing.assert_close(psi(ebar, 0.01, 0.2), 0.01 * (10 * ebar) ** 0.2)
    assert psi(torch.tensor([0.7]), 0.5, 0.0).item() == 0.5  # Hoerzer: constant amplitude


def test_phi_power_one_and_two_sided_and_binary():
    delta = torch.tensor([-0.16, -1e-3, 0.0, 1e-3, 0.0625])
    two = phi(delta, a=5.0, b=0.25)
    expected = torch.tensor([-5 * 0.16**0.25, -5 * 1e-3**0.25, 0.0, 5 * 1e-3**0.25, 5 * 0.5])
    torch.testing.assert_close(two, expected)
    torch.testing.assert_close(phi(delta, one_sided=True), expected.clamp(min=0))
    torch.testing.assert_close(phi(delta, binary=True), torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0]))


def test_gate_is_open_below_theta_and_closed_above():
    theta = 1.5e-3
    s = gate(torch.tensor([0.0, theta - 1e-5, theta, theta + 1e-5, 1.0]), theta)
    assert s[0] == 1.0 and s[1] > 0.9999 and s[3] < 1e-4 and s[4] == 0.0
    torch.testing.assert_close(s[2], torch.tensor(0.5))
    torch.testing.assert_close(
        gate(torch.tensor([theta - 1e-9, theta + 1e-9]), theta, math.inf), torch.tensor([1.0, 0.0])
    )


@pytest.mark.parametrize("form", ["pyle", "hoerzer"])
def test_expected_rmhl_update_is_a_descent_direction(form):
    """Node perturbation: E[ΔW] for z = W r + ξ on e = ‖z − f‖² points along −∂e/∂W (Monte Carlo)."""
    g = torch.Generator().manual_seed(3)
    n, d, samples = 12, 3, 200_000
    W, r, f = torch.randn(d, n, generator=g), torch.randn(n, generator=g), torch.randn(d, generator=g)
    xi = 0.05 * (2 * torch.rand(samples, d, generator=g) - 1)
    z = W @ r + xi
    e = (z - f).square().sum(1)
    ebar = (W @ r - f).square().sum() + xi.square().sum(1).mean()  # the running average's expectation
    if form == "pyle":
        mod = phi(ebar - e, a=5.0, b=0.25)
    else:
        mod = phi(ebar - e, binary=True)
    mean_update = rmhl_delta(mod, xi, r.expand(samples, n), 5e-4).mean(0)
    gradient = 2 * torch.outer(W @ r - f, r)
    cosine = torch.nn.functional.cosine_similarity(mean_update.flatten(), -gradient.flatten(), dim=0)
    assert cosine > 0.9


def test_hoerzer_preset_and_validation():
    assert HOERZER2014.modulation == "binary" and HOERZER2014.eta_decay_steps == 20_000
    with pytest.raises(ValueError, match="a_z"):
        RMHLConfig(a_z=0.0)


def test_hoerzer_step_uses_binary_modulation_and_decaying_rate(fixed_noise):
    task = butterfly_task(100)
    rmhl = RMHL(HOERZER2014)
    state = rmhl.init(4, 2, [0])
    xi = torch.tensor([[0.4, -1.0]])
    state.exploration = fixed_noise(xi)
    state.ebar.fill_(2.0)  # recent error high: the next error is an improvement, M = 1
    state.steps = 40_000  # η = η₀ / (1 + 40 000 / 20 000) = η₀ / 3
    r = torch.tensor([[0.5, -0.5, 0.25, 1.0]])
    z = rmhl.output(state, r, explore=True)
    torch.testing.assert_close(z, 0.5 * xi)  # W = 0, fixed amplitude 0.5
    f = torch.tensor([0.1, 0.1])
    d2 = ((z - f) ** 2).sum(1)
    rmhl.partial_fit(state, r, z, f, task.distance2(z, f))
    expected = 5e-4 / 3 * torch.outer((z - 0.2 * z)[0], r[0])
    torch.testing.assert_close(state.W[0], expected)
    torch.testing.assert_close(state.ebar, 0.8 * 2.0 + 0.2 * d2)
    assert state.steps == 40_001
