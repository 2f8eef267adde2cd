"""Meta-learn a two-term plasticity rule, pseudo-gradient + error-based Hebbian, and test it on unseen classes.

The rule ΔW_ℓ = θ₀ (−e_ℓ y_{ℓ−1}ᵀ) + θ_h (−e_ℓ e_{ℓ−1}ᵀ) (the paper's F^eHebb) runs online (batch 1) through fixed
random feedback (FA) on the support set of a 3-way few-shot episode, from fresh W and B every episode. θ = (θ₀, θ_h)
is learned by Adam on the query cross-entropy after that inner loop, differentiated through the whole unrolled loop
(Shervani-Tabar & Rosenbaum 2023). Meta-training and meta-testing use disjoint classes. Uses cached MNIST when
available, otherwise synthetic images. Exits non-zero unless the meta-training loss fell and meta-learning lifted
the held-out accuracy well past chance (1/3).
"""

import itertools
import sys
from functools import partial

import torch

from neuroplastic.data import DataUnavailableError, EpisodeSampler, load, split_classes, synthetic_images
from neuroplastic.plasticity import MetaLearner, ThetaLayout, episode_stream, evaluate

torch.set_num_threads(1)  # batch-1 inner steps gain nothing from threads
try:
    images = load("mnist", "train")
except DataUnavailableError as err:
    print(f"MNIST is not available ({err}); this example runs on synthetic digit-like images instead")
    images = synthetic_images(3000, seed=0)

N_WAY, K_SHOT, N_QUERY = 3, 10, 5
SIZES = [784, 32, N_WAY]
meta_train_classes, meta_test_classes = split_classes(range(10), 4, seed=0)


def episodes(classes, seed):
    """Endless batches of 4 episodes (fresh images, labels 0..N−1, fresh W and B) from ``classes``."""
    sampler = EpisodeSampler(images.labels, classes, N_WAY, K_SHOT, N_QUERY, seed=seed)
    return episode_stream(images, [sampler], [seed], SIZES, feedback="fa", meta_batch=4)


layout = ThetaLayout(("pseudo_grad", "ehebb"), init={"pseudo_grad": 1e-3})
learner = MetaLearner(SIZES, layout, optimizer=partial(torch.optim.Adam, lr=4e-3))
held_out = list(itertools.islice(episodes(meta_test_classes, seed=1), 3))  # the same 12 episodes before and after
before = evaluate(learner, held_out)["accuracy"][0]

history = learner.fit(episodes(meta_train_classes, seed=0), steps=40)
theta = learner.coefficients()
after = evaluate(learner, held_out)["accuracy"][0]
first = sum(r["query_loss"][0] for r in history[:10]) / 10
last = sum(r["query_loss"][0] for r in history[-10:]) / 10
print(f"θ learned: θ₀ = {theta['pseudo_grad']:.4f}, θ_h = {theta['ehebb']:.4f}")
print(f"meta-training query loss {first:.3f} → {last:.3f} (mean of the first and last 10 meta-steps)")
print(f"held-out classes {meta_test_classes}: accuracy {before:.1%} with the initial θ, {after:.1%} with the learned θ")
if not (last < first and after > before + 0.15 and after > 0.6):
    sys.exit("meta-learning did not lower the query loss and lift the held-out accuracy above 60%")
