"""Steps per second of a SUPERTREX Task-2 trial at N = 1000: neuroplastic (1 seed, 11 batched seeds) vs a
straightforward NumPy per-step loop in the same process, and (optionally) reservoirpy's RLS readout.

Two phases are timed: gate closed (exploration only: the first seconds of a run) and gate open (RLS every
10 steps, as after transfer starts), and the two memory-bound kernels that bound any implementation of the loop:
the sparse drive [J | Q] (r, z) and one RLS update (k = P r, P ← P − c k kᵀ), per seed and for 11 seeds at once.
The machine's load (1-minute load average) is printed beside the numbers: the box is shared.

With ``--rescience DIR`` (the "Python adaptation" folder of ReScience's replication code, github.com/rsankar9/
Reimplementation-SUPERTREX, Code/Python implementation/Python adaptation; not shipped here), the same protocol, the
first ``--steps`` steps of SUPERTREX Task 2 training from a fresh network at N = 1000, is also timed with their
``ModelSUPERTREX.train``, interleaved with ours (1 seed and 11 batched seeds) over ``--repeats`` repeats: the medians
of the per-repeat ratios are printed.
Run: `python benchmarks/reservoir_speed.py [--steps 3000] [--threads 1] [--rescience DIR --repeats 5]`.
"""

from __future__ import annotations

import os
import sys

# NumPy's BLAS (ReScience's code, the plain NumPy loop) uses as many threads as torch: it reads this once, at import
_THREADS = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv[:-1] else "1"
for _variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_variable, _THREADS)

import argparse  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402
from dataclasses import replace  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from timing import median_seconds  # noqa: E402  (benchmarks/timing.py)

from neuroplastic.reservoir import Reservoir, Simulation, Supertrex, preset  # noqa: E402

KAPPA_OPEN = 1e-6  # an always-open gate copies the running output into W₁ and blows up; a tiny κ keeps the cost only


def torch_rate(seeds: int, steps: int, gate_open: bool, dtype: torch.dtype, threads: int) -> float:
    p = preset("pyle2019-task2")
    config = replace(p.supertrex, theta=1e9 if gate_open else 1e-12, kappa=KAPPA_OPEN if gate_open else 0.5)
    ids = list(range(seeds))
    net = Reservoir(p.reservoir, 2, ids, dtype=dtype)
    sim = Simulation(net, Supertrex(config), p.task, threads=threads)
    sim.run(250, learn=True)
    tick = time.perf_counter()
    sim.run(steps, learn=True, record_every=steps)
    return steps / (time.perf_counter() - tick)


def kernel_times(seeds: int, dtype: torch.dtype) -> dict[str, float]:
    """Seconds of one sparse drive product, of one plain RLS update's two passes over P (k = P r; P − c k kᵀ), and
    of one deferred RLS update (``DeferredInverse``: one pass, flush amortised over 32 updates), ``seeds`` at once."""
    p = preset("pyle2019-task2")
    ids = list(range(seeds))
    net = Reservoir(p.reservoir, 2, ids, dtype=dtype)
    x, r = net.initial_state()
    z = torch.zeros(seeds, 2, dtype=dtype)
    mastery = Supertrex(p.supertrex).init(1000, 2, ids, dtype=dtype).mastery
    k = torch.bmm(mastery.P, r.unsqueeze(2))
    error = torch.zeros(seeds, 2, dtype=dtype)

    def deferred() -> None:
        for _ in range(32):
            mastery.inverse.update_(mastery.W, r, error, 1e-12)

    return {
        "drive": median_seconds(lambda: net.step_(x, r, z, noisy=False), 200, warmup=2),
        "P r": median_seconds(lambda: torch.bmm(mastery.P, r.unsqueeze(2)), 20, warmup=2),
        "rank-1": median_seconds(lambda: mastery.P.baddbmm_(k, k.transpose(1, 2), alpha=-1e-12), 20, warmup=2),
        "deferred RLS": median_seconds(deferred, 3, warmup=2) / 32,
    }


def numpy_rate(steps: int, gate_open: bool) -> float:
    """The straightforward implementation: dense J, one NumPy call per operation, P - c k kᵀ with temporaries."""
    rng = np.random.default_rng(0)
    n, a = 1000, 0.02
    J = rng.normal(0, 1.5 / np.sqrt(0.1 * n), (n, n)) * (rng.random((n, n)) < 0.1)
    Q = rng.uniform(-1, 1, (n, 2))
    x = rng.uniform(-0.5, 0.5, n)
    r = np.tanh(x)
    W1, W2, P = np.zeros((2, n)), np.zeros((2, n)), np.eye(n) / 10
    z, zbar2, ebar, beta = np.zeros(2), np.zeros(2), 0.0, 0.01
    theta = 1e9 if gate_open else 1e-12
    phi_t = np.linspace(0, 2 * np.pi, 50_000)
    tick = time.perf_counter()
    for t in range(steps):
        x = x + a * (-x + J @ r + Q @ z)
        r = np.tanh(x) + rng.uniform(-0.025, 0.025, n)
        z2 = W2 @ r + rng.uniform(-beta, beta, 2)
        z = W1 @ r + z2
        zbar2 = 0.9 * zbar2 + 0.1 * z2
        p1, p2 = np.pi * z[0], np.pi * (z[0] + z[1])
        hand = np.array([1.8 * np.sin(p1) + 1.8 * np.sin(p2), -2 + 1.8 * np.cos(p1) + 1.8 * np.cos(p2)])
        f = np.array([np.cos(phi_t[t]), np.sin(phi_t[t])]) * 0.7
        e = np.sum((hand - f) ** 2)
        ebar = 0.8 * ebar + 0.2 * e
        beta = 0.01 * (10 * ebar) ** 0.2
        d = ebar - e
        W2 += 5e-4 * 5 * np.sign(d) * abs(d) ** 0.25 * np.outer(z2 - zbar2, r)
        if (t + 1) % 10 == 0:
            s = 0.5 * (1 - np.tanh(5e5 * (ebar - theta)))
            if s > 0:
                k = P @ r
                c = 1 / (1 + r @ k)
                P = P - s * c * np.outer(k, k)
                W1 = W1 + (KAPPA_OPEN if gate_open else 0.5) * s * c * np.outer(zbar2, k)
    return steps / (time.perf_counter() - tick)


def rescience_rate(directory: str, steps: int) -> float:
    """Steps per second of ReScience's ``ModelSUPERTREX.train`` on the first ``steps`` steps of Task 2 (N = 1000)."""
    if directory not in sys.path:
        sys.path.insert(0, directory)
    if not hasattr(np, "int"):
        np.int = int  # their code predates NumPy 1.24, which removed np.int
    try:
        import pandas  # noqa: F401  (their plotting code imports it; training does not use it)
    except ImportError:
        sys.modules["pandas"] = types.ModuleType("pandas")
    from ModelSUPERTREX import ModelSUPERTREX  # type: ignore[import-not-found]
    from Task import Task  # type: ignore[import-not-found]

    dt = 0.2
    parameters = {
        "N": 1000, "lmbda": 1.5, "sparsity": 0.1, "dT": dt, "n_train_trials": 1, "n_test_trials": 0,
        "alpha": 0.025, "gamma": 10.0, "k": 0.5, "tau": 10.0, "tau_e": 1000.0, "tau_z": 2.0,
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as folder, contextlib.redirect_stdout(io.StringIO()):
        exp = {
            "rseed": 1, "dataset_file": os.path.join(folder, "task.npz"), "results_folder": folder,
            "timespan": steps * dt, "task_type": 2, "n_segs": 2, "arm_len": [1.8, 1.8], "arm_cost": [0.0, 0.0],
        }  # fmt: skip
        task = Task(exp, parameters)
        model = ModelSUPERTREX(parameters, task, exp)
        with contextlib.redirect_stderr(io.StringIO()):
            tick = time.perf_counter()
            model.train(task)
            return steps / (time.perf_counter() - tick)


def protocol_rate(seeds: int, steps: int, threads: int) -> float:
    """Steps per second of ours on the same protocol: the first ``steps`` steps of Task 2 training."""
    p = preset("pyle2019-task2")
    ids = list(range(1, seeds + 1))
    sim = Simulation(Reservoir(p.reservoir, 2, ids), Supertrex(p.supertrex), p.task, threads=threads)
    tick = time.perf_counter()
    sim.run(steps, learn=True, record_every=steps)
    return steps / (time.perf_counter() - tick)


def beside_rescience(directory: str, steps: int, repeats: int, threads: int) -> None:
    """Interleaved repeats: ReScience's code, ours with 1 seed, ours with 11 batched seeds; medians of the ratios."""
    step_ratio, throughput = [], []
    for _ in range(repeats):
        theirs = rescience_rate(directory, steps)
        one = protocol_rate(1, steps, threads)
        eleven = protocol_rate(11, steps, threads)
        step_ratio.append(theirs / one)  # our seconds per step over theirs
        throughput.append(11 * eleven / one)
        print(f"  repeat: ReScience {theirs:6.0f} steps/s, ours 1 seed {one:6.0f}, 11 seeds {eleven:6.0f} steps/s")
    print(
        f"same protocol (first {steps} steps of Task 2 training), medians of {repeats} interleaved repeats:\n"
        f"  our step / ReScience's step: {statistics.median(step_ratio):.2f}x (target <= 0.25x)\n"
        f"  11 batched seeds / 1 seed, throughput: {statistics.median(throughput):.2f}x (target >= 3x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rescience", help="ReScience's 'Python adaptation' folder: time their code beside ours")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.rescience:
        print(f"load average before: {os.getloadavg()[0]:.2f}")
        beside_rescience(args.rescience, args.steps, args.repeats, args.threads)
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        return
    rows = {}
    for gate_open in (False, True):
        phase = "gate open (RLS every 10 steps)" if gate_open else "gate closed (exploration only)"
        rows[phase] = {"numpy straightforward, 1 seed": numpy_rate(args.steps, gate_open)}
        for seeds in (1, 11):
            for dtype in (torch.float64, torch.float32):
                name = f"neuroplastic {str(dtype)[6:]}, {seeds} seed{'s batched' if seeds > 1 else ''}"
                rows[phase][name] = torch_rate(seeds, args.steps, gate_open, dtype, args.threads)
    kernels = {
        (seeds, str(dtype)[6:]): kernel_times(seeds, dtype)
        for seeds in (1, 11)
        for dtype in (torch.float64, torch.float32)
    }
    info = {
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "threads": args.threads,
        "steps": args.steps,
        "load_average_1min": os.getloadavg()[0],
    }
    print(json.dumps(info))
    for phase, rates in rows.items():
        print(f"\n{phase}")
        for name, rate in rates.items():
            seeds = 11 if "11 seeds" in name else 1
            print(
                f"  {name:42s} {rate:8.0f} steps/s  ({seeds * rate:8.0f} seed-steps/s;"
                f" 750k steps: {750_000 / rate:6.0f} s)"
            )
        for dtype in ("float64", "float32"):
            one, batch = rates[f"neuroplastic {dtype}, 1 seed"], rates[f"neuroplastic {dtype}, 11 seeds batched"]
            print(f"  11 batched seeds vs 11 runs one after another ({dtype}): {11 * batch / one:.2f}x throughput")
    print("\nmemory-bound kernels (median; µs per call, and per seed)")
    for (seeds, dtype), times in kernels.items():
        cells = ", ".join(f"{k} {1e6 * v:7.0f} ({1e6 * v / seeds:5.0f}/seed)" for k, v in times.items())
        print(f"  {seeds:2d} seed(s) {dtype}: {cells}")
        floor = 750_000 * times["drive"] + 50_000 * times["deferred RLS"]
        print(f"    floor of a 750k-step run (drive + deferred RLS, gate open all training): {floor:5.0f} s")
    print(f"load average after the run: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
