"""File layouts: how a dataset's raw files become (images, labels) arrays for one split, with validation."""

from __future__ import annotations

import math
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuroplastic.data.idx import read_idx
from neuroplastic.data.safe_pickle import UnsafePickleError, safe_load

RawFiles = Mapping[str, bytes | Path]
"""Raw file name → its content, or the path where it lies."""


def check_split(images: np.ndarray, labels: np.ndarray, *, n_classes: int, count: int | None, what: str) -> None:
    """Raise `ValueError` unless images and labels agree in length, match ``count`` and hold valid labels."""
    if len(images) != len(labels):
        raise ValueError(f"{what}: {len(images)} images but {len(labels)} labels")
    if count is not None and len(labels) != count:
        raise ValueError(f"{what}: expected {count} samples, found {len(labels)}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        found = f"{labels.min()}..{labels.max()}"
        raise ValueError(f"{what}: labels must lie in 0..{n_classes - 1}, found {found}")


@dataclass(frozen=True)
class IdxLayout:
    """One IDX images file and one IDX labels file per split (MNIST, Fashion-MNIST, EMNIST)."""

    splits: Mapping[str, tuple[str, str]]
    image_shape: tuple[int, int] = (28, 28)
    transposed: bool = False
    """EMNIST stores each image transposed; it is flipped back to upright on read."""

    @property
    def files(self) -> tuple[str, ...]:
        """All raw file names, in split order."""
        return tuple(name for pair in self.splits.values() for name in pair)

    def max_sizes(self, counts: Mapping[str, int]) -> dict[str, int]:
        """The size in bytes of each raw file holding ``counts[split]`` samples (IDX sizes are exact)."""
        sizes = {}
        for split, (images, labels) in self.splits.items():
            n = counts[split]
            sizes[images] = 4 + 4 * (1 + len(self.image_shape)) + n * math.prod(self.image_shape)
            sizes[labels] = 4 + 4 + n
        return sizes

    def read(self, files: RawFiles, split: str) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(images (N, H, W) uint8, labels (N,) uint8)`` for ``split``."""
        images_file, labels_file = self.splits[split]
        images, labels = read_idx(files[images_file]), read_idx(files[labels_file])
        if images.shape[1:] != self.image_shape:
            shape = images.shape[1:]
            raise ValueError(f"{images_file}: expected images of shape {self.image_shape}, got {shape}")
        if labels.ndim != 1:
            raise ValueError(f"{labels_file}: expected a 1-D labels file, got shape {labels.shape}")
        if self.transposed:
            images = np.ascontiguousarray(images.transpose(0, 2, 1))
        return images, labels


_CIFAR_BATCH = "a CIFAR-10 python batch (a pickled dict with 'data' and 'labels', as in cifar-10-python.tar.gz)"


@dataclass(frozen=True)
class CifarLayout:
    """CIFAR-10 python batches: pickled dicts with ``data`` (N, 3072) uint8 and ``labels`` (N,) per file."""

    splits: Mapping[str, tuple[str, ...]]
    image_shape: tuple[int, int, int] = (3, 32, 32)

    @property
    def files(self) -> tuple[str, ...]:
        """All raw file names, in split order."""
        return tuple(name for names in self.splits.values() for name in names)

    def max_sizes(self, counts: Mapping[str, int]) -> dict[str, int]:
        """An upper bound on the size in bytes of each batch file, for ``counts[split]`` samples per split.

        Python 3 pickles at protocols 1 and 2 store pixels as UTF-8 text, up to 2 bytes each; 256 bytes per
        sample and 64 KiB per file cover labels, file names and the pickle's own structure.
        """
        pixels = math.prod(self.image_shape)
        sizes = {}
        for split, names in self.splits.items():
            per_file = -(-counts[split] // len(names))
            sizes.update({name: per_file * (2 * pixels + 256) + (1 << 16) for name in names})
        return sizes

    def read(self, files: RawFiles, split: str) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(images (N, 3, 32, 32) uint8, labels (N,) int64)`` for ``split``.

        Raises `UnsafePickleError` (naming the file) for a batch refused as untrusted, `ValueError` for one that
        is damaged or of another format.
        """
        images, labels = [], []
        for name in self.splits[split]:
            content = files[name]
            x, y = self._read_batch(content, str(content) if isinstance(content, Path) else name)
            images.append(x)
            labels.append(y)
        return np.concatenate(images), np.concatenate(labels)

    def _read_batch(self, content: bytes | Path, where: str) -> tuple[np.ndarray, np.ndarray]:
        data = content if isinstance(content, bytes) else content.read_bytes()
        try:
            batch = safe_load(data, encoding="latin1")
        except UnsafePickleError as exc:
            refused = f"{where}: refused as untrusted, not loaded: {exc}; expected {_CIFAR_BATCH}"
            raise UnsafePickleError(refused) from exc
        except pickle.UnpicklingError as exc:
            raise ValueError(f"{where}: {exc}; expected {_CIFAR_BATCH}") from exc
        if isinstance(batch, dict):  # a batch re-pickled after loading with encoding="bytes" has bytes keys
            batch = {key.decode("latin1") if isinstance(key, bytes) else key: value for key, value in batch.items()}
        if not isinstance(batch, dict) or "data" not in batch or "labels" not in batch:
            raise ValueError(f"{where}: not {_CIFAR_BATCH}")
        x, pixels = np.asarray(batch["data"]), math.prod(self.image_shape)
        if x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != pixels:
            raise ValueError(f"{where}: expected uint8 data of shape (N, {pixels}), got {x.dtype} {x.shape}")
        try:
            y = np.asarray(batch["labels"], dtype=np.int64)
        except (OverflowError, TypeError, ValueError):
            y = None
        if y is None or y.ndim != 1:
            raise ValueError(f"{where}: expected 'labels' to be a list of class numbers")
        return x.reshape(-1, *self.image_shape), y
