"""The tasks: arm kinematics, movement cost, butterfly and sum-of-sines targets, the clock input.

Oracle: closed forms evaluated by hand at known angles and phases.
"""

import math

import pytest
import torch

from neuroplastic.reservoir import BUTTERFLY_DIVISOR, PlanarArm, arm_task, butterfly, butterfly_task, sum_of_sines


def test_two_joint_arm_at_known_angles():
    arm = PlanarArm((1.8, 1.8))
    z = torch.tensor([[0.0, 0.0], [0.5, 0.0], [1.0, 0.0], [0.0, 0.5], [0.5, -0.5]])
    expected = torch.tensor([[0.0, 1.6], [3.6, -2.0], [0.0, -5.6], [1.8, -0.2], [1.8, -0.2]])
    torch.testing.assert_close(arm(z), expected, atol=1e-12, rtol=0)


def test_three_joint_arm_and_movement_cost():
    task = arm_task((1.8, 1.2, 0.6), (0.1, 0.05, 0.0), period=100)
    z = torch.tensor([[0.5, 0.5, 0.5]])  # right, then down, then left
    torch.testing.assert_close(task.hand(z), torch.tensor([[1.8 - 0.6, -2.0 - 1.2]]), atol=1e-12, rtol=0)
    f = torch.tensor([1.0, -3.0])
    motion = torch.tensor([[0.2, -0.4, 3.0]])
    expected = (1.2 - 1.0) ** 2 + (-3.2 + 3.0) ** 2 + 0.1 * 0.2 + 0.05 * 0.4
    torch.testing.assert_close(task.error(z, f, motion), torch.tensor([expected]))
    torch.testing.assert_close(task.error(z, f), task.distance2(z, f))
    with pytest.raises(ValueError, match="3 segments"):
        task.hand(torch.zeros(1, 2))


def test_butterfly_constants():
    assert BUTTERFLY_DIVISOR == 14.4734
    period = 50_000
    f = butterfly(torch.tensor([0, period - 1, period]), period)
    torch.testing.assert_close(f[0], torch.tensor([10 / 14.4734, 0.0]))
    torch.testing.assert_close(f[1], f[0], atol=1e-12, rtol=0)  # linspace includes both ends
    torch.testing.assert_close(f[2], f[0])  # repeats every trial
    rho = 9 - 1 + 2 * (-1) + 2 * 1 - (-1) + 3 * (-1) - 2 * 1  # φ = π/2
    quarter = butterfly(torch.tensor([100]), 401)[0]  # φ = 100 · 2π/400
    torch.testing.assert_close(quarter, torch.tensor([0.0, rho / 14.4734]), atol=1e-12, rtol=0)
    full = butterfly(torch.arange(period), period)
    assert -0.91 < full[:, 0].min() < -0.89 and 0.89 < full[:, 0].max() < 0.91
    assert -0.73 < full[:, 1].min() < -0.71 and 0.56 < full[:, 1].max() < 0.58


def test_sum_of_sines_formula_and_clock():
    t = 37.0
    w = math.pi * t / 60
    expected = 1.3 / 1.5 * (math.sin(w) + math.sin(2 * w) / 2 + math.sin(3 * w) / 6 + math.sin(4 * w) / 3)
    assert sum_of_sines(torch.tensor([370]), 0.1).item() == pytest.approx(expected, abs=1e-12)
    task = butterfly_task(400)
    u = task.clock(100, 1, dtype=torch.float64, device=torch.device("cpu"))
    torch.testing.assert_close(u, torch.tensor([[0.0, 1.0]]), atol=1e-12, rtol=0)
