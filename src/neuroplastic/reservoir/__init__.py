"""Reservoir computing for motor learning: FORCE/RLS, reward-modulated Hebbian learning and SUPERTREX.

Pyle & Rosenbaum (2019); Sussillo & Abbott (2009); Hoerzer, Legenstein & Maass (2014).
"""

from neuroplastic.reservoir.deferred import DeferredInverse
from neuroplastic.reservoir.lesions import NO_PLAN, NO_SWITCHES, Phase, Plan, Switches
from neuroplastic.reservoir.network import Reservoir, ReservoirConfig
from neuroplastic.reservoir.presets import PRESETS, Preset, preset
from neuroplastic.reservoir.rls import RLS, NotApplicable, RLSConfig, RLSState
from neuroplastic.reservoir.rmhl import HOERZER2014, RMHL, RMHLConfig, RMHLState, phi, psi, rmhl_delta
from neuroplastic.reservoir.simulate import FEEDBACK_DESCRIPTIONS, DroppedSeed, Feedback, Simulation, Trace
from neuroplastic.reservoir.state import BatchedState
from neuroplastic.reservoir.supertrex import Supertrex, SupertrexConfig, SupertrexState, gate
from neuroplastic.reservoir.tasks import (
    BUTTERFLY_DIVISOR,
    PlanarArm,
    Task,
    arm_task,
    butterfly,
    butterfly_task,
    sum_of_sines,
    sum_of_sines_task,
)

__all__ = [
    "BUTTERFLY_DIVISOR",
    "NO_PLAN",
    "NO_SWITCHES",
    "BatchedState",
    "DeferredInverse",
    "FEEDBACK_DESCRIPTIONS",
    "HOERZER2014",
    "PRESETS",
    "RLS",
    "RMHL",
    "DroppedSeed",
    "Feedback",
    "NotApplicable",
    "Phase",
    "Plan",
    "PlanarArm",
    "Preset",
    "RLSConfig",
    "RLSState",
    "RMHLConfig",
    "RMHLState",
    "Reservoir",
    "ReservoirConfig",
    "Simulation",
    "Supertrex",
    "SupertrexConfig",
    "SupertrexState",
    "Switches",
    "Task",
    "Trace",
    "arm_task",
    "butterfly",
    "butterfly_task",
    "gate",
    "phi",
    "preset",
    "psi",
    "rmhl_delta",
    "sum_of_sines",
    "sum_of_sines_task",
]
