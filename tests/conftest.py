import pytest
import torch


@pytest.fixture(autouse=True)
def torch_defaults():
    """Every test starts from torch's defaults (float32, fresh seed) and cannot leak its own settings."""
    dtype, threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float32)
    torch.manual_seed(0)
    yield
    torch.set_default_dtype(dtype)
    torch.set_num_threads(threads)
