"""The angle between two tensors.

Oracle: exact angles by construction: b = R(θ) a, a rotated by a known θ in a random plane (cos θ and sin θ of a
float64 θ), down to θ = 1e-9 rad, where acos of the rounded cosine is 0 (and off by percents at 1e-7 rad).
"""

import math

import pytest
import torch

from neuroplastic.core.metrics import angle_degrees

F64 = torch.float64


def _rotated_pair(theta: float, n: int = 50, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """a and b = ‖a‖-scaled unit vectors at exactly θ: a = u, b = 3(cos θ u + sin θ v), u ⊥ v."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, 2, generator=g, dtype=F64))
    u, v = q[:, 0], q[:, 1]
    return u, 3.0 * (math.cos(theta) * u + math.sin(theta) * v)


@pytest.mark.parametrize("theta", [1e-9, 1e-7, 1e-4, 0.3, math.pi / 2, 2.0, math.pi - 1e-7])
def test_angle_of_a_rotation_is_the_rotation_angle(theta):
    a, b = _rotated_pair(theta)
    assert math.radians(angle_degrees(a, b)) == pytest.approx(theta, rel=1e-7)


def test_acos_of_the_cosine_is_what_fails_near_zero():
    """The construction is exact where acos is not: the oracle is not the method under test."""
    theta = 1e-7
    a, b = _rotated_pair(theta)
    cosine = float(a @ b / (a.norm() * b.norm()))
    assert abs(math.acos(min(1.0, cosine)) - theta) > 1e-4 * theta
    assert math.radians(angle_degrees(a, b)) == pytest.approx(theta, rel=1e-7)


def test_angle_is_taken_between_the_flattened_tensors():
    a, b = _rotated_pair(0.7, n=24, seed=3)
    assert angle_degrees(a.reshape(2, 3, 4), b.reshape(4, 6)) == pytest.approx(math.degrees(0.7), rel=1e-12)


def test_identical_opposite_and_zero_tensors():
    a, _ = _rotated_pair(0.1)
    assert angle_degrees(a, 2 * a) == 0.0
    assert angle_degrees(a, -a) == 180.0
    assert angle_degrees(a, torch.zeros_like(a)) == 90.0
