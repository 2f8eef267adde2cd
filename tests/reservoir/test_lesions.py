import math
from dataclasses import replace

import torch

from neuroplastic.reservoir import RMHL, Reservoir, Simulation, Supertrex, Switches, arm_task, butterfly, preset

N, PERIOD = 30, 200


def _train(switches, steps=400, seed=0):
    p = preset("pyle2019-task2", period=PERIOD, n=N)
    net = Reservoir(p.reservoir, 2, [seed])
    st = Supertrex(replace(p.supertrex, theta=10.0), N, 2, [seed], switches=switches)
    trace = Simulation(net, st, p.task).run(steps, learn=True, record_every=1)
    return st, trace


def test_lesion_removes_the_exploratory_pathway_from_then_on():
    st, trace = _train(Switches(lesion_at=150))
    assert trace.norms["W2"][149].item() > 0
    assert torch.all(trace.norms["W2"][150:] == 0)
    assert not st.explorer.W.any() and not st.explorer.z.any()
    assert trace.norms["W1"][-1].item() > 0  # the mastery pathway keeps what it had


def test_dopamine_depletion_stops_exploratory_learning():
    depleted, _ = _train(Switches(dopamine_at=0, dopamine_scale=0.0))
    control, _ = _train(Switches())
    assert not depleted.explorer.W.any() and control.explorer.W.abs().sum() > 0


def test_modulation_switch_formula():
    phi = torch.tensor([-1.0, 0.5])
    s = Switches(dopamine_at=10, dopamine_scale=0.3, tonic_offset=0.2)
    assert torch.equal(s.modulation(phi, 9), phi)
    torch.testing.assert_close(s.modulation(phi, 10), torch.tensor([-0.1, 0.35]))


def test_corruption_shifts_the_exploratory_output():
    p = preset("pyle2019-task2", period=PERIOD, n=N)
    clean = RMHL(p.rmhl, N, 2, [0])
    bad = RMHL(p.rmhl, N, 2, [0], switches=Switches(corrupt_at=5, corrupt_offset=0.3))
    r = torch.tanh(Reservoir(p.reservoir, 2, [0]).x0)
    torch.testing.assert_close(bad.output(r, 4, explore=True), clean.output(r, 4, explore=True))
    torch.testing.assert_close(bad.output(r, 5, explore=True), clean.output(r, 5, explore=True) + 0.3)


def _switched_step(switches, fixed_noise, step=10):
    """One RMHL step (Task 2, N = 5) from a set state with fixed r, ξ and corruption draw, under ``switches``."""
    n = 5
    config = preset("pyle2019-task2").rmhl
    g = torch.Generator().manual_seed(4)
    rmhl = RMHL(config, n, 2, [0], switches=switches)
    rmhl.W.copy_(0.2 * torch.randn(1, 2, n, generator=g))
    rmhl.zbar.copy_(torch.tensor([[0.05, -0.02]]))
    rmhl.ebar.fill_(0.3)
    rmhl.exploration = fixed_noise(torch.tensor([[0.7, -0.3]]))
    rmhl.corruption = fixed_noise(torch.tensor([[-0.4, 0.9]]))
    before = {k: getattr(rmhl, k).clone() for k in ("W", "zbar", "ebar", "beta")}
    r = torch.tanh(torch.randn(1, n, generator=g))
    task = arm_task(period=PERIOD)
    f = butterfly(torch.tensor([step]), PERIOD)[0]
    z = rmhl.output(r, step, explore=True)
    rmhl.learn(r, z, f, task.distance2(z, f), task, step)
    return rmhl, before, r[0], z[0], task, f


def _hand_step(before, r, z, f, *, scale=1.0, offset=0.0, lesioned=False):
    """The rule of the module docstring by hand: z̄, ē, then ΔW = η (scale Φ + offset) (z − z̄) rᵀ."""
    c = preset("pyle2019-task2").rmhl
    zbar = before["zbar"][0] + c.a_z * (z - before["zbar"][0])
    phi1, phi2 = math.pi * z[0], math.pi * (z[0] + z[1])  # the 2-joint arm's hand, by hand
    hand = torch.stack([1.8 * (phi1.sin() + phi2.sin()), -2 + 1.8 * (phi1.cos() + phi2.cos())])
    e = (hand - f).square().sum()
    ebar = before["ebar"][0] + c.a_e * (e - before["ebar"][0])
    delta = ebar - e
    phi = c.phi_a * torch.sign(delta) * delta.abs() ** c.phi_b
    W = (
        torch.zeros_like(before["W"][0])
        if lesioned
        else before["W"][0] + c.eta * (scale * phi + offset) * torch.outer(z - zbar, r)
    )
    return {"zbar": zbar, "ebar": ebar, "W": W}


def _assert_state(rmhl, expected):
    torch.testing.assert_close(rmhl.zbar[0], expected["zbar"])
    torch.testing.assert_close(rmhl.ebar[0], expected["ebar"])
    torch.testing.assert_close(rmhl.W[0], expected["W"])


def test_golden_step_control(fixed_noise):
    rmhl, before, r, z, task, f = _switched_step(Switches(), fixed_noise)
    torch.testing.assert_close(z, before["W"][0] @ r + before["beta"][0] * torch.tensor([0.7, -0.3]))
    _assert_state(rmhl, _hand_step(before, r, z, f))


def test_golden_step_dopamine_scales_and_offsets_only_the_modulation(fixed_noise):
    switches = Switches(dopamine_at=10, dopamine_scale=0.25, tonic_offset=0.1)
    rmhl, before, r, z, task, f = _switched_step(switches, fixed_noise)
    control = _switched_step(Switches(), fixed_noise)[3]
    torch.testing.assert_close(z, control)  # the output is untouched
    _assert_state(rmhl, _hand_step(before, r, z, f, scale=0.25, offset=0.1))


def test_golden_step_dopamine_is_restored_after_its_window(fixed_noise):
    switches = Switches(dopamine_at=0, dopamine_until=10, dopamine_scale=0.0, tonic_offset=0.1)
    rmhl, before, r, z, task, f = _switched_step(switches, fixed_noise)
    _assert_state(rmhl, _hand_step(before, r, z, f))
    rmhl, before, r, z, task, f = _switched_step(switches, fixed_noise, step=9)
    _assert_state(rmhl, _hand_step(before, r, z, f, scale=0.0, offset=0.1))


def test_golden_step_lesion_removes_the_pathway_and_its_noise(fixed_noise):
    rmhl, before, r, z, task, f = _switched_step(Switches(lesion_at=10), fixed_noise)
    torch.testing.assert_close(z, torch.zeros(2))
    _assert_state(rmhl, _hand_step(before, r, z, f, lesioned=True))


def test_golden_step_corruption_shifts_only_the_exploratory_output(fixed_noise):
    switches = Switches(corrupt_at=10, corrupt_noise=0.3, corrupt_offset=0.1)
    rmhl, before, r, z, task, f = _switched_step(switches, fixed_noise)
    control = _switched_step(Switches(), fixed_noise)[3]
    torch.testing.assert_close(z, control + 0.1 + 0.3 * torch.tensor([-0.4, 0.9]))
    _assert_state(rmhl, _hand_step(before, r, z, f))  # learning then sees the corrupted output


def test_lesioned_supertrex_outputs_its_mastery_pathway_alone(fixed_noise):
    n = 5
    p = preset("pyle2019-task2", n=n)
    st = Supertrex(p.supertrex, n, 2, [0], switches=Switches(lesion_at=0))
    st.W.copy_(torch.randn(1, 2, n, generator=torch.Generator().manual_seed(5)))
    st.explorer.W.fill_(1.0)
    r = torch.tanh(torch.randn(1, n, generator=torch.Generator().manual_seed(6)))
    torch.testing.assert_close(st.output(r, 0, explore=True)[0], st.W[0] @ r[0])
