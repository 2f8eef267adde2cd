"""Meta-training cost: seconds per episode (single vs batched episodes) and memory of the meta-gradient modes.

Setting (issue 5): 5-way, K = 50 (250 online steps), Q = 10, the 784-170-130-100-70-5 network, FA feedback, the
3-term rule (pseudo-gradient + eHebb + Oja), full second-order meta-gradient, float32, one CPU thread.
Memory: peak resident set of a fresh process (VmHWM) minus its resident set just before the meta-gradient,
for reverse, checkpointed (every 25 steps) and forward mode versus unroll length; the child runs with a fixed
glibc mmap threshold, so freed W-sized buffers leave the resident set instead of lingering in malloc's heap.
Run by hand, never in CI:

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

from neuroplastic.plasticity import EpisodeBatch, MetaLearner, init_state, stack_states

SIZES = [784, 170, 130, 100, 70, 5]
TERMS = {"pseudo_grad": 1e-3, "ehebb": 1e-4, "oja": 1e-4}


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


def seconds_per_episode(batch: int, repeats: int, mode: str = "reverse") -> float:
    """Median over ``repeats`` of (one meta-gradient on ``batch`` episodes) / ``batch``."""
    meta = MetaLearner(SIZES, terms=list(TERMS), theta_init=TERMS, meta_gradient=mode)
    data = episodes(batch, 250)
    return median_seconds(lambda: meta.meta_gradient(data), repeats, warmup=0) / batch


def measure_memory(mode: str, steps: int) -> None:
    """Child process: print the peak RSS growth (MiB) of one meta-gradient."""
    torch.set_num_threads(1)
    meta = MetaLearner(SIZES, terms=list(TERMS), theta_init=TERMS, meta_gradient=mode, checkpoint_every=25)
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
    single = seconds_per_episode(1, args.repeats)
    batched = seconds_per_episode(args.batch, args.repeats)
    print(
        f"reverse mode, s/episode: single {single:.3f}, batch of {args.batch} {batched:.3f} ({single / batched:.2f}×)"
    )
    for mode in ("checkpoint", "forward"):
        print(f"{mode} mode, s/episode (single): {seconds_per_episode(1, args.repeats, mode):.3f}")
    print("peak memory growth of one meta-gradient (MiB), one episode:")
    print("steps  " + "  ".join(f"{m:>10}" for m in ("reverse", "checkpoint", "forward")))
    for steps in args.lengths:
        row = []
        for mode in ("reverse", "checkpoint", "forward"):
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
