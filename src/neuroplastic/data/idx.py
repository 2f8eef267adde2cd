"""Reading and writing IDX files (the MNIST file format), plain or gzip-compressed."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

from neuroplastic.data.formats import describe

_UINT8 = 0x08
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(source: bytes | str | os.PathLike[str]) -> np.ndarray:
    """Read a uint8 IDX file from bytes or a path, gzip-compressed or not, into a writable numpy array.

    The header is checked against the data length, so truncated or padded files raise `ValueError`.
    """
    what = "IDX bytes" if isinstance(source, bytes | bytearray) else str(source)
    data = bytes(source) if isinstance(source, bytes | bytearray) else Path(source).read_bytes()
    if data[:2] == _GZIP_MAGIC:
        data = gzip.decompress(data)
    if len(data) < 4 or data[:2] != b"\x00\x00":
        kind = describe(data) or "the magic number must start with two zero bytes"
        raise ValueError(f"{what}: not an IDX file ({kind})")
    code, ndim = data[2], data[3]
    if code != _UINT8:
        raise ValueError(f"{what}: unsupported IDX dtype code 0x{code:02x} (only 0x08, uint8, is supported)")
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise ValueError(f"{what}: truncated IDX header ({len(data)} bytes for {ndim} dimensions)")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = header + int(np.prod(shape, dtype=np.int64))
    if len(data) != expected:
        raise ValueError(
            f"{what}: IDX header says shape {shape} ({expected} bytes) but the file has {len(data)} bytes"
            + (" (truncated)" if len(data) < expected else "")
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX bytes, byte-identical to the official MNIST files."""
    if array.dtype != np.uint8:
        raise ValueError(f"IDX writer supports uint8 arrays only, got {array.dtype}")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"IDX needs 1 to 255 dimensions, got {array.ndim}")
    header = bytes([0, 0, _UINT8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array).tobytes()


def write_idx(path: str | os.PathLike[str], array: np.ndarray, *, compress: bool = False) -> None:
    """Write a uint8 array to ``path`` as an IDX file (gzip-compressed when ``compress`` is true)."""
    data = idx_bytes(array)
    Path(path).write_bytes(gzip.compress(data, mtime=0) if compress else data)
