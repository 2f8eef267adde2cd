"""Pinned checksums (SHA-256 or MD5) and their verification."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from neuroplastic.data.errors import ChecksumError

_CHUNK = 1 << 20


def hash_bytes(data: bytes, algorithm: str = "sha256") -> str:
    """Return the hex digest of ``data``."""
    return hashlib.new(algorithm, data).hexdigest()


def hash_file(path: Path, algorithm: str = "sha256") -> str:
    """Return the hex digest of the file at ``path``, read in chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class Checksum:
    """An expected digest: ``algorithm`` is ``"sha256"`` or ``"md5"``."""

    algorithm: str
    hexdigest: str

    def __post_init__(self) -> None:
        lengths = {"sha256": 64, "md5": 32}
        if lengths.get(self.algorithm) != len(self.hexdigest):
            raise ValueError(f"bad checksum {self.algorithm}:{self.hexdigest}")

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hexdigest}"

    def check_bytes(self, data: bytes, what: str) -> None:
        """Raise `ChecksumError` unless ``data`` has this digest."""
        actual = hash_bytes(data, self.algorithm)
        if actual != self.hexdigest:
            raise ChecksumError(what, self.algorithm, self.hexdigest, actual)

    def check_file(self, path: Path) -> None:
        """Raise `ChecksumError` unless the file at ``path`` has this digest."""
        actual = hash_file(path, self.algorithm)
        if actual != self.hexdigest:
            raise ChecksumError(str(path), self.algorithm, self.hexdigest, actual)

    def matches_file(self, path: Path) -> bool:
        """Return whether the file at ``path`` has this digest."""
        return hash_file(path, self.algorithm) == self.hexdigest


def sha256(hexdigest: str) -> Checksum:
    """Shorthand for a SHA-256 `Checksum`."""
    return Checksum("sha256", hexdigest)


def md5(hexdigest: str) -> Checksum:
    """Shorthand for an MD5 `Checksum`."""
    return Checksum("md5", hexdigest)
