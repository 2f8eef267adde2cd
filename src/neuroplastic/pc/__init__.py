"""Predictive coding (Rosenbaum 2022): strict, fixed-prediction and exact modes for any traceable model.

``pc_backward(model, loss_fn, x, y, mode=pc.Strict(eta=0.1, n=20))`` runs inference and writes the update into
``.grad``; any torch optimiser then applies it. Each mode is an option object (:class:`Strict`, :class:`FixedPred`,
:class:`Exact`) that checks its own options; ``MODES`` maps their names to them. ``pc_incremental`` steps an
optimiser at every strict inference step. ``trace_layers(model, layers=...)`` shows (and fixes once) which
submodules are the PC layers of a model that is not a plain ``nn.Sequential``.
"""

from neuroplastic.pc.backward import pc_backward, pc_incremental, pc_layers
from neuroplastic.pc.closed_form import fixed_pred_ratio
from neuroplastic.pc.fixed_pred import STORAGES
from neuroplastic.pc.graph import trace_layers
from neuroplastic.pc.layers import PCLayers
from neuroplastic.pc.modes import MODES, Exact, FixedPred, ModeName, PCMode, Strict
from neuroplastic.pc.result import LayerComparison, PCResult
from neuroplastic.pc.strict import GRAD_AT, first_energy_rise

__all__ = [
    "GRAD_AT",
    "MODES",
    "STORAGES",
    "Exact",
    "FixedPred",
    "LayerComparison",
    "ModeName",
    "PCLayers",
    "PCMode",
    "PCResult",
    "Strict",
    "first_energy_rise",
    "fixed_pred_ratio",
    "pc_backward",
    "pc_incremental",
    "pc_layers",
    "trace_layers",
]
