import dataclasses
import gzip

import numpy as np
import pytest
import torch

from neuroplastic.data import DataUnavailableError, load
from neuroplastic.data import sources as manifest
from neuroplastic.data.idx import idx_bytes

EMNIST_FILES = [
    f"emnist-balanced-{split}-{kind}-ubyte.gz" for split in ("train", "test") for kind in ("images-idx3", "labels-idx1")
]
CIFAR_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def small_counts(monkeypatch, name, **counts):
    spec = manifest.DATASETS[name]
    monkeypatch.setitem(manifest.DATASETS, name, dataclasses.replace(spec, counts=counts))


def write_emnist(folder, n_train=6, n_test=4):
    """Write EMNIST-format files whose images are stored transposed, as in the real files; return upright."""
    rng = np.random.default_rng(1)
    upright = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 47).astype(np.uint8)
        stored = images.transpose(0, 2, 1)
        (folder / f"emnist-balanced-{split}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(stored)))
        (folder / f"emnist-balanced-{split}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))
        upright[split] = (images, labels)
    return upright


def test_emnist_loader_transposes_images_upright(cache, offline, monkeypatch, tmp_path):
    small_counts(monkeypatch, "emnist_balanced", train=6, test=4)
    upright = write_emnist(tmp_path)
    data = load("emnist_balanced", "train", root=tmp_path)
    assert data.images.shape == (6, 28, 28) and data.n_classes == 47
    np.testing.assert_array_equal(data.images.numpy(), upright["train"][0])
    np.testing.assert_array_equal(data.labels.numpy(), upright["train"][1])
    assert data.provenance["source"] == f"user:{tmp_path}"
    assert set(data.provenance["details"]["user_files_sha256"]) == {str(tmp_path / f) for f in EMNIST_FILES}
    test = load("emnist_balanced", "test")  # now served from the cache, no root needed
    assert test.provenance["source"] == "cache" and len(test) == 4


def test_emnist_from_env_var_in_gzip_subdir(cache, offline, monkeypatch, tmp_path):
    small_counts(monkeypatch, "emnist_balanced", train=6, test=4)
    (tmp_path / "gzip").mkdir()
    write_emnist(tmp_path / "gzip")
    monkeypatch.setenv("NEUROPLASTIC_EMNIST_DIR", str(tmp_path))
    assert load("emnist_balanced", "test").provenance["source"] == f"user:{tmp_path / 'gzip'}"


def test_emnist_real_counts_are_enforced_by_default(cache, offline, tmp_path):
    write_emnist(tmp_path)
    with pytest.raises(DataUnavailableError, match="expected 112800 samples, found 6"):
        load("emnist_balanced", root=tmp_path)


def test_emnist_missing_files_error_lists_names_and_url(cache, offline, monkeypatch, tmp_path):
    monkeypatch.delenv("NEUROPLASTIC_EMNIST_DIR", raising=False)
    with pytest.raises(DataUnavailableError) as info:
        load("emnist_balanced", root=tmp_path)
    message = str(info.value)
    for name in EMNIST_FILES:
        assert name in message
    assert "NEUROPLASTIC_EMNIST_DIR" in message and "root=DIR" in message
    assert "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip" in message


def write_cifar(folder, py2_pickle, per_batch=3):
    rng = np.random.default_rng(2)
    written = {}
    for name in CIFAR_FILES:
        data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, per_batch)]
        batch = {b"batch_label": name.encode(), b"labels": labels, b"data": data, b"filenames": [b"x.png"] * per_batch}
        (folder / name).write_bytes(py2_pickle(batch))
        written[name] = (data, labels)
    return written


def test_cifar_loader_reads_python_batches(cache, offline, monkeypatch, tmp_path, py2_pickle):
    small_counts(monkeypatch, "cifar10", train=15, test=3)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    written = write_cifar(folder, py2_pickle)
    train = load("cifar10", "train", root=tmp_path)
    assert train.images.shape == (15, 3, 32, 32) and train.images.dtype == torch.uint8
    expected = np.concatenate([written[f"data_batch_{i}"][0] for i in range(1, 6)]).reshape(15, 3, 32, 32)
    np.testing.assert_array_equal(train.images.numpy(), expected)
    assert train.labels.tolist() == sum((written[f"data_batch_{i}"][1] for i in range(1, 6)), [])
    test = load("cifar10", "test")
    assert test.labels.tolist() == written["test_batch"][1] and test.provenance["origin"] == f"user:{folder}"


def test_cifar_real_counts_are_enforced_by_default(cache, offline, tmp_path, py2_pickle):
    write_cifar(tmp_path, py2_pickle)
    with pytest.raises(DataUnavailableError, match="expected 50000 samples, found 15"):
        load("cifar10", root=tmp_path)


def test_cifar_refuses_a_malicious_batch(cache, offline, monkeypatch, tmp_path, py2_pickle):
    small_counts(monkeypatch, "cifar10", train=15, test=3)
    write_cifar(tmp_path, py2_pickle)
    (tmp_path / "test_batch").write_bytes(b"cos\nsystem\n(S'echo hi'\ntR.")
    with pytest.raises(DataUnavailableError, match=r"UnsafePickleError: refusing to unpickle global os\.system"):
        load("cifar10", root=tmp_path)


def test_cifar_missing_files_error_lists_names_and_url(cache, offline, monkeypatch, tmp_path):
    monkeypatch.delenv("NEUROPLASTIC_CIFAR10_DIR", raising=False)
    with pytest.raises(DataUnavailableError) as info:
        load("cifar10")
    message = str(info.value)
    assert all(name in message for name in CIFAR_FILES)
    assert "NEUROPLASTIC_CIFAR10_DIR" in message and "cifar-10-python.tar.gz" in message
