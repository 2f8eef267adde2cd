"""The simulation's contracts: protocol errors, where a divergence stops, and what ``restore`` brings back.

Oracle: the documented behaviour (the error messages, the step of the chunk that diverged, the test run from the
saved state).
"""

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

PERIOD = 300


def test_protocol_errors_are_clear():
    p = preset("pyle2019-task1", period=PERIOD, n=20)
    net = Reservoir(p.reservoir, 2, [0])
    rls = RLS(p.force)
    with pytest.raises(ValueError, match="teacher forcing"):
        Simulation(net, Supertrex(preset("pyle2019-task2").supertrex), arm_task(period=PERIOD)).run(
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
    sim = Simulation(Reservoir(p.reservoir, 2, [0]), Supertrex(explosive), p.task)
    with pytest.raises(DivergenceError, match="at step 249 .* lower its learning rate"):
        sim.run(600, learn=True)


def test_divergence_names_the_seed_that_diverged():
    net = Reservoir(ReservoirConfig(n=20), 2, [3, 4])
    sim = Simulation(net, RLS(RLSConfig(learn_every=1)), butterfly_task(100))
    sim.readout_state.W[1, 0, 0] = float("inf")
    with pytest.raises(DivergenceError, match=r"seed\(s\) \[4\]"):
        sim.run(10, learn=False)


def test_a_restored_state_brings_back_the_readout_unless_asked_to_keep_it():
    """Oracle: the test run from the saved state before any further learning."""
    p = preset("pyle2019-task2", period=PERIOD, n=20)
    sim = Simulation(Reservoir(p.reservoir, 2, [2, 3]), Supertrex(replace(p.supertrex, theta=10.0)), p.task)
    sim.run(300, learn=True)
    saved = sim.state()
    before = sim.run(100, learn=False, record_every=1).z
    sim.restore(saved)
    sim.run(300, learn=True)  # W₁ and W₂ move on
    sim.restore(saved, readout=False)
    assert not torch.allclose(sim.run(100, learn=False, record_every=1).z, before)
    sim.restore(saved)
    torch.testing.assert_close(sim.run(100, learn=False, record_every=1).z, before, rtol=0, atol=0)
