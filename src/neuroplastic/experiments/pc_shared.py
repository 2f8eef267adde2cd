"""Pieces the predictive-coding experiments share: networks by name, data, PC settings and one training step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from neuroplastic import pc
from neuroplastic.data import LabelledImages
from neuroplastic.pc.models import pc_mlp, rosenbaum2022_cifar_cnn, rosenbaum2022_mnist_cnn

Network = Literal["mnist_cnn", "cifar_cnn", "mlp"]
PAPER = "Rosenbaum (2022), On the relationship between predictive coding and backpropagation, PLoS ONE 17(3)"


def make_network(name: Network, seed: int) -> nn.Sequential:
    """The named network with weights drawn from ``seed`` (the same init for every mode of a comparison)."""
    builders = {"mnist_cnn": rosenbaum2022_mnist_cnn, "cifar_cnn": rosenbaum2022_cifar_cnn, "mlp": pc_mlp}
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return builders[name]()


@dataclass(frozen=True)
class Setting:
    """One way of computing the update: ``backprop`` or a PC mode with its η and n (None: n = L)."""

    mode: Literal["backprop", "strict", "fixed_pred", "exact"]
    eta: float = 1.0
    n: int | None = None

    @property
    def label(self) -> str:
        """E.g. ``strict η=0.1 n=20``."""
        if self.mode in ("backprop", "exact"):
            return self.mode
        return f"{self.mode} η={self.eta:g} n={'L' if self.n is None else self.n}"

    @property
    def loss(self):
        """Strict PC uses MSE on one-hot targets (as in the paper's Fig. 1); the other modes cross-entropy."""
        return mse_onehot if self.mode == "strict" else F.cross_entropy


def mse_onehot(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error against one-hot targets (mean over batch and classes, as the paper's MSELoss)."""
    return F.mse_loss(output, F.one_hot(target, output.shape[1]).to(output.dtype))


def train_step(
    model: nn.Sequential,
    optimizer: torch.optim.Optimizer,
    setting: Setting,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    compare: bool = False,
) -> tuple[float, pc.PCResult | None]:
    """Write the setting's update into ``.grad`` and step; return the batch loss and the PC result (if any)."""
    optimizer.zero_grad(set_to_none=True)
    if setting.mode == "backprop":
        loss = setting.loss(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item(), None
    result = pc.pc_backward(
        model, setting.loss, x, y, mode=setting.mode, eta=setting.eta, n=setting.n, compare_with_backprop=compare
    )
    optimizer.step()
    return result.loss.item(), result


def image_batch(data: LabelledImages, idx: torch.Tensor, network: Network) -> tuple[torch.Tensor, torch.Tensor]:
    """A float batch shaped for ``network``: N×C×H×W for the CNNs, N×784 for the MLP."""
    x, y = data.batch(idx, flatten=network == "mlp")
    return (x.unsqueeze(1) if x.dim() == 3 else x), y


@torch.no_grad()
def accuracy(model: nn.Module, data: LabelledImages, network: Network, chunk: int = 1000) -> float:
    """Test accuracy of a plain forward pass (evaluation needs no inference)."""
    correct = 0
    for start in range(0, len(data), chunk):
        x, y = image_batch(data, torch.arange(start, min(start + chunk, len(data))), network)
        correct += (model(x).argmax(1) == y).sum().item()
    return correct / len(data)
