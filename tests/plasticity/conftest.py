import pytest
import torch


@pytest.fixture(autouse=True)
def float64_default():
    """These tests compute in float64 (tests/conftest.py restores the default and seeds torch)."""
    torch.set_default_dtype(torch.float64)


@pytest.fixture
def covariance():
    """C = Q diag(5, 3, 2, 1, 0.5, 0.25) Qᵀ, its eigenvectors (columns, descending) and a symmetric square root."""
    g = torch.Generator().manual_seed(11)
    q, _ = torch.linalg.qr(torch.randn(6, 6, generator=g, dtype=torch.float64))
    lam = torch.tensor([5.0, 3.0, 2.0, 1.0, 0.5, 0.25], dtype=torch.float64)
    return q @ torch.diag(lam) @ q.T, q, q @ torch.diag(lam.sqrt()) @ q.T
