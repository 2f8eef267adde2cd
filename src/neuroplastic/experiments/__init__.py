"""The registry of experiments: one module per paper, each exposing ``EXPERIMENT``."""

from __future__ import annotations

from neuroplastic.experiments import (
    baseline_mlp,
    fa_online,
    fixedpoint_linear,
    fixedpoint_mnist,
    meta_plasticity,
    oja_online,
    pc_gradients,
    pc_train,
    reservoir_automaticity,
    reservoir_lesions,
    reservoir_motor,
)
from neuroplastic.runs.config import did_you_mean
from neuroplastic.runs.experiment import Experiment, ExperimentConfig, ReportRow
from neuroplastic.runs.reference import load_experiment

EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in (
        baseline_mlp.EXPERIMENT,
        pc_gradients.EXPERIMENT,
        pc_train.EXPERIMENT,
        oja_online.EXPERIMENT,
        fa_online.EXPERIMENT,
        meta_plasticity.EXPERIMENT,
        fixedpoint_linear.EXPERIMENT,
        fixedpoint_mnist.EXPERIMENT,
        reservoir_motor.EXPERIMENT,
        reservoir_lesions.EXPERIMENT,
        reservoir_automaticity.EXPERIMENT,
    )
}


def get_experiment(name: str) -> Experiment:
    """The registered experiment ``name``, or the user's own that ``"package.module:attribute"`` names."""
    if ":" in name:
        return load_experiment(name)
    try:
        return EXPERIMENTS[name]
    except KeyError:
        raise KeyError(
            f"unknown experiment {name!r}{did_you_mean(name, EXPERIMENTS)}; "
            f"registered: {', '.join(sorted(EXPERIMENTS))} (or your own as package.module:attribute)"
        ) from None


__all__ = ["EXPERIMENTS", "Experiment", "ExperimentConfig", "ReportRow", "get_experiment"]
