import pytest
import torch
from torch import nn


@pytest.fixture(autouse=True)
def float64_default():
    """These tests compute in float64 (tests/conftest.py restores the default and seeds torch)."""
    torch.set_default_dtype(torch.float64)


def make_tanh_mlp(widths=(8, 7, 6, 5, 4, 3)):
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        last = i == len(widths) - 2
        layers.append(nn.Linear(a, b) if last else nn.Sequential(nn.Linear(a, b), nn.Tanh()))
    return nn.Sequential(*layers)


def small_cnn():
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.MaxPool2d(2)),
        nn.Sequential(nn.Conv2d(3, 4, 3), nn.Tanh(), nn.Flatten()),
        nn.Sequential(nn.Linear(4 * 2 * 2, 6), nn.ReLU()),
        nn.Linear(6, 3),
    )


def mse_onehot(output, target):
    return nn.functional.mse_loss(output, nn.functional.one_hot(target, output.shape[1]).to(output.dtype))


CASES = {
    "mlp-mse": (make_tanh_mlp, lambda: torch.randn(6, 8), mse_onehot),
    "mlp-ce": (make_tanh_mlp, lambda: torch.randn(6, 8), nn.functional.cross_entropy),
    "cnn-ce": (small_cnn, lambda: torch.randn(5, 1, 10, 10), nn.functional.cross_entropy),
    "cnn-mse": (small_cnn, lambda: torch.randn(5, 1, 10, 10), mse_onehot),
}


@pytest.fixture(params=sorted(CASES))
def case(request):
    """(model, loss_fn, x, y) on random inputs, float64, batch > 1."""
    make_model, make_x, loss_fn = CASES[request.param]
    model = make_model()
    x = make_x()
    y = torch.randint(0, 3, (len(x),))
    return model, loss_fn, x, y


def _backprop(model, loss_fn, x, y):
    model.zero_grad(set_to_none=True)
    loss_fn(model(x), y).backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad(set_to_none=True)
    return grads


def _layer_grads(model):
    """Per PC layer, the concatenated .grad of its parameters."""
    return [torch.cat([p.grad.reshape(-1) for p in child.parameters()]) for child in model if list(child.parameters())]


def _relative_error(a, b):
    return ((a - b).norm() / b.norm()).item()


@pytest.fixture
def backprop():
    """backprop(model, loss_fn, x, y) -> the parameters' true gradients (model's .grad left empty)."""
    return _backprop


@pytest.fixture
def layer_grads():
    """layer_grads(model) -> per PC layer, its parameters' .grad concatenated."""
    return _layer_grads


@pytest.fixture
def relative_error():
    """relative_error(a, b) = ‖a − b‖/‖b‖."""
    return _relative_error


@pytest.fixture
def tanh_mlp():
    """tanh_mlp(widths=...) -> a tanh MLP as nn.Sequential with one child per PC layer."""
    return make_tanh_mlp
