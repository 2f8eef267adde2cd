"""Oracle: torch.optim optimisers stepped by hand (Adam, SGD, heavy-ball) on the gradients a test states or a
reference learner computes episode by episode; Adam's first steps of ±lr; contracts (resume, reproducibility,
episodes from the right classes, clear errors)."""

import io
from functools import partial

import pytest
import torch

from neuroplastic.core.divergence import DivergenceError
from neuroplastic.data import EpisodeSampler, LabelledImages, split_classes
from neuroplastic.plasticity import (
    DivergencePolicy,
    InnerLoop,
    MetaLearner,
    ThetaLayout,
    episode_batch,
    episode_stream,
    evaluate,
)
from neuroplastic.plasticity.divergence import forget_momentum

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")

N_WAY, K, Q = 3, 4, 2
SIZES = [28 * 28, 10, N_WAY]
TERMS = {"pseudo_grad": 0.05, "ehebb": 0.01, "oja": 0.01}


@pytest.fixture(autouse=True)
def one_thread():
    """Batch-1 inner steps are too small for intra-op threads (tests/conftest.py restores the count)."""
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def images():
    """Ten classes of 28×28 images, class c a bright band at rows 2c+2..2c+5 over uniform noise."""
    labels = torch.arange(10).repeat(60)
    bands = torch.zeros(10, 28, 28, dtype=torch.float64)
    for c in range(10):
        bands[c, 2 * c + 2 : 2 * c + 6] = 1.0
    noise = torch.rand(600, 28, 28, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    pixels = ((0.7 * bands[labels] + 0.3 * noise) * 255).round().to(torch.uint8)
    return LabelledImages(pixels, labels, 10, "bands", "train")


def stream(images, classes, seeds=(0,), start=0, meta_batch=1):
    samplers = [EpisodeSampler(images.labels, classes, N_WAY, K, Q, seed=s) for s in seeds]
    return episode_stream(
        images, samplers, list(seeds), SIZES, feedback="fa", meta_batch=meta_batch, start=start, dtype=torch.float64
    )


def adam(lr):
    return partial(torch.optim.Adam, lr=lr)


def layout(theta=TERMS, **kw):
    return ThetaLayout(tuple(theta), init=theta, **kw)


def learner(**kw):
    return MetaLearner(SIZES, layout(), optimizer=adam(1e-2), dtype=torch.float64, **kw)


def test_meta_training_never_sees_a_meta_test_class_and_relabels_every_episode(images):
    train, test = split_classes(range(10), 4, seed=1)
    seen = set()
    previous = None
    for _, batch in zip(range(40), stream(images, train, seeds=(0, 1), meta_batch=2), strict=False):
        seen |= set(batch.classes.flatten().tolist())
        for e in range(len(batch)):
            assert sorted(batch.support_y[e].tolist()) == sorted(list(range(N_WAY)) * K)
            assert sorted(batch.query_y[e].tolist()) == sorted(list(range(N_WAY)) * Q)
        if previous is not None:
            assert not torch.equal(batch.support_x, previous.support_x)
            assert not torch.equal(batch.state.weights[0], previous.state.weights[0])
        previous = batch
    assert seen <= set(train) and not seen & set(test)
    assert seen == set(train)


def test_episode_batch_holds_the_sampled_images_and_labels(images):
    sampler = EpisodeSampler(images.labels, range(10), N_WAY, K, Q, seed=5)
    episodes = [sampler.sample() for _ in range(2)]
    batch = episode_batch(
        images, episodes, SIZES, feedback="fa", generators=[torch.Generator().manual_seed(i) for i in range(2)]
    )
    for i, e in enumerate(episodes):
        x, y = images.batch(e.support_idx, flatten=True)
        assert torch.equal(batch.support_x[i], x)
        assert torch.equal(e.classes[batch.support_y[i]], y)
        x, y = images.batch(e.query_idx, flatten=True)
        assert torch.equal(batch.query_x[i], x) and torch.equal(e.classes[batch.query_y[i]], y)
    assert not torch.equal(batch.state.feedbacks[0][0], batch.state.feedbacks[0][1])
    with pytest.raises(ValueError, match="output layer"):
        episode_batch(images, episodes, [784, 10, 5], feedback="fa", generators=[torch.Generator()] * 2)


def test_same_seed_gives_the_identical_theta_trajectory(images):
    runs = []
    for _ in range(2):
        meta = learner()
        meta.fit(stream(images, range(6)), 4)
        runs.append([r["theta"] for r in meta.history])
    assert runs[0] == runs[1]
    assert runs[0][0] != runs[0][-1]


def test_a_killed_meta_training_resumes_where_it_stopped(images):
    whole = learner()
    whole.fit(stream(images, range(6)), 5)
    first = learner()
    first.fit(stream(images, range(6)), 2)
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)
    resumed = learner()
    resumed.load_state_dict(torch.load(io.BytesIO(buffer.getvalue()), weights_only=True))
    resumed.fit(stream(images, range(6), start=2), 3)
    assert [r["theta"] for r in resumed.history] == [r["theta"] for r in whole.history]
    assert resumed.steps == 5
    with pytest.raises(ValueError, match="checkpoint"):
        MetaLearner(SIZES).load_state_dict(first.state_dict())


def test_meta_training_raises_the_learning_rate_and_the_query_accuracy(images):
    meta = MetaLearner(SIZES, inner=InnerLoop(feedback="bp"), optimizer=adam(1e-2), dtype=torch.float64)
    test = stream(images, range(10), seeds=(9,))
    tasks = [next(test) for _ in range(10)]
    before = evaluate(meta, tasks)
    meta.fit(stream(images, range(10)), 20)
    after = evaluate(meta, tasks)
    assert meta.coefficients()["pseudo_grad"] > 0.02  # from 1e-3
    assert before["accuracy"][0] < 0.5 < 0.65 < after["accuracy"][0]  # chance is 1/3
    assert after["query_loss"][0] < before["query_loss"][0] - 0.3
    assert len(after["episode_accuracy"][0]) == 10
    assert after["alignment"][0][0] < 1e-4  # backprop: the error is the backprop error
    assert len(after["orthonormality"][0]) == 2 and min(after["orthonormality"][0]) > 0


def test_nonnegative_terms_are_projected_onto_zero_and_the_others_stay_free(images):
    start = {"pseudo_grad": 0.05, "ehebb": 0.005, "oja": 0.005}
    meta = MetaLearner(SIZES, layout(start, nonnegative=("oja",)), optimizer=adam(1e-2), dtype=torch.float64)
    batch = next(stream(images, range(6)))
    _, ce, final = meta.meta_gradient(batch)
    push = torch.tensor([[-1.0, 1.0, 1.0]], dtype=torch.float64)  # θ₀ up, eHebb and Oja down
    meta.meta_gradient = lambda _: (push, ce, final)
    for step in range(3):
        theta = meta.step(batch)["theta"][0]
        # Adam's first steps move each θ_r by ≈ lr = 0.01 against the sign of its gradient
        assert theta[0] == pytest.approx(0.05 + 0.01 * (step + 1), rel=1e-6)
        assert theta[1] == pytest.approx(0.005 - 0.01 * (step + 1), rel=1e-6)
        assert theta[2] == 0.0
    with pytest.raises(ValueError, match="nonnegative"):
        ThetaLayout(("pseudo_grad",), nonnegative=("oja",))
    with pytest.raises(ValueError, match="nonnegative"):
        ThetaLayout(("pseudo_grad", "oja"), init={"oja": -0.1}, nonnegative=("oja",))


def test_clip_value_feeds_adam_the_elementwise_clipped_meta_gradient(images):
    batch = next(stream(images, range(6)))
    pushes = [[[1.0, -2.0]], [[1e6, -3.0]], [[-1e8, 4.0]]]

    def trajectory(clip_value):
        two_terms = ThetaLayout(("pseudo_grad", "oja"))
        meta = MetaLearner(SIZES, two_terms, clip_value=clip_value, optimizer=adam(1e-2), dtype=torch.float64)
        _, ce, final = meta.meta_gradient(batch)
        thetas = []
        for push in pushes:
            meta.meta_gradient = lambda _, push=push: (torch.tensor(push, dtype=torch.float64), ce, final)
            thetas.append(meta.step(batch)["theta"][0])
        return thetas

    theta = torch.tensor([[1e-3, 0.0]], dtype=torch.float64, requires_grad=True)
    reference = torch.optim.Adam([theta], lr=1e-2)
    expected = []
    for push in pushes:
        theta.grad = torch.tensor(push, dtype=torch.float64).clamp(-10.0, 10.0)
        reference.step()
        expected.append(theta.detach()[0].tolist())
    expected = torch.tensor(expected, dtype=torch.float64)
    torch.testing.assert_close(torch.tensor(trajectory(10.0), dtype=torch.float64), expected, rtol=1e-12, atol=0)
    assert not torch.allclose(torch.tensor(trajectory(None), dtype=torch.float64), expected, rtol=1e-3)
    with pytest.raises(ValueError, match="clip_value"):
        MetaLearner(SIZES, clip_value=0.0)


def test_bad_input_is_refused_with_a_clear_error(images):
    with pytest.raises(ValueError, match="ReLU"):
        InnerLoop(activation="relu")
    with pytest.raises(ValueError, match="terms"):
        ThetaLayout(("pseudo_grad", "nonsense"))
    with pytest.raises(ValueError, match="optimizer factory"):
        MetaLearner(SIZES, optimizer=lambda params: torch.optim.Adam([torch.zeros(1, requires_grad=True)]))
    with pytest.raises(ValueError, match="meta_gradient"):
        MetaLearner(SIZES, meta_gradient="sideways")
    batch = next(stream(images, range(6)))
    with pytest.raises(ValueError, match="weight shapes"):
        MetaLearner([784, 12, N_WAY], dtype=torch.float64).step(batch)
    with pytest.raises(ValueError, match="replicas"):
        MetaLearner(SIZES, replicas=2, dtype=torch.float64).step(batch)
    with pytest.raises(DivergenceError, match="step 0"):
        MetaLearner(SIZES, ThetaLayout(init={"pseudo_grad": 1e300}), dtype=torch.float64).step(batch)


def test_a_diverging_replica_backs_off_and_stops_the_run_after_patience_steps(images):
    batches = list(zip(range(3), stream(images, range(6), seeds=(0, 1)), strict=False))
    drop = DivergencePolicy(action="drop", patience=3)
    meta = MetaLearner(SIZES, layout(), divergence=drop, replicas=2, optimizer=adam(1e-2), dtype=torch.float64)
    with torch.no_grad():
        meta.theta[1, 0] = 1e300
    alone = learner()
    for step, (_, batch) in enumerate(batches[:2]):
        record = meta.step(batch)
        alone.step(type(batch)(*(_first(part) for part in batch)))
        assert record["skipped"] == [False, True]
        # a batch of 2 replicas vs 1: vectorised kernels may round their tails differently
        assert record["theta"][0] == pytest.approx(alone.history[-1]["theta"][0], rel=1e-12, abs=0)
        assert record["theta"][1][0] == pytest.approx(1e300 * 0.9 ** (step + 1), rel=1e-12)
    assert not meta.optimizer.state_dict()["state"][0]["exp_avg"][1].any()
    with pytest.raises(DivergenceError, match="step 2"):
        meta.step(batches[2][1])


def test_shrink_moves_a_diverged_replica_towards_zero_with_the_clipped_barrier_gradient(images):
    batch = next(stream(images, range(6), seeds=(0, 1)))
    start = {"pseudo_grad": 0.05, "ehebb": -0.02, "oja": 0.01}
    options = {"replicas": 2, "optimizer": adam(1e-3), "dtype": torch.float64, "clip_value": 5.0}
    shrink = DivergencePolicy(action="shrink", patience=3)
    meta = MetaLearner(SIZES, layout(start), divergence=shrink, **options)
    grad, ce, final = meta.meta_gradient(batch)
    ce = ce.clone()
    ce[1] = torch.nan
    meta.meta_gradient = lambda _: (grad, ce, final)
    skip = MetaLearner(SIZES, layout(start), divergence=DivergencePolicy(action="drop"), **options)
    skip.meta_gradient = meta.meta_gradient
    for step in range(2):
        record = meta.step(batch)
        assert record["skipped"] == [False, True]
        assert record["theta"][0] == skip.step(batch)["theta"][0]  # the healthy replica is unaffected
        # Adam on a constant gradient 5·sign(θ): θ_r moves by lr = 1e-3 a step towards 0
        expected = [0.05 - 1e-3 * (step + 1), -0.02 + 1e-3 * (step + 1), 0.01 - 1e-3 * (step + 1)]
        assert record["theta"][1] == pytest.approx(expected, rel=1e-9)
        assert skip.history[-1]["theta"][1] == pytest.approx([v * 0.9 ** (step + 1) for v in start.values()])
    with pytest.raises(DivergenceError, match="step 2"):
        meta.step(batch)
    with pytest.raises(ValueError, match="clip_value"):
        MetaLearner(SIZES, divergence=DivergencePolicy(action="shrink"))


def test_a_diverged_episode_is_dropped_and_the_others_give_exactly_their_mean_meta_gradient(images):
    batch = next(stream(images, range(6), meta_batch=3))
    support_x = batch.support_x.clone()
    support_x[1, 0, 0] = torch.nan  # episode 1's inner loop goes NaN from its first step
    poisoned = type(batch)(batch.state, support_x, *batch[2:])
    options = {"optimizer": adam(1e-2), "dtype": torch.float64}
    reference = MetaLearner(SIZES, layout(), **options)
    grads, losses = zip(*(reference.meta_gradient(_episode(batch, i))[:2] for i in (0, 2)), strict=True)
    meta = MetaLearner(SIZES, layout(), divergence=DivergencePolicy(action="drop"), **options)
    record = meta.step(poisoned)
    assert record["dropped"] == [1] and record["skipped"] == [True] and int(meta.dropped[0]) == 1
    torch.testing.assert_close(meta.theta.grad, (grads[0] + grads[1]) / 2, atol=0, rtol=1e-12)
    assert record["query_loss"][0] == pytest.approx(float(losses[0][0] + losses[1][0]) / 2, rel=1e-12)
    assert record["theta"][0] != list(TERMS.values())  # the step was taken with the two healthy episodes


def test_an_episode_above_the_loss_bound_is_dropped_like_a_diverged_one(images):
    batch = next(stream(images, range(6), meta_batch=3))
    options = {"optimizer": adam(1e-2), "dtype": torch.float64}
    reference = MetaLearner(SIZES, layout(), **options)
    grads, losses = zip(*(reference.meta_gradient(_episode(batch, i))[:2] for i in range(3)), strict=True)
    losses = [float(loss[0]) for loss in losses]
    worst = max(range(3), key=losses.__getitem__)
    kept = [i for i in range(3) if i != worst]
    bound = (losses[worst] + max(losses[i] for i in kept)) / 2
    meta = MetaLearner(SIZES, layout(), divergence=DivergencePolicy(action="drop", max_query_loss=bound), **options)
    record = meta.step(batch)
    assert record["dropped"] == [1] and record["skipped"] == [True]
    torch.testing.assert_close(meta.theta.grad, (grads[kept[0]] + grads[kept[1]]) / 2, atol=0, rtol=1e-12)
    with pytest.raises(ValueError, match="max_query_loss"):
        DivergencePolicy(max_query_loss=0.0)


def test_a_replica_with_no_episode_left_shrinks_its_theta_and_forgets_its_momentum(images):
    healthy, nan_batch = list(zip(range(2), stream(images, range(6), seeds=(0, 1)), strict=False))
    support_x = nan_batch[1].support_x.clone()
    support_x[1] = torch.nan  # replica 1's only episode diverges
    poisoned = type(nan_batch[1])(nan_batch[1].state, support_x, *nan_batch[1][2:])
    options = {"divergence": DivergencePolicy(action="drop", backoff=0.25), "replicas": 2, "dtype": torch.float64}
    meta = MetaLearner(SIZES, layout(), **options)
    meta.step(healthy[1])
    before = meta.theta.detach().clone()
    second_moment = meta.optimizer.state_dict()["state"][0]["exp_avg_sq"].clone()
    record = meta.step(poisoned)
    assert record["skipped"] == [False, True] and record["dropped"] == [0, 1]
    torch.testing.assert_close(meta.theta.detach()[1], 0.75 * before[1], atol=0, rtol=1e-15)
    adam_state = meta.optimizer.state_dict()["state"][0]
    assert not adam_state["exp_avg"][1].any()
    # as for a zero gradient: v ← β₂ v
    torch.testing.assert_close(adam_state["exp_avg_sq"][1], 0.999 * second_moment[1])
    twin = MetaLearner(SIZES, layout(), **options)
    twin.step(healthy[1])
    assert twin.step(nan_batch[1])["theta"][0] == record["theta"][0]  # the healthy replica steps as usual
    with pytest.raises(ValueError, match="backoff"):
        DivergencePolicy(backoff=1.0)


def _episode(batch, i):
    return type(batch)(*(_first(part, i) for part in batch))


def _first(part, i=0):
    if isinstance(part, torch.Tensor):
        return part[i : i + 1]
    return type(part)(*(None if p is None else tuple(t[i : i + 1] for t in p) for p in part))


def test_absolute_labels_are_the_dataset_labels_for_a_head_over_all_classes(images):
    episode = EpisodeSampler(images.labels, [2, 5, 7], N_WAY, K, Q, seed=0).sample()
    options = {"feedback": "fa", "generators": [torch.Generator().manual_seed(0)], "absolute_labels": True}
    batch = episode_batch(images, [episode], [28 * 28, 10, 10], **options)
    assert torch.equal(batch.support_y[0], images.labels[episode.support_idx])
    assert torch.equal(batch.query_y[0], images.labels[episode.query_idx])
    relabelled = episode_batch(images, [episode], SIZES, feedback="fa", generators=options["generators"])
    assert set(relabelled.support_y[0].tolist()) == set(range(N_WAY))
    with pytest.raises(ValueError, match="10 classes"):
        episode_batch(images, [episode], SIZES, **options)


def test_any_torch_optimiser_steps_theta_with_the_meta_gradient(images):
    """Oracle: plain gradient descent by hand, θ̃ ← θ̃ − lr ∂L/∂θ̃, on another learner's meta-gradient."""
    batch = next(stream(images, range(6)))
    grad, _, _ = learner().meta_gradient(batch)
    meta = MetaLearner(SIZES, layout(), optimizer=partial(torch.optim.SGD, lr=0.1), dtype=torch.float64)
    before = meta.theta.detach().clone()
    meta.step(batch)
    torch.testing.assert_close(meta.theta.detach(), before - 0.1 * grad, atol=0, rtol=1e-12)


def test_forgetting_momentum_zeroes_only_the_lost_rows_of_sgd_momentum():
    """Oracle: heavy-ball SGD by hand, b ← μ b + g and θ ← θ − lr b, with b = 0 for a forgotten row."""
    theta = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    sgd = torch.optim.SGD([theta], lr=0.1, momentum=0.9)
    g, h = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), torch.tensor([[0.5, 0.5, 0.5], [1.0, 1.0, 1.0]])
    theta.grad = g
    sgd.step()
    forget_momentum(sgd, theta, torch.tensor([True, False]))
    theta.grad = h
    sgd.step()
    expected = -0.1 * g - 0.1 * torch.stack([h[0], 0.9 * g[1] + h[1]])
    torch.testing.assert_close(theta.detach(), expected, atol=1e-15, rtol=0)
