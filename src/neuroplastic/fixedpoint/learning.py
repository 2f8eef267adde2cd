"""``apply_rule``: solve for the fixed point, then write a rule's update into ``.grad`` (torch.optim contract).

W receives the rule's pseudo-gradient; trainable U and b receive the implicit (Euclidean) gradient
∂L/∂U = Σ_i λ_i x_iᵀ, ∂L/∂b = Σ_i λ_i; a trainable readout receives its ordinary gradient. Gradients accumulate
as with ``backward()``; call ``optimizer.zero_grad()`` between steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

from neuroplastic.fixedpoint import rules
from neuroplastic.fixedpoint.model import FixedPointRNN
from neuroplastic.fixedpoint.solvers import FixedPointSolution

Rule = Literal["euclidean", "bptt", "reparam_exact", "reparam", "reparam_v4"]
RULES: tuple[Rule, ...] = ("euclidean", "bptt", "reparam_exact", "reparam", "reparam_v4")


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
    rule: Rule,
    *,
    lr: float | None = None,
    solution: FixedPointSolution | None = None,
    solve_options: dict | None = None,
    adjoint_options: dict | None = None,
    bptt_steps: int = 500,
    bptt_relax: float = 0.01,
) -> RuleStep:
    """Accumulate the update of ``rule`` for the batch loss ``loss_fn(output)`` into the model's ``.grad``.

    ``solution`` reuses a solve already done for this ``x``; ``lr`` (η) is needed by ``reparam_exact`` only.
    ``bptt`` differentiates through ``bptt_steps`` Euler steps x ← x + α(F(x) − x), α = ``bptt_relax``, from 0
    (the defaults are the paper's 500 steps at dt/τ = 0.01).
    """
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; choose one of {', '.join(RULES)}")
    if rule == "bptt":
        return _bptt(model, x, loss_fn, bptt_steps, bptt_relax)
    if rule == "reparam_exact" and (model.dynamics != "linear" or lr is None):
        raise ValueError("reparam_exact (ΔW2) needs the linear model and the learning rate lr")
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
        rates = rates.detach()
        shared_gain = model.gain if model.dynamics == "linear" else gains
        if rule == "euclidean":
            update = rules.euclidean(model.W, rates, shared_gain, delta, **(adjoint_options or {}))
        elif rule == "reparam":
            update = rules.reparam(model.W, rates, gains, delta)
        elif rule == "reparam_v4":
            update = rules.reparam_v4(model.W, rates, gains, delta)
        else:
            update = rules.reparam_exact(model.W, model.gain, u, delta, lr)
        _accumulate(model.W, update)
        if readout:
            _accumulate(model.R, readout_grad[0])
        needs_lambda = [p is not None and p.requires_grad for p in (model.U, model.b)]
        if any(needs_lambda):
            lam = rules.adjoint(model.W, shared_gain, delta, **(adjoint_options or {}))
            if needs_lambda[0]:
                _accumulate(model.U, lam.T @ x)
            if needs_lambda[1]:
                _accumulate(model.b, lam.sum(0))
    return RuleStep(loss.detach(), output.detach(), solution)


def _bptt(model: FixedPointRNN, x: torch.Tensor, loss_fn, steps: int, relax: float) -> RuleStep:
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
