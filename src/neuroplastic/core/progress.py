"""Progress bars that stay quiet in CI: off with ``set_quiet(True)`` or when stderr is not a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")

_quiet = False


def set_quiet(quiet: bool) -> None:
    """Turn all progress bars off (``True``) or back to automatic (``False``)."""
    global _quiet
    _quiet = quiet


def progress_enabled() -> bool:
    """Whether progress bars are shown: not quiet and stderr is an interactive terminal."""
    return not _quiet and sys.stderr.isatty()


def progress(iterable: Iterable[T], *, total: int | None = None, desc: str = "", initial: int = 0) -> Iterator[T]:
    """Wrap ``iterable`` in a progress bar when bars are enabled, else return it unchanged."""
    if not progress_enabled():
        return iter(iterable)
    return iter(tqdm(iterable, total=total, desc=desc, initial=initial, leave=False, dynamic_ncols=True))
