"""Oracle: central finite differences of the query loss for the meta-gradient in every mode; torch.autograd through
the feedback layer's own backward for the inner update; term scales re-derived from hand-written outer products;
a loop over episodes and separate meta-learners for batching."""

from functools import partial

import pytest
import torch
from torch.nn import functional as F

from neuroplastic.core.activations import softplus
from neuroplastic.feedback import forward
from neuroplastic.feedback.linear import FeedbackLinearFunction
from neuroplastic.plasticity import (
    EpisodeBatch,
    InnerLoop,
    MetaLearner,
    ThetaLayout,
    apply_update,
    init_state,
    stack_states,
    unstack_state,
)

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")

SIZES = [12, 9, 7, 4]


@pytest.fixture(autouse=True)
def one_thread():
    """Batch-1 inner steps are too small for intra-op threads (tests/conftest.py restores the count)."""
    torch.set_num_threads(1)


THREE = {"pseudo_grad": 0.08, "ehebb": 0.03, "oja": 0.02}
POOL = {
    "pseudo_grad": 0.08,
    "ehebb": 0.03,
    "oja": 0.02,
    "post_y_pre_e": -0.01,
    "hebb_decay": 0.004,
    "post_error": 0.01,
    "pre_error": -0.02,
    "ehebb_post_decay": 0.01,
    "ehebb_pre_decay": -0.01,
    "pre_error_decay": 0.005,
}


def batch(n, *, steps=7, query=5, seed=0, feedback="fa", sizes=SIZES):
    g = torch.Generator().manual_seed(seed)
    states = [init_state(sizes, feedback=feedback, generator=g, dtype=torch.float64) for _ in range(n)]
    return EpisodeBatch(
        stack_states(states),
        torch.rand(n, steps, sizes[0], generator=g),
        torch.randint(0, sizes[-1], (n, steps), generator=g),
        torch.rand(n, query, sizes[0], generator=g),
        torch.randint(0, sizes[-1], (n, query), generator=g),
        torch.arange(sizes[-1]).repeat(n, 1),
    )


def meta(theta, feedback="fa", *, scales=None, unpenalised=("pseudo_grad",), lr=1e-3, **kw):
    layout = ThetaLayout(tuple(theta), init=theta, scales=scales or {}, unpenalised=unpenalised)
    optimizer = partial(torch.optim.Adam, lr=lr)
    return MetaLearner(
        SIZES, layout, inner=InnerLoop(feedback=feedback), optimizer=optimizer, dtype=torch.float64, **kw
    )


def test_pseudo_gradient_with_symmetric_feedback_is_minus_theta0_times_the_gradient():
    learner = meta({"pseudo_grad": 0.37}, feedback="bp")
    episodes = batch(1, feedback="bp")
    state = unstack_state(episodes.state, 0)
    x, t = episodes.support_x[0, :3], episodes.support_y[0, :3]
    weights = [w.clone().requires_grad_() for w in state.weights]
    F.cross_entropy(forward(weights, x)[-1], t, reduction="sum").backward()
    step = learner.learner(learner.theta.detach()).update(episodes.state, x.unsqueeze(0), t.unsqueeze(0))
    for delta, w in zip(step.deltas, weights, strict=True):
        torch.testing.assert_close(delta[0], -0.37 * w.grad, atol=1e-10, rtol=0)


def test_pseudo_gradient_with_fixed_feedback_is_the_feedback_alignment_update():
    learner = meta({"pseudo_grad": 0.37})
    episodes = batch(1)
    state = unstack_state(episodes.state, 0)
    x, t = episodes.support_x[0, :3], episodes.support_y[0, :3]
    weights = [w.clone().requires_grad_() for w in state.weights]
    y = x
    for l, (w, b) in enumerate(zip(weights, state.feedbacks, strict=True)):
        z = FeedbackLinearFunction.apply(y, w, None, b)
        y = z if l == len(weights) - 1 else softplus().function(z)
    F.cross_entropy(y, t, reduction="sum").backward()
    step = learner.learner(learner.theta.detach()).update(episodes.state, x.unsqueeze(0), t.unsqueeze(0))
    for delta, w in zip(step.deltas, weights, strict=True):
        torch.testing.assert_close(delta[0], -0.37 * w.grad, atol=1e-12, rtol=0)
    assert all(
        torch.equal(b, c)
        for b, c in zip(apply_update(episodes.state, step).feedbacks, episodes.state.feedbacks, strict=True)
    )


def finite_differences(learner, episodes, h=1e-6):
    theta = learner.theta.detach()
    grad = torch.zeros_like(theta)
    for r in range(theta.shape[-1]):
        shift = torch.zeros_like(theta)
        shift[:, r] = h
        up = learner.loss(theta + shift, episodes)[0].sum()
        down = learner.loss(theta - shift, episodes)[0].sum()
        grad[:, r] = (up - down) / (2 * h)
    return grad


def relative(a, b):
    return float(torch.linalg.vector_norm(a - b) / torch.linalg.vector_norm(b))


@pytest.mark.parametrize("feedback", ["fa", "bp"])
@pytest.mark.parametrize("theta", [THREE, POOL], ids=["three", "pool"])
def test_reverse_checkpointed_forward_and_finite_differences_agree(feedback, theta):
    episodes = batch(2, steps=8, feedback=feedback)
    grads = {}
    for mode in ("reverse", "checkpoint", "forward"):
        learner = meta(theta, feedback, meta_gradient=mode, checkpoint_every=3)
        per_episode, loss, _ = learner.meta_gradient(episodes)
        torch.testing.assert_close(
            loss.mean(), learner.loss(learner.theta.detach(), episodes)[0][0], atol=1e-13, rtol=0
        )
        grads[mode] = per_episode.mean(0, keepdim=True)  # the replica's loss is the mean over its episodes
    numeric = finite_differences(meta(theta, feedback), episodes)
    assert float(torch.linalg.vector_norm(numeric)) > 1e-3
    torch.testing.assert_close(grads["checkpoint"], grads["reverse"], atol=0, rtol=1e-12)
    assert relative(grads["forward"], grads["reverse"]) <= 1e-9
    assert relative(grads["reverse"], numeric) <= 1e-6
    assert relative(grads["forward"], numeric) <= 1e-6


def test_a_batch_of_episodes_equals_a_loop_over_episodes():
    episodes = batch(3)
    learner = meta(THREE)
    grad, loss, _ = learner.meta_gradient(episodes)
    singles = [learner.meta_gradient(single(episodes, i)) for i in range(3)]
    torch.testing.assert_close(loss, torch.cat([s[1] for s in singles]), atol=1e-14, rtol=0)
    torch.testing.assert_close(grad, torch.cat([s[0] for s in singles]), atol=1e-13, rtol=0)


def single(episodes, i):
    return EpisodeBatch(unstack_state_batch(episodes.state, i), *(t[i : i + 1] for t in episodes[1:]))


def unstack_state_batch(state, i):
    return stack_states([unstack_state(state, i)])


def test_replicas_train_in_lockstep_like_separate_meta_learners():
    episodes = [batch(2, seed=s) for s in range(3)]
    together = meta(THREE, replicas=2, lr=1e-2)
    together.fit(episodes)
    for r in range(2):
        alone = meta(THREE, lr=1e-2)
        alone.fit(EpisodeBatch(unstack_state_batch(e.state, r), *(t[r : r + 1] for t in e[1:])) for e in episodes)
        for a, b in zip(alone.history, together.history, strict=True):
            torch.testing.assert_close(torch.tensor(a["theta"][0]), torch.tensor(b["theta"][r]), atol=1e-14, rtol=0)


def test_l1_enters_the_gradient_as_lambda_sign_theta_and_spares_the_learning_rate():
    episodes = batch(1)
    before = torch.tensor([list(THREE.values())])
    penalised = torch.tensor([[name != "pseudo_grad" for name in THREE]], dtype=before.dtype)
    plain, sparse, every = meta(THREE), meta(THREE, l1=100.0), meta(THREE, l1=100.0, unpenalised=())
    g_plain, loss, _ = plain.meta_gradient(episodes)
    record = sparse.step(episodes)
    every.step(episodes)
    torch.testing.assert_close(sparse.theta.grad, g_plain + 100.0 * penalised * torch.sign(before), atol=1e-12, rtol=0)
    torch.testing.assert_close(every.theta.grad, g_plain + 100.0 * torch.sign(before), atol=1e-12, rtol=0)
    penalty = 100.0 * float((penalised * before).abs().sum())
    assert record["meta_loss"][0] == pytest.approx(float(loss[0]) + penalty, abs=1e-12)
    assert (every.theta.detach().abs() < before.abs()).all()


def test_scale_free_coefficients_leave_the_inner_update_unchanged_when_converted_back():
    scales = {"ehebb": 0.5, "oja": 24.0}
    size = torch.tensor([[1.0, 0.5, 24.0]], dtype=torch.float64)
    plain, scaled = meta(THREE), meta(THREE, scales=scales)
    assert scaled.coefficients() == pytest.approx(THREE, rel=1e-15)
    torch.testing.assert_close(scaled.theta.detach(), plain.theta.detach() * size, atol=0, rtol=1e-15)
    episodes = batch(2)
    x, t = episodes.support_x[:, :1], episodes.support_y[:, :1]
    for a, b in zip(
        plain.learner(plain.theta.detach().expand(2, -1)).update(episodes.state, x, t).deltas,
        scaled.learner(scaled.theta.detach().expand(2, -1)).update(episodes.state, x, t).deltas,
        strict=True,
    ):
        torch.testing.assert_close(a, b, atol=1e-15, rtol=0)
    g_plain, loss_plain, _ = plain.meta_gradient(episodes)
    g_scaled, loss_scaled, _ = scaled.meta_gradient(episodes)
    torch.testing.assert_close(loss_scaled, loss_plain, atol=1e-15, rtol=0)
    torch.testing.assert_close(g_scaled, g_plain / size, atol=0, rtol=1e-10)  # chain rule: ∂L/∂θ̃ = ∂L/∂θ / s
    scaled.set_paper_theta(torch.tensor([[0.1, 0.2, 0.3]], dtype=torch.float64))
    assert scaled.coefficients() == pytest.approx({"pseudo_grad": 0.1, "ehebb": 0.2, "oja": 0.3}, rel=1e-15)
    with pytest.raises(ValueError, match="scales"):
        meta(THREE, scales={"oja": 0.0})


def test_term_scales_are_the_rms_sizes_of_the_terms_relative_to_the_pseudo_gradient():
    from neuroplastic.feedback.errors import signals
    from neuroplastic.plasticity.scales import term_scales

    episodes = batch(2, steps=4)
    squares = {"pseudo_grad": 0.0, "oja": 0.0, "ehebb": 0.0}
    for i in range(2):
        state = unstack_state(episodes.state, i)
        for s in range(4):
            x, t = episodes.support_x[i, s : s + 1], episodes.support_y[i, s : s + 1]
            ys, es = signals(state.weights, state.feedbacks, x, t, mode="fa", input_error=True)
            for l, w in enumerate(state.weights):
                post = torch.softmax(ys[l + 1], -1) if l == len(state.weights) - 1 else ys[l + 1]
                y0, y1, e0, e1 = ys[l][0], post[0], es[l][0], es[l + 1][0]
                squares["pseudo_grad"] += float(torch.outer(e1, y0).square().sum())
                squares["oja"] += float((torch.outer(y1, y0) - torch.outer(y1, y1) @ w).square().sum())
                squares["ehebb"] += float(torch.outer(e1, e0).square().sum())
    scales = term_scales(["ehebb", "oja"], episodes, feedback="fa")
    assert set(scales) == {"ehebb", "oja"}
    for name in ("ehebb", "oja"):
        assert scales[name] == pytest.approx((squares[name] / squares["pseudo_grad"]) ** 0.5, rel=1e-12)
