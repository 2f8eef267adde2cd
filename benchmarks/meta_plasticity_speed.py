"""Meta-training cost: seconds per episode, alone and batched, for each rule and meta-gradient mode; memory.

Setting: 5-way, K = 50 (250 online steps), Q = 10, the 784-170-130-100-70-5 network, FA feedback, full second-order
meta-gradient, float32, one CPU thread. Rules: FA (pseudo-gradient only), FA + Oja, the 3-term rule and the
10-term pool (`plasticity.pools.NATCOMM_POOL`). Seconds per episode: the median over ``--repeats`` of one
meta-gradient on a batch of B episodes, divided by B, for B = 1 and ``--batch``.
Memory: peak resident set of a fresh process (VmHWM) minus its resident set just before the meta-gradient,
for reverse, checkpointed (every 25 steps) and forward mode versus unroll length, with the 3-term rule; the child
runs with a fixed glibc mmap threshold, so freed W-sized buffers leave the resident set instead of lingering in
malloc's heap. Run by hand, never in CI:

    nice python benchmarks/meta_plasticity_speed.py [--repeats 3] [--batch 4] [--lengths 25 50 100 250]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import torch
from timing import median_seconds  # benchmarks/timing.py

from neuroplastic.plasticity import EpisodeBatch, MetaLearner, ThetaLayout, init_state, stack_states
from neuroplastic.plasticity.pools import NATCOMM_POOL

SIZES = [784, 170, 130, 100, 70, 5]
TERMS = {"pseudo_grad": 1e-3, "ehebb": 1e-4, "oja": 1e-4}
RULES = {
    "FA": {"pseudo_grad": 1e-3},
    "FA + Oja": {"pseudo_grad": 1e-3, "oja": 1e-4},
    "3-term": TERMS,
    "pool": {name: 1e-3 if name == "pseudo_grad" else 1e-4 for name in NATCOMM_POOL},
}


def episodes(n: int, steps: int, query: int = 50) -> EpisodeBatch:
    """``n`` random episodes (pixels in [0, 1]); only shapes matter for cost."""
    g = torch.Generator().manual_seed(0)
    states = [init_state(SIZES, feedback="fa", generator=g) for _ in range(n)]
    return EpisodeBatch(
        stack_states(states),
        torch.rand(n, steps, SIZES[0], generator=g),
        torch.randint(0, 5, (n, steps), generator=g),
        torch.rand(n, query, SIZES[0], generator=g),
        torch.randint(0, 5, (n, query), generator=g),
        torch.arange(5).repeat(n, 1),
    )


def seconds_per_episode(batch: int, repeats: int, mode: str = "reverse", terms: dict[str, float] = TERMS) -> float:
    """Median over ``repeats`` of (one meta-gradient on ``batch`` episodes) / ``batch``."""
    meta = MetaLearner(SIZES, ThetaLayout(tuple(terms), init=terms), meta_gradient=mode)
    data = episodes(batch, 250)
    return median_seconds(lambda: meta.meta_gradient(data), repeats, warmup=0) / batch


MODES = ("reverse", "checkpoint", "forward")


def measure_memory(mode: str, steps: int) -> None:
    """Child process: print the peak RSS growth (MiB) of one meta-gradient."""
    torch.set_num_threads(1)
    meta = MetaLearner(SIZES, ThetaLayout(tuple(TERMS), init=TERMS), meta_gradient=mode, checkpoint_every=25)
    data = episodes(1, steps)
    before = _status_mib("VmRSS")
    meta.meta_gradient(data)
    print(json.dumps({"mode": mode, "steps": steps, "peak_mib": _status_mib("VmHWM") - before}))


def _status_mib(field: str) -> float:
    """A field of /proc/self/status in MiB (VmHWM: this process image's peak RSS; ru_maxrss survives exec)."""
    with open("/proc/self/status") as handle:
        line = next(line for line in handle if line.startswith(field + ":"))
    return int(line.split()[1]) / 1024


def main() -> None:
    """Print the timing and memory tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--lengths", type=int, nargs="+", default=[25, 50, 100, 250])
    parser.add_argument("--child", nargs=2, metavar=("MODE", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure_memory(args.child[0], int(args.child[1]))
        return
    torch.set_num_threads(1)
    print(f"load: {os.getloadavg()}")
    print(f"seconds per episode, alone (B = 1) and batched (B = {args.batch}):")
    print(f"{'rule':<10}" + "".join(f"{m + ', B = ' + str(b):>20}" for m in MODES for b in (1, args.batch)))
    for rule, terms in RULES.items():
        row = [seconds_per_episode(b, args.repeats, m, terms) for m in MODES for b in (1, args.batch)]
        print(f"{rule:<10}" + "".join(f"{v:>20.3f}" for v in row))
    print("peak memory growth of one meta-gradient (MiB), one episode:")
    print("steps  " + "  ".join(f"{m:>10}" for m in MODES))
    for steps in args.lengths:
        row = []
        for mode in MODES:
            out = subprocess.run(
                [sys.executable, __file__, "--child", mode, str(steps)],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072"},
            )
            row.append(json.loads(out.stdout.strip().splitlines()[-1])["peak_mib"])
        print(f"{steps:>5}  " + "  ".join(f"{v:>10.1f}" for v in row))
    print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
