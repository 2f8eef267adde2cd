"""Online (batch 1) plasticity: S seeds as one batched computation against a plain loop over seeds.

Run by hand (never part of pytest):  python benchmarks/plasticity_speed.py [--seeds 8] [--steps 300] [--threads 2]

Network 784-170-130-100-70-10, softplus β = 10, no biases, FA + Oja (θ₀ = 0.01, θ_oja = 0.004), float32,
MNIST-like random inputs. Reports seeds·steps per second for: a loop over seeds (pure and in-place steps), the
leading-dimension batch (pure ``step`` and in-place ``step_``) and torch.func.vmap over the stacked state; then
the first layer's Oja decay at batch 1 evaluated as (y yᵀ)W against y(yᵀW) (folded into the Hebbian outer
product, as the rule does).
"""

from __future__ import annotations

import argparse
import os

import torch
from timing import median_seconds  # benchmarks/timing.py

from neuroplastic.plasticity import Learner, Rule, init_state, map_state, stack_states, vmap_dims

SIZES = [784, 170, 130, 100, 70, 10]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS", 1)))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    xs = torch.rand(args.steps, 1, SIZES[0], generator=g)
    ts = torch.randint(0, 10, (args.steps, 1), generator=g)
    learner = Learner(Rule({"pseudo_grad": 0.01, "oja": 0.004}), "fa")
    states = [init_state(SIZES, generator=torch.Generator().manual_seed(s)) for s in range(args.seeds)]
    stacked = stack_states(states)
    xs_s = xs.unsqueeze(1).expand(-1, args.seeds, -1, -1)
    ts_s = ts.unsqueeze(1).expand(-1, args.seeds, -1)
    dims = vmap_dims(stacked)
    vstep = torch.func.vmap(lambda s, x, t: learner.step(s, x, t).state, in_dims=(dims, None, None), out_dims=dims)

    def loop():
        for state in states:
            for x, t in zip(xs, ts, strict=True):
                state = learner.step(state, x, t).state

    def loop_in_place():
        for state in states:
            state = map_state(state, torch.clone)
            for x, t in zip(xs, ts, strict=True):
                learner.step_(state, x, t)

    def batched():
        state = stacked
        for x, t in zip(xs_s, ts_s, strict=True):
            state = learner.step(state, x, t).state

    def in_place():
        state = map_state(stacked, torch.clone)
        for x, t in zip(xs_s, ts_s, strict=True):
            learner.step_(state, x, t)

    def vmapped():
        state = stacked
        for x, t in zip(xs, ts, strict=True):
            state = vstep(state, x, t)

    work = args.seeds * args.steps
    print(f"{args.seeds} seeds x {args.steps} online steps, {args.threads} threads, network {SIZES}")
    with torch.no_grad():
        base = median_seconds(loop, args.repeats)
        variants = [
            ("loop over seeds", loop),
            ("loop, in place", loop_in_place),
            ("leading dimension", batched),
            ("leading dim, in place", in_place),
            ("torch.func.vmap", vmapped),
        ]
        for name, fn in variants:
            seconds = base if fn is loop else median_seconds(fn, args.repeats)
            print(f"{name:>24}: {work / seconds:10.0f} seed-steps/s  ({base / seconds:5.2f}x the loop)")
        x, y, w = torch.rand(1, SIZES[0]), torch.rand(1, SIZES[1]), states[0].weights[0]
        folded = torch.cat([y, -y])
        dense = median_seconds(lambda: [y.mT @ x - (y.mT @ y) @ w for _ in range(100)], args.repeats)
        factored = median_seconds(lambda: [folded.mT @ torch.cat([x, y @ w]) for _ in range(100)], args.repeats)
        n, m = w.shape
        macs = (n * m + n * n + n * n * m) / (3 * n * m)
        print(
            f"layer-1 Hebb + Oja decay at batch 1: y xT - (y yT)W {dense * 1e4:.1f} us, "
            f"[y, -y]T [x, y W] {factored * 1e4:.1f} us "
            f"({dense / factored:.1f}x the time, {macs:.0f}x the multiply-adds)"
        )


if __name__ == "__main__":
    main()
