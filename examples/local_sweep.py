"""Sweep an experiment over a small grid × seeds with local worker processes, then aggregate over seeds.

The same as ``neuroplastic sweep baseline-mlp --grid minibatch_lr=0.003,0.01 --seeds 0-1 --set ... --out DIR`` followed
by ``neuroplastic aggregate DIR``; with ``--executor slurm`` (or ``SlurmExecutor``) the runs become one SLURM job array.
Every run is an ordinary, resumable run folder (under ``runs/example-sweep``, or the folder given as the first
argument): running this script again skips the finished runs. The aggregate is
the mean, sd and 95% bootstrap interval over seeds per grid point. Exits non-zero unless every run finished and
every grid point's mean accuracy is well above chance (10%).
"""

import csv
import sys
from pathlib import Path

from neuroplastic.experiments import get_experiment
from neuroplastic.runs.aggregate import write_aggregate
from neuroplastic.runs.executors import LocalExecutor
from neuroplastic.runs.sweep import run_sweep

SMALL = [  # a small mini-batch MLP on 2,000 MNIST images
    "datasets=mnist",
    "modes=minibatch",
    "hidden=32",
    "epochs=1",
    "train_subset=2000",
    "test_subset=500",
]
out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("runs/example-sweep")  # relative to the working directory
outcome = run_sweep(
    get_experiment("baseline-mlp"),
    LocalExecutor(max_parallel=2),
    grid={"minibatch_lr": ["0.003", "0.01"]},
    seeds=[0, 1],
    overrides=SMALL,
    out=out,
)
print(f"states: {outcome.states}")
paths = write_aggregate(outcome.path)  # aggregate/aggregate.md, aggregate.csv and figures/ in the sweep folder
with paths["csv"].open() as handle:
    rows = [row for row in csv.DictReader(handle) if row["metric"].endswith("test_accuracy")]
for row in rows:
    print(
        f"minibatch_lr = {row['minibatch_lr']}: test accuracy {float(row['mean']):.1%} "
        f"[{float(row['ci_low']):.1%}, {float(row['ci_high']):.1%}] over {row['n']} seeds"
    )
print(f"full table: {paths['markdown']}")
if set(outcome.states.values()) != {"done"} or len(rows) != 2 or min(float(row["mean"]) for row in rows) < 0.5:
    sys.exit(f"expected 4 finished runs and 2 grid points above 50% accuracy; got {outcome.states}, {rows}")
