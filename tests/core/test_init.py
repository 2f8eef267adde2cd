"""Xavier-uniform initialisation.

Oracle: the same generator's uniform draws u ∈ [0, 1) mapped by hand to (2u − 1)·a, a = gain·√(6/(rows + cols)),
and PyTorch's ``nn.init.xavier_uniform_`` (an independent implementation) for float32 layers.
"""

import math

import pytest
import torch
from torch import nn

from neuroplastic.core.init import xavier_uniform


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("gain", [1.0, 0.5, 1.7])
def test_draw_is_the_generators_uniforms_scaled_to_the_xavier_bound(dtype, gain):
    rows, cols = 13, 7
    u = torch.rand(rows, cols, generator=torch.Generator().manual_seed(4), dtype=dtype)
    expected = (u * 2 - 1) * (gain * math.sqrt(6.0 / (rows + cols)))
    drawn = xavier_uniform(rows, cols, gain=gain, generator=torch.Generator().manual_seed(4), dtype=dtype)
    assert drawn.dtype == dtype and torch.equal(drawn, expected)


@pytest.mark.parametrize(("fan_out", "fan_in"), [(170, 784), (130, 170), (100, 130), (70, 100), (10, 70)])
def test_float32_layers_equal_torchs_xavier_uniform(fan_out, fan_in):
    expected = torch.empty(fan_out, fan_in)
    nn.init.xavier_uniform_(expected, generator=torch.Generator().manual_seed(1))
    drawn = xavier_uniform(fan_out, fan_in, generator=torch.Generator().manual_seed(1))
    assert torch.equal(drawn, expected)


def test_entries_fill_the_bound_and_no_more():
    drawn = xavier_uniform(300, 300, gain=2.0, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    bound = 2.0 * math.sqrt(6.0 / 600)
    assert drawn.abs().max() < bound and drawn.abs().max() > 0.99 * bound
    assert drawn.var().item() == pytest.approx(bound**2 / 3, rel=0.02)  # Var U(−a, a) = a²/3
