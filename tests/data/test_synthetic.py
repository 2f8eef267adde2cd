import pytest
import torch

from neuroplastic.data import gaussian_clusters, synthetic_images, teacher_regression


def test_gaussian_clusters_are_seeded_and_balanced():
    x, y = gaussian_clusters(300, 5, 3, separation=4.0, seed=1)
    x2, y2 = gaussian_clusters(300, 5, 3, separation=4.0, seed=1)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert not torch.equal(x, gaussian_clusters(300, 5, 3, separation=4.0, seed=2)[0])
    assert x.shape == (300, 5) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert torch.bincount(y).tolist() == [100, 100, 100]
    means = torch.stack([x[y == c].mean(0) for c in range(3)])
    assert torch.allclose(means.norm(dim=1), torch.full((3,), 4.0), atol=0.6)


def test_teacher_regression_is_seeded():
    x, y = teacher_regression([4, 8, 2], 50, activation="relu", noise=0.1, seed=3)
    x2, y2 = teacher_regression([4, 8, 2], 50, activation="relu", noise=0.1, seed=3)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert x.shape == (50, 4) and y.shape == (50, 2)
    x0, y0 = teacher_regression([4, 8, 2], 50, activation="relu", noise=0.0, seed=3)
    assert torch.equal(x0, x) and 0 < (y - y0).std() < 0.2
    with pytest.raises(ValueError, match="unknown activation"):
        teacher_regression([4, 2], 5, activation="swish")


def test_synthetic_images_are_seeded_uint8_and_split():
    train = synthetic_images(200, seed=5)
    assert torch.equal(train.images, synthetic_images(200, seed=5).images)
    assert torch.equal(train.labels, synthetic_images(200, seed=5).labels)
    test = synthetic_images(200, seed=5, split="test")
    assert not torch.equal(train.images, test.images)
    assert train.images.dtype == torch.uint8 and train.images.shape == (200, 28, 28)
    assert torch.bincount(train.labels).tolist() == [20] * 10
    assert train.name == "synthetic" and train.provenance["source"] == "synthetic"
    assert synthetic_images(8, 4, (3, 8, 8), seed=0).images.shape == (8, 3, 8, 8)


def test_synthetic_images_are_learnable():
    train, test = synthetic_images(2000, seed=0), synthetic_images(500, seed=0, split="test")
    x, y = train.batch(slice(None), flatten=True)
    xt, yt = test.batch(slice(None), flatten=True)
    means = torch.stack([x[y == c].mean(0) for c in range(10)])
    accuracy = (torch.cdist(xt, means).argmin(1) == yt).float().mean().item()
    assert 0.6 < accuracy < 0.995  # far above chance (0.1), yet noisy: not every sample is classified right
