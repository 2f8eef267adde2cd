"""reservoirpy's online RLS readout on a 1000-unit reservoir, one step at a time (the FORCE use case).

Run in a throwaway environment (reservoirpy is not a neuroplastic dependency):
  python -m venv /tmp/rpyenv && /tmp/rpyenv/bin/pip install reservoirpy && /tmp/rpyenv/bin/python THIS_FILE
Compare with benchmarks/reservoir_speed.py (which learns every 10 steps; reservoirpy learns every step).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import reservoirpy
from reservoirpy.nodes import RLS, Reservoir


def main(steps: int = 1000) -> None:
    reservoir = Reservoir(1000, sr=1.5, rc_connectivity=0.1, lr=0.02, seed=0)
    readout = RLS(alpha=10.0)
    x = np.ones((1, 2)) * 0.1
    y = np.zeros((1, 2))
    for _ in range(20):
        readout.partial_fit(reservoir.run(x), y)
    tick = time.perf_counter()
    for t in range(steps):
        y[0, 0] = np.sin(t / 50)
        readout.partial_fit(reservoir.run(x), y)
    both = (time.perf_counter() - tick) / steps
    tick = time.perf_counter()
    for _ in range(steps):
        reservoir.run(x)
    alone = (time.perf_counter() - tick) / steps
    print(
        f"reservoirpy {reservoirpy.__version__}: reservoir step {1e6 * alone:.0f} µs, "
        f"reservoir + RLS partial_fit {1e6 * both:.0f} µs per step ({1 / both:.0f} steps/s; "
        f"750k steps learning every step: {750_000 * both:.0f} s)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
