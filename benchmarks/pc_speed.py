"""Time per PC training step (inference + Adam) relative to a backprop step of the same model, same process.

Run by hand: ``python benchmarks/pc_speed.py [--repeats 30]``. Prints medians over repeats and the ratio to
backprop. Targets (issue 3): fixed_pred η=1, n=L ≤ 2× backprop; strict n=20 ≤ 12× backprop.
"""

from __future__ import annotations

import argparse
import platform

import torch
from timing import median_seconds  # benchmarks/timing.py
from torch import nn

from neuroplastic import pc
from neuroplastic.pc.models import pc_mlp, rosenbaum2022_mnist_cnn

CE = nn.functional.cross_entropy


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    nets = {
        "MNIST CNN, batch 300": (rosenbaum2022_mnist_cnn, torch.randn(300, 1, 28, 28)),
        "MLP 784-256-256-10, batch 128": (pc_mlp, torch.randn(128, 784)),
    }
    for name, (make, x) in nets.items():
        compare_with_backprop(name, make, x, args.repeats)


def compare_with_backprop(name: str, make, x: torch.Tensor, repeats: int) -> None:
    """Median seconds per training step of each PC mode on one network, as a multiple of a backprop step."""
    torch.manual_seed(0)
    model = make()
    y = torch.randint(0, 10, (len(x),))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    depth = len(model)

    def bp_step():
        optimizer.zero_grad()
        CE(model(x), y).backward()
        optimizer.step()

    def pc_step(**kwargs):
        def step():
            pc.pc_backward(model, CE, x, y, **kwargs)
            optimizer.step()

        return step

    base = median_seconds(bp_step, repeats, warmup=3)
    print(f"\n{name}: backprop step {base * 1e3:.2f} ms")
    settings = {
        "exact": {"mode": "exact"},
        f"fixed_pred eta=1 n=L={depth}": {"mode": "fixed_pred", "eta": 1.0, "n": depth},
        "fixed_pred eta=0.1 n=20": {"mode": "fixed_pred", "eta": 0.1, "n": 20},
        "strict eta=0.1 n=20": {"mode": "strict", "eta": 0.1, "n": 20},
    }
    for label, kwargs in settings.items():
        t = median_seconds(pc_step(**kwargs), repeats, warmup=3)
        print(f"  {label:<28} {t * 1e3:8.2f} ms  {t / base:5.2f}x backprop")


if __name__ == "__main__":
    main()
