"""The contracts of the reservoir, the readouts and the simulation loop.

Invalid configurations, inputs and loop arguments are refused; a divergence is blamed on its actual cause;
``restore`` brings back what ``state`` saved.

Oracle: the documented contract (each refusal's message, the step of the chunk that diverged, the cause a divergence
can prove, the test run from the saved state).
"""

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
    RMHLConfig,
    Simulation,
    Supertrex,
    Task,
    arm_task,
    butterfly_task,
    preset,
)

PERIOD = 300
NAN, INF = float("nan"), float("inf")


def _simulation(config=None, n=20):
    p = preset("pyle2019-task1", period=PERIOD, n=n)
    net = Reservoir(config or p.reservoir, 2, [0])
    return Simulation(net, Supertrex(p.supertrex), p.task)


@pytest.mark.parametrize("n_out", [0, -1])
def test_reservoir_needs_at_least_one_output(n_out):
    with pytest.raises(ValueError, match=rf"n_out \(the number of fed-back outputs\) must be >= 1, got {n_out}"):
        Reservoir(ReservoirConfig(n=10), n_out, [0])


@pytest.mark.parametrize("name", ["gain", "feedback_scale", "x0_scale", "rate_noise"])
@pytest.mark.parametrize("value", [NAN, INF, -0.5])
def test_scales_must_be_finite_and_non_negative(name, value):
    with pytest.raises(ValueError, match=rf"{name} must be finite and >= 0, got {value}"):
        ReservoirConfig(n=10, **{name: value})


@pytest.mark.parametrize("field", ["tau", "dt"])
@pytest.mark.parametrize("value", [NAN, INF, 0.0])
def test_time_constants_must_be_finite_and_positive(field, value):
    with pytest.raises(ValueError, match="tau and dt must be finite and > 0"):
        ReservoirConfig(n=10, **{field: value})


def test_choices_and_the_euler_step_are_checked():
    with pytest.raises(ValueError, match="x0 must be 'uniform' or 'normal', got 'gaussian'"):
        ReservoirConfig(n=10, x0="gaussian")
    with pytest.raises(ValueError, match="integrator must be 'euler' or 'exponential', got 'rk4'"):
        ReservoirConfig(n=10, integrator="rk4")
    with pytest.raises(ValueError, match=r"Euler step needs dt <= tau, got dt/tau = 3 \(above 1 it overshoots"):
        ReservoirConfig(n=10, tau=1.0, dt=3.0)
    assert ReservoirConfig(n=10, tau=1.0, dt=3.0, integrator="exponential").dt == 3.0
    with pytest.raises(ValueError, match="eta must be finite, got nan"):
        RMHLConfig(eta=NAN)


def test_step_refuses_a_non_finite_input_and_an_input_it_cannot_take():
    with_input = Reservoir(ReservoirConfig(n=10, n_inputs=2), 1, [0])
    x, r = with_input.initial_state()
    before = x.clone()
    with pytest.raises(ValueError, match="the input u holds 1 NaN or inf entries; the reservoir input must be finite"):
        with_input.step_(x, r, torch.zeros(1, 1), torch.tensor([0.5, NAN]), noisy=False)
    assert torch.equal(x, before)
    without = Reservoir(ReservoirConfig(n=10), 1, [0])
    x, r = without.initial_state()
    with pytest.raises(ValueError, match=r"no input layer \(n_inputs = 0\) but an input u was given"):
        without.step_(x, r, torch.zeros(1, 1), torch.tensor([0.5, 0.5]), noisy=False)


@pytest.mark.parametrize(("kwargs", "message"), [({}, "steps must be"), ({"record_every": 0}, "record_every must be")])
def test_run_needs_at_least_one_step_and_a_positive_record_interval(kwargs, message):
    sim = _simulation()
    steps = 0 if not kwargs else 10
    with pytest.raises(ValueError, match=rf"{message} an integer >= 1, got 0"):
        sim.run(steps, learn=False, **kwargs)


@pytest.mark.parametrize("name", ["x", "r", "z_fb", "D2"])
def test_a_non_finite_loop_state_is_named_not_blamed_on_the_learning_rate(name):
    sim = _simulation()
    getattr(sim, name).view(-1)[0] = NAN
    with pytest.raises(ValueError, match=rf"the loop state {name} holds NaN or inf entries at step 0") as err:
        sim.run(10, learn=True)
    assert "learning rate" not in str(err.value)


def test_a_non_finite_target_is_named():
    nan_task = Task("broken", 2, 100, lambda steps: torch.full((len(steps), 2), NAN))
    sim = Simulation(Reservoir(ReservoirConfig(n=20), 2, [0]), RLS(RLSConfig(learn_every=1)), nan_task)
    with pytest.raises(ValueError, match=r"task 'broken' gives a non-finite target f\(t\) at steps 0..249"):
        sim.run(600, learn=True)


def test_a_non_finite_replay_is_refused():
    sim = _simulation()
    replay = torch.zeros(20, 1, 2)
    replay[5, 0, 1] = INF
    with pytest.raises(ValueError, match="the replay tensor holds NaN or inf entries"):
        sim.run(20, learn=False, feedback="replay", replay=replay)


def test_an_overflowing_recurrence_is_blamed_on_the_configuration_not_the_readout():
    """gain = 1e308: J's entries overflow to inf, so |J r| is unbounded whatever the readout does."""
    p = preset("pyle2019-task1", period=PERIOD, n=20)
    sim = _simulation(replace(p.reservoir, gain=1e308))
    assert math.isinf(sim.net.recurrent_bound)
    with pytest.raises(DivergenceError, match=r"the recurrence alone overflows: .* gain=1e\+308") as err:
        sim.run(300, learn=True)
    assert "reservoir state x" in str(err.value) and "lower its learning rate" not in str(err.value)


def test_recurrent_bound_is_the_largest_absolute_row_sum_of_J():
    net = Reservoir(ReservoirConfig(n=30, p=0.3, sparse=False), 1, [0, 1])
    expected = max(sum(abs(v) for v in row) for j in net.dense_J().tolist() for row in j)
    assert net.recurrent_bound == pytest.approx(expected, rel=1e-12)


def test_the_readout_is_blamed_when_it_diverges():
    p = preset("pyle2019-task1", period=PERIOD, n=20)
    explosive = replace(p.supertrex, rmhl=replace(p.supertrex.rmhl, eta=1e6))
    sim = Simulation(Reservoir(p.reservoir, 2, [0]), Supertrex(explosive), p.task)
    with pytest.raises(DivergenceError, match=r"Supertrex weights W1.*\(the Supertrex readout diverged; lower its"):
        sim.run(600, learn=True)


def test_a_readout_that_was_already_broken_is_not_blamed_on_learning_in_a_test_run():
    net = Reservoir(ReservoirConfig(n=20), 2, [3, 4])
    sim = Simulation(net, RLS(RLSConfig(learn_every=1)), butterfly_task(100))
    sim.readout_state.W[1, 0, 0] = INF
    with pytest.raises(DivergenceError, match=r"seed\(s\) \[4\] .*\(this run did not learn"):
        sim.run(10, learn=False)


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
