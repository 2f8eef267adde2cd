"""The networks of Rosenbaum (2022), one child per PC layer, and a ResNet-style model for the traced path."""

from __future__ import annotations

import torch
from torch import nn


def rosenbaum2022_mnist_cnn() -> nn.Sequential:
    """MNIST CNN, 5 PC layers, 32,695 parameters (input 1×28×28).

    [Conv(1→10, 3) ReLU MaxPool2], [Conv(10→5, 3) ReLU Flatten], [Linear(605→50) ReLU], [Linear(50→30) ReLU],
    [Linear(30→10)].
    """
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(1, 10, 3), nn.ReLU(), nn.MaxPool2d(2)),
        nn.Sequential(nn.Conv2d(10, 5, 3), nn.ReLU(), nn.Flatten()),
        nn.Sequential(nn.Linear(605, 50), nn.ReLU()),
        nn.Sequential(nn.Linear(50, 30), nn.ReLU()),
        nn.Linear(30, 10),
    )


def rosenbaum2022_cifar_cnn() -> nn.Sequential:
    """CIFAR-10 CNN, 6 PC layers, 4,633,738 parameters (input 3×32×32; 3×3 convolutions, padding 1).

    [Conv(3→64) ReLU], [Conv(64→128) ReLU MaxPool], [Conv(128→256) ReLU MaxPool Flatten], [Linear(16384→256) ReLU],
    [Linear(256→256) ReLU], [Linear(256→10)].
    """
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.ReLU()),
        nn.Sequential(nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
        nn.Sequential(nn.Conv2d(128, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten()),
        nn.Sequential(nn.Linear(16384, 256), nn.ReLU()),
        nn.Sequential(nn.Linear(256, 256), nn.ReLU()),
        nn.Linear(256, 10),
    )


def pc_mlp(sizes: tuple[int, ...] = (784, 256, 256, 10)) -> nn.Sequential:
    """ReLU MLP with one PC layer per Linear (the last one linear), e.g. PCX's 784-256-256-10."""
    hidden = [nn.Sequential(nn.Linear(a, b), nn.ReLU()) for a, b in zip(sizes[:-2], sizes[1:-1], strict=True)]
    return nn.Sequential(*hidden, nn.Linear(sizes[-2], sizes[-1]))


class ResidualBlock(nn.Module):
    """relu(x + BN(conv(relu(BN(conv(x)))))): two 3×3 convolutions with a skip connection, as in ResNet."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The block's output for input x."""
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + x)


class SmallResNet(nn.Module):
    """A ResNet-style image classifier: a conv stem, ``blocks`` residual blocks, global pooling and a linear head."""

    def __init__(self, in_channels: int = 1, channels: int = 16, blocks: int = 2, classes: int = 10):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU()
        )
        self.blocks = nn.Sequential(*(ResidualBlock(channels) for _ in range(blocks)))
        self.head = nn.Linear(channels, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores for images x (N × C × H × W)."""
        features = self.blocks(self.stem(x))
        return self.head(features.mean(dim=(2, 3)))
