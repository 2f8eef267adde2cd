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


LABELS = torch.tensor([0, 2, 1, 1, 0, 2, 1])


def _cross_entropy(output):
    return torch.nn.functional.cross_entropy(output, LABELS)


def _exact_state(model, x):
    return model.solve(x, method="newton", tol=1e-14, on_fail="raise").state


def _loss_at_exact_fixed_point(model, x):
    return _cross_entropy(model.output(model.rates(_exact_state(model, x)))).item()


def _fixed_point_pieces(model, x):
    state = _exact_state(model, x)
    r = model.rates(state).detach().requires_grad_(True)
    (delta,) = torch.autograd.grad(_cross_entropy(model.output(r)), r)
    return r.detach(), model.gains(state, model.drive(x)).detach(), delta


@pytest.fixture
def cross_entropy():
    """cross_entropy(output) -> the batch loss of ``inputs`` against fixed labels."""
    return _cross_entropy


@pytest.fixture
def loss_at_exact_fixed_point():
    """loss_at_exact_fixed_point(model, x) -> the loss at the fixed point found by Newton to 1e-14."""
    return _loss_at_exact_fixed_point


@pytest.fixture
def fixed_point_pieces():
    """fixed_point_pieces(model, x) -> rates, gains and δ = ∂L/∂r (by autograd) at the exact fixed point."""
    return _fixed_point_pieces
