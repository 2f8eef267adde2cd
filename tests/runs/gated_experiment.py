"""A user-defined experiment for the sweep tests: its run waits until its gate file exists.

A run whose gate is closed cannot finish on its own, however fast the machine, so a test can kill it while it
runs; once the test opens the gate, the same run (same config) finishes. Workers import it by reference
(``gated_experiment:EXPERIMENT``) with this folder on ``PYTHONPATH``.
"""

import time
from dataclasses import dataclass
from pathlib import Path

from neuroplastic.experiments.base import Experiment, ExperimentConfig, ReportRow


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
