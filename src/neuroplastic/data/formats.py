"""Naming a file's format from its first bytes, so that a file of the wrong kind is refused with a clear message."""

from __future__ import annotations

import io

import numpy as np

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"
_PREFIXES = {
    b"\x1f\x8b": "a gzip-compressed file",
    b"\xfd7zXZ\x00": "an xz-compressed file",
    b"BZh": "a bzip2-compressed file",
    b"!<arch>\n": "an ar archive (such as a .deb)",
    b"\x00\x00\x08": "an IDX file (the MNIST format)",
}


def _npy(data: bytes) -> str:
    try:
        header = io.BytesIO(data)
        version = np.lib.format.read_magic(header)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(header)
    except (ValueError, SyntaxError, TypeError):
        return "a NumPy .npy file (with a damaged header)"
    if dtype.hasobject:
        return "a NumPy .npy file holding an object array (pickled Python objects)"
    return f"a NumPy .npy file holding a {dtype} array of shape {shape}"


def _zip(data: bytes) -> str:
    # The first local file header holds the first member's name from byte 30, its length at bytes 26-27.
    first = data[30 : 30 + int.from_bytes(data[26:28], "little")]
    return "a NumPy .npz archive (zip)" if first.endswith(b".npy") else "a zip archive"


def describe(data: bytes) -> str | None:
    """Say what ``data`` is when it starts like a known format (``"a NumPy .npy file ..."``), else None."""
    if data.startswith(_NPY_MAGIC):
        return _npy(data)
    if data.startswith(_ZIP_MAGIC):
        return _zip(data)
    if data[257:262] == b"ustar":
        return "a tar archive"
    return next((name for magic, name in _PREFIXES.items() if data.startswith(magic)), None)
