"""Time per PC training step (inference + Adam) relative to a backprop step of the same model, same process.

Run by hand: ``python benchmarks/pc_speed.py [--repeats 15] [--threads 2]``. Every repeat runs each setting once,
in turn (interleaved), so a change in the machine's load hits all of them alike; the table gives the median over
repeats of each setting's time divided by the backprop step of the same repeat.

Networks: the paper's MNIST CNN (batch 300), PCX's MLP 784-256-256-10 (batch 128) and a ResNet-style model with
two residual blocks (traced with torch.fx, batch 128). The "floor" row is what strict PC cannot avoid: n times the
forward pass and input-VJP of every layer whose prediction moves during inference (all but those that read only x).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from neuroplastic import pc
from neuroplastic.pc.models import SmallResNet, pc_mlp, rosenbaum2022_mnist_cnn

CE = nn.functional.cross_entropy
STRICT_N = 20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--networks", default="cnn,mlp,resnet", help="comma-separated subset of cnn, mlp, resnet")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0]
    print(f"torch {torch.__version__}, {args.threads} threads, {platform.machine()}, load average {load:.2f}")
    nets = {
        "cnn": ("MNIST CNN, batch 300", rosenbaum2022_mnist_cnn, (300, 1, 28, 28)),
        "mlp": ("MLP 784-256-256-10, batch 128", pc_mlp, (128, 784)),
        "resnet": ("ResNet-style (2 residual blocks, 16 channels, traced), batch 128", SmallResNet, (128, 1, 28, 28)),
    }
    for key in args.networks.split(","):
        if key not in nets:
            parser.error(f"--networks: {key!r} is not one of {', '.join(nets)}")
        name, make, shape = nets[key]
        compare_with_backprop(name, make, torch.randn(shape), args.repeats)


def compare_with_backprop(name: str, make: Callable[[], nn.Module], x: torch.Tensor, repeats: int) -> None:
    """Median ratio of each PC mode's training step to a backprop step on one network, interleaved repeats."""
    torch.manual_seed(0)
    model = make()
    y = torch.randint(0, 10, (len(x),))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    layers = pc.pc_layers(model)
    chain = layers.longest_chain

    def bp_step():
        optimizer.zero_grad()
        CE(model(x), y).backward()
        optimizer.step()

    def pc_step(target, **kwargs):
        def step():
            pc.pc_backward(target, CE, x, y, **kwargs)
            optimizer.step()

        return step

    steps = {
        "backprop": bp_step,
        "exact": pc_step(layers, mode=pc.Exact()),
        f"fixed_pred eta=1 n={chain}": pc_step(layers, mode=pc.FixedPred()),
        "fixed_pred eta=0.1 n=20": pc_step(layers, mode=pc.FixedPred(eta=0.1, n=20)),
        f"strict eta=0.1 n={STRICT_N}": pc_step(layers, mode=pc.Strict(eta=0.1, n=STRICT_N)),
        f"floor of strict n={STRICT_N}": strict_floor(layers, x, STRICT_N),
    }
    if not isinstance(model, nn.Sequential):
        steps["exact, traced at every call"] = pc_step(model, mode=pc.Exact())
    times = interleaved_seconds(steps, repeats)
    base = times["backprop"]
    print(f"\n{name}: backprop step {statistics.median(base) * 1e3:.2f} ms (median of {repeats})")
    for label, seconds in times.items():
        if label != "backprop":
            ratio = statistics.median(s / b for s, b in zip(seconds, base, strict=True))
            print(f"  {label:<32} {statistics.median(seconds) * 1e3:8.2f} ms  {ratio:5.2f}x backprop")


def strict_floor(layers: pc.PCLayers, x: torch.Tensor, n: int) -> Callable[[], None]:
    """n × (forward + input-VJP) of the layers whose inputs include a belief, at fixed feedforward inputs."""
    with torch.no_grad():
        values = layers.values(x)
    moving = [l for l in range(1, layers.depth + 1) if not layers.reads_only_input[l]]

    def step():
        for _ in range(n):
            leaves = [v.detach().requires_grad_(True) for v in values]
            outputs = [layers(l, *(leaves[j] for j in layers.inputs[l])) for l in moving]
            wanted = sorted({j for l in moving for j in layers.inputs[l] if j > 0})
            torch.autograd.grad(outputs, [leaves[j] for j in wanted], [torch.ones_like(o) for o in outputs])

    return step


def interleaved_seconds(steps: dict[str, Callable[[], None]], repeats: int, warmup: int = 2) -> dict[str, list[float]]:
    """Seconds of every step in each of ``repeats`` rounds (each round runs every step once, in turn)."""
    for _ in range(warmup):
        for step in steps.values():
            step()
    times: dict[str, list[float]] = {label: [] for label in steps}
    for _ in range(repeats):
        for label, step in steps.items():
            start = time.perf_counter()
            step()
            times[label].append(time.perf_counter() - start)
    return times


if __name__ == "__main__":
    main()
