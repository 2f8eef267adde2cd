from dataclasses import replace

import torch

from neuroplastic.reservoir import RMHL, Reservoir, Simulation, Supertrex, Switches, preset

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
