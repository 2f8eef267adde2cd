"""Pieces the predictive-coding experiments share: networks by name, data, PC settings and one training step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from neuroplastic import pc
from neuroplastic.data import LabelledImages
from neuroplastic.pc.models import pc_mlp, rosenbaum2022_cifar_cnn, rosenbaum2022_mnist_cnn

Network = Literal["mnist_cnn", "cifar_cnn", "mlp"]
Loss = Literal["ce", "mse"]
PAPER = "Rosenbaum (2022), On the relationship between predictive coding and backpropagation, PLoS ONE 17(3)"


def make_network(name: Network, seed: int, device: torch.device) -> nn.Sequential:
    """The named network with weights drawn on the CPU from ``seed`` (the same init on every device), on ``device``."""
    builders = {"mnist_cnn": rosenbaum2022_mnist_cnn, "cifar_cnn": rosenbaum2022_cifar_cnn, "mlp": pc_mlp}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return builders[name]().to(device)


def mse_onehot(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error against one-hot targets (mean over batch and classes, as the paper's ``nn.MSELoss``)."""
    return F.mse_loss(output, F.one_hot(target, output.shape[1]).to(output.dtype))


LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {"ce": F.cross_entropy, "mse": mse_onehot}


@dataclass(frozen=True)
class Setting:
    """One way of computing the update: ``backprop`` or a PC mode, on ``loss``, with its η and n (None: n = L).

    ``strict_grad_at="vhat"`` (strict only) takes dθ_l = (∂f_l(v̂_{l−1})/∂θ_l)ᵀ ε_l at the feedforward pass, as the
    paper's June-2021 figure notebooks did; ``storage="absolute"`` (fixed prediction only) keeps beliefs as absolute
    values and errors as their differences, as Torch2PC does. Both are compatibility options, never our default.
    """

    mode: Literal[("backprop", *pc.MODES)]  # type: ignore[valid-type]
    loss: Loss = "ce"
    eta: float = 1.0
    n: int | None = None
    strict_grad_at: Literal["beliefs", "vhat"] = "beliefs"
    storage: Literal["offsets", "absolute"] = "offsets"

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if self.strict_grad_at != "beliefs" and self.mode != "strict":
            raise ValueError(f"strict_grad_at is an option of strict PC, not of {self.mode}")
        if self.storage != "offsets" and self.mode != "fixed_pred":
            raise ValueError(f"storage is an option of fixed prediction, not of {self.mode}")

    @property
    def label(self) -> str:
        """E.g. ``strict η=0.1 n=20 (MSE)``, ``backprop (CE)``, ``strict η=0.1 n=20 (MSE, dθ at v̂ as in 2021)``."""
        if self.mode not in ("strict", "fixed_pred"):
            return self.variant_label
        mode, details = self.variant_label.split(" ", 1)
        return f"{mode} η={self.eta:g} n={'L' if self.n is None else self.n} {details}"

    @property
    def variant_label(self) -> str:
        """The label without η and n, for a sweep over them: e.g. ``fixed_pred (CE, absolute storage)``."""
        details = [self.loss.upper()]
        if self.strict_grad_at == "vhat":
            details.append("dθ at v̂ as in 2021")
        if self.storage == "absolute":
            details.append("absolute storage")
        return f"{self.mode} ({', '.join(details)})"

    @property
    def loss_fn(self) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """ℒ(output, class indices)."""
        return LOSSES[self.loss]

    def pc_mode(self) -> pc.PCMode:
        """The `pc` mode object of this setting (backprop has none)."""
        if self.mode == "strict":
            return pc.Strict(eta=self.eta, n=self.n, grad_at=self.strict_grad_at)
        if self.mode == "fixed_pred":
            return pc.FixedPred(eta=self.eta, n=self.n, storage=self.storage)
        if self.mode == "exact":
            return pc.Exact()
        raise ValueError("backprop is not a predictive-coding mode")


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
        loss = setting.loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item(), None
    result = pc.pc_backward(model, setting.loss_fn, x, y, mode=setting.pc_mode(), compare_with_backprop=compare)
    optimizer.step()
    return result.loss.item(), result


def image_batch(
    data: LabelledImages, idx: torch.Tensor, network: Network, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """A float batch on ``device`` shaped for ``network``: N×C×H×W for the CNNs, N×784 for the MLP."""
    x, y = data.batch(idx, flatten=network == "mlp", device=device)
    return (x.unsqueeze(1) if x.dim() == 3 else x), y


@torch.no_grad()
def accuracy(
    model: nn.Module, data: LabelledImages, network: Network, device: torch.device, chunk: int = 1000
) -> float:
    """Test accuracy of a plain forward pass on ``device`` (evaluation needs no inference)."""
    correct = 0
    for start in range(0, len(data), chunk):
        x, y = image_batch(data, torch.arange(start, min(start + chunk, len(data))), network, device)
        correct += int((model(x).argmax(1) == y).sum())
    return correct / len(data)
