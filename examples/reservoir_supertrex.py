"""Teach a reservoir to draw a butterfly with SUPERTREX, then lesion its exploratory pathway before learning.

Pyle & Rosenbaum (2019), Task 1, shortened to N = 200 and six 1-s trials (the full protocol is
``neuroplastic run reservoir-motor``).

The reservoir x ← x + a(−x + J r + Q z), r = tanh x, drives a two-pathway readout z = z₁ + z₂: the exploratory
pathway z₂ = W₂ r + ξ learns by reward-modulated Hebbian learning from the scalar error of the total output, and
the mastery pathway z₁ = W₁ r learns by RLS to reproduce the total output, gated by s = ½[1 − tanh(σ(|ē| − θ))]
on the filtered error ē. The test runs without learning and without the exploratory pathway, so it measures what
W₁ has consolidated. At this length ē never falls below the paper's θ = 1.5·10⁻³, so the example opens the gate
at θ = 0.05. Exits non-zero unless the control network consolidated a drawing that beats the lesioned network's.
"""

import sys
from dataclasses import replace

from neuroplastic.reservoir import Reservoir, Simulation, Supertrex, Switches, preset

p = preset("pyle2019-task1", period=5000, n=200)
config = replace(p.supertrex, theta=0.05)
T, seeds = p.task.period, [0]


def train_and_test(switches: Switches) -> tuple[float, float]:
    """Train 6 trials under ``switches``, test 1 trial teacher-forced (the authors' Task-1 protocol).

    Returns (test deviation, ‖W₁‖).
    """
    net = Reservoir(p.reservoir, p.task.n_out, seeds)
    simulation = Simulation(net, Supertrex(config), p.task)
    simulation.run(6 * T, learn=True, record_every=T, switches=switches)
    test = simulation.run(T, learn=False, feedback=p.authors_feedback, record_every=T)
    norms = simulation.readout_state.weight_norms()
    print(
        f"  ‖W₁‖ = {norms['W1'].item():.3f}, ‖W₂‖ = {norms['W2'].item():.3f}, test deviation D = "
        f"{test.deviation.item():.3f}"
    )
    return test.deviation.item(), norms["W1"].item()


print("control:")
control, control_w1 = train_and_test(Switches())
print("exploratory pathway lesioned from the start:")
lesioned, lesioned_w1 = train_and_test(Switches(lesioned=True))
if not (lesioned_w1 == 0 < control_w1 and control < 0.8 * lesioned):
    sys.exit("expected: the lesion leaves W₁ = 0, and the control's consolidated drawing beats the lesioned output")
print("the mastery pathway learned only through the exploratory one: lesioned before learning, nothing consolidates")
