"""The stacked engineering-trick baselines against torch.nn networks trained one at a time (float64)."""

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from neuroplastic.experiments.oja_tricks import TRICKS, train_trick

SIZES = [6, 5, 4, 3]


def _reference(weights, norm: str) -> nn.Sequential:
    """The same network from torch.nn: Linear (no bias), the normalisation, Softplus(β = 10), …, Linear."""
    layers: list[nn.Module] = []
    for l, w in enumerate(weights):
        linear = nn.Linear(w.shape[1], w.shape[0], bias=False, dtype=torch.float64)
        linear.weight.data.copy_(w)
        layers.append(linear)
        if l < len(weights) - 1:
            if norm == "layer":
                layers.append(nn.LayerNorm(w.shape[0], dtype=torch.float64))
            elif norm == "batch":
                layers.append(nn.BatchNorm1d(w.shape[0], dtype=torch.float64))
            layers.append(nn.Softplus(beta=10.0, threshold=40.0))  # exact in float64 (nn default: 20)
    return nn.Sequential(*layers)


@pytest.mark.parametrize("method", sorted(TRICKS))
def test_stacked_training_equals_each_network_trained_alone(method):
    trick = TRICKS[method]
    g = torch.Generator().manual_seed(0)
    networks, steps, batch, lr = 3, 12, 1 if trick.batch == "one" else 4, 0.05
    per_net = [
        [torch.randn(b, a, generator=g, dtype=torch.float64) for a, b in zip(SIZES, SIZES[1:])] for _ in range(3)
    ]
    inputs = torch.randn(40, SIZES[0], generator=g, dtype=torch.float64)
    labels = torch.randint(SIZES[-1], (40,), generator=g)
    orders = torch.stack([torch.randperm(40, generator=g)[:steps] for _ in range(networks)])
    stacked = [torch.stack(ws) for ws in zip(*per_net, strict=True)]
    net, diverged = train_trick(
        trick,
        stacked,
        lr=lr,
        batch=batch,
        inputs=inputs,
        labels=labels,
        orders=orders,
        activation="softplus",
        beta=10.0,
    )
    assert diverged == [None] * networks
    test_x = torch.randn(7, SIZES[0], generator=g, dtype=torch.float64)
    ours = net(test_x.expand(networks, -1, -1), training=False)
    for i in range(networks):
        model = _reference(per_net[i], trick.norm)
        optimiser = (torch.optim.SGD if trick.optimiser == "sgd" else torch.optim.Adam)(model.parameters(), lr=lr)
        for start in range(0, steps, batch):
            idx = orders[i, start : start + batch]
            optimiser.zero_grad()
            F.cross_entropy(model(inputs[idx]), labels[idx]).backward()
            optimiser.step()
        linears = [m for m in model if isinstance(m, nn.Linear)]
        for w, linear in zip(net.weights, linears, strict=True):
            torch.testing.assert_close(w[i].detach(), linear.weight.detach(), rtol=1e-12, atol=1e-13)
        model.eval()
        torch.testing.assert_close(ours[i].detach(), model(test_x).detach(), rtol=1e-12, atol=1e-13)


def test_a_diverging_network_is_recorded_and_the_others_are_untouched():
    g = torch.Generator().manual_seed(1)
    weights = [torch.randn(2, b, a, generator=g, dtype=torch.float64) for a, b in zip(SIZES, SIZES[1:])]
    weights[0][1, 0, 0] = float("nan")
    inputs = torch.randn(20, SIZES[0], generator=g, dtype=torch.float64)
    labels = torch.randint(SIZES[-1], (20,), generator=g)
    orders = torch.stack([torch.arange(8), torch.arange(8)])
    common = dict(lr=0.05, batch=1, inputs=inputs, labels=labels, orders=orders, activation="softplus", beta=10.0)
    net, diverged = train_trick(TRICKS["adam_b1"], weights, checks=(4,), **common)
    assert diverged == [None, 4]
    alone, _ = train_trick(TRICKS["adam_b1"], [w[:1] for w in weights], checks=(4,), **{**common, "orders": orders[:1]})
    for a, b in zip(net.weights, alone.weights, strict=True):
        torch.testing.assert_close(a[0], b[0], rtol=0, atol=0)


def test_batchnorm_needs_a_mini_batch():
    weights = [torch.zeros(1, b, a) for a, b in zip(SIZES, SIZES[1:])]
    with pytest.raises(ValueError, match="mini-batch"):
        train_trick(
            TRICKS["batchnorm"],
            weights,
            lr=0.1,
            batch=1,
            inputs=torch.zeros(4, SIZES[0]),
            labels=torch.zeros(4, dtype=torch.long),
            orders=torch.zeros(1, 2, dtype=torch.long),
            activation="softplus",
            beta=10.0,
        )
