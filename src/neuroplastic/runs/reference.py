"""Experiments by reference: ``"package.module:attribute"``, what a fresh process (a sweep worker) imports.

A sweep's plan records the reference of its experiment, so a worker loads exactly the experiment the driver was
given, a built-in one or the user's own, without any registry.
"""

from __future__ import annotations

import importlib
import sys

from neuroplastic.runs.experiment import Experiment


def load_experiment(reference: str) -> Experiment:
    """The `Experiment` that ``"package.module:attribute"`` names (an import error or a wrong object says so)."""
    module_name, colon, attribute = reference.partition(":")
    if not colon or not module_name or not attribute:
        raise ValueError(f"experiment reference {reference!r} is not of the form package.module:attribute")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as err:
        raise ImportError(f"experiment {reference!r} cannot be loaded: {type(err).__name__}: {err}") from None
    if not isinstance(found, Experiment):
        raise ValueError(f"experiment {reference!r} is a {type(found).__name__}, not a neuroplastic Experiment")
    return found


def experiment_reference(experiment: Experiment) -> str:
    """The ``"module:attribute"`` under which the module that defines ``experiment.run`` holds ``experiment``."""
    module_name = experiment.run.__module__
    for attribute, value in vars(sys.modules.get(module_name) or object()).items():
        if value is experiment:
            return f"{module_name}:{attribute}"
    raise ValueError(
        f"experiment {experiment.name!r} is not a module-level attribute of {module_name}, the module that defines "
        "its run: a sweep's workers could not load it (define it at module level in an importable module)"
    )
