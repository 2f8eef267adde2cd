"""The registry of experiments: one module per paper, each exposing ``EXPERIMENT``."""

from __future__ import annotations

from neuroplastic.experiments import (
    baseline_mlp,
    fixedpoint_linear,
    fixedpoint_mnist,
    meta_plasticity,
    oja_online,
    pc_gradients,
    pc_train,
    reservoir_lesions,
    reservoir_motor,
)
from neuroplastic.experiments.base import Experiment, ExperimentConfig, ReportRow

EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in (
        baseline_mlp.EXPERIMENT,
        pc_gradients.EXPERIMENT,
        pc_train.EXPERIMENT,
        oja_online.EXPERIMENT,
        meta_plasticity.EXPERIMENT,
        fixedpoint_linear.EXPERIMENT,
        fixedpoint_mnist.EXPERIMENT,
        reservoir_motor.EXPERIMENT,
        reservoir_lesions.EXPERIMENT,
    )
}


def get_experiment(name: str) -> Experiment:
    """The registered experiment called ``name``; an unknown name lists the valid ones."""
    try:
        return EXPERIMENTS[name]
    except KeyError:
        raise KeyError(f"unknown experiment {name!r}; registered: {', '.join(sorted(EXPERIMENTS))}") from None


__all__ = ["EXPERIMENTS", "Experiment", "ExperimentConfig", "ReportRow", "get_experiment"]
