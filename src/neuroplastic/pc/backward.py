"""``pc_backward`` and ``pc_incremental``: predictive-coding inference for any ``nn.Sequential`` or traceable model."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from neuroplastic.pc.feedforward import LossFn, check_finite_pass, feedforward
from neuroplastic.pc.grads import all_parameters, backprop_grads, compare, write_grads
from neuroplastic.pc.graph import LayerSpec, trace_layers
from neuroplastic.pc.layers import PCLayers, frozen_buffers
from neuroplastic.pc.modes import MODES, Batch, FixedPred, Inference, PCMode, Strict
from neuroplastic.pc.result import PCResult

BACKPROP_EQUIVALENT = FixedPred()


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
    mode: PCMode = BACKPROP_EQUIVALENT,
    v_init: Sequence[torch.Tensor | None] | None = None,
    accumulate: bool = False,
    compare_with_backprop: bool = False,
    layers: LayerSpec | None = None,
) -> PCResult:
    """Run predictive-coding inference on ``model`` for one batch and write the PC update dθ into ``.grad``.

    ``mode`` is :class:`~neuroplastic.pc.modes.Strict`, :class:`~neuroplastic.pc.modes.FixedPred` (the default,
    η = 1 and n = L: backprop's gradients) or :class:`~neuroplastic.pc.modes.Exact`, each holding its own options.
    ``.grad`` follows the descent convention, so ``optimizer.step()`` after this call descends.

    The model: an ``nn.Sequential`` is a chain, each child one PC layer (a nested Sequential groups several ops
    into one layer). Any other module, or a Sequential given ``layers``, is traced with ``torch.fx``
    (:func:`~neuroplastic.pc.graph.trace_layers`): the PC layers are the submodules ``layers`` names (qualified
    names, or module types; default: every leaf module with parameters), beliefs sit at their outputs, and the
    error of a belief read by several layers sums what each sends back. A :class:`PCLayers` from
    :func:`~neuroplastic.pc.graph.trace_layers` can be passed instead of the model to trace once.

    ``v_init`` gives initial beliefs indexed like ``result.v`` (entries 0 and L ignored; e.g. a previous result's
    ``v``). ``accumulate`` adds to ``.grad`` instead of overwriting it; parameters that get no update keep their
    ``.grad``. BatchNorm statistics are updated once, by the feedforward pass, and dropout masks are fixed for the
    whole inference.
    """
    batch = _prepare(model, loss_fn, x, y, mode, v_init, layers)
    with frozen_buffers(batch.layers.model):
        inference = mode.infer(batch)
        write_grads(batch.params, inference.update, accumulate=accumulate)
        comparison = []
        if compare_with_backprop:
            truth = backprop_grads(batch.layers, loss_fn, x, y, batch.params)
            comparison = compare(inference.update, truth)
    return _result(mode, batch, inference, comparison)


def pc_incremental(
    model: nn.Module | PCLayers,
    loss_fn: LossFn,
    x: torch.Tensor,
    y: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    *,
    mode: Strict,
    v_init: Sequence[torch.Tensor | None] | None = None,
    layers: LayerSpec | None = None,
) -> PCResult:
    """Incremental PC: strict inference that steps ``optimizer`` at every inference step.

    At each step dθ = ∇_θF/γ is written into ``.grad`` and applied, so the weights learn while the beliefs relax.
    The other arguments are those of :func:`pc_backward`.
    """
    if not isinstance(mode, Strict):
        raise TypeError(f"incremental PC is defined for strict PC (pc.Strict), got {type(mode).__name__}")
    batch = _prepare(model, loss_fn, x, y, mode, v_init, layers)
    with frozen_buffers(batch.layers.model):
        inference = mode.infer(batch, optimizer)
    return _result(mode, batch, inference, [])


def _prepare(model, loss_fn, x, y, mode, v_init, layers) -> Batch:
    """The PC layers, the checked feedforward pass and the initial belief offsets."""
    if not isinstance(mode, tuple(MODES.values())):
        raise TypeError(f"mode must be one of pc.{', pc.'.join(c.__name__ for c in MODES.values())}, got {mode!r}")
    if v_init is not None and not mode.relaxes_beliefs:
        raise ValueError(f"v_init has no effect in {mode.name} mode (there is no inference); leave it out")
    if isinstance(model, PCLayers) and layers is not None:
        raise ValueError("layers= chooses the PC layers of a model; the PCLayers given already fix them: leave it out")
    resolved = model if isinstance(model, PCLayers) else pc_layers(model, layers)
    ff = feedforward(resolved, loss_fn, x, y, graph=mode.records_graph)
    check_finite_pass(resolved, ff)
    initial = _initial_offsets(v_init, ff.vhat(), resolved.depth)
    return Batch(resolved, loss_fn, x, y, ff, all_parameters(resolved), initial)


def _result(mode: PCMode, batch: Batch, inference: Inference, comparison) -> PCResult:
    return PCResult(
        mode=mode.name,
        vhat=batch.ff.vhat(),
        v=inference.v,
        eps=inference.eps,
        loss=batch.ff.loss,
        dloss_dyhat=batch.ff.dloss_dyhat,
        steps=inference.steps,
        energy=inference.energy,
        comparison=comparison,
        names=batch.layers.names,
    )


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
