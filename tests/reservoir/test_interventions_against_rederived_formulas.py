"""Interventions passed as data: switches for a run and a plan over training trials.

Oracle: one RMHL step re-derived by hand (z̄, ē, ΔW = η (scale Φ + offset) (z − z̄) rᵀ, the arm's kinematics) under
each switch; for plans, the same training run trial by trial with the switches written out; for whole runs, the
stated effect (W₂ = 0 from a lesion on, no W₂ learning without dopamine).
"""

import math
from dataclasses import replace

import pytest
import torch

from neuroplastic.reservoir import (
    RMHL,
    Phase,
    Plan,
    Reservoir,
    Simulation,
    Supertrex,
    Switches,
    butterfly,
    preset,
)

N, PERIOD = 30, 200
LESION = Switches(lesioned=True)


def _simulation(seed=0):
    p = preset("pyle2019-task2", period=PERIOD, n=N)
    return Simulation(Reservoir(p.reservoir, 2, [seed]), Supertrex(replace(p.supertrex, theta=10.0)), p.task)


def test_lesion_removes_the_exploratory_pathway_from_then_on():
    sim = _simulation()
    before = sim.run(150, learn=True, record_every=1)
    after = sim.run(250, learn=True, record_every=1, switches=LESION)
    assert before.norms["W2"][-1].item() > 0
    assert torch.all(after.norms["W2"] == 0)
    assert not sim.readout_state.explorer.W.any() and not sim.readout_state.explorer.z.any()
    assert after.norms["W1"][-1].item() > 0  # the mastery pathway keeps what it had


def test_dopamine_depletion_stops_exploratory_learning():
    depleted, control = _simulation(), _simulation()
    depleted.run(400, learn=True, switches=Switches(dopamine_scale=0.0))
    control.run(400, learn=True)
    assert not depleted.readout_state.explorer.W.any() and control.readout_state.explorer.W.abs().sum() > 0


def test_a_plan_gives_each_training_trial_its_switches():
    """Trials 0–1 plain, 2 depleted, then lesioned: the same as three runs with the switches written out."""
    plan = Plan((Phase(trials=2), Phase(Switches(dopamine_scale=0.25), trials=1), Phase(LESION)))
    assert [plan.switches(t) for t in range(5)] == [Switches(), Switches(), Switches(dopamine_scale=0.25)] + [
        LESION
    ] * 2
    planned, written = _simulation(), _simulation()
    planned_z = torch.cat([planned.run(100, learn=True, record_every=1, switches=plan.switches(t)).z for t in range(4)])
    written_z = torch.cat(
        [
            written.run(200, learn=True, record_every=1).z,
            written.run(100, learn=True, record_every=1, switches=Switches(dopamine_scale=0.25)).z,
            written.run(100, learn=True, record_every=1, switches=LESION).z,
        ]
    )
    torch.testing.assert_close(planned_z, written_z, rtol=0, atol=0)
    assert Plan().switches(7) == Switches()
    with pytest.raises(ValueError, match="only the last phase"):
        Plan((Phase(LESION), Phase(trials=1)))


def _switched_step(switches, fixed_noise):
    """One RMHL step (Task 2, N = 5) from a set state with fixed r, ξ and corruption draw, under ``switches``."""
    n = 5
    rmhl = RMHL(preset("pyle2019-task2").rmhl)
    state = rmhl.init(n, 2, [0])
    g = torch.Generator().manual_seed(4)
    state.W.copy_(0.2 * torch.randn(1, 2, n, generator=g))
    state.zbar.copy_(torch.tensor([[0.05, -0.02]]))
    state.ebar.fill_(0.3)
    state.exploration = fixed_noise(torch.tensor([[0.7, -0.3]]))
    state.corruption = fixed_noise(torch.tensor([[-0.4, 0.9]]))
    before = {k: getattr(state, k).clone() for k in ("W", "zbar", "ebar", "beta")}
    r = torch.tanh(torch.randn(1, n, generator=g))
    f = butterfly(torch.tensor([10]), PERIOD)[0]
    z = rmhl.output(state, r, explore=True, switches=switches)
    rmhl.partial_fit(state, r, z, f, _distance2(z[0], f).unsqueeze(0), switches=switches)
    return state, before, r[0], z[0], f


def _distance2(z, f):
    phi1, phi2 = math.pi * z[0], math.pi * (z[0] + z[1])  # the 2-joint arm's hand, by hand
    hand = torch.stack([1.8 * (phi1.sin() + phi2.sin()), -2 + 1.8 * (phi1.cos() + phi2.cos())])
    return (hand - f).square().sum()


def _hand_step(before, r, z, f, *, scale=1.0, offset=0.0, lesioned=False):
    """The rule of the module docstring by hand: z̄, ē, then ΔW = η (scale Φ + offset) (z − z̄) rᵀ."""
    c = preset("pyle2019-task2").rmhl
    zbar = before["zbar"][0] + c.a_z * (z - before["zbar"][0])
    e = _distance2(z, f)
    ebar = before["ebar"][0] + c.a_e * (e - before["ebar"][0])
    delta = ebar - e
    phi = c.phi_a * torch.sign(delta) * delta.abs() ** c.phi_b
    W = (
        torch.zeros_like(before["W"][0])
        if lesioned
        else before["W"][0] + c.eta * (scale * phi + offset) * torch.outer(z - zbar, r)
    )
    return {"zbar": zbar, "ebar": ebar, "W": W}


def _assert_state(state, expected):
    torch.testing.assert_close(state.zbar[0], expected["zbar"])
    torch.testing.assert_close(state.ebar[0], expected["ebar"])
    torch.testing.assert_close(state.W[0], expected["W"])


def test_golden_step_control(fixed_noise):
    state, before, r, z, f = _switched_step(Switches(), fixed_noise)
    torch.testing.assert_close(z, before["W"][0] @ r + before["beta"][0] * torch.tensor([0.7, -0.3]))
    _assert_state(state, _hand_step(before, r, z, f))


def test_golden_step_dopamine_scales_and_offsets_only_the_modulation(fixed_noise):
    state, before, r, z, f = _switched_step(Switches(dopamine_scale=0.25, tonic_offset=0.1), fixed_noise)
    control = _switched_step(Switches(), fixed_noise)[3]
    torch.testing.assert_close(z, control)  # the output is untouched
    _assert_state(state, _hand_step(before, r, z, f, scale=0.25, offset=0.1))


def test_golden_step_lesion_removes_the_pathway_and_its_noise(fixed_noise):
    state, before, r, z, f = _switched_step(LESION, fixed_noise)
    torch.testing.assert_close(z, torch.zeros(2))
    _assert_state(state, _hand_step(before, r, z, f, lesioned=True))


def test_golden_step_corruption_shifts_only_the_exploratory_output(fixed_noise):
    switches = Switches(corrupt_noise=0.3, corrupt_offset=0.1)
    state, before, r, z, f = _switched_step(switches, fixed_noise)
    control = _switched_step(Switches(), fixed_noise)[3]
    torch.testing.assert_close(z, control + 0.1 + 0.3 * torch.tensor([-0.4, 0.9]))
    _assert_state(state, _hand_step(before, r, z, f))  # learning then sees the corrupted output


def test_supertrex_outputs_its_mastery_pathway_alone_when_lesioned_or_at_test_unless_kept():
    n = 5
    st = Supertrex(preset("pyle2019-task2", n=n).supertrex)
    state = st.init(n, 2, [0])
    state.mastery.W.copy_(torch.randn(1, 2, n, generator=torch.Generator().manual_seed(5)))
    state.explorer.W.fill_(1.0)
    r = torch.tanh(torch.randn(1, n, generator=torch.Generator().manual_seed(6)))
    W1, W2 = state.mastery.W[0].clone(), state.explorer.W[0].clone()
    torch.testing.assert_close(st.output(state, r, explore=False)[0], W1 @ r[0])
    kept = st.output(state, r, explore=False, switches=Switches(keep_exploratory=True))[0]
    torch.testing.assert_close(kept, (W1 + W2) @ r[0])
    torch.testing.assert_close(st.output(state, r, explore=True, switches=LESION)[0], W1 @ r[0])


def test_gate_theta_of_a_run_shuts_the_gate():
    """θ = 10 opens the gate at once (W₁ learns); the run's θ = 10⁻¹² keeps it shut (W₁ stays 0)."""
    opened, shut = _simulation(), _simulation()
    opened.run(400, learn=True)
    shut.run(400, learn=True, switches=Switches(gate_theta=1e-12))
    assert opened.readout_state.mastery.W.any() and not shut.readout_state.mastery.W.any()
    torch.testing.assert_close(shut.readout_state.mastery.P, torch.eye(N).expand(1, N, N) / 10, rtol=0, atol=0)


@pytest.mark.parametrize("bad", [{"dopamine_scale": -1.0}, {"corrupt_noise": -0.1}, {"gate_theta": 0.0}])
def test_bad_switches_are_refused(bad):
    with pytest.raises(ValueError):
        Switches(**bad)
