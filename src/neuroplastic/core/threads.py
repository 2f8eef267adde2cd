"""Torch's intra-op thread count for a block of code, restored afterwards.

Batch-1 learning loops run many tiny operations: intra-op threads only add synchronisation, and on a busy CPU
they make each step 10–100× slower. Such loops run inside ``torch_threads(1)``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` intra-op threads (None: leave torch's setting), then restore the previous."""
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
