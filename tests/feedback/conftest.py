import pytest
import torch

from neuroplastic.core.mlp import mlp


@pytest.fixture(autouse=True)
def float64_default():
    """These tests compute in float64 (tests/conftest.py restores the default and seeds torch)."""
    torch.set_default_dtype(torch.float64)


@pytest.fixture
def make_mlp():
    def make(sizes=(9, 7, 6, 5, 4), activation="tanh", bias=False, seed=0):
        g = torch.Generator().manual_seed(seed)
        model = mlp(list(sizes), activation=activation, bias=bias, generator=g, dtype=torch.float64)
        if bias:
            with torch.no_grad():
                for p in model.parameters():
                    if p.dim() == 1:
                        p.normal_(0, 0.3, generator=g)
        return model

    return make


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(1)
    return torch.rand(6, 9, generator=g, dtype=torch.float64), torch.randint(0, 4, (6,), generator=g)
