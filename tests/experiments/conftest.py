import pytest

from neuroplastic.data import DataUnavailableError
from neuroplastic.experiments import datasets


@pytest.fixture
def offline(monkeypatch):
    """Make every data set unreachable, so experiments use their synthetic fallback (fast and network-free)."""

    def unavailable(name, split="train", **kwargs):
        raise DataUnavailableError(f"{name} unavailable in this test")

    monkeypatch.setattr(datasets, "load", unavailable)
