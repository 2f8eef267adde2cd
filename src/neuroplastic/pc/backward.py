"""``pc_backward``: predictive-coding inference for any ``nn.Sequential`` or traceable model, writing ``.grad``."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from neuroplastic.core.divergence import DivergenceError
from neuroplastic.pc.exact import exact_errors
from neuroplastic.pc.feedforward import LossFn, all_finite, check_finite_pass, feedforward
from neuroplastic.pc.fixed_pred import STORAGES, Storage, fixed_pred_errors
from neuroplastic.pc.grads import all_parameters, backprop_grads, compare, grads_from_errors, write_grads
from neuroplastic.pc.graph import LayerSpec, trace_layers
from neuroplastic.pc.layers import PCLayers, frozen_buffers
from neuroplastic.pc.result import PCResult
from neuroplastic.pc.strict import strict_inference

Mode = Literal["strict", "fixed_pred", "exact"]
MODES = ("strict", "fixed_pred", "exact")
GradAt = Literal["beliefs", "vhat"]
GRAD_AT = ("beliefs", "vhat")


def pc_layers(model: nn.Module, layers: LayerSpec | None = None) -> PCLayers:
    """The PC layers of ``model``: the children of a plain ``nn.Sequential``, else (or with ``layers``) traced."""
    if layers is None and isinstance(model, nn.Sequential) and type(model).forward is nn.Sequential.forward:
        return PCLayers.sequential(model)
    if not isinstance(model, nn.Module):
        raise TypeError(f"predictive coding needs an nn.Module (or PCLayers), got {type(model).__name__}")
    return trace_layers(model, layers)


def pc_backward(
    model: nn.Module | PCLayers,
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
    layers: LayerSpec | None = None,
    strict_grad_at: GradAt = "beliefs",
    storage: Storage = "offsets",
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

    The model: an ``nn.Sequential`` is a chain, each child one PC layer (a nested Sequential groups several ops
    into one layer). Any other module, or a Sequential given ``layers``, is traced with ``torch.fx``
    (:func:`~neuroplastic.pc.graph.trace_layers`): the PC layers are the submodules ``layers`` names (qualified
    names, or module types; default: every leaf module with parameters), beliefs sit at their outputs, and the
    error of a belief read by several layers sums what each sends back. A :class:`PCLayers` from
    :func:`~neuroplastic.pc.graph.trace_layers` can be passed instead of the model to trace once.

    ``n`` defaults to the longest chain of PC layers from input to output (L for a Sequential). ``v_init`` gives
    initial beliefs indexed like ``result.v`` (entries 0 and L ignored; e.g. a previous result's ``v``).
    ``accumulate`` adds to ``.grad`` instead of overwriting it; parameters that get no update keep their
    ``.grad``. ``incremental`` (strict only) is an optimiser stepped at every inference step (incremental PC).
    BatchNorm statistics are updated once, by the feedforward pass, and dropout masks are fixed for the whole
    inference.

    Compatibility options, to reproduce the prior code's figures (never needed otherwise):
    ``strict_grad_at="vhat"`` (strict) takes the update with the final errors but at the feedforward values,
    dθ_l = (∂f_l(v̂)/∂θ_l)ᵀ ε_l, as the paper's 2021 figure notebooks did; ``storage="absolute"`` (fixed_pred)
    holds beliefs as absolute values and errors as their differences v̂ − v, as Torch2PC does, which cancels in
    float32 once the errors are small.
    """
    if isinstance(model, PCLayers) and layers is not None:
        raise ValueError("layers= chooses the PC layers of a model; the PCLayers given already fix them: leave it out")
    layers = model if isinstance(model, PCLayers) else pc_layers(model, layers)
    depth = layers.depth
    n = layers.longest_chain if n is None else n
    _check_arguments(mode, eta, n, output_precision, incremental, v_init, strict_grad_at, storage)
    grads_at_vhat = mode == "strict" and strict_grad_at == "vhat"
    ff = feedforward(layers, loss_fn, x, y, graph=mode != "strict" or grads_at_vhat)
    check_finite_pass(layers, ff)
    vhat = ff.vhat()
    params = all_parameters(layers)
    with frozen_buffers(layers.model):
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
                grads_at_beliefs=not grads_at_vhat,
            )
            _check_energy(state.energy, eta, incremental is not None)
            v, eps, grads, energy = state.v, state.eps, state.grads, state.energy
            if grads_at_vhat:
                grads = grads_from_errors(ff, params, eps)
        else:
            if mode == "exact":
                eps = exact_errors(ff, depth)
                beliefs_eps = eps
            else:
                start = [None if o is None else -o for o in initial]
                eps, beliefs_eps = fixed_pred_errors(ff, eta=eta, n=n, initial=start, storage=storage)
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
        names=layers.names,
    )


def _check_arguments(mode, eta, n, output_precision, incremental, v_init, strict_grad_at, storage) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if strict_grad_at not in GRAD_AT:
        raise ValueError(f"strict_grad_at must be one of {GRAD_AT}, got {strict_grad_at!r}")
    if strict_grad_at != "beliefs" and mode != "strict":
        raise ValueError(f"strict_grad_at={strict_grad_at!r} applies to mode='strict' only, not {mode!r}")
    if strict_grad_at != "beliefs" and incremental is not None:
        raise ValueError("strict_grad_at='vhat' cannot be combined with incremental PC (updates at every step)")
    if storage not in STORAGES:
        raise ValueError(f"storage must be one of {STORAGES}, got {storage!r}")
    if storage != "offsets" and mode != "fixed_pred":
        raise ValueError(f"storage={storage!r} applies to mode='fixed_pred' only, not {mode!r}")
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


def first_energy_rise(energy: torch.Tensor, rtol: float = 1e-6) -> int | None:
    """The first inference step after which F rose by more than ``rtol``·|F^(0)| (or rounding), or ``None``.

    Gradient descent on F with a small η does not raise F where F is smooth; at the kinks of ReLU or max-pooling
    a converged inference can rise by rounding-sized amounts (≈ 1e-9 of F^(0)), which are not a divergence.
    """
    rounding = 64 * torch.finfo(energy.dtype).eps * energy[:-1].abs().clamp(min=1)
    tolerance = torch.maximum(rtol * energy[0].abs(), rounding)
    rises = (energy[1:] > energy[:-1] + tolerance).nonzero()
    return int(rises[0]) + 1 if len(rises) else None
