"""The torch thread-count context.

Oracle: ``torch.get_num_threads()`` inside the context and after it exits, normally or by an exception.
"""

import pytest
import torch

from neuroplastic.core.threads import torch_threads


def test_threads_are_set_inside_and_restored_after_an_exception():
    torch.set_num_threads(2)
    with pytest.raises(RuntimeError, match="boom"):
        with torch_threads(1):
            assert torch.get_num_threads() == 1
            raise RuntimeError("boom")
    assert torch.get_num_threads() == 2
    with torch_threads(None):
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == 2
