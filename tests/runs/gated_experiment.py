"""User-defined experiments for the run and sweep tests, imported by reference with this folder on ``PYTHONPATH``.

``gated_experiment:EXPERIMENT`` waits until its gate file exists: a run whose gate is closed cannot finish on its
own, however fast the machine, so a test can kill it while it runs; once the test opens the gate, the same run
(same config) finishes. ``gated_experiment:STEPPED`` draws one random number per step and records each in the run's
ledger, so a killed run that resumes must reach the uninterrupted run's result bit for bit.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import torch

from neuroplastic.core.seeding import make_generator
from neuroplastic.runs.experiment import Experiment, ExperimentConfig, ReportRow
from neuroplastic.runs.ledger import Ledger


@dataclass(frozen=True, kw_only=True)
class GatedConfig(ExperimentConfig):
    gate: str = "gate"
    steps: int = 3


def run(config, run_dir):
    for step in range(config.steps):
        run_dir.log(step=step)
    while not Path(config.gate).exists():
        time.sleep(0.05)
    return {"steps": config.steps}


def summarize(results):
    return [ReportRow("steps", results["steps"])]


EXPERIMENT = Experiment(
    name="gated",
    description="waits for its gate file, then finishes",
    paper="(test)",
    config_class=GatedConfig,
    run=run,
    summarize=summarize,
)


@dataclass(frozen=True, kw_only=True)
class SteppedConfig(ExperimentConfig):
    steps: int = 5
    step_s: float = 0.0
    interrupt_at: int = -1  # raise KeyboardInterrupt (Ctrl-C) before this step


def run_stepped(config, run_dir):
    ledger = Ledger.load(run_dir)
    for step in range(config.steps):
        if ("step", step) in ledger:
            continue
        if step == config.interrupt_at:
            raise KeyboardInterrupt
        value = torch.rand((), dtype=torch.float64, generator=make_generator(config.seed, step))
        run_dir.log(step=step, value=value.item())
        ledger.record(("step", step), value)
        time.sleep(config.step_s)
    total = sum((ledger["step", step] for step in range(config.steps)), torch.zeros((), dtype=torch.float64))
    return {"steps": config.steps, "total": total.item()}


STEPPED = Experiment(
    name="stepped",
    description="one random number per step, a checkpoint after each",
    paper="(test)",
    config_class=SteppedConfig,
    run=run_stepped,
    summarize=summarize,
)
