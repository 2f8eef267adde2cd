"""Oracle: every term written out sample by sample as outer products (closed form), the layer inputs e₀ and the
softmax post re-derived by hand, and torch.autograd for the pseudo-gradient; linearity in θ and the batch
reduction checked against the same rule evaluated term by term."""

import pytest
import torch
from torch import nn

from neuroplastic import feedback
from neuroplastic.plasticity import (
    TERMS,
    Learner,
    PlasticState,
    Rule,
    apply_update,
    init_state,
    layer_updates,
    weight_feedback_angle,
)
from neuroplastic.plasticity.oja import subspace_decay

SIZES = [7, 6, 5, 4]


def random_state(mode="fa", bias=False, seed=0, sizes=SIZES):
    return init_state(
        sizes, feedback=mode, generator=torch.Generator().manual_seed(seed), bias=bias, dtype=torch.float64
    )


def data(batch=5, seed=1, n_in=7, n_out=4):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, n_in, generator=g), torch.randint(0, n_out, (batch,), generator=g)


def autograd_grads(state, x, t, activation):
    ws = [w.clone().requires_grad_() for w in state.weights]
    bs = None if state.biases is None else [b.clone().requires_grad_() for b in state.biases]
    logits = feedback.forward(ws, x, biases=bs, activation=activation)[-1]
    loss = nn.functional.cross_entropy(logits, t, reduction="sum")
    return torch.autograd.grad(loss, ws + (bs or []))


@pytest.mark.parametrize("activation", ["softplus", "relu", "tanh"])
@pytest.mark.parametrize("bias", [False, True])
def test_pseudo_gradient_with_backprop_is_minus_eta_gradient(activation, bias):
    eta = 0.3
    state = random_state("bp", bias)
    x, t = data()
    result = Learner(Rule({"pseudo_grad": eta}), "bp", activation).update(state, x, t)
    grads = autograd_grads(state, x, t, activation)
    for delta, g in zip(result.deltas + (result.bias_deltas if bias else ()), grads, strict=True):
        torch.testing.assert_close(delta, -eta * g, atol=1e-10, rtol=0)
    for w, w_new, d in zip(state.weights, apply_update(state, result).weights, result.deltas):
        torch.testing.assert_close(w_new, w + d, atol=1e-15, rtol=0)  # fused addmm: rounding-level difference


def test_fa_with_transposed_weights_is_backprop_and_b_is_untouched():
    state = random_state("fa")
    x, t = data()
    rule = Rule({"pseudo_grad": 0.2, "oja": 0.01})
    sym = PlasticState(state.weights, tuple(w.T.clone() for w in state.weights))
    fa_result = Learner(rule, "fa").update(sym, x, t)
    bp_result = Learner(rule, "bp").update(PlasticState(state.weights, None), x, t)
    for a, b in zip(fa_result.deltas, bp_result.deltas):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
    before = [b.clone() for b in state.feedbacks]
    current = state
    for _ in range(5):
        current = apply_update(current, Learner(rule, "fa").update(current, x, t))
    assert all(torch.equal(b, b0) for b, b0 in zip(current.feedbacks, before))
    assert not torch.equal(current.weights[0], state.weights[0])


def closed_forms(pre_y, post_y, pre_e, post_e, W):
    """Each term as an explicit sum over samples of column-vector outer products."""
    out = {name: torch.zeros_like(W) for name in TERMS}
    for y0, y1, e0, e1 in zip(pre_y, post_y, pre_e, post_e):
        yy = torch.outer(y1, y1)
        ee_post, ee_pre = torch.outer(e1, e1), torch.outer(e0, e0)
        out["pseudo_grad"] += -torch.outer(e1, y0)
        out["ehebb"] += -torch.outer(e1, e0)
        out["oja"] += torch.outer(y1, y0) - yy @ W
        out["oja_single"] += torch.outer(y1, y0) - torch.diag(torch.diag(yy)) @ W
        out["gha"] += torch.outer(y1, y0) - torch.tril(yy) @ W
        out["hebb"] += torch.outer(y1, y0)
        out["post_y_pre_e"] += torch.outer(y1, e0)
        out["hebb_decay"] += yy @ W
        out["instar"] += torch.diag(y1) @ (y0.expand_as(W) - W)
        out["constant"] += torch.ones_like(W)
        out["post_error"] += torch.outer(e1, torch.ones_like(y0))
        out["pre_error"] += torch.outer(torch.ones_like(y1), e0)
        out["ehebb_post_decay"] += torch.outer(e1, e0) - ee_post @ W
        out["ehebb_pre_decay"] += torch.outer(e1, e0) - W @ ee_pre
        out["post_y_pre_e_decay"] += torch.outer(y1, e0) - W @ ee_pre
        out["error_decay"] += ee_post @ W
        out["pre_error_decay"] += W @ ee_pre
        out["weight_decay"] += -W
    return out


@pytest.mark.parametrize("batch", [1, 3, 9])
def test_every_term_matches_its_closed_form(batch):
    g = torch.Generator().manual_seed(batch)
    pre_y, pre_e = torch.randn(batch, 8, generator=g), torch.randn(batch, 8, generator=g)
    post_y, post_e = torch.randn(batch, 5, generator=g), torch.randn(batch, 5, generator=g)
    W, B = torch.randn(5, 8, generator=g), torch.randn(8, 5, generator=g)
    expected = closed_forms(pre_y, post_y, pre_e, post_e, W)
    assert set(expected) == set(TERMS)
    for name, term in TERMS.items():
        torch.testing.assert_close(term(pre_y, post_y, pre_e, post_e, W, B), expected[name], atol=1e-12, rtol=0)


def test_term_metadata():
    assert TERMS["ehebb"].needs_pre_error and not TERMS["oja"].needs_pre_error
    assert not TERMS["pseudo_grad"].needs_pre_error
    assert Rule({"pseudo_grad": 1, "ehebb": 1}).needs_pre_error and not Rule({"oja": 1}).needs_pre_error
    for term in TERMS.values():
        assert term.signals <= {"pre_y", "post_y", "pre_e", "post_e", "W"}
        assert term.formula and term.origin


@pytest.mark.parametrize("batch", [2, 6])
def test_decay_orders_agree(batch):
    g = torch.Generator().manual_seed(0)
    y, W = torch.randn(batch, 4, generator=g), torch.randn(4, 9, generator=g)
    torch.testing.assert_close(subspace_decay(y, W), (y.T @ y) @ W, atol=1e-12, rtol=0)
    torch.testing.assert_close(subspace_decay(y, W), y.T @ (y @ W), atol=1e-12, rtol=0)


def test_rule_is_linear_in_theta_and_zero_at_zero():
    state = random_state("fa")
    x, t = data()
    learner = Learner(Rule({"pseudo_grad": 1.0}), "fa")
    s = learner.signals(state, x, t)
    fbs = learner.effective_feedbacks(state)
    names = sorted(TERMS)
    g = torch.Generator().manual_seed(5)
    th1, th2 = torch.randn(len(names), generator=g), torch.randn(len(names), generator=g)

    def updates(theta):
        return layer_updates(Rule(dict(zip(names, theta.tolist()))), state.weights, fbs, s)[0]

    assert all(torch.equal(d, torch.zeros_like(d)) for d in updates(torch.zeros(len(names))))
    singles = [updates(torch.eye(len(names))[r]) for r in range(len(names))]
    for l in range(3):
        torch.testing.assert_close(
            updates(th1)[l], sum(th1[r] * singles[r][l] for r in range(len(names))), atol=1e-12, rtol=0
        )
        torch.testing.assert_close(
            updates(2 * th1 - 3 * th2)[l], 2 * updates(th1)[l] - 3 * updates(th2)[l], atol=1e-12, rtol=0
        )


def test_layer_inputs_include_e0_and_softmax_post():
    beta = 10.0
    state = random_state("fa")
    x, t = data(batch=1)
    theta = {"ehebb": 0.7, "oja": 0.3}
    result = Learner(Rule(theta), "fa", beta=beta).update(state, x, t)
    ys, es = result.signals
    W1, B1 = state.weights[0], state.feedbacks[0]
    e0 = (es[1] @ B1.T) * (1 - torch.exp(-beta * x))
    torch.testing.assert_close(es[0], e0, atol=1e-14, rtol=0)
    y1 = ys[1][0]
    first = -0.7 * torch.outer(es[1][0], e0[0]) + 0.3 * (torch.outer(y1, x[0]) - torch.outer(y1, y1) @ W1)
    torch.testing.assert_close(result.deltas[0], first, atol=1e-14, rtol=0)
    p = torch.softmax(ys[3][0], 0)
    W3 = state.weights[2]
    last = -0.7 * torch.outer(es[3][0], es[2][0]) + 0.3 * (torch.outer(p, ys[2][0]) - torch.outer(p, p) @ W3)
    torch.testing.assert_close(result.deltas[2], last, atol=1e-14, rtol=0)
    logits_post = Learner(Rule(theta, output_post="logits"), "fa").update(state, x, t).deltas[2]
    q = ys[3][0]
    expected = -0.7 * torch.outer(es[3][0], es[2][0]) + 0.3 * (torch.outer(q, ys[2][0]) - torch.outer(q, q) @ W3)
    torch.testing.assert_close(logits_post, expected, atol=1e-14, rtol=0)
    excluded = Learner(Rule(theta, output_post="excluded"), "fa").update(state, x, t).deltas[2]
    torch.testing.assert_close(excluded, -0.7 * torch.outer(es[3][0], es[2][0]), atol=1e-14, rtol=0)


def test_sum_and_mean_differ_by_the_batch_size():
    state = random_state("fa", bias=True)
    x, t = data(batch=7)
    rule = {"pseudo_grad": 0.1, "ehebb": 0.05, "oja": 0.02, "weight_decay": 0.01}
    total = Learner(Rule(rule, reduce="sum"), "fa").update(state, x, t)
    mean = Learner(Rule(rule, reduce="mean"), "fa").update(state, x, t)
    for a, b in zip(total.deltas + total.bias_deltas, mean.deltas + mean.bias_deltas):
        torch.testing.assert_close(a, 7 * b, atol=1e-13, rtol=0)
    one = Learner(Rule(rule, reduce="sum"), "fa").update(state, x[:1], t[:1])
    one_mean = Learner(Rule(rule, reduce="mean"), "fa").update(state, x[:1], t[:1])
    assert all(torch.equal(a, b) for a, b in zip(one.deltas, one_mean.deltas))


def test_per_layer_theta():
    state = random_state("bp")
    x, t = data()
    per_layer = Learner(Rule({"pseudo_grad": [0.1, 0.2, 0.3], "oja": torch.tensor([0.0, 0.05, 0.0])}), "bp")
    result = per_layer.update(state, x, t)
    for l, (lr, c) in enumerate([(0.1, 0.0), (0.2, 0.05), (0.3, 0.0)]):
        shared = Learner(Rule({"pseudo_grad": lr, "oja": c}), "bp").update(state, x, t)
        torch.testing.assert_close(result.deltas[l], shared.deltas[l], atol=1e-14, rtol=0)
    with pytest.raises(ValueError, match="per-layer"):
        Learner(Rule({"pseudo_grad": [0.1, 0.2]}), "bp").update(state, x, t)


def test_bad_rules():
    with pytest.raises(ValueError, match="unknown plasticity terms"):
        Rule({"oja_plus": 1.0})
    with pytest.raises(ValueError, match="reduce"):
        Rule({"oja": 1.0}, reduce="max")
    with pytest.raises(ValueError, match="output_post"):
        Rule({"oja": 1.0}, output_post="probabilities")
    with pytest.raises(TypeError, match="Rule"):
        Learner({"oja": 1.0})
    with pytest.raises(ValueError, match="feedback mode"):
        Learner(Rule(), "kp")
    with pytest.raises(ValueError, match="activation"):
        Learner(Rule(), "fa", "gelu")


def test_factored_terms_equal_their_direct_form():
    g = torch.Generator().manual_seed(4)
    inputs = [torch.randn(3, n, generator=g) for n in (8, 5, 8, 5)] + [torch.randn(5, 8, generator=g)]
    factored = [t for t in TERMS.values() if t.factors is not None]
    assert {"pseudo_grad", "ehebb", "oja"} <= {t.name for t in factored}
    for term in factored:
        total = sum(left.T @ right for left, right in term.factors(*inputs))
        torch.testing.assert_close(total, term(*inputs, None), atol=1e-12, rtol=0)


def test_ehebb_with_negative_theta_aligns_w_with_b():
    """Linear layer, e_{ℓ−1} = B e_ℓ with isotropic e_ℓ: θ_eHebb < 0 moves W towards Bᵀ, the angle falls every step."""
    g = torch.Generator().manual_seed(3)
    W, B = torch.randn(4, 6, generator=g), torch.randn(6, 4, generator=g)
    post_e = torch.eye(4)
    angles = [weight_feedback_angle(W, B)]
    for _ in range(30):
        W = W + -0.1 * TERMS["ehebb"](None, None, post_e @ B.T, post_e, W, B)
        angles.append(weight_feedback_angle(W, B))
    assert all(b < a for a, b in zip(angles, angles[1:]))
    assert angles[0] > 60 and angles[-1] < 25
