import pytest

from neuroplastic.data import DataUnavailableError
from neuroplastic.experiments import datasets


@pytest.fixture
def offline(monkeypatch):
    """Make every real data set unreachable: a run that finishes read only the synthetic data its config asked for."""

    def unavailable(name, split="train", **kwargs):
        raise DataUnavailableError(f"{name} unavailable in this test")

    monkeypatch.setattr(datasets, "load", unavailable)
