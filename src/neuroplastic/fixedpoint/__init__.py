"""Fixed points of recurrent networks (Zhu & Rosenbaum 2024): models, solvers, implicit and reparameterised rules."""

from neuroplastic.fixedpoint.diagnostics import condition, max_real_eig, spectral_abscissa
from neuroplastic.fixedpoint.learning import RULES, RuleStep, apply_rule
from neuroplastic.fixedpoint.model import FixedPointRNN
from neuroplastic.fixedpoint.rules import adjoint, euclidean, reparam, reparam_exact, reparam_v4
from neuroplastic.fixedpoint.solvers import (
    FixedPointNotConverged,
    FixedPointSolution,
    FixedPointWarning,
    residual,
    solve_fixed_point,
)
from neuroplastic.fixedpoint.tasks import LinearTask, linear_teacher_student

__all__ = [
    "RULES",
    "FixedPointNotConverged",
    "FixedPointRNN",
    "FixedPointSolution",
    "FixedPointWarning",
    "LinearTask",
    "RuleStep",
    "adjoint",
    "apply_rule",
    "condition",
    "euclidean",
    "linear_teacher_student",
    "max_real_eig",
    "reparam",
    "reparam_exact",
    "reparam_v4",
    "residual",
    "solve_fixed_point",
    "spectral_abscissa",
]
