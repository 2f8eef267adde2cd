"""Seeded synthetic datasets: Gaussian clusters, a random teacher network, and MNIST-like class images."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from neuroplastic.data.datasets import LabelledImages

_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "linear": lambda x: x,
}
_SPLIT_STREAMS = {"train": 1, "test": 2}
_MAX_SHIFT = 2


def _generator(seed: int, stream: int = 0) -> torch.Generator:
    """A generator for one independent stream of a seed (streams 0..15)."""
    return torch.Generator().manual_seed(16 * seed + stream)


def _blobs(k: int, channels: int, height: int, width: int, gen: torch.Generator) -> torch.Tensor:
    """Return ``k`` smooth random images in [0, 1]: upsampled coarse noise, min-max scaled per image."""
    coarse = torch.rand(k, channels, max(height // 4, 1), max(width // 4, 1), generator=gen)
    fine = F.interpolate(coarse, size=(height, width), mode="bilinear", align_corners=False)
    fine = fine - fine.amin(dim=(1, 2, 3), keepdim=True)
    return fine / fine.amax(dim=(1, 2, 3), keepdim=True).clamp(min=1e-6)


def _balanced_labels(n: int, n_classes: int, gen: torch.Generator) -> torch.Tensor:
    return (torch.arange(n) % n_classes)[torch.randperm(n, generator=gen)]


def gaussian_clusters(
    n: int, dim: int, n_classes: int, *, separation: float = 3.0, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(x (n, dim) float32, y (n,) int64)``: unit-variance clusters around class means.

    Class means are random directions scaled to norm ``separation``; classes are balanced and shuffled.
    """
    gen = _generator(seed)
    means = torch.randn(n_classes, dim, generator=gen)
    means = separation * means / means.norm(dim=1, keepdim=True)
    y = _balanced_labels(n, n_classes, gen)
    x = means[y] + torch.randn(n, dim, generator=gen)
    return x, y


def teacher_regression(
    sizes: Sequence[int], n: int, *, activation: str = "tanh", noise: float = 0.0, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(x (n, sizes[0]), y (n, sizes[-1]))`` from a random teacher MLP with layer widths ``sizes``.

    Weights are N(0, 1/fan_in), biases N(0, 0.1²); ``activation`` (tanh, relu, sigmoid, linear) acts on the
    hidden layers, the output is linear, and Gaussian noise of standard deviation ``noise`` is added to y.
    """
    if len(sizes) < 2:
        raise ValueError(f"sizes needs an input and an output width, got {list(sizes)}")
    if activation not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose from {', '.join(_ACTIVATIONS)}")
    act = _ACTIVATIONS[activation]
    gen = _generator(seed)
    layers = [
        (torch.randn(d_out, d_in, generator=gen) / d_in**0.5, 0.1 * torch.randn(d_out, generator=gen))
        for d_in, d_out in zip(sizes[:-1], sizes[1:], strict=True)
    ]
    x = torch.randn(n, sizes[0], generator=gen)
    h = x
    for i, (w, b) in enumerate(layers):
        h = h @ w.T + b
        if i < len(layers) - 1:
            h = act(h)
    return x, h + noise * torch.randn(h.shape, generator=gen)


def synthetic_images(
    n: int, n_classes: int = 10, shape: tuple[int, ...] = (28, 28), *, seed: int = 0, split: str = "train"
) -> LabelledImages:
    """Return ``n`` uint8 images of ``shape`` ((H, W) or (C, H, W)): noisy, shifted copies of class prototypes.

    Prototypes are smooth random blobs shared by both splits of a seed; the samples of ``"train"`` and
    ``"test"`` are drawn independently. A small MLP learns it from a few hundred samples; noise and shifts
    keep it from being trivial (nearest class mean gets about 97% with 2,000 training images).
    """
    if split not in _SPLIT_STREAMS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    channels, (height, width) = (shape[0], shape[1:]) if len(shape) == 3 else (1, shape)
    proto_gen = _generator(seed)
    shared, specific = (_blobs(k, channels, height, width, proto_gen) for k in (1, n_classes))
    prototypes = (0.4 * shared + 0.6 * specific - 0.45).clamp(min=0) / 0.55  # dark background, like digits

    offsets = range(-_MAX_SHIFT, _MAX_SHIFT + 1)
    shifted = torch.stack([torch.roll(prototypes, (dy, dx), dims=(2, 3)) for dy in offsets for dx in offsets])

    gen = _generator(seed, _SPLIT_STREAMS[split])
    labels = _balanced_labels(n, n_classes, gen)
    contrast = 0.6 + 0.4 * torch.rand(n, 1, 1, 1, generator=gen)
    shift = torch.randint(len(shifted), (n,), generator=gen)
    images = contrast * shifted[shift, labels] + 0.3 * torch.randn(n, channels, height, width, generator=gen)
    pixels = (images.clamp(0, 1) * 255).round().to(torch.uint8)
    return LabelledImages(
        images=pixels if len(shape) == 3 else pixels[:, 0],
        labels=labels,
        n_classes=n_classes,
        name="synthetic",
        split=split,
        provenance={"dataset": "synthetic", "source": "synthetic", "seed": seed, "shape": list(shape)},
    )
