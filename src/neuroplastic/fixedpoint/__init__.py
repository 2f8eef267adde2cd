"""Fixed points of recurrent networks (Zhu & Rosenbaum 2024): models, solvers, implicit and reparameterised rules.

``apply_rule(model, x, loss_fn, fixedpoint.Reparam())`` writes a rule's update into ``.grad``; ``RULES`` maps the
rule names to their classes; ``bptt_backward`` differentiates through the unrolled dynamics instead.
"""

from neuroplastic.fixedpoint.diagnostics import condition, max_real_eig, spectral_abscissa
from neuroplastic.fixedpoint.learning import RuleStep, apply_rule, bptt_backward
from neuroplastic.fixedpoint.model import FixedPointRNN
from neuroplastic.fixedpoint.registry import (
    RULES,
    AtFixedPoint,
    Euclidean,
    FixedPointRule,
    Reparam,
    ReparamExact,
    ReparamV4,
    RuleName,
)
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
    "AtFixedPoint",
    "Euclidean",
    "FixedPointNotConverged",
    "FixedPointRNN",
    "FixedPointRule",
    "FixedPointSolution",
    "FixedPointWarning",
    "LinearTask",
    "Reparam",
    "ReparamExact",
    "ReparamV4",
    "RuleName",
    "RuleStep",
    "adjoint",
    "apply_rule",
    "bptt_backward",
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
