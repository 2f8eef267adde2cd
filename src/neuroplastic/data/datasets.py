"""Labelled image datasets held as uint8 tensors, converted to float one batch at a time."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuroplastic.data.errors import BadFileError
from neuroplastic.data.fetch import fetch
from neuroplastic.data.safe_pickle import UnsafePickleError
from neuroplastic.data.sources import dataset_spec

Index = torch.Tensor | slice | list[int] | np.ndarray


@dataclass
class LabelledImages:
    """Images (uint8, N×H×W or N×C×H×W) with int64 labels, plus the dataset's name, split and provenance."""

    images: torch.Tensor
    labels: torch.Tensor
    n_classes: int
    name: str
    split: str
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        shape, label_shape = tuple(self.images.shape), tuple(self.labels.shape)
        if self.images.dtype != torch.uint8 or self.images.ndim not in (3, 4):
            raise ValueError(f"images must be uint8 N×H×W or N×C×H×W, got {self.images.dtype} {shape}")
        if self.labels.dtype != torch.int64 or label_shape != (len(self.images),):
            raise ValueError(f"labels must be int64 of shape ({shape[0]},), got {self.labels.dtype} {label_shape}")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n_features(self) -> int:
        """D = H·W (C·H·W with channels), the length of a flattened image."""
        return math.prod(self.images.shape[1:])

    def subset(self, idx: Index) -> LabelledImages:
        """Return the samples at ``idx`` (indices, a mask or a slice) as a new `LabelledImages`."""
        return replace(self, images=self.images[idx], labels=self.labels[idx])

    def batch(
        self,
        idx: Index,
        *,
        flatten: bool = False,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(x, y)`` for ``idx``: x in [0, 1] as ``dtype`` (flattened to N×D if asked), y int64."""
        x = self.images[idx].to(device=device).to(dtype).div_(255)
        if flatten:
            x = x.reshape(len(x), -1)
        return x, self.labels[idx].to(device=device)


def load(
    name: str, split: str = "train", *, root: str | os.PathLike[str] | None = None, progress: bool = True
) -> LabelledImages:
    """Load split ``"train"`` or ``"test"`` of dataset ``name``, fetching it into the cache if needed.

    A cached file that is refused as untrusted or cannot be read raises `BadFileError` naming it.
    """
    spec = dataset_spec(name)
    if split not in spec.layout.splits:
        raise ValueError(f"unknown split {split!r} for {name}; choose from {', '.join(spec.layout.splits)}")
    provenance = fetch(name, root=root, progress=progress)
    files = {f: Path(info["path"]) for f, info in provenance["files"].items()}
    try:
        images, labels = spec.layout.read(files, split)
    except (UnsafePickleError, ValueError) as exc:
        raise BadFileError(f"{exc}; delete it, or run `neuroplastic data fetch {name} --force`") from exc
    return LabelledImages(
        images=torch.from_numpy(images),
        labels=torch.from_numpy(labels.astype(np.int64)),
        n_classes=spec.n_classes,
        name=name,
        split=split,
        provenance={**provenance, "split": split},
    )
