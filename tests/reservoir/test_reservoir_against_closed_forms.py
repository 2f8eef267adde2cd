"""The reservoir's weights, its leak, and the deviation D(t).

Oracle: closed forms (the density and variance of J, the collision density of draws with replacement, the exact
leak 1 − e^(−dt/τ)) and the filter D² ← D² + a(v − D²) stepped one value at a time in the test.
"""

import math

import pytest
import torch

from neuroplastic.reservoir import (
    Reservoir,
    ReservoirConfig,
    preset,
)
from neuroplastic.reservoir.simulate import D_FILTER, deviation, low_pass

PERIOD = 300


def test_recurrent_weights_have_the_stated_density_and_variance():
    net = Reservoir(ReservoirConfig(n=400, p=0.1, gain=1.5), 1, [0])
    J = net.dense_J()[0]
    nonzero = J[J != 0]
    assert abs(nonzero.numel() / 400**2 - 0.1) < 0.005
    assert nonzero.square().mean().item() == pytest.approx(1.5**2 / (0.1 * 400), rel=0.03)
    assert net.Q.abs().max() <= 1 and net.x0.abs().max() <= 0.5


def test_connections_drawn_with_replacement_have_the_collision_density_and_gain():
    """⌈pN²⌉ uniform draws with replacement leave a density of 1 − (1 − 1/N²)^⌈pN²⌉ ≈ 1 − e^(−p)."""
    n, p, gain = 400, 0.1, 1.5
    net = Reservoir(ReservoirConfig(n=n, p=p, gain=gain, connectivity="with_replacement"), 1, [0])
    J = net.dense_J()[0]
    draws = math.ceil(p * n * n)
    expected = 1 - (1 - 1 / n**2) ** draws  # 0.09516
    sd = math.sqrt(expected * (1 - expected) / n**2)  # of the density, 7e-4 (draws are nearly independent)
    assert abs((J != 0).double().mean().item() - expected) < 5 * sd
    assert (J != 0).sum() <= draws
    # each present entry keeps the N(0, λ²/(pN)) variance, so the effective gain is λ √(density / p)
    assert J[J != 0].square().mean().item() == pytest.approx(gain**2 / (p * n), rel=0.03)
    bernoulli = Reservoir(ReservoirConfig(n=n, p=p, gain=gain), 1, [0]).dense_J()[0]
    assert abs((bernoulli != 0).double().mean().item() - p) < 5 * math.sqrt(p * (1 - p) / n**2)


def test_exponential_integrator_uses_the_exact_leak():
    a = Reservoir(ReservoirConfig(n=10, integrator="exponential", tau=10.0, dt=5.0), 1, [0])
    assert a.leak == pytest.approx(1 - torch.exp(torch.tensor(-0.5)).item())


def test_chunked_low_pass_equals_the_step_by_step_filter():
    values, initial, a = torch.rand(250, 3), torch.rand(3), 2e-4
    expected, D = [], initial.clone()
    for v in values:
        D = D + a * (v - D)
        expected.append(D)
    torch.testing.assert_close(low_pass(initial, values, a), torch.stack(expected), atol=1e-14, rtol=1e-12)


def test_deviation_of_a_recorded_series_is_the_step_by_step_filter():
    p = preset("pyle2019-task2", period=PERIOD, n=30)
    outputs = 0.3 * torch.randn(700, 2, 2, generator=torch.Generator().manual_seed(3))
    D2 = torch.tensor([0.2, 0.05])
    expected, total = D2.clone(), torch.zeros(2)
    for k in range(700):
        t = 123 + k
        phi1, phi2 = math.pi * outputs[k, :, 0], math.pi * (outputs[k, :, 0] + outputs[k, :, 1])
        hand = torch.stack([1.8 * (phi1.sin() + phi2.sin()), -2 + 1.8 * (phi1.cos() + phi2.cos())], 1)
        f = p.task.target_fn(torch.tensor([t]))[0]
        expected = expected + D_FILTER * ((hand - f).square().sum(1) - expected)
        total += expected.sqrt()
    torch.testing.assert_close(deviation(p.task, outputs, 123, D2), total / 700)
