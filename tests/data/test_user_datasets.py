import dataclasses
import gzip
import io
import json
import os
import pickle

import numpy as np
import pytest
import torch

from neuroplastic.data import DataUnavailableError, load
from neuroplastic.data import sources as manifest
from neuroplastic.data.checksums import hash_bytes
from neuroplastic.data.errors import BadFileError
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


class _Touch:
    """A pickle that would create ``marker`` through os.system when loaded."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("protocol", range(6))
def test_cifar_refuses_a_malicious_user_batch_and_tries_no_other_source(
    cache, offline, monkeypatch, tmp_path, py2_pickle, protocol
):
    small_counts(monkeypatch, "cifar10", train=15, test=3)
    write_cifar(tmp_path, py2_pickle)
    marker = tmp_path / "pwned"
    (tmp_path / "test_batch").write_bytes(pickle.dumps(_Touch(marker), protocol=protocol))
    with pytest.raises(BadFileError) as info:
        load("cifar10", root=tmp_path)
    message = str(info.value)
    assert message.startswith(f"user:{tmp_path}: test_batch: refused as untrusted, not loaded: ")
    assert (
        "posix.system" in message and "refused for safety" in message and "expected a CIFAR-10 python batch" in message
    )
    assert message.endswith("nothing was cached: supply the genuine file") and "\n" not in message
    assert "sources tried" not in message  # the official archive was not fetched in its place
    assert not marker.exists() and not (cache / "cifar10").exists()


def test_cifar_refuses_a_malicious_batch_in_the_cache(cache, offline, monkeypatch, tmp_path, py2_pickle):
    small_counts(monkeypatch, "cifar10", train=15, test=3)
    write_cifar(tmp_path, py2_pickle)
    load("cifar10", "test", root=tmp_path)
    cached_batch = cache / "cifar10" / "raw" / "test_batch"
    marker = tmp_path / "pwned"
    hostile = pickle.dumps(_Touch(marker), protocol=2)
    cached_batch.write_bytes(hostile)  # and the record made to vouch for it, so that the hash check passes
    record = json.loads((cache / "cifar10" / "source.json").read_text())
    record["files"]["test_batch"]["sha256"] = hash_bytes(hostile)
    (cache / "cifar10" / "source.json").write_text(json.dumps(record))
    with pytest.raises(BadFileError) as info:
        load("cifar10", "test")
    message = str(info.value)
    assert message.startswith(f"{cached_batch}: refused as untrusted, not loaded: the pickle asks for posix.system")
    assert message.endswith("delete it, or run `neuroplastic data fetch cifar10 --force`")
    assert not marker.exists()


def cifar_batch(key, per_batch=3, seed=0):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, per_batch)]
    return {key("data"): data, key("labels"): labels, key("filenames"): [b"x.png"] * per_batch}


@pytest.mark.parametrize("protocol", range(6))
@pytest.mark.parametrize("key", [str, str.encode], ids=["str-keys", "bytes-keys"])
def test_cifar_batches_repickled_by_python3_load_at_every_protocol(
    cache, offline, monkeypatch, tmp_path, protocol, key
):
    small_counts(monkeypatch, "cifar10", train=15, test=3)
    batches = {name: cifar_batch(key, seed=i) for i, name in enumerate(CIFAR_FILES)}
    for name, batch in batches.items():
        (tmp_path / name).write_bytes(pickle.dumps(batch, protocol=protocol))
    test = load("cifar10", "test", root=tmp_path)
    expected = batches["test_batch"]
    np.testing.assert_array_equal(test.images.numpy().reshape(3, 3072), expected[key("data")])
    assert test.labels.tolist() == expected[key("labels")]


def test_cifar_names_a_numpy_file_given_for_a_batch(cache, offline, monkeypatch, tmp_path, py2_pickle):
    small_counts(monkeypatch, "cifar10", train=15, test=3)
    write_cifar(tmp_path, py2_pickle)
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"data": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "test_batch").write_bytes(buffer.getvalue())
    with pytest.raises(DataUnavailableError) as info:
        load("cifar10", root=tmp_path)
    assert (
        "test_batch: not a pickle: it is a NumPy .npy file holding an object array (pickled Python objects); "
        "expected a CIFAR-10 python batch" in str(info.value)
    )


def test_cifar_missing_files_error_lists_names_and_url(cache, offline, monkeypatch, tmp_path):
    monkeypatch.delenv("NEUROPLASTIC_CIFAR10_DIR", raising=False)
    with pytest.raises(DataUnavailableError) as info:
        load("cifar10")
    message = str(info.value)
    assert all(name in message for name in CIFAR_FILES)
    assert "NEUROPLASTIC_CIFAR10_DIR" in message and "cifar-10-python.tar.gz" in message


def test_a_run_on_a_rejected_user_cifar_stops_with_one_line_and_no_synthetic_stand_in(
    cache, offline, monkeypatch, tmp_path, py2_pickle, capsys
):
    from neuroplastic.cli import main

    small_counts(monkeypatch, "cifar10", train=15, test=3)
    supplied = tmp_path / "cifar"
    supplied.mkdir()
    write_cifar(supplied, py2_pickle)
    marker = tmp_path / "pwned"
    (supplied / "data_batch_1").write_bytes(pickle.dumps(_Touch(marker), protocol=2))
    monkeypatch.setenv("NEUROPLASTIC_CIFAR10_DIR", str(supplied))
    out = tmp_path / "run"
    assert main(["run", "pc-gradients", "--quick", "--set", "networks=cifar_cnn", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "data_batch_1: refused as untrusted, not loaded" in err and not marker.exists()
    assert not (out / "results.json").exists() and "synthetic" not in (out / "environment.json").read_text()
