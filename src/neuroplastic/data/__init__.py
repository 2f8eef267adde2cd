"""Datasets: verified MNIST-family and CIFAR-10 files, loaders, synthetic data and few-shot episodes.

Files are cached under `data_dir()` (``$NEUROPLASTIC_DATA`` or the user cache directory) and checked
against pinned SHA-256 hashes; see `neuroplastic.data.sources` for the manifest.
"""

from neuroplastic.data.cache import data_dir
from neuroplastic.data.datasets import LabelledImages, load
from neuroplastic.data.episodes import Episode, EpisodeSampler, split_classes
from neuroplastic.data.errors import BadFileError, ChecksumError, DataUnavailableError
from neuroplastic.data.fetch import cached, dataset_names, fetch
from neuroplastic.data.idx import read_idx, write_idx
from neuroplastic.data.safe_pickle import UnsafePickleError, safe_load
from neuroplastic.data.synthetic import gaussian_clusters, synthetic_images, teacher_regression

__all__ = [
    "BadFileError",
    "ChecksumError",
    "DataUnavailableError",
    "Episode",
    "EpisodeSampler",
    "LabelledImages",
    "UnsafePickleError",
    "cached",
    "data_dir",
    "dataset_names",
    "fetch",
    "gaussian_clusters",
    "load",
    "read_idx",
    "safe_load",
    "split_classes",
    "synthetic_images",
    "teacher_regression",
    "write_idx",
]
