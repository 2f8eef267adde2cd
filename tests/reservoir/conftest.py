import pytest
import torch


class FixedNoise:
    """Stands in for a NoiseStream: always returns the same U[−1, 1] sample."""

    def __init__(self, value: torch.Tensor):
        self.value = value

    def next(self) -> torch.Tensor:
        return self.value


@pytest.fixture
def fixed_noise():
    return FixedNoise
