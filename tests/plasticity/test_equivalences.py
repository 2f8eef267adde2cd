"""Oracle: the same computation done another way: a loop over networks or θ values, torch.func.vmap, the
out-of-place update, SGD(lr = 1) on the ``.grad`` that ``rule_backward`` writes; and torch.autograd.gradcheck
(finite differences) for the meta-gradient through unrolled steps."""

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
    apply_update_,
    init_state,
    learner_for,
    rule_backward,
    stack_states,
    unstack_state,
    vmap_dims,
)

SIZES = [12, 9, 7, 5]
RULE = Rule({"pseudo_grad": 0.05, "oja": 0.01})


def stream(n=20, seed=0, n_in=12, n_out=5):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, n_in, generator=g), torch.randint(0, n_out, (n, 1), generator=g)


def run(learner, state, xs, ts):
    for x, t in zip(xs, ts):
        state = apply_update(state, learner.update(state, x, t))
    return state


def seeds_state(mode, seeds, bias=False):
    return [
        init_state(SIZES, feedback=mode, generator=torch.Generator().manual_seed(s), bias=bias, dtype=torch.float64)
        for s in seeds
    ]


@pytest.mark.parametrize("mode", ["bp", "fa", "dfa", "sign"])
def test_batched_seeds_equal_a_loop(mode):
    learner = Learner(RULE, mode)
    states = seeds_state(mode, range(4), bias=True)
    xs, ts = stream()
    looped = [run(learner, s, xs, ts) for s in states]
    # leading dimension: every network sees the same sample
    stacked = run(
        learner, stack_states(states), xs.unsqueeze(1).expand(-1, 4, -1, -1), ts.unsqueeze(1).expand(-1, 4, -1)
    )
    vmapped = stack_states(states)
    dims = vmap_dims(vmapped)
    step = torch.func.vmap(
        lambda s, x, t: apply_update(s, learner.update(s, x, t)), in_dims=(dims, None, None), out_dims=dims
    )
    for x, t in zip(xs, ts):
        vmapped = step(vmapped, x, t)
    for i, ref in enumerate(looped):
        for a, b, c in zip(unstack_state(stacked, i).weights, unstack_state(vmapped, i).weights, ref.weights):
            torch.testing.assert_close(a, c, atol=1e-13, rtol=0)
            torch.testing.assert_close(b, c, atol=1e-13, rtol=0)
        for a, c in zip(unstack_state(stacked, i).biases, ref.biases):
            torch.testing.assert_close(a, c, atol=1e-13, rtol=0)


@pytest.mark.parametrize("mode", ["bp", "fa", "dfa", "sign"])
@pytest.mark.parametrize("terms", [{"pseudo_grad": 0.05, "oja": 0.01}, {"pseudo_grad": 0.05, "ehebb": 0.02}])
def test_in_place_step_equals_the_pure_step(mode, terms):
    learner = Learner(Rule(terms), mode)
    state = stack_states(seeds_state(mode, range(3), bias=True))
    xs, ts = stream(8)
    xs, ts = xs.unsqueeze(1).expand(-1, 3, -1, -1), ts.unsqueeze(1).expand(-1, 3, -1)
    pure = run(learner, state, xs, ts)
    mutable = PlasticState(*(None if part is None else tuple(t.clone() for t in part) for part in state))
    feedbacks_before = None if mutable.feedbacks is None else [b.clone() for b in mutable.feedbacks]
    for x, t in zip(xs, ts):
        result = apply_update_(mutable, learner.update(mutable, x, t))
        assert all(new is old for new, old in zip(result.weights, mutable.weights))
    for a, b in zip(pure.weights + pure.biases, mutable.weights + mutable.biases):
        torch.testing.assert_close(a, b, atol=1e-14, rtol=0)
    assert not torch.equal(pure.weights[0], state.weights[0])  # the pure step left its input alone
    if feedbacks_before is not None:
        assert all(torch.equal(a, b) for a, b in zip(feedbacks_before, mutable.feedbacks))


def test_input_error_is_skipped_only_when_no_term_reads_it():
    state = seeds_state("fa", [0])[0]
    x, t = stream(1)
    learner = Learner(RULE, "fa")
    full, lean = learner.signals(state, x[0], t[0]), learner.signals(state, x[0], t[0], input_error=False)
    assert lean.es[0] is None and full.es[0].abs().sum() > 0
    assert all(torch.equal(a, b) for a, b in zip(full.es[1:], lean.es[1:]))
    assert learner.update(state, x[0], t[0]).signals.es[0] is None
    assert Learner(Rule({"ehebb": 0.1}), "fa").update(state, x[0], t[0]).signals.es[0] is not None


def test_theta_grid_as_leading_dimension():
    lrs = torch.tensor([0.01, 0.05, 0.2]).view(3, 1, 1)
    ojas = torch.tensor([0.0, 0.01, 0.03]).view(3, 1, 1)
    state = seeds_state("fa", [0])[0]
    xs, ts = stream(10)
    grid = run(
        Learner(Rule({"pseudo_grad": lrs, "oja": ojas}), "fa"),
        stack_states([state] * 3),
        xs.unsqueeze(1).expand(-1, 3, -1, -1),
        ts.unsqueeze(1).expand(-1, 3, -1),
    )
    for i in range(3):
        ref = run(Learner(Rule({"pseudo_grad": float(lrs[i]), "oja": float(ojas[i])}), "fa"), state, xs, ts)
        for a, b in zip(unstack_state(grid, i).weights, ref.weights):
            torch.testing.assert_close(a, b, atol=1e-13, rtol=0)


def test_same_seed_same_result_float32():
    torch.set_default_dtype(torch.float32)
    results = []
    for _ in range(2):
        state = init_state([12, 9, 5], generator=torch.Generator().manual_seed(3))
        xs, ts = stream(15)
        results.append(run(Learner(RULE, "fa"), state, xs.float(), ts))
    assert all(torch.equal(a, b) for a, b in zip(results[0].weights, results[1].weights))
    assert results[0].weights[0].dtype == torch.float32


@pytest.mark.parametrize("depth", [2, 6])
@pytest.mark.parametrize("activation", ["softplus", "relu", "tanh"])
@pytest.mark.parametrize("mode", ["bp", "fa", "dfa", "sign"])
def test_rule_backward_with_sgd_equals_the_functional_step(depth, activation, mode):
    sizes = [10] + [8 - i % 3 for i in range(depth)] + [4]
    model = mlp(
        sizes, activation=activation, bias=True, generator=torch.Generator().manual_seed(1), dtype=torch.float64
    )
    if mode != "bp":
        model, _ = feedback.convert(model, mode, generator=torch.Generator().manual_seed(2))
    x, t = torch.rand(3, 10), torch.tensor([0, 3, 1])
    learner, state, _ = learner_for(model, RULE)
    assert (learner.feedback, learner.activation) == (mode, activation)
    expected = apply_update(state, learner.update(state, x, t))
    expected = [w.clone() for w in expected.weights] + [b.clone() for b in expected.biases]
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    rule_backward(model, x, t, RULE)
    optimizer.step()
    linears = [m for m in model if isinstance(m, nn.Linear)]
    got = [m.weight for m in linears] + [m.bias for m in linears]
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a.detach(), b, atol=1e-13, rtol=0)


def test_rule_backward_rejects_other_models():
    with pytest.raises(TypeError):
        rule_backward(nn.Linear(3, 2), torch.rand(1, 3), torch.tensor([0]), RULE)
    with pytest.raises(ValueError, match="alternate"):
        rule_backward(nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 2)), torch.rand(1, 3), torch.tensor([0]), RULE)
    with pytest.raises(ValueError, match="activation"):
        rule_backward(
            nn.Sequential(nn.Linear(3, 2), nn.GELU(), nn.Linear(2, 2)), torch.rand(1, 3), torch.tensor([0]), RULE
        )


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_meta_gradient_through_unrolled_steps():
    state = seeds_state("fa", [5])[0]
    xs, ts = stream(4)
    xq, tq = stream(6, seed=1)

    def query_loss(theta):
        learner = Learner(Rule({"pseudo_grad": theta[0], "ehebb": theta[1], "oja": theta[2]}), "fa")
        final = run(learner, state, xs, ts)
        logits = feedback.forward(final.weights, xq[:, 0])[-1]
        return nn.functional.cross_entropy(logits, tq[:, 0])

    theta = torch.tensor([0.1, 0.02, 0.03], requires_grad=True)
    assert torch.autograd.gradcheck(query_loss, (theta,))
    (reverse,) = torch.autograd.grad(query_loss(theta), theta)
    v = torch.tensor([0.3, -0.2, 0.5])
    _, forward_mode = torch.func.jvp(query_loss, (theta.detach(),), (v,))
    torch.testing.assert_close(forward_mode, reverse @ v, atol=1e-12, rtol=1e-9)


def test_state_validation():
    with pytest.raises(ValueError, match="sizes"):
        init_state([5])
    state = init_state([4, 3, 2], dtype=torch.float64)
    bad = PlasticState(state.weights, (torch.zeros(3, 3), state.feedbacks[1]))
    with pytest.raises(ValueError, match="shape"):
        Learner(RULE, "fa").update(bad, torch.rand(1, 4), torch.tensor([0]))
