"""Loading a data split for an experiment: provenance recorded in the run folder, synthetic data only when asked."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from neuroplastic.data import BadFileError, DataUnavailableError, LabelledImages, dataset_names, load, synthetic_images
from neuroplastic.runs.experiment import ExperimentConfig
from neuroplastic.runs.folder import RunDir

MNIST_PIXELS = 28 * 28
"""Length of a flattened MNIST, Fashion-MNIST or EMNIST image: the input width n₀ of the networks trained on them."""


@dataclass(frozen=True, kw_only=True)
class DataExperimentConfig(ExperimentConfig):
    """Fields of every experiment that trains on data sets.

    ``synthetic_data``: data sets replaced by seeded synthetic images of the same shape (e.g. ``mnist``), for a
    smoke test on a machine without their files. Nothing is ever replaced unless named here, and since it is part
    of the config, a run on synthetic images never shares a run folder with one on the real data.
    """

    synthetic_data: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        unknown = sorted(set(self.synthetic_data) - set(dataset_names()))
        if unknown:
            raise ValueError(f"synthetic_data names unknown data sets {unknown}; known: {', '.join(dataset_names())}")


def load_split(
    name: str,
    split: str,
    *,
    run_dir: RunDir,
    config: DataExperimentConfig,
    seed: int | None = None,
    subset: int = 0,
    synthetic_size: int | None = None,
    synthetic_shape: tuple[int, ...] = (28, 28),
) -> LabelledImages:
    """Split ``split`` of data set ``name`` (its first ``subset`` samples if > 0), its source recorded in ``run_dir``.

    If ``config.synthetic_data`` names the data set, seeded synthetic images of ``synthetic_shape`` stand in
    (``synthetic_size`` of them, by default 60,000 for train and 10,000 for test; ``seed`` defaults to the
    config's). A data set that cannot be had raises `DataUnavailableError` saying how to get it.
    """
    if name in config.synthetic_data:
        size = synthetic_size or (60000 if split == "train" else 10000)
        data = synthetic_images(size, shape=synthetic_shape, seed=config.seed if seed is None else seed, split=split)
    else:
        try:
            data = load(name, split)
        except BadFileError:
            raise  # its message already names the file and what to do
        except DataUnavailableError as err:
            hint = f"`--set synthetic_data={name}` runs a smoke test on synthetic images instead"
            if "\n" in str(err):  # the fetch chain's list of sources tried and of files to supply
                raise DataUnavailableError(f"{err}\n  - or, without {name}: {hint}") from err
            raise DataUnavailableError(
                f"{err} (`neuroplastic data fetch {name}` fetches or checks it; {hint})"
            ) from err
    run_dir.record_data(data.provenance)
    return data.subset(torch.arange(min(subset, len(data)))) if subset else data


def load_train_test(
    name: str, *, run_dir: RunDir, config: DataExperimentConfig, train_subset: int = 0, test_subset: int = 0
) -> tuple[LabelledImages, LabelledImages]:
    """``(train, test)`` of data set ``name`` through `load_split`, each cut to its subset size (0 = whole split)."""
    return (
        load_split(name, "train", run_dir=run_dir, config=config, subset=train_subset),
        load_split(name, "test", run_dir=run_dir, config=config, subset=test_subset),
    )


def synthetic_note(config: DataExperimentConfig) -> list[str]:
    """The report note of a run on synthetic images (none for a run on real data)."""
    if not config.synthetic_data:
        return []
    names = ", ".join(config.synthetic_data)
    return [
        f"Smoke test: synthetic images stood in for {names} (synthetic_data={','.join(config.synthetic_data)}), "
        "as asked; these numbers say nothing about the real data sets."
    ]
