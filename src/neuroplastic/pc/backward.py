"""``pc_backward``: predictive-coding inference for any ``nn.Sequential``, writing the update into ``.grad``."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from neuroplastic.core.divergence import DivergenceError
from neuroplastic.pc.exact import exact_errors
from neuroplastic.pc.feedforward import LossFn, all_finite, check_finite_pass, feedforward
from neuroplastic.pc.fixed_pred import fixed_pred_errors
from neuroplastic.pc.grads import all_parameters, backprop_grads, compare, grads_from_errors, write_grads
from neuroplastic.pc.layers import PCLayers, frozen_buffers
from neuroplastic.pc.result import PCResult
from neuroplastic.pc.strict import strict_inference

Mode = Literal["strict", "fixed_pred", "exact"]
MODES = ("strict", "fixed_pred", "exact")


def pc_backward(
    model: nn.Sequential,
    loss_fn: LossFn,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    mode: Mode = "fixed_pred",
    eta: float = 1.0,
    n: int | None = None,
    v_init: Sequence[torch.Tensor | None] | None = None,
    output_precision: float = 1.0,
    accumulate: bool = False,
    incremental: torch.optim.Optimizer | None = None,
    compare_with_backprop: bool = False,
) -> PCResult:
    """Run predictive-coding inference on ``model`` for one batch and write the PC update into ``.grad``.

    Modes (errors ε_l = f_l(v_{l−1}) − v_l; ``.grad`` follows the descent convention, so ``optimizer.step()``
    after this call descends):

    - ``"strict"``: n steps of gradient descent on F = ½Σ‖ε_l‖² + γℒ over the hidden beliefs (step size η);
      dθ = ∇_θF(v^(n))/γ at the final beliefs. Approaches backprop only for small output precision γ.
    - ``"fixed_pred"``: the fixed-prediction assumption (predictions and Jacobians frozen at v̂, ε_L = ∂ℒ/∂ŷ);
      η = 1, n = L (the defaults) gives backprop's gradients exactly; 0 < η < 1 scales layer l's update by
      P[Binomial(n−1, η) ≥ L−l].
    - ``"exact"``: ε_l = ∂ℒ/∂v̂_l; the update equals ``loss.backward()``.

    ``n`` defaults to L (the number of children). ``v_init`` gives initial beliefs indexed like ``result.v``
    (entries 0 and L ignored; e.g. a previous result's ``v``). ``accumulate`` adds to ``.grad`` instead of
    overwriting it; parameters that get no update keep their ``.grad``. ``incremental`` (strict only) is an
    optimiser stepped at every inference step (incremental PC). BatchNorm statistics are updated once, by the
    feedforward pass, and dropout masks are fixed for the whole inference.
    """
    layers = PCLayers(model)
    depth = layers.depth
    n = depth if n is None else n
    _check_arguments(mode, eta, n, output_precision, incremental, v_init)
    ff = feedforward(layers, loss_fn, x, y, graph=mode != "strict")
    check_finite_pass(layers, ff)
    vhat = ff.vhat()
    params = all_parameters(layers)
    with frozen_buffers(model):
        initial = _initial_offsets(v_init, vhat, depth)
        energy = None
        if mode == "strict":
            state = strict_inference(
                layers,
                loss_fn,
                x,
                y,
                vhat,
                initial,
                params,
                eta=eta,
                n=n,
                gamma=output_precision,
                optimizer=incremental,
            )
            _check_energy(state.energy, eta, incremental is not None)
            v, eps, grads, energy = state.v, state.eps, state.grads, state.energy
        else:
            if mode == "exact":
                eps = exact_errors(ff, depth)
                beliefs_eps = eps
            else:
                start = [None if o is None else -o for o in initial]
                eps, beliefs_eps = fixed_pred_errors(ff, depth, eta=eta, n=n, initial=start)
            grads = grads_from_errors(ff, params, eps)
            _check_update(grads, mode, eta)
            v = [vhat[0]] + [vhat[l] - e if e is not None else vhat[l] for l, e in enumerate(beliefs_eps) if l > 0]
            eps = [None] + [e if e is not None else torch.zeros_like(vhat[l]) for l, e in enumerate(eps) if l > 0]
        if grads is not None:
            write_grads(params, grads, accumulate=accumulate, scale=1 / output_precision if mode == "strict" else 1.0)
        comparison = []
        if compare_with_backprop:
            if grads is None:
                raise ValueError("compare_with_backprop needs the update, which incremental mode has already applied")
            ours = grads if mode != "strict" else [[g / output_precision for g in group] for group in grads]
            comparison = compare(ours, backprop_grads(layers, loss_fn, x, y, params))
    return PCResult(
        mode=mode,
        vhat=vhat,
        v=v,
        eps=eps,
        loss=ff.loss,
        dloss_dyhat=ff.dloss_dyhat,
        steps=n if mode != "exact" else 0,
        energy=energy,
        comparison=comparison,
    )


def _check_arguments(mode, eta, n, output_precision, incremental, v_init) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not eta > 0:
        raise ValueError(f"eta must be > 0, got {eta}")
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n (inference steps) must be an integer >= 1, got {n!r}")
    if not output_precision > 0:
        raise ValueError(f"output_precision must be > 0, got {output_precision}")
    if mode == "fixed_pred" and eta >= 2:
        warnings.warn(
            f"fixed_pred with eta={eta} >= 2: the error recursion ε ← (1−η)ε + ηJᵀε diverges; use 0 < eta < 2",
            RuntimeWarning,
            stacklevel=3,
        )
    if incremental is not None and mode != "strict":
        raise ValueError("incremental PC (weights updated at every inference step) is defined for mode='strict'")
    if mode == "exact" and v_init is not None:
        raise ValueError("v_init has no effect in exact mode (there is no inference); leave it out")


def _initial_offsets(v_init, vhat: list[torch.Tensor], depth: int) -> list[torch.Tensor | None]:
    """Δ_l = v_init_l − v̂_l for the hidden layers (``None`` = start at the feedforward values)."""
    offsets: list[torch.Tensor | None] = [None] * (depth + 1)
    if v_init is None:
        return offsets
    if len(v_init) != depth + 1:
        raise ValueError(f"v_init must have L + 1 = {depth + 1} entries (index 0..L, like result.v), got {len(v_init)}")
    for l in range(1, depth):
        if v_init[l] is None:
            continue
        if v_init[l].shape != vhat[l].shape:
            raise ValueError(
                f"v_init[{l}] has shape {tuple(v_init[l].shape)}, layer {l} outputs {tuple(vhat[l].shape)}"
            )
        if not bool(torch.isfinite(v_init[l]).all()):
            raise ValueError(f"v_init[{l}] holds NaN or inf entries; initial beliefs must be finite")
        offsets[l] = v_init[l].detach().to(vhat[l]) - vhat[l]
    return offsets


def _check_energy(energy: torch.Tensor, eta: float, incremental: bool) -> None:
    """Strict inference from a finite feedforward pass and finite beliefs: a non-finite F is inference diverging."""
    finite = torch.isfinite(energy)
    if not bool(finite.all()):
        step = int((~finite).nonzero()[0])
        if step == 0:
            raise DivergenceError(
                f"strict PC energy F is {energy[0].item()} at the initial beliefs, before any inference step; the "
                "feedforward pass and v_init are finite, so a prediction error overflowed (eta is not the cause)"
            )
        cause = f"eta={eta} is too large" + (" or the incremental optimiser's learning rate is" if incremental else "")
        raise DivergenceError(
            f"strict PC energy became {energy[step].item()} at inference step {step} from a finite feedforward "
            f"pass; {cause}"
        )
    rise = first_energy_rise(energy)
    if rise is not None:
        warnings.warn(
            f"strict PC energy increased at inference step {rise} (eta={eta}); inference is not "
            "descending F — use a smaller eta",
            RuntimeWarning,
            stacklevel=3,
        )


def _check_update(grads: list[list[torch.Tensor | None]], mode: str, eta: float) -> None:
    """A non-finite update from a finite feedforward pass: the fixed_pred recursion diverged (or overflowed)."""
    if all_finite([g for group in grads for g in group if g is not None]):
        return
    for l, group in enumerate(grads, start=1):
        if any(g is not None and not bool(torch.isfinite(g).all()) for g in group):
            cause = (
                f"the fixed_pred error recursion diverged (eta={eta}; it is stable for 0 < eta < 2)"
                if mode == "fixed_pred"
                else "a gradient overflowed"
            )
            raise DivergenceError(
                f"{mode} PC update of layer {l} is non-finite although the parameters and the feedforward pass "
                f"are finite: {cause}"
            )


def first_energy_rise(energy: torch.Tensor) -> int | None:
    """The first inference step after which F rose beyond rounding (``energy[i] > energy[i-1]``), or ``None``."""
    tolerance = 64 * torch.finfo(energy.dtype).eps
    rises = (energy[1:] > energy[:-1] + tolerance * energy[:-1].abs().clamp(min=1)).nonzero()
    return int(rises[0]) + 1 if len(rises) else None
