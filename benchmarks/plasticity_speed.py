"""Online (batch 1) plasticity: S seeds batched against a loop over seeds, and the cost of Oja against BP.

Run by hand (never part of pytest):  python benchmarks/plasticity_speed.py [--seeds 8] [--steps 300] [--threads 2]

Network 784-170-130-100-70-10, softplus β = 10, no biases, FA + Oja (θ₀ = 0.01, θ_oja = 0.004), float32,
MNIST-like random inputs. Reports seeds·steps per second for: a loop over seeds (pure and in-place steps), the
leading-dimension batch (pure ``step`` and in-place ``step_``) and torch.func.vmap over the stacked state; then
the per-sample online in-place step of BP + Oja against plain BP (same θ₀), for one network and for the stack of
S: steps per second of each and their time ratio, the two timed in turn (interleaved repeats, medians) in this
process; then the first layer's Oja decay at batch 1 evaluated as (y yᵀ)W against y(yᵀW) (inside the Hebbian
outer product, yᵀ(x − yW), as the rule does).
"""

from __future__ import annotations

import argparse
import os
import statistics
from collections.abc import Callable

import torch
from timing import median_seconds  # benchmarks/timing.py

from neuroplastic.plasticity import (
    Learner,
    PlasticState,
    Rule,
    apply_update,
    apply_update_,
    init_state,
    map_state,
    stack_states,
    vmap_dims,
)

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
    vstep = torch.func.vmap(
        lambda s, x, t: apply_update(s, learner.update(s, x, t)), in_dims=(dims, None, None), out_dims=dims
    )

    def loop():
        for state in states:
            for x, t in zip(xs, ts, strict=True):
                state = apply_update(state, learner.update(state, x, t))

    def loop_in_place():
        for state in states:
            state = map_state(state, torch.clone)
            for x, t in zip(xs, ts, strict=True):
                apply_update_(state, learner.update(state, x, t))

    def batched():
        state = stacked
        for x, t in zip(xs_s, ts_s, strict=True):
            state = apply_update(state, learner.update(state, x, t))

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
            ("leading dim, in place", online_steps(learner, stacked, xs_s, ts_s)),
            ("torch.func.vmap", vmapped),
        ]
        for name, fn in variants:
            seconds = base if fn is loop else median_seconds(fn, args.repeats)
            print(f"{name:>24}: {work / seconds:10.0f} seed-steps/s  ({base / seconds:5.2f}x the loop)")
        bp_oja_against_bp(xs, ts, args)
        x, y, w = torch.rand(1, SIZES[0]), torch.rand(1, SIZES[1]), states[0].weights[0]
        dense = median_seconds(lambda: [y.mT @ x - (y.mT @ y) @ w for _ in range(100)], args.repeats)
        factored = median_seconds(lambda: [y.mT @ (x - y @ w) for _ in range(100)], args.repeats)
        n, m = w.shape
        macs = (n * m + n * n + n * n * m) / (2 * n * m)
        print(
            f"layer-1 Hebb + Oja decay at batch 1: y xT - (y yT)W {dense * 1e4:.1f} us, "
            f"yT (x - y W) {factored * 1e4:.1f} us "
            f"({dense / factored:.1f}x the time, {macs:.0f}x the multiply-adds)"
        )


def bp_oja_against_bp(xs: torch.Tensor, ts: torch.Tensor, args: argparse.Namespace) -> None:
    """Online in-place steps per second of BP + Oja and of BP, for one network and for a stack of ``args.seeds``."""
    bp = Learner(Rule({"pseudo_grad": 0.01}), "bp")
    bp_oja = Learner(Rule({"pseudo_grad": 0.01, "oja": 0.004}), "bp")
    states = [init_state(SIZES, feedback="bp", generator=torch.Generator().manual_seed(s)) for s in range(args.seeds)]
    print(f"online in-place steps, BP + Oja against BP, {args.threads} threads, medians of {args.repeats} in turn:")
    for n in sorted({1, args.seeds}):
        state = states[0] if n == 1 else stack_states(states[:n])
        xs_n = xs if n == 1 else xs.unsqueeze(1).expand(-1, n, -1, -1)
        ts_n = ts if n == 1 else ts.unsqueeze(1).expand(-1, n, -1)
        runs = [online_steps(learner, state, xs_n, ts_n) for learner in (bp, bp_oja)]
        base, oja = interleaved_medians(runs, args.repeats)
        work = n * len(xs)
        label = "one network" if n == 1 else f"stack of {n}"
        print(
            f"{label:>24}: BP {work / base:8.0f}, BP + Oja {work / oja:8.0f} seed-steps/s  "
            f"(BP + Oja takes {oja / base:4.2f}x the time of BP)"
        )


def online_steps(learner: Learner, state: PlasticState, xs: torch.Tensor, ts: torch.Tensor) -> Callable[[], None]:
    """A call running in-place online steps over (xs, ts) from a fresh copy of ``state``."""

    def run() -> None:
        s = map_state(state, torch.clone)
        for x, t in zip(xs, ts, strict=True):
            apply_update_(s, learner.update(s, x, t))

    return run


def interleaved_medians(fns: list[Callable[[], object]], repeats: int) -> list[float]:
    """Median seconds of each of ``fns``, timed in turn ``repeats`` times so that a change in load hits all alike."""
    times: list[list[float]] = [[] for _ in fns]
    for fn in fns:
        fn()  # warm-up
    for _ in range(repeats):
        for fn_times, fn in zip(times, fns, strict=True):
            fn_times.append(median_seconds(fn, 1, warmup=0))
    return [statistics.median(t) for t in times]


if __name__ == "__main__":
    main()
