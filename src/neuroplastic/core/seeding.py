"""Seeding: one call makes a run reproducible on the CPU."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch, and return a fresh torch.Generator seeded with ``seed``.

    Prefer passing the returned generator explicitly to sampling code over relying on the global state.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return make_generator(seed)


def make_generator(seed: int, *streams: int) -> torch.Generator:
    """A CPU generator for an independent random stream identified by ``(seed, *streams)``.

    The same arguments always give the same stream, so a resumed run can regenerate the permutation of
    any epoch without having saved generator state.
    """
    mixed = np.random.SeedSequence([seed, *streams]).generate_state(1, dtype=np.uint64)[0]
    generator = torch.Generator()
    generator.manual_seed(int(mixed))
    return generator
