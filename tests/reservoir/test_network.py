import math
from dataclasses import replace

import pytest
import torch

from neuroplastic.core.divergence import DivergenceError
from neuroplastic.reservoir import (
    RLS,
    Reservoir,
    ReservoirConfig,
    RLSConfig,
    Simulation,
    Supertrex,
    arm_task,
    butterfly_task,
    preset,
)
from neuroplastic.reservoir.simulate import D_FILTER, deviation, low_pass

PERIOD = 300


def _supertrex_run(seeds, *, sparse=True, n=40, clock=False):
    p = preset("pyle2019-task2", period=PERIOD, n=n, clock=clock)
    net = Reservoir(replace(p.reservoir, sparse=sparse), 2, seeds)
    st = Supertrex(replace(p.supertrex, theta=10.0), n, 2, seeds)  # gate open: both pathways learn
    sim = Simulation(net, st, p.task, clock=clock)
    train = sim.run(700, learn=True, record_every=1, keep_outputs=True)
    test = sim.run(300, learn=False, feedback="replay", replay=train.outputs[-300:], record_every=1)
    return train, test, st


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


def test_keeping_rows_leaves_the_reservoirs_of_the_kept_seeds():
    for sparse in (True, False):
        config = ReservoirConfig(n=30, sparse=sparse, n_inputs=2)
        net = Reservoir(config, 2, [7, 8, 9])
        net.keep_rows_(torch.tensor([0, 2]))
        oracle = Reservoir(config, 2, [7, 9])
        assert net.seeds == (7, 9)
        torch.testing.assert_close(net.dense_J(), oracle.dense_J(), rtol=0, atol=0)
        for name in ("Q", "W_in", "x0"):
            torch.testing.assert_close(getattr(net, name), getattr(oracle, name), rtol=0, atol=0)


def test_batched_seeds_equal_a_loop_over_seeds():
    seeds = [4, 5, 6]
    train, test, st = _supertrex_run(seeds)
    assert st.W.abs().sum() > 0  # the mastery pathway did learn
    for b, seed in enumerate(seeds):
        train1, test1, st1 = _supertrex_run([seed])
        torch.testing.assert_close(train.z[:, b], train1.z[:, 0], atol=1e-12, rtol=0)
        torch.testing.assert_close(test.z[:, b], test1.z[:, 0], atol=1e-12, rtol=0)
        torch.testing.assert_close(st.W[b], st1.W[0], atol=1e-12, rtol=0)


def test_same_seed_gives_identical_trajectories_and_other_seeds_differ():
    a, b, c = _supertrex_run([7])[1], _supertrex_run([7])[1], _supertrex_run([8])[1]
    assert torch.equal(a.z, b.z) and torch.equal(a.D, b.D)
    assert not torch.allclose(a.z, c.z)


def test_dense_and_sparse_J_give_the_same_trajectory_with_a_clock_input():
    sparse, dense = _supertrex_run([3], clock=True)[0], _supertrex_run([3], sparse=False, clock=True)[0]
    torch.testing.assert_close(sparse.z, dense.z, atol=1e-10, rtol=0)


def test_float32_follows_float64():
    p = preset("pyle2019-task1", period=PERIOD, n=50)
    zs = []
    for dtype in (torch.float32, torch.float64):
        net = Reservoir(p.reservoir, 2, [1], dtype=dtype)
        sim = Simulation(net, RLS(p.force, 50, 2, 1, dtype=dtype), p.task)
        zs.append(sim.run(300, learn=True, record_every=1).z.double())
    torch.testing.assert_close(zs[0], zs[1], atol=1e-3, rtol=0)


def test_exponential_integrator_uses_the_exact_leak():
    a = Reservoir(ReservoirConfig(n=10, integrator="exponential", tau=10.0, dt=5.0), 1, [0])
    assert a.leak == pytest.approx(1 - torch.exp(torch.tensor(-0.5)).item())


def test_protocol_errors_are_clear():
    p = preset("pyle2019-task1", period=PERIOD, n=20)
    net = Reservoir(p.reservoir, 2, [0])
    rls = RLS(p.force, 20, 2, 1)
    with pytest.raises(ValueError, match="teacher forcing"):
        Simulation(net, Supertrex(preset("pyle2019-task2").supertrex, 20, 2, [0]), arm_task(period=PERIOD)).run(
            5, learn=False, feedback="teacher_forced"
        )
    with pytest.raises(ValueError, match="replay tensor"):
        Simulation(net, rls, p.task).run(5, learn=False, feedback="replay")
    with pytest.raises(ValueError, match="input layer"):
        Simulation(net, rls, p.task, clock=True)
    with pytest.raises(ValueError, match="3 outputs"):
        Simulation(net, rls, arm_task((1.0, 1.0, 1.0), period=PERIOD))


def test_divergence_stops_with_the_step():
    p = preset("pyle2019-task1", period=PERIOD, n=20)
    explosive = replace(p.supertrex, rmhl=replace(p.supertrex.rmhl, eta=1e6))
    sim = Simulation(Reservoir(p.reservoir, 2, [0]), Supertrex(explosive, 20, 2, [0]), p.task)
    with pytest.raises(DivergenceError, match="at step 249 .* lower its learning rate"):
        sim.run(600, learn=True)


def test_divergence_names_the_seed_that_diverged():
    net = Reservoir(ReservoirConfig(n=20), 2, [3, 4])
    rls = RLS(RLSConfig(learn_every=1), 20, 2, 2)
    rls.W[1, 0, 0] = float("inf")
    sim = Simulation(net, rls, butterfly_task(100))
    with pytest.raises(DivergenceError, match=r"seed\(s\) \[4\]"):
        sim.run(10, learn=False)


def test_test_phase_drops_the_exploratory_pathway_unless_kept():
    p = preset("pyle2019-task1", period=PERIOD, n=30)
    net = Reservoir(p.reservoir, 2, [2])
    st = Supertrex(p.supertrex, 30, 2, [2])
    st.explorer.W.fill_(0.1)
    r = torch.tanh(net.x0)
    assert torch.equal(st.output(r, 0, explore=False), torch.zeros(1, 2))
    st.keep_exploratory = True
    torch.testing.assert_close(st.output(r, 0, explore=False), torch.bmm(st.explorer.W, r.unsqueeze(2)).squeeze(2))
    assert Simulation(net, st, butterfly_task(PERIOD)).run(10, learn=False).deviation.shape == (1,)


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
