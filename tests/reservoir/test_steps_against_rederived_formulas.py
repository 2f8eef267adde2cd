"""One step of each learner on a tiny dense network with fixed noise.

Oracle: the step re-derived by hand in the test from the papers' formulas (reservoir Euler step, RLS,
RMHL's Φ and Ψ, SUPERTREX's gate, the arm's forward kinematics), not from the library's functions.
"""

import math
from dataclasses import replace

import pytest
import torch

from neuroplastic.reservoir import (
    RLS,
    RMHL,
    Reservoir,
    ReservoirConfig,
    RLSConfig,
    Simulation,
    Supertrex,
    arm_task,
    butterfly,
    butterfly_task,
    preset,
)

N, PERIOD = 5, 100
CONFIG = ReservoirConfig(n=N, p=0.6, sparse=False, rate_noise=0.025)


def _first_rates(net, eps):
    x0 = net.x0[0]
    x1 = x0 + 0.02 * (-x0 + net.dense_J()[0] @ torch.tanh(x0))  # z_fb = 0 at the first step; dt/τ = 0.02
    return x1, torch.tanh(x1) + 0.025 * eps


def _hand(z):
    phi1, phi2 = math.pi * z[0], math.pi * (z[0] + z[1])
    x = 1.8 * torch.sin(phi1) + 1.8 * torch.sin(phi2)
    return torch.stack([x, -2 + 1.8 * torch.cos(phi1) + 1.8 * torch.cos(phi2)])


def _net(fixed_noise, d):
    net = Reservoir(CONFIG, d, [11])
    eps = 2 * torch.rand(1, N, generator=torch.Generator().manual_seed(1)) - 1
    net.rate_noise = fixed_noise(eps)
    return net, eps[0]


def test_force_step(fixed_noise):
    net, eps = _net(fixed_noise, 2)
    W0 = torch.randn(1, 2, N, generator=torch.Generator().manual_seed(2))
    sim = Simulation(net, RLS(RLSConfig(alpha=2.0, learn_every=1)), butterfly_task(PERIOD))
    state = sim.readout_state
    state.W.copy_(W0)
    trace = sim.run(1, learn=True, record_every=1)
    x1, r = _first_rates(net, eps)
    f = butterfly(torch.tensor([0]), PERIOD)[0]
    z = W0[0] @ r
    k = r / 2
    c = 1 / (1 + r @ k)
    torch.testing.assert_close(sim.x[0], x1)
    torch.testing.assert_close(trace.z[0, 0], z)
    torch.testing.assert_close(state.W[0], W0[0] - c * torch.outer(z - f, k))
    torch.testing.assert_close(state.P[0], torch.eye(N) / 2 - c * torch.outer(k, k))
    torch.testing.assert_close(sim.z_fb[0], z)  # closed loop: the output is fed back


def test_rmhl_step_two_sided_on_the_arm(fixed_noise):
    net, eps = _net(fixed_noise, 2)
    sim = Simulation(net, RMHL(preset("pyle2019-task2").rmhl), arm_task(period=PERIOD))
    W0 = 0.1 * torch.randn(1, 2, N, generator=torch.Generator().manual_seed(3))
    xi = torch.tensor([[0.7, -0.3]])
    state = sim.readout_state
    state.W.copy_(W0)
    state.exploration = fixed_noise(xi)
    sim.run(1, learn=True)
    _, r = _first_rates(net, eps)
    z = W0[0] @ r + 0.01 * xi[0]
    zbar = 0.2 * z
    e = (_hand(z) - butterfly(torch.tensor([0]), PERIOD)[0]).square().sum()
    ebar = 0.2 * e
    delta = ebar - e
    modulation = 5 * torch.sign(delta) * delta.abs() ** 0.25
    torch.testing.assert_close(state.W[0], W0[0] + 5e-4 * modulation * torch.outer(z - zbar, r))
    torch.testing.assert_close(state.beta[0], 0.01 * (10 * ebar) ** 0.2)
    torch.testing.assert_close(state.ebar[0], ebar)
    # the error exceeds its running average (Φ < 0), where a one-sided rule would not move: this one does
    assert state.ebar[0] < e and not torch.equal(state.W, W0)


def test_supertrex_step_with_open_gate(fixed_noise):
    net, eps = _net(fixed_noise, 2)
    st_config = preset("pyle2019-task2").supertrex
    st_config = replace(st_config, theta=10.0, rls=RLSConfig(alpha=4.0, learn_every=1))
    sim = Simulation(net, Supertrex(st_config), arm_task(period=PERIOD))
    g = torch.Generator().manual_seed(4)
    W1, W2 = 0.1 * torch.randn(1, 2, N, generator=g), 0.1 * torch.randn(1, 2, N, generator=g)
    st = sim.readout_state
    st.mastery.W.copy_(W1)
    st.explorer.W.copy_(W2)
    xi = torch.tensor([[-0.2, 0.9]])
    st.explorer.exploration = fixed_noise(xi)
    sim.run(1, learn=True)
    _, r = _first_rates(net, eps)
    z2 = W2[0] @ r + 0.01 * xi[0]
    z = W1[0] @ r + z2
    zbar2 = 0.1 * z2  # a_z = 0.1 inside SUPERTREX Task 2
    e = (_hand(z) - butterfly(torch.tensor([0]), PERIOD)[0]).square().sum()
    ebar = 0.2 * e
    delta = ebar - e
    modulation = 5 * torch.sign(delta) * delta.abs() ** 0.25
    torch.testing.assert_close(st.explorer.W[0], W2[0] + 5e-4 * modulation * torch.outer(z2 - zbar2, r))
    s = 0.5 * (1 - torch.tanh(5e5 * (ebar - 10.0)))
    k = r / 4
    c = 1 / (1 + r @ k)
    torch.testing.assert_close(st.mastery.W[0], W1[0] + 0.5 * s * c * torch.outer(zbar2, k))
    torch.testing.assert_close(st.mastery.P[0], torch.eye(N) / 4 - s * c * torch.outer(k, k))


@pytest.mark.parametrize("highpass", ["scripts", "exploratory", "total"])
def test_supertrex_movement_cost_on_task3(fixed_noise, highpass):
    """Task3_ST.m charges Σ c_k |z_k − z̄₂_k|: the total output (mastery z₁ included) minus the exploratory low-pass."""
    net, eps = _net(fixed_noise, 3)
    st_config = preset("pyle2019-task3").supertrex
    assert st_config.rmhl.cost_highpass == "scripts"
    st_config = replace(st_config, rmhl=replace(st_config.rmhl, cost_highpass=highpass))
    task = arm_task((1.8, 1.2, 0.6), (0.1, 0.05, 0.0), period=PERIOD)
    sim = Simulation(net, Supertrex(st_config), task)
    g = torch.Generator().manual_seed(5)
    W1, W2 = 0.3 * torch.randn(1, 3, N, generator=g), 0.1 * torch.randn(1, 3, N, generator=g)
    st = sim.readout_state
    st.mastery.W.copy_(W1)
    st.explorer.W.copy_(W2)
    xi = torch.tensor([[0.4, -0.8, 0.1]])
    st.explorer.exploration = fixed_noise(xi)
    sim.run(1, learn=True)
    _, r = _first_rates(net, eps)
    z2 = W2[0] @ r + 0.01 * xi[0]  # β₀ = 0.01 at the first step
    z = W1[0] @ r + z2
    zbar2 = 0.2 * z2
    moved = {"scripts": z - zbar2, "exploratory": z2 - zbar2, "total": z - 0.2 * z}[highpass]
    distance2 = (task.hand(z.unsqueeze(0))[0] - butterfly(torch.tensor([0]), PERIOD)[0]).square().sum()
    e = distance2 + 0.1 * moved[0].abs() + 0.05 * moved[1].abs()
    torch.testing.assert_close(st.explorer.ebar[0], 0.2 * e)
