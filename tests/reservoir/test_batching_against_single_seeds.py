"""Batched seeds, sparse J and float32.

Oracle: the same simulation computed another way: one seed at a time, a freshly built batch of the kept seeds,
a dense J, float64.
"""

from dataclasses import replace

import torch

from neuroplastic.reservoir import (
    RLS,
    Reservoir,
    ReservoirConfig,
    Simulation,
    Supertrex,
    preset,
)

PERIOD = 300


def _supertrex_run(seeds, *, sparse=True, n=40, clock=False):
    p = preset("pyle2019-task2", period=PERIOD, n=n, clock=clock)
    net = Reservoir(replace(p.reservoir, sparse=sparse), 2, seeds)
    sim = Simulation(net, Supertrex(replace(p.supertrex, theta=10.0)), p.task, clock=clock)  # gate open: W₁ learns
    train = sim.run(700, learn=True, record_every=1, keep_outputs=True)
    test = sim.run(300, learn=False, feedback="replay", replay=train.outputs[-300:], record_every=1)
    return train, test, sim.readout_state


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
    assert st.mastery.W.abs().sum() > 0  # the mastery pathway did learn
    for b, seed in enumerate(seeds):
        train1, test1, st1 = _supertrex_run([seed])
        torch.testing.assert_close(train.z[:, b], train1.z[:, 0], atol=1e-12, rtol=0)
        torch.testing.assert_close(test.z[:, b], test1.z[:, 0], atol=1e-12, rtol=0)
        torch.testing.assert_close(st.mastery.W[b], st1.mastery.W[0], atol=1e-12, rtol=0)


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
        sim = Simulation(net, RLS(p.force), p.task)
        zs.append(sim.run(300, learn=True, record_every=1).z.double())
    torch.testing.assert_close(zs[0], zs[1], atol=1e-3, rtol=0)
