"""``apply_rule``: solve for the fixed point, then write a rule's update into ``.grad`` (torch.optim contract).

W receives the rule's pseudo-gradient; trainable U and b receive the implicit (Euclidean) gradient
∂L/∂U = Σ_i λ_i x_iᵀ, ∂L/∂b = Σ_i λ_i; a trainable readout receives its ordinary gradient. Gradients accumulate
as with ``backward()``; call ``optimizer.zero_grad()`` between steps. ``bptt_backward`` is the alternative that
differentiates through the unrolled dynamics instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from neuroplastic.fixedpoint import rules
from neuroplastic.fixedpoint.model import FixedPointRNN
from neuroplastic.fixedpoint.registry import RULES, AtFixedPoint, FixedPointRule
from neuroplastic.fixedpoint.solvers import FixedPointSolution


@dataclass(frozen=True)
class RuleStep:
    """What one call measured: the batch loss at the fixed point, the model output and the solve."""

    loss: torch.Tensor
    output: torch.Tensor
    solution: FixedPointSolution | None


def apply_rule(
    model: FixedPointRNN,
    x: torch.Tensor,
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    rule: FixedPointRule,
    *,
    solution: FixedPointSolution | None = None,
    solve_options: dict | None = None,
    adjoint_options: dict | None = None,
) -> RuleStep:
    """Accumulate the update of ``rule`` (an instance of a :data:`RULES` class) for ``loss_fn(output)`` into ``.grad``.

    ``solution`` reuses a solve already done for this ``x``; ``adjoint_options`` go to every adjoint solve (ΔW1's
    and the one for trainable U and b).
    """
    if not isinstance(rule, tuple(RULES.values())):
        raise TypeError(
            f"rule must be an instance of one of {', '.join(c.__name__ for c in RULES.values())}, got {rule!r}"
        )
    if rule.linear_only and model.dynamics != "linear":
        raise ValueError(f"{rule.name} ({rule.symbol}) needs the linear model, got dynamics={model.dynamics!r}")
    if solution is None:
        solution = model.solve(x, **(solve_options or {}))
    with torch.no_grad():
        u = model.drive(x)
        gains = model.gains(solution.state, u)
    rates = model.rates(solution.state).detach().requires_grad_(True)
    with torch.enable_grad():
        output = model.output(rates)
        loss = loss_fn(output)
        readout = [model.R] if model.R is not None and model.R.requires_grad else []
        delta, *readout_grad = torch.autograd.grad(loss, [rates, *readout])
    with torch.no_grad():
        shared_gain = model.gain if model.dynamics == "linear" else gains
        at = AtFixedPoint(model.W, rates.detach(), gains, shared_gain, u, delta, adjoint_options or {})
        _accumulate(model.W, rule.delta_w(at))
        if readout:
            _accumulate(model.R, readout_grad[0])
        needs_lambda = [p is not None and p.requires_grad for p in (model.U, model.b)]
        if any(needs_lambda):
            lam = rules.adjoint(model.W, shared_gain, delta, **at.adjoint_options)
            if needs_lambda[0]:
                _accumulate(model.U, lam.T @ x)
            if needs_lambda[1]:
                _accumulate(model.b, lam.sum(0))
    return RuleStep(loss.detach(), output.detach(), solution)


def bptt_backward(
    model: FixedPointRNN,
    x: torch.Tensor,
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    *,
    steps: int = 500,
    relax: float = 0.01,
) -> RuleStep:
    """Backprop through ``steps`` Euler steps x ← x + α(F(x) − x), α = ``relax``, from 0, into ``.grad``.

    The defaults are the paper's 500 steps at dt/τ = 0.01; the step has no solve (``solution`` is ``None``).
    """
    with torch.enable_grad():
        u = model.drive(x)
        state = torch.zeros_like(u)
        for _ in range(steps):
            state = state + relax * (model.step(state, u) - state)
        output = model.output(model.rates(state))
        loss = loss_fn(output)
        loss.backward()
    return RuleStep(loss.detach(), output.detach(), None)


def _accumulate(param: torch.Tensor, update: torch.Tensor) -> None:
    if param.grad is None:
        param.grad = update.clone()
    else:
        param.grad += update
