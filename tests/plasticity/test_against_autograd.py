"""Oracle: torch.autograd of the summed cross-entropy (hand-written forward) and Oja's term written sample by sample.

Per-layer Oja coefficients θ_oja,ℓ, and the pseudo-gradient written into ``.grad`` by ``rule_backward``.

ΔW_ℓ = −θ₀ ∂CE/∂W_ℓ + θ_oja,ℓ Σ_b (y_ℓ y_{ℓ−1}ᵀ − y_ℓ y_ℓᵀ W_ℓ) under backprop, CE summed over the batch and
y_L = softmax(z_L) at the output (the defaults ``reduce="sum"``, ``output_post="softmax"``).
"""

import pytest
import torch
from torch import nn

from neuroplastic import feedback
from neuroplastic.core.mlp import mlp
from neuroplastic.plasticity import (
    Learner,
    PlasticState,
    Rule,
    apply_update,
    init_state,
    rule_backward,
    stack_states,
    unstack_state,
)

SIZES = [12, 9, 7, 5]
N_LAYERS = len(SIZES) - 1
THETA0 = 0.05
F64 = torch.float64


def bp_state(seed, bias=False):
    return init_state(SIZES, feedback="bp", dtype=F64, bias=bias, generator=torch.Generator().manual_seed(seed))


def batch(n, seed=0, lead=()):
    g = torch.Generator().manual_seed(100 + seed)
    x = torch.rand(*lead, n, SIZES[0], generator=g, dtype=F64)
    t = torch.randint(0, SIZES[-1], (*lead, n), generator=g)
    return x, t


def softplus(z, beta=10.0):
    """log(1 + e^{βz})/β written out (no threshold), the oracle's hidden nonlinearity."""
    return torch.logaddexp(beta * z, torch.zeros_like(z)) / beta


def oracle_forward(weights, x, biases=None):
    """(y₀, …, y_{L−1}, z_L), hand-written."""
    ys = [x]
    for l, w in enumerate(weights):
        z = ys[-1] @ w.T
        if biases is not None:
            z = z + biases[l]
        ys.append(z if l == len(weights) - 1 else softplus(z))
    return ys


def oracle_grads(weights, x, t, biases=None):
    """∂CE/∂W_ℓ (and ∂CE/∂b_ℓ) by autograd, CE summed over the batch."""
    ws = [w.detach().clone().requires_grad_(True) for w in weights]
    bs = None if biases is None else [b.detach().clone().requires_grad_(True) for b in biases]
    logits = oracle_forward(ws, x, bs)[-1]
    loss = -torch.log_softmax(logits, dim=-1).gather(-1, t.unsqueeze(-1)).sum()
    grads = torch.autograd.grad(loss, ws + (bs or []))
    return list(grads[: len(ws)]), list(grads[len(ws) :])


def oracle_oja(weights, x, biases=None):
    """Σ_b (y_ℓ y_{ℓ−1}ᵀ − y_ℓ y_ℓᵀ W_ℓ) for every layer, sample by sample in column notation."""
    with torch.no_grad():
        ys = oracle_forward(weights, x, biases)
        ys[-1] = torch.softmax(ys[-1], dim=-1)
        out = []
        for l, w in enumerate(weights):
            total = torch.zeros_like(w)
            for b in range(x.shape[0]):
                pre, post = ys[l][b].reshape(-1, 1), ys[l + 1][b].reshape(-1, 1)
                total += post @ pre.T - (post @ post.T) @ w
            out.append(total)
    return out


@pytest.mark.parametrize("form", [list, tuple, lambda v: torch.tensor(v, dtype=F64)])
@pytest.mark.parametrize("n", [1, 4])
def test_equal_per_layer_coefficients_give_the_shared_rule(form, n):
    state = bp_state(0)
    x, t = batch(n)
    c = 0.03
    shared = Learner(Rule({"pseudo_grad": THETA0, "oja": c}), "bp").update(state, x, t)
    per_layer = Learner(Rule({"pseudo_grad": THETA0, "oja": form([c] * N_LAYERS)}), "bp").update(state, x, t)
    for a, b in zip(per_layer.deltas, shared.deltas, strict=True):
        torch.testing.assert_close(a, b, atol=1e-15, rtol=0)
    for a, b in zip(apply_update(state, per_layer).weights, apply_update(state, shared).weights, strict=True):
        torch.testing.assert_close(a, b, atol=1e-15, rtol=0)
    # θ_oja is read at all: the shared rule is not the plain pseudo-gradient
    plain = Learner(Rule({"pseudo_grad": THETA0}), "bp").update(state, x, t)
    assert all((a - b).abs().max() > 1e-5 for a, b in zip(shared.deltas, plain.deltas))


def test_equal_per_layer_coefficients_on_a_stacked_state():
    seeds = [0, 1, 2]
    states = [bp_state(s) for s in seeds]
    stacked = stack_states(states)
    x, t = batch(3, lead=(len(seeds),))  # every network sees its own batch
    c = torch.tensor([0.0, 0.01, 0.04], dtype=F64)
    per_layer = [c.clone().view(-1, 1, 1) for _ in range(N_LAYERS)]
    got = Learner(Rule({"pseudo_grad": THETA0, "oja": per_layer}), "bp").update(stacked, x, t)
    grid = Learner(Rule({"pseudo_grad": THETA0, "oja": c.view(-1, 1, 1)}), "bp").update(stacked, x, t)
    got_weights, grid_weights = apply_update(stacked, got).weights, apply_update(stacked, grid).weights
    for a, b in zip(got.deltas + got_weights, grid.deltas + grid_weights, strict=True):
        torch.testing.assert_close(a, b, atol=1e-15, rtol=0)
    for i, state in enumerate(states):
        ref = Learner(Rule({"pseudo_grad": THETA0, "oja": float(c[i])}), "bp").update(state, x[i], t[i])
        for a, b in zip(got.deltas, ref.deltas, strict=True):
            torch.testing.assert_close(a[i], b, atol=1e-15, rtol=0)
        for a, b in zip(
            unstack_state(apply_update(stacked, got), i).weights, apply_update(state, ref).weights, strict=True
        ):
            torch.testing.assert_close(a, b, atol=1e-15, rtol=0)


def test_distinct_per_layer_and_per_network_coefficients_on_a_stacked_state():
    """θ_oja[ℓ][s] reaches layer ℓ of network s, not another layer or network."""
    states = [bp_state(s) for s in (3, 4)]
    x, t = batch(2, seed=1, lead=(2,))
    table = [[0.01, 0.0], [0.0, 0.03], [0.05, 0.02]]  # layer × network
    per_layer = [torch.tensor(row, dtype=F64).view(2, 1, 1) for row in table]
    got = Learner(Rule({"pseudo_grad": THETA0, "oja": per_layer}), "bp").update(stack_states(states), x, t)
    for s, state in enumerate(states):
        grads, _ = oracle_grads(state.weights, x[s], t[s])
        oja = oracle_oja(state.weights, x[s])
        for l in range(N_LAYERS):
            expected = -THETA0 * grads[l] + table[l][s] * oja[l]
            torch.testing.assert_close(got.deltas[l][s], expected, atol=1e-13, rtol=0)


@pytest.mark.parametrize("n", [1, 6])
@pytest.mark.parametrize("k", range(N_LAYERS))
def test_zero_oja_in_one_layer_is_backprop_there(n, k):
    state = bp_state(5)
    x, t = batch(n, seed=2)
    thetas = [0.02, 0.04, 0.07]
    thetas[k] = 0.0
    rule = Rule({"pseudo_grad": THETA0, "oja": thetas})
    assert rule.reduce == "sum" and rule.output_post == "softmax"
    result = Learner(rule, "bp").update(state, x, t)
    grads, _ = oracle_grads(state.weights, x, t)
    oja = oracle_oja(state.weights, x)
    for l, (delta, grad, hebb) in enumerate(zip(result.deltas, grads, oja, strict=True)):
        bp = -THETA0 * grad
        if l == k:
            torch.testing.assert_close(delta, bp, atol=1e-14, rtol=0)
        else:
            # the departure from backprop is exactly θ_oja,ℓ times the summed Oja term, and it is not negligible
            torch.testing.assert_close(delta - bp, thetas[l] * hebb, atol=1e-14, rtol=0)
            assert (thetas[l] * hebb).abs().max() > 1e-4
        torch.testing.assert_close(apply_update(state, result).weights[l], state.weights[l] + delta, atol=1e-15, rtol=0)


@pytest.mark.parametrize(
    "value",
    [
        (0.01, 0.02),
        [0.01, 0.02, 0.03, 0.04],
        torch.tensor([0.01, 0.02], dtype=F64),
        [torch.full((2, 1, 1), 0.01, dtype=F64)] * 2,
    ],
    ids=["tuple-short", "list-long", "tensor-short", "stacked-short"],
)
def test_per_layer_coefficients_of_the_wrong_length_are_refused(value):
    stacked = isinstance(value, list) and isinstance(value[0], torch.Tensor)
    state = stack_states([bp_state(0), bp_state(1)]) if stacked else bp_state(0)
    x, t = batch(2, lead=(2,) if stacked else ())
    learner = Learner(Rule({"pseudo_grad": THETA0, "oja": value}), "bp")
    with pytest.raises(ValueError, match="per-layer"):
        learner.update(state, x, t)
    with pytest.raises(ValueError, match="per-layer"):
        Learner(Rule({"pseudo_grad": value, "oja": 0.01}), "bp").update(state, x, t)


def test_rule_backward_refuses_per_layer_coefficients_of_the_wrong_length():
    model = mlp(SIZES, generator=torch.Generator().manual_seed(0), dtype=F64)
    x, t = batch(2)
    with pytest.raises(ValueError, match="per-layer"):
        rule_backward(model, x, t, Rule({"pseudo_grad": THETA0, "oja": (0.01, 0.02)}))


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("n", [1, 5])
def test_rule_backward_writes_the_negated_per_layer_update(bias, n):
    model = mlp(SIZES, bias=bias, generator=torch.Generator().manual_seed(7), dtype=F64)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    if bias:
        with torch.no_grad():
            for m in linears:  # nonzero biases, so that a wrong bias path would show
                m.bias.uniform_(-0.3, 0.3, generator=torch.Generator().manual_seed(8))
    weights = [m.weight.detach().clone() for m in linears]
    biases = [m.bias.detach().clone() for m in linears] if bias else None
    x, t = batch(n, seed=3)
    theta0 = [0.1, 0.03, 0.05]
    thetas = torch.tensor([0.02, 0.0, 0.06], dtype=F64)
    rule = Rule({"pseudo_grad": theta0, "oja": thetas})
    result = rule_backward(model, x, t, rule)

    # the functional learner on copies of the same weights
    ref = Learner(rule, "bp").update(
        PlasticState(tuple(weights), None, None if biases is None else tuple(biases)), x, t
    )
    # the independent oracle: autograd for the gradient, sample-by-sample outer products for Oja
    grads, bias_grads = oracle_grads(weights, x, t, biases)
    oja = oracle_oja(weights, x, biases)
    for l, m in enumerate(linears):
        assert torch.equal(m.weight.detach(), weights[l])  # rule_backward only writes .grad
        torch.testing.assert_close(m.weight.grad, -ref.deltas[l], atol=1e-15, rtol=0)
        torch.testing.assert_close(m.weight.grad, -result.deltas[l], atol=1e-15, rtol=0)
        expected = theta0[l] * grads[l] - float(thetas[l]) * oja[l]
        torch.testing.assert_close(m.weight.grad, expected, atol=1e-14, rtol=0)
        if bias:  # biases learn by the pseudo-gradient only: Δb_ℓ = −θ₀,ℓ ∂CE/∂b_ℓ
            torch.testing.assert_close(m.bias.grad, -ref.bias_deltas[l], atol=1e-15, rtol=0)
            torch.testing.assert_close(m.bias.grad, theta0[l] * bias_grads[l], atol=1e-14, rtol=0)
    # layer 2 has θ_oja = 0: its .grad is exactly θ₀ ∂CE/∂W there, and the others' Oja part is not negligible
    torch.testing.assert_close(linears[1].weight.grad, theta0[1] * grads[1], atol=1e-14, rtol=0)
    assert all((float(thetas[l]) * oja[l]).abs().max() > 1e-4 for l in (0, 2))


def test_a_grid_of_learning_rates_updates_each_stacked_bias_by_its_own_rate():
    """Δb_ℓ = −θ₀,s Σ_b e_ℓ for network s of a stack, θ₀ given as an S × 1 × 1 grid (bias shape unchanged)."""
    sizes = [5, 4, 3]
    states = [
        init_state(sizes, feedback="bp", bias=True, dtype=torch.float64, generator=torch.Generator().manual_seed(s))
        for s in range(3)
    ]
    stacked = stack_states(states)
    x = torch.randn(3, 2, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    t = torch.tensor([[0, 2], [1, 1], [2, 0]])
    thetas = [0.01, 0.02, 0.05]
    grid = Learner(Rule({"pseudo_grad": torch.tensor(thetas, dtype=torch.float64).view(-1, 1, 1)}), "bp")
    result = grid.update(stacked, x, t)
    for s, theta in enumerate(thetas):
        alone = Learner(Rule({"pseudo_grad": theta}), "bp").update(states[s], x[s], t[s])
        grid_biases, alone_biases = apply_update(stacked, result).biases, apply_update(states[s], alone).biases
        for b_grid, b_alone in zip(grid_biases, alone_biases, strict=True):
            assert b_grid[s].shape == b_alone.shape
            torch.testing.assert_close(b_grid[s], b_alone, rtol=1e-15, atol=1e-15)


def test_backprop_only_rule_backward_matches_autograd_for_softplus_model():
    model = mlp([10, 8, 6, 4], bias=False, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    x, t = torch.rand(5, 10) * 0.2, torch.tensor([0, 3, 1, 2, 2])
    rule_backward(model, x, t, Rule({"pseudo_grad": 1.0}))
    ours = [m.weight.grad.clone() for m in model if isinstance(m, nn.Linear)]
    model.zero_grad()
    nn.functional.cross_entropy(model(x), t, reduction="sum").backward()
    for a, m in zip(ours, [m for m in model if isinstance(m, nn.Linear)]):
        torch.testing.assert_close(a, m.weight.grad, atol=1e-10, rtol=0)


@pytest.mark.parametrize("mode", ["fa", "dfa", "sign"])
def test_module_autograd_and_functional_pseudo_gradient_agree(mode):
    model = mlp(
        [10, 8, 6, 4], activation="tanh", bias=True, generator=torch.Generator().manual_seed(1), dtype=torch.float64
    )
    model, _ = feedback.convert(model, mode, generator=torch.Generator().manual_seed(2))
    x, t = torch.rand(5, 10), torch.tensor([0, 3, 1, 2, 2])
    nn.functional.cross_entropy(model(x), t, reduction="sum").backward()
    linears = [m for m in model if isinstance(m, nn.Linear)]
    autograd = [m.weight.grad.clone() for m in linears] + [m.bias.grad.clone() for m in linears]
    result = rule_backward(model, x, t, Rule({"pseudo_grad": 1.0}))
    for a, d in zip(autograd, result.deltas + result.bias_deltas, strict=True):
        torch.testing.assert_close(a, -d, atol=1e-12, rtol=0)
