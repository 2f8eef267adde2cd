import pytest
import torch

from neuroplastic.data import LabelledImages


def make(n=6):
    images = torch.arange(n * 4, dtype=torch.uint8).reshape(n, 2, 2) * 10
    return LabelledImages(images, torch.arange(n) % 3, 3, "toy", "train", {"source": "test"})


def test_batch_converts_only_the_batch():
    data = make()
    x, y = data.batch(torch.tensor([1, 3]))
    assert x.dtype == torch.float32 and x.shape == (2, 2, 2) and y.tolist() == [1, 0]
    assert torch.allclose(x, data.images[[1, 3]].float() / 255)
    assert 0 <= x.min() and x.max() <= 1
    assert data.images.dtype == torch.uint8
    xf, _ = data.batch(slice(0, 4), flatten=True, dtype=torch.float64)
    assert xf.shape == (4, 4) and xf.dtype == torch.float64


def test_subset_and_len():
    data = make()
    sub = data.subset(torch.tensor([5, 0]))
    assert len(sub) == 2 and sub.labels.tolist() == [2, 0] and sub.name == "toy" and sub.provenance == data.provenance


def test_n_features_is_the_width_of_a_flattened_batch():
    data = make()
    x, _ = data.batch(slice(0, 2), flatten=True)
    assert data.n_features == x.shape[1] == 4
    colour = LabelledImages(
        torch.zeros(0, 3, 5, 7, dtype=torch.uint8), torch.zeros(0, dtype=torch.int64), 2, "c", "test"
    )
    assert colour.n_features == 3 * 5 * 7  # known even with no samples


def test_validation():
    with pytest.raises(ValueError, match="uint8"):
        LabelledImages(torch.zeros(2, 2, 2), torch.zeros(2, dtype=torch.int64), 2, "x", "train")
    with pytest.raises(ValueError, match="int64 of shape"):
        LabelledImages(torch.zeros(2, 2, 2, dtype=torch.uint8), torch.zeros(3, dtype=torch.int64), 2, "x", "train")
