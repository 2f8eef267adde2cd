import gzip

import numpy as np
import pytest

from neuroplastic.data import read_idx, write_idx
from neuroplastic.data.idx import idx_bytes


def test_header_layout_matches_the_format():
    data = idx_bytes(np.arange(6, dtype=np.uint8).reshape(2, 3))
    assert data[:4] == b"\x00\x00\x08\x02"
    assert data[4:12] == b"\x00\x00\x00\x02\x00\x00\x00\x03"
    assert data[12:] == bytes(range(6))


@pytest.mark.parametrize("compress", [False, True])
def test_round_trip_through_a_file(tmp_path, compress):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 4, 3), dtype=np.uint8)
    path = tmp_path / ("x.idx.gz" if compress else "x.idx")
    write_idx(path, images, compress=compress)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == compress
    back = read_idx(path)
    assert back.dtype == np.uint8 and back.flags.writeable
    np.testing.assert_array_equal(back, images)


def test_reads_gzip_bytes_and_labels():
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    np.testing.assert_array_equal(read_idx(gzip.compress(idx_bytes(labels))), labels)


def test_bad_magic_is_refused():
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(b"\x01\x02\x08\x01\x00\x00\x00\x01\x07")


def test_unsupported_dtype_is_refused():
    with pytest.raises(ValueError, match="dtype code 0x0d"):
        read_idx(b"\x00\x00\x0d\x01\x00\x00\x00\x01" + b"\x00" * 4)


def test_truncated_file_is_reported():
    data = idx_bytes(np.zeros((3, 2, 2), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"shape \(3, 2, 2\).*truncated"):
        read_idx(data[:-1])
    with pytest.raises(ValueError, match="truncated IDX header"):
        read_idx(data[:9])


def test_trailing_bytes_are_reported():
    with pytest.raises(ValueError, match="has 10 bytes"):
        read_idx(idx_bytes(np.zeros(1, dtype=np.uint8)) + b"\x00")


def test_writer_refuses_non_uint8():
    with pytest.raises(ValueError, match="uint8"):
        idx_bytes(np.zeros(3, dtype=np.float32))
