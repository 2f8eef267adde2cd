"""Episodes for meta-learning a plasticity rule, as tensors with a leading dimension of networks.

One episode: N classes relabelled 0..N−1, a shuffled support set the network learns from online (one sample at a
time, one pass), a query set it is scored on, and a fresh Xavier-uniform W_ℓ and B_ℓ drawn for this episode only.
A batch stacks E such episodes (or replicas × E, replica-major) so the inner loop runs them as one computation.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

import torch

from neuroplastic.core.seeding import make_generator
from neuroplastic.core.streams import EpisodeStream
from neuroplastic.data import Episode, EpisodeSampler, LabelledImages
from neuroplastic.feedback.init import FeedbackMode
from neuroplastic.plasticity.learner import PlasticState, init_state, stack_states


class EpisodeBatch(NamedTuple):
    """Initial networks and data of E episodes: support x E × S × n₀ (y E × S), query x E × Q × n₀ (y E × Q).

    ``classes`` (E × N) holds each episode's original class ids in the order of its labels 0..N−1.
    """

    state: PlasticState
    support_x: torch.Tensor
    support_y: torch.Tensor
    query_x: torch.Tensor
    query_y: torch.Tensor
    classes: torch.Tensor

    def __len__(self) -> int:
        return self.support_x.shape[0]


def episode_batch(
    images: LabelledImages,
    episodes: Sequence[Episode],
    sizes: Sequence[int],
    *,
    feedback: FeedbackMode,
    generators: Sequence[torch.Generator],
    absolute_labels: bool = False,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> EpisodeBatch:
    """Stack ``episodes`` of ``images``; episode i gets fresh W and B drawn from ``generators[i]``.

    Labels are the episode's 0..N−1 (an N-unit output layer), or with ``absolute_labels`` the dataset's own class
    ids (an output layer with a unit for every class, as the authors' 47-way head on EMNIST).
    """
    if len(episodes) != len(generators) or not episodes:
        raise ValueError(f"need one generator per episode and at least one episode, got {len(episodes)} episodes")
    n_way = len(episodes[0].classes)
    if absolute_labels and sizes[-1] < images.n_classes:
        raise ValueError(f"the output layer has {sizes[-1]} units for labels of {images.n_classes} classes")
    if not absolute_labels and sizes[-1] != n_way:
        raise ValueError(f"the output layer has {sizes[-1]} units for {n_way}-way episodes")

    def stack(idx_name: str, label_name: str) -> tuple[torch.Tensor, torch.Tensor]:
        xs, ys = [], []
        for e in episodes:
            x, _ = images.batch(getattr(e, idx_name), flatten=True, dtype=dtype, device=device)
            xs.append(x)
            labels = getattr(e, label_name)
            ys.append((e.classes[labels] if absolute_labels else labels).to(device))
        return torch.stack(xs), torch.stack(ys)

    support_x, support_y = stack("support_idx", "support_labels")
    if support_x.shape[-1] != sizes[0]:
        raise ValueError(f"images have {support_x.shape[-1]} pixels, the input layer {sizes[0]} units")
    query_x, query_y = stack("query_idx", "query_labels")
    states = [init_state(sizes, feedback=feedback, generator=g, dtype=dtype, device=device) for g in generators]
    classes = torch.stack([e.classes for e in episodes])
    return EpisodeBatch(stack_states(states), support_x, support_y, query_x, query_y, classes)


def episode_stream(
    images: LabelledImages,
    samplers: Sequence[EpisodeSampler],
    seeds: Sequence[int],
    sizes: Sequence[int],
    *,
    feedback: FeedbackMode,
    meta_batch: int = 1,
    start: int = 0,
    absolute_labels: bool = False,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> Iterator[EpisodeBatch]:
    """Endless batches of ``meta_batch`` episodes per replica (replica-major), from batch ``start`` on.

    Replica r draws its episodes from ``samplers[r]`` and the initial weights of its episode i from the stream
    (seeds[r], ``EpisodeStream.WEIGHTS``, i), so a resumed meta-training sees the same episodes as an uninterrupted one.
    """
    if len(samplers) != len(seeds):
        raise ValueError(f"need one seed per sampler, got {len(samplers)} samplers and {len(seeds)} seeds")
    for sampler in samplers:
        for _ in range(start * meta_batch):
            sampler.sample()
    index = start * meta_batch
    while True:
        episodes, generators = [], []
        for sampler, seed in zip(samplers, seeds, strict=True):
            for i in range(index, index + meta_batch):
                episodes.append(sampler.sample())
                generators.append(make_generator(seed, EpisodeStream.WEIGHTS, i))
        index += meta_batch
        yield episode_batch(
            images,
            episodes,
            sizes,
            feedback=feedback,
            generators=generators,
            absolute_labels=absolute_labels,
            dtype=dtype,
            device=device,
        )
