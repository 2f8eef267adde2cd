import pytest
import torch

from neuroplastic.fixedpoint import FixedPointRNN


def make_model(dynamics="rate1", *, n=12, n_in=5, n_out=3, rho=0.6, seed=0, **kwargs):
    """A small float64 network whose W is rescaled to spectral radius ``rho``."""
    g = torch.Generator().manual_seed(seed)
    model = FixedPointRNN(n, n_in, n_out, dynamics=dynamics, generator=g, dtype=torch.float64, **kwargs)
    with torch.no_grad():
        model.W *= rho / torch.linalg.eigvals(model.W).abs().max()
    return model


@pytest.fixture
def model_factory():
    return make_model


@pytest.fixture
def inputs():
    return torch.randn(7, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
