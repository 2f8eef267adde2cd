"""Exceptions raised by the data layer."""

from __future__ import annotations


class DataUnavailableError(RuntimeError):
    """No source could provide a dataset; the message lists every source tried and how to supply the files."""


class ChecksumError(ValueError):
    """Downloaded or cached content does not match its pinned checksum."""

    def __init__(self, what: str, algorithm: str, expected: str, actual: str) -> None:
        super().__init__(f"{what}: {algorithm} mismatch (expected {expected}, got {actual})")
        self.what = what
        self.algorithm = algorithm
        self.expected = expected
        self.actual = actual


class SourceFailed(RuntimeError):
    """One source could not provide a dataset (the next source is tried)."""
