"""Named random streams: the ids that follow the seed in ``make_generator(seed, *ids)``.

Each class lists the streams drawn under one seed (or one seed and index) within a run, so no two of its names may
share a value. The values are part of the results: changing one changes every number drawn from that stream.
"""

from __future__ import annotations

from enum import IntEnum


class TrainingStream(IntEnum):
    """One network's training run: initial weights W (then B) and the order of the training samples.

    fa-online and oja-online draw (seed, INIT) and (seed, ORDER), so their methods start from the same weights and
    see the same samples; fixedpoint-mnist draws (seed, dataset, INIT) and (seed, dataset, ORDER, epoch);
    baseline-mlp draws its weights from (seed, dataset, INIT).
    """

    INIT = 1
    ORDER = 2


class LandscapeStream(IntEnum):
    """fixedpoint-linear: the fresh W₀ of the update-angle curves and the random directions of the loss slices."""

    ANGLE_START = 1
    SLICE_DIRECTIONS = 2


class MetaStream(IntEnum):
    """meta-plasticity: the episodes of meta-training and of meta-testing, (seed, phase, part)."""

    META_TRAIN = 1
    META_TEST = 2


class EpisodePart(IntEnum):
    """meta-plasticity, within a phase: the sampler of episodes and the seed of their initial weights."""

    SAMPLER = 0
    WEIGHTS = 1


class EpisodeStream(IntEnum):
    """An episode stream, under the seed of its weights: episode i draws W and B from (seed, WEIGHTS, i)."""

    WEIGHTS = 7


class ReservoirStream(IntEnum):
    """A reservoir run: J, Q, W_in and x(0); the rate noise ε; the exploration and corruption noise of RMHL."""

    WEIGHTS = 1
    RATE_NOISE = 2
    EXPLORATION = 3
    CORRUPTION = 4
