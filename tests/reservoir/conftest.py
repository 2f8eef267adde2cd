import pytest
import torch


@pytest.fixture(autouse=True)
def float64_default():
    """These tests compute in float64 (tests/conftest.py restores the default and seeds torch)."""
    torch.set_default_dtype(torch.float64)


class FixedNoise:
    """Stands in for a NoiseStream: always returns the same U[−1, 1] sample."""

    def __init__(self, value: torch.Tensor):
        self.value = value

    def next(self) -> torch.Tensor:
        return self.value


@pytest.fixture
def fixed_noise():
    return FixedNoise
