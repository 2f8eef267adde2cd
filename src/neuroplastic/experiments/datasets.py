"""Loading a data split for an experiment: provenance recorded in the run folder, optional synthetic fallback."""

from __future__ import annotations

import torch

from neuroplastic.data import DataUnavailableError, LabelledImages, load, synthetic_images
from neuroplastic.runs.folder import RunDir


def load_split(
    name: str,
    split: str,
    *,
    run_dir: RunDir,
    seed: int,
    fallback: bool,
    subset: int = 0,
    synthetic_size: int | None = None,
    synthetic_shape: tuple[int, ...] = (28, 28),
) -> LabelledImages:
    """Split ``split`` of data set ``name`` (its first ``subset`` samples if > 0), its source recorded in ``run_dir``.

    When the data set cannot be obtained and ``fallback`` is set, synthetic images of ``synthetic_shape`` stand in
    (``synthetic_size`` of them; by default 60,000 for train and 10,000 for test) and the provenance says so.
    """
    try:
        data = load(name, split)
    except DataUnavailableError:
        if not fallback:
            raise
        size = synthetic_size or (60000 if split == "train" else 10000)
        data = synthetic_images(size, shape=synthetic_shape, seed=seed, split=split)
    run_dir.record_data(data.provenance)
    return data.subset(torch.arange(min(subset, len(data)))) if subset else data


def load_train_test(
    name: str, *, run_dir: RunDir, seed: int, fallback: bool, train_subset: int = 0, test_subset: int = 0
) -> tuple[LabelledImages, LabelledImages]:
    """``(train, test)`` of data set ``name`` through `load_split`, each cut to its subset size (0 = whole split)."""
    options = {"run_dir": run_dir, "seed": seed, "fallback": fallback}
    return (
        load_split(name, "train", subset=train_subset, **options),
        load_split(name, "test", subset=test_subset, **options),
    )
