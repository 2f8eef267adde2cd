"""Exceptions raised by the data layer."""

from __future__ import annotations


class DataUnavailableError(RuntimeError):
    """A dataset cannot be provided; the message says why and what to do (every source tried, how to supply files)."""


class BadFileError(DataUnavailableError):
    """A data file is refused as untrusted, or is damaged: the message names it, says what is wrong and what to do."""


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
