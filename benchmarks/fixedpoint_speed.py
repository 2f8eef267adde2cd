"""Speed of the fixed-point rules and solvers against straightforward per-sample code, in one process.

Run by hand (never part of pytest):  python benchmarks/fixedpoint_speed.py [--repeats 5] [--threads 2]

- ΔW1: batched adjoint (Anderson / batched LU) vs a per-sample loop that forms G_i (I − Wᵀ G_i)⁻¹ explicitly;
- ΔW3 and ΔW4: batched row form vs a per-sample loop over N×N matrices (the prior code's structure);
- forward solve to residual 1e-6 (float64): Euler at dt/τ = 0.01, Picard (dt/τ = 1) and Anderson.
Times are medians of ``--repeats`` runs; ratios are baseline / ours. N = 300, m = 512, tanh, MNIST-like inputs.
"""

from __future__ import annotations

import argparse
import os
from functools import partial

import torch
from timing import median_seconds  # benchmarks/timing.py

from neuroplastic.fixedpoint import FixedPointRNN, euclidean, reparam, reparam_v4


def loop_dw1(W, rates, gains, delta):
    eye = torch.eye(W.shape[0], dtype=W.dtype)
    total = torch.zeros_like(W)
    for r, g, d in zip(rates, gains, delta, strict=True):
        total += torch.outer(g[:, None] * torch.linalg.inv(eye - W.T * g) @ d, r)
    return total


def loop_dw3(W, rates, gains, delta):
    eye = torch.eye(W.shape[0], dtype=W.dtype)
    total = torch.zeros_like(W)
    for r, g, d in zip(rates, gains, delta, strict=True):
        wg, gw = eye - W * g, eye - g[:, None] * W
        total += torch.outer(wg @ (g * d), gw.T @ (gw @ r))
    return total


def loop_dw4(W, rates, gains, delta):
    eye = torch.eye(W.shape[0], dtype=W.dtype)
    total = torch.zeros_like(W)
    for r, g, d in zip(rates, gains, delta, strict=True):
        wg = eye - W * g
        total += torch.outer(wg @ d, wg.T @ (wg @ r))
    return total


def problem(n: int, m: int, dtype: torch.dtype):
    g = torch.Generator().manual_seed(0)
    model = FixedPointRNN(n, 784, 10, rho=0.5, generator=g, dtype=dtype)
    x = (torch.rand(m, 784, generator=g, dtype=dtype) > 0.8).to(dtype) * torch.rand(m, 784, generator=g, dtype=dtype)
    y = torch.randint(0, 10, (m,), generator=g)
    solution = model.solve(x, tol=1e-10 if dtype == torch.float64 else 1e-5, on_fail="raise")
    u = model.drive(x)
    rates = solution.state.requires_grad_(True)
    with torch.enable_grad():
        (delta,) = torch.autograd.grad(torch.nn.functional.cross_entropy(model.output(rates), y), rates)
    return model, x, rates.detach(), model.gains(solution.state, u).detach(), delta


def compare_rules(args: argparse.Namespace, dtype: torch.dtype) -> None:
    model, _, rates, gains, delta = problem(args.n, args.m, dtype)
    tensors = (model.W.detach(), rates, gains, delta)
    pairs = {
        "ΔW1 (adjoint, auto)": (partial(euclidean, *tensors), loop_dw1),
        "ΔW1 (batched LU)": (partial(euclidean, *tensors, method="solve"), loop_dw1),
        "ΔW3": (partial(reparam, *tensors), loop_dw3),
        "ΔW4": (partial(reparam_v4, *tensors), loop_dw4),
    }
    for name, (ours, loop) in pairs.items():
        reference = loop(*tensors)
        baseline = median_seconds(partial(loop, *tensors), max(1, args.repeats // 2))
        fast = median_seconds(ours, args.repeats)
        err = ((ours() - reference).norm() / reference.norm()).item()
        print(
            f"{str(dtype)[6:]:8s} {name:20s} ours {1e3 * fast:8.2f} ms  per-sample loop {1e3 * baseline:8.1f} ms"
            f"  ratio {baseline / fast:6.1f}×  rel. diff. {err:.1e}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--m", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), N = {args.n}, m = {args.m}, median of {args.repeats}")
    print(f"MALLOC_MMAP_THRESHOLD_={os.environ.get('MALLOC_MMAP_THRESHOLD_', 'unset')}")
    with torch.no_grad():
        for dtype in (torch.float32, torch.float64):
            compare_rules(args, dtype)
    model, x, *_ = problem(args.n, args.m, torch.float64)
    print("forward solve to residual 1e-6 (float64, from r = 0):")
    for label, options in (
        ("Euler dt/τ = 0.01", {"method": "euler", "relax": 0.01, "max_iter": 100000}),
        ("Picard (dt/τ = 1)", {"method": "euler", "relax": 1.0, "max_iter": 100000}),
        ("Anderson (m = 6)", {"method": "anderson"}),
    ):
        repeats = 1 if options.get("relax") == 0.01 else args.repeats
        solution = model.solve(x, tol=1e-6, on_fail="raise", **options)
        seconds = median_seconds(lambda options=options: model.solve(x, tol=1e-6, **options), repeats)
        print(f"  {label:20s} {solution.iterations:6d} iterations  {seconds:8.3f} s")
    paper = model.solve(x, method="paper", on_fail="report")
    print(f"  paper mode (500 Euler steps): largest residual {paper.residual.max().item():.3g}")


if __name__ == "__main__":
    main()
